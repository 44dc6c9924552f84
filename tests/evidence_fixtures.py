"""One fixed evidence document, built through the real engine, for every reporter and attestation test.

The PDF, signing and PAdES tests and the OSCAL / SARIF / JUnit golden files all read this evidence.
Its checks are small CheckSpecs defined here, not the built-ins, so that the golden files change
only when a reporter changes and the attestation keeps every status whatever the built-in checks of
the day do: pass, fail, waived, an expired waiver over a failing finding, an unused waiver,
not_reviewed (a fact section with a Gap), not_applicable, error (a check that raises) and a disabled
rule.  Everything is a real model object; nothing is mocked.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.check import CheckParams, check, failed, not_applicable, passed
from auditor.model.evidence import Evidence
from auditor.model.facts import Gap, HostSnapshot, Listener, ProcessInfo
from auditor.model.policy import Policy, PolicySource, ResolvedRule, Waiver
from auditor.model.result import Severity
from auditor.storage.evidence import write_evidence
from tests.factories import FIXED_TIME, listener, snapshot

EVALUATED_ON = FIXED_TIME.date()
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
    # The markup characters must come out escaped in XML, SARIF and the PDF's paragraphs.
    raise ValueError("cannot parse <listener> & friends")


@check(
    name="test.privileged_ports",
    title="Only root binds ports below 1024",
    version="1.0",
    needs=["sysctl"],
    params=CheckParams,
    severity=Severity.LOW,
    controls=["AC-4"],
    rationale="Privileged ports are a cheap guarantee that a well-known port belongs to a system service.",
    remediation="Set net.ipv4.ip_unprivileged_port_start = 1024.",
)
def privileged_ports(snap, params):
    setting = snap.facts.sysctl.effective("net.ipv4.ip_unprivileged_port_start")
    result = passed if int(setting.value) >= 1024 else failed
    yield result("sysctl net.ipv4.ip_unprivileged_port_start", f"ip_unprivileged_port_start={setting.value}",
                 observed=setting.value, expected=">= 1024", evidence=["/facts/sysctl/runtime"])


CHECKS = [wildcard_listeners, port_range, audit_rules, ipv6_only, broken, privileged_ports]

# The failing subjects a report must name: the waived 8080 listener is not failing, the port range
# is (its waiver expired).
FAILING_SUBJECTS = [
    "tcp 0.0.0.0:5432 postgres pid 812",
    "tcp [::]:6379 redis-server pid 901",
    "udp 0.0.0.0:5353 avahi-daemon pid 640",
    "sysctl net.ipv4.ip_local_port_range",
]


def _rule(rule_id: str, spec, line: int, *, extra: tuple[str, ...] = (), enabled: bool = True,
          params: dict | None = None) -> ResolvedRule:
    return ResolvedRule(
        id=rule_id, check=spec.name, params=params or {}, severity=spec.severity,
        controls=sorted(set(spec.controls) | set(extra)), enabled=enabled, source=f"policies/corp.yaml:{line}",
    )


def make_policy() -> Policy:
    return Policy(
        id="corp-baseline",
        version="2026.11",
        owner="Platform Security <security@example.test>",
        description="Socket-layer baseline for the web tier.",
        rules=[
            _rule("wildcard-listeners", wildcard_listeners, 8, extra=("SC-7(5)",), params={"allowed_ports": [22, 443]}),
            _rule("port-range", port_range, 14, params={"min_ports": 30000}),  # the default pool has 28232
            _rule("audit-socket-calls", audit_rules, 18),
            _rule("ipv6-only", ipv6_only, 21),
            _rule("broken-check", broken, 24),
            _rule("privileged-ports", privileged_ports, 27),
            _rule("disabled-rule", port_range, 30, enabled=False, extra=("SI-4",)),
        ],
        waivers=[
            Waiver(rule="wildcard-listeners", subject="tcp 0.0.0.0:8080 *",
                   reason="Legacy billing API; migration to the mesh tracked in CHG-4411",
                   approver="Dana Whitfield (CISO)", expires=date(2026, 12, 31)),
            Waiver(rule="port-range", reason="Kernel tuning rollout pending",
                   approver="Sam Okafor (Platform lead)", expires=EVALUATED_ON - timedelta(days=30)),
            Waiver(rule="wildcard-listeners", subject="udp *:1900 *", reason="SSDP lab device",
                   approver="Dana Whitfield (CISO)", expires=EVALUATED_ON + timedelta(days=30)),
        ],
        sources=[PolicySource(path="policies/corp.yaml", sha256="ab" * 32)],
    )


def _proc(name: str, pid: int, user: str = "root") -> list[ProcessInfo]:
    return [ProcessInfo(pid=pid, name=name, exe=f"/usr/sbin/{name}", user=user)]


def host_listeners(extra: int = 0) -> list[Listener]:
    listeners = [
        listener("0.0.0.0", 22, processes=_proc("sshd", 611)),
        listener("0.0.0.0", 443, processes=_proc("nginx", 700, "www-data")),
        listener("0.0.0.0", 5432, processes=_proc("postgres", 812, "postgres")),
        listener("::", 6379, v6only=False, processes=_proc("redis-server", 901, "redis")),
        listener("127.0.0.1", 631, processes=_proc("cupsd", 540)),
        listener("0.0.0.0", 8080, processes=_proc("java", 1500, "app")),
        listener("0.0.0.0", 5353, protocol="udp", processes=_proc("avahi-daemon", 640, "avahi")),
        listener("::1", 25, processes=_proc("exim4", 990, "Debian-exim")),
    ]
    # Bulk listeners for scale tests: each one is a failing finding of its own.
    listeners += [
        listener("0.0.0.0", 10000 + i, processes=_proc(f"worker-{i:05d}", 20000 + i, "app")) for i in range(extra)
    ]
    return listeners


def make_snapshot(extra_listeners: int = 0, hostname: str = "web01.example.test") -> HostSnapshot:
    return snapshot(
        listeners=host_listeners(extra_listeners),
        audit=None,
        netns=None,  # a snapshot of before the netns section: its digest and the goldens stay as they were
        gaps=[Gap(section="audit", reason="auditctl -l: permission denied (needs CAP_AUDIT_CONTROL)")],
        hostname=hostname,
        methods={"sockets": "netlink sock_diag; owners from /proc/<pid>/fd", "sysctl": "/proc/sys",
                 "audit": "auditctl -s, auditctl -l; /etc/audit/rules.d"},
    )


def make_evidence(extra_listeners: int = 0, hostname: str = "web01.example.test",
                  only_rules: list[str] | None = None) -> Evidence:
    """The fixture evidence; ``only_rules`` keeps a subset of the policy's rules (and their waivers)."""
    registry = build_registry(list(CHECKS))
    policy = make_policy()
    if only_rules is not None:
        policy = policy.model_copy(update={
            "rules": [r for r in policy.rules if r.id in only_rules],
            "waivers": [w for w in policy.waivers if w.rule in only_rules],
        })
    snap = make_snapshot(extra_listeners, hostname)
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    # Evaluation starts after collection; timings have the shape `lbaudit evaluate` records.
    return build_evidence(
        policy=policy, snapshot=snap, registry=registry, result=result,
        started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7, milliseconds=250),
        evaluated_on=EVALUATED_ON,
        timings_ms={"wildcard-listeners": 3, "port-range": 1, "broken-check": 12, "collect": 1400, "evaluate": 18},
    )


def write_evidence_file(directory: Path, evidence: Evidence, name: str = "evidence.json") -> tuple[Path, bytes]:
    path = directory / name
    directory.mkdir(parents=True, exist_ok=True)  # lbaudit's writer creates no directories
    return path, write_evidence(evidence, path)


def reconciled(evidence: Evidence) -> Evidence:
    """``evidence`` whose findings a test edited, with the summary, verdict, exit code, completeness
    and control judgements the engine would record for those findings (the loader refuses evidence
    that contradicts its findings: auditor/storage/evidence.py result_contradictions)."""
    from auditor.storage.evidence import derived_result

    derived = derived_result(evidence)
    result = evidence.result
    controls = [c.model_copy(update={"status": derived.controls[c.id].status, "counts": derived.controls[c.id].counts})
                for c in result.controls]
    summary = result.summary.model_copy(update={"by_status": derived.by_status, "rules": derived.rules,
                                                "failing_by_severity": derived.failing_by_severity,
                                                "findings": derived.findings})
    return evidence.model_copy(update={"result": result.model_copy(update={
        "summary": summary, "controls": controls, "verdict": derived.verdict, "exit_code": derived.exit_code,
        "complete": derived.complete, "incomplete_reasons": derived.incomplete_reasons})})
