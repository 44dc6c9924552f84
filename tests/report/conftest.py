"""A fixed evidence document for the interchange reporters, built with the real engine.

The checks are defined here (not the built-ins) so that the golden files change only when a
reporter changes, not when a built-in check is reworded.  Every status appears at least once:
pass, fail, waived (and an expired waiver), not_reviewed (a fact section with a Gap), not_applicable,
and error (a check that raises).
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
import regex
from jsonschema import Draft7Validator
from jsonschema.validators import extend, validator_for

from auditor.engine.evaluate import evaluate
from auditor.engine.registry import build_registry
from auditor.model.check import CheckParams, check, failed, not_applicable, passed
from auditor.model.evidence import Evidence
from auditor.model.facts import Gap, ProcessInfo
from auditor.model.policy import Policy, PolicySource, ResolvedRule, Waiver
from auditor.model.result import Severity
from auditor.report import ReportContext
from auditor.report.evidence import build_evidence, evidence_bytes
from tests.factories import FIXED_TIME, listener, snapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / ".." / "shared" / "reference"
GOLDEN_DIR = REPO_ROOT / "tests" / "fixtures" / "golden"
UPDATE_GOLDEN_ENV = "LBAUDIT_UPDATE_GOLDEN"

WILDCARDS = ("0.0.0.0", "::")


class WildcardParams(CheckParams):
    allowed_ports: list[int] = []


@check(
    name="test.wildcard_listeners",
    title="No service listens on a wildcard address",
    version="1.0",
    needs=["sockets"],
    params=WildcardParams,
    severity=Severity.HIGH,
    controls=["SC-7", "CM-7"],
    rationale="A wildcard bind exposes a service on every interface, including ones added later.",
    remediation="Bind the service to the address it serves (for example 127.0.0.1) or allow its port in the policy.",
)
def wildcard_listeners(snap, params):
    for item in sorted(snap.facts.sockets.listeners, key=lambda x: (x.address, x.port)):
        proc = item.processes[0] if item.processes else None
        detail = {"protocol": item.protocol, "address": item.address, "port": item.port,
                  "process": proc.name if proc else None, "pid": proc.pid if proc else None}
        if item.address in WILDCARDS and item.port not in params.allowed_ports:
            yield failed(item.subject, f"listens on the wildcard address {item.address}", subject_detail=detail,
                         observed=item.address, expected="a specific address", evidence=["/facts/sockets/listeners"])
        else:
            yield passed(item.subject, "bound to a specific address", subject_detail=detail, observed=item.address)


class PortRangeParams(CheckParams):
    min_ports: int = 16384


@check(
    name="test.port_range",
    title="The ephemeral port pool is large enough",
    version="1.0",
    needs=["sysctl"],
    params=PortRangeParams,
    severity=Severity.MEDIUM,
    controls=["SC-5", "CM-6"],
    rationale="A small pool runs out under load.",
    remediation="Set net.ipv4.ip_local_port_range to at least the configured number of ports.",
)
def port_range(snap, params):
    setting = snap.facts.sysctl.effective("net.ipv4.ip_local_port_range")
    low, high = (int(v) for v in setting.value.split())
    size = high - low + 1
    result = passed if size >= params.min_ports else failed
    yield result("sysctl net.ipv4.ip_local_port_range", f"{size} ephemeral ports",
                 observed=size, expected={"min": params.min_ports}, evidence=["/facts/sysctl/runtime"])


@check(
    name="test.audit_rules",
    title="Socket system calls are audited",
    version="1.0",
    needs=["audit"],
    params=CheckParams,
    severity=Severity.MEDIUM,
    controls=["AU-2", "AU-12"],
    rationale="Without audit records nobody can tell who opened a listener.",
    remediation="Add -a always,exit -F arch=b64 -S bind -k net_bind to /etc/audit/rules.d/.",
)
def audit_rules(snap, params):  # never runs in the fixture: the audit section has a Gap
    yield passed("audit", "audited")


@check(
    name="test.ipv6_only",
    title="IPv6 listeners set IPV6_V6ONLY",
    version="1.0",
    needs=["sockets"],
    params=CheckParams,
    severity=Severity.LOW,
    controls=["SC-7"],
    rationale="A dual-stack socket also accepts IPv4 and escapes IPv4-only filters.",
    remediation="Set net.ipv6.bindv6only=1 or IPV6_V6ONLY on the socket.",
)
def ipv6_only(snap, params):
    yield not_applicable("ipv6 listeners", "the host has no IPv6 listener that sets its own options")


@check(
    name="test.broken",
    title="A check with a bug",
    version="0.1",
    needs=["sockets"],
    params=CheckParams,
    severity=Severity.INFO,
    controls=["CA-7"],
    rationale="Shows that a check that raises is an error finding, never a pass.",
    remediation="Report the bug.",
)
def broken(snap, params):
    raise ValueError("cannot parse <listener> & friends")


SPECS = [wildcard_listeners, port_range, audit_rules, ipv6_only, broken]


def _rule(rule_id: str, spec, line: int, *, extra: tuple[str, ...] = (), enabled: bool = True,
          severity: Severity | None = None, params: dict | None = None) -> ResolvedRule:
    return ResolvedRule(
        id=rule_id, check=spec.name, params=params or {}, severity=severity or spec.severity,
        controls=sorted(set(spec.controls) | set(extra)), enabled=enabled, source=f"policies/corp.yaml:{line}",
    )


def golden_policy() -> Policy:
    return Policy(
        id="corp-baseline",
        version="2026.11",
        owner="Platform Security <security@example.test>",
        description="Socket-layer baseline for the web tier.",
        rules=[
            _rule("wildcard-listeners", wildcard_listeners, 8, extra=("SC-7(5)",), params={"allowed_ports": [443]}),
            _rule("port-range", port_range, 14, params={"min_ports": 16384}),
            _rule("audit-socket-calls", audit_rules, 18),
            _rule("ipv6-only", ipv6_only, 21),
            _rule("broken-check", broken, 24),
            _rule("disabled-rule", port_range, 27, enabled=False, extra=("SI-4",)),
        ],
        waivers=[
            Waiver(rule="wildcard-listeners", subject="tcp 0.0.0.0:5432 *", reason="Legacy database; host firewall limits it",
                   approver="ciso@example.test", expires=date(2026, 12, 31)),
            Waiver(rule="port-range", reason="Old exception", approver="ciso@example.test", expires=date(2026, 1, 31)),
        ],
        sources=[PolicySource(path="policies/corp.yaml", sha256="ab" * 32)],
    )


def golden_evidence() -> Evidence:
    spec_registry = build_registry(SPECS)
    policy = golden_policy()
    snap = snapshot(
        listeners=[
            listener("0.0.0.0", 5432, processes=[ProcessInfo(pid=812, name="postgres")]),
            listener("::", 22, v6only=False, processes=[ProcessInfo(pid=600, name="sshd")]),
            listener("127.0.0.1", 6379, processes=[ProcessInfo(pid=901, name="redis-server")]),
            listener("0.0.0.0", 443, processes=[ProcessInfo(pid=700, name="nginx")]),
        ],
        audit=None,
        gaps=[Gap(section="audit", reason="auditctl -l: permission denied (needs CAP_AUDIT_CONTROL)")],
    )
    today = FIXED_TIME.date()
    result = evaluate(policy, snap, spec_registry, fail_on=Severity.LOW, today=today)
    return build_evidence(
        policy=policy, snapshot=snap, registry=spec_registry, result=result,
        started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7, milliseconds=250),
        evaluated_on=today, timings_ms={"wildcard-listeners": 3, "port-range": 1, "broken-check": 12},
    )


def golden_context(evidence: Evidence) -> ReportContext:
    return ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="corp-baseline.json",
                         assessor="Jane Auditor")


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    return golden_evidence()


@pytest.fixture(scope="session")
def context(evidence) -> ReportContext:
    return golden_context(evidence)


def reference_file(*parts: str) -> Path:
    """A file of ../shared/reference (unmodified upstream schemas); skips the test when it is absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"reference file {path} is not present (../shared/reference is not checked out beside the repo)")
    return path


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def check_golden(name: str, data: bytes) -> None:
    """Compare with tests/fixtures/golden/<name>; with LBAUDIT_UPDATE_GOLDEN=1, rewrite it instead."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing; create it with {UPDATE_GOLDEN_ENV}=1 and review the diff")
    expected = path.read_bytes()
    assert data.decode("utf-8") == expected.decode("utf-8"), (
        f"{name} differs from its golden file; if the change is intended, rerun with {UPDATE_GOLDEN_ENV}=1 and review"
    )


def _regex_pattern(validator, pattern, instance, schema):
    # OSCAL's token patterns use \p{L} / \p{N}, which Python's re rejects (see ../shared/reference/README.md).
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


OscalValidator = extend(Draft7Validator, {"pattern": _regex_pattern})


@pytest.fixture(scope="session")
def oscal_validator():
    """The official OSCAL 1.1.2 assessment-results schema, with \\p{..} patterns through ``regex``."""
    schema = load_json(reference_file("oscal", "oscal_assessment-results_schema.json"))
    assert not list(Draft7Validator(Draft7Validator.META_SCHEMA).iter_errors(schema))
    return OscalValidator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def sarif_validator():
    """The OASIS SARIF 2.1.0 (errata 01) schema; it declares draft-04."""
    schema = load_json(reference_file("sarif", "sarif-schema-2.1.0.json"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def junit_schema():
    """Jenkins xUnit's junit-10.xsd, through ``xmlschema``."""
    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema is not installed")
    return xmlschema.XMLSchema(str(reference_file("junit", "junit-10.xsd")))
