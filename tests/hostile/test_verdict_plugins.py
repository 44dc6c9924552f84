"""A check plugin cannot turn the release gate green by what it returns.

``Outcome.model_construct`` validates nothing, so a plugin could hand the engine an outcome whose
status is ``waived`` (a waiver no policy granted: the run was COMPLIANT, exit 0), a status outside
the enum, or something that is not an outcome at all (exit 70).  Each is an ``error`` finding naming
the plugin, and the run is incomplete (exit 3) unless something fails (exit 1).

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``), found
through the ``lbaudit.checks`` entry point as any installed package is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"

PLUGIN = """
from auditor.model.check import CheckParams, Outcome, check, failed, passed
from auditor.model.result import Severity, Status


class Params(CheckParams):
    mode: str


class Sub(Outcome):
    pass


@check(name="verdictplug.odd", title="A hostile plugin", version="1", needs=["sysctl"], params=Params,
       severity=Severity.HIGH, controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def odd(snapshot, params):
    mode = params.mode
    if mode == "waived":
        yield Outcome.model_construct(status=Status.WAIVED, subject="s", message="waived by the check itself")
    elif mode == "bogus":
        yield Outcome.model_construct(status="bogus", subject="s", message="m")
    elif mode == "upper":
        yield Outcome.model_construct(status="PASS", subject="s", message="m")
    elif mode == "dict":
        yield {"status": "pass", "subject": "s", "message": "m"}
    elif mode == "none":
        yield None
    elif mode == "no-reason":
        yield Outcome.model_construct(status=Status.NOT_REVIEWED, subject="s", message="m")
    elif mode == "sub-waived":
        yield Sub.model_construct(status=Status.WAIVED, subject="s", message="m")
    elif mode == "pass-and-waived":
        yield passed("a", "fine")
        yield Outcome.model_construct(status=Status.WAIVED, subject="b", message="m")
    elif mode == "fail-and-dict":
        yield failed("a", "bad")
        yield {"status": "pass"}
    elif mode == "not-json":
        yield Outcome.model_construct(status=Status.PASS, subject="s", message="m", observed=object())
    elif mode == "pass":
        yield passed("a", "fine")
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "verdictplug", PLUGIN,
                   "[lbaudit.checks]\nverdictplug-checks = verdictplug\n")
    yield
    sys.modules.pop("verdictplug", None)


def _evaluate(tmp_path: Path, mode: str) -> tuple[int, list[dict], str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: odd\n    check: verdictplug.odd\n"
                      f"    params: {{mode: {mode}}}\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence)
    findings = json.loads(evidence.read_bytes())["result"]["findings"] if evidence.exists() else []
    return run.returncode, findings, run.stderr


@pytest.mark.parametrize("mode, returned", [
    ("waived", "an outcome with status 'waived' (checks do not waive"),
    ("sub-waived", "an outcome with status 'waived' (checks do not waive"),
    ("bogus", "an outcome with status 'bogus'"),
    ("upper", "an outcome with status 'PASS'"),
    ("dict", "a dict, not an Outcome"),
    ("none", "a NoneType, not an Outcome"),
    ("no-reason", "an outcome with status 'not_reviewed' that Outcome's validation refuses"),
    # a value that is not JSON: the evidence could not be written (exit 70)
    ("not-json", "an outcome with status 'pass' that Outcome's validation refuses"),
])
def test_an_invalid_outcome_from_a_plugin_is_an_error_and_the_run_incomplete(plugin, tmp_path, mode, returned):
    code, findings, stderr = _evaluate(tmp_path, mode)
    assert code == 3, stderr
    assert [(f["status"], f["subject"]) for f in findings] == [("error", "check verdictplug.odd")]
    assert "(plugin verdictplug 1.0) returned " + returned in findings[0]["reason"]


def test_a_waived_outcome_beside_a_pass_does_not_make_the_run_compliant(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "pass-and-waived")
    assert code == 3, stderr
    assert sorted(f["status"] for f in findings) == ["error", "pass"]


def test_a_failure_beside_an_invalid_outcome_still_fails_the_run(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "fail-and-dict")
    assert code == 1, stderr
    assert sorted(f["status"] for f in findings) == ["error", "fail"]


def test_a_valid_pass_from_a_plugin_is_still_compliant(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "pass")
    assert code == 0, stderr
    assert [f["status"] for f in findings] == ["pass"]


DECLARATION = """
from auditor.model.check import CheckParams, check, failed


class Params(CheckParams):
    pass


@check(name="declplug.x", title="A plugin declared wrongly", version="1", needs=["sysctl"], params=Params,
       severity={severity}, controls=["CM-6"], rationale="A test plugin.", remediation="None.",
       platforms={platforms})
def x(snapshot, params):
    yield failed("x", "a failure that must count")
"""


@pytest.mark.parametrize("severity, platforms, problem", [
    # "Linux" is no platform lbaudit knows: the check was not_applicable on every host, and beside a
    # rule that passes the run was COMPLIANT (exit 0) with the plugin's failure never seen.
    ('"high"', '("Linux",)', "check 'declplug.x' declares platforms ['Linux']"),
    ('"high"', "()", "check 'declplug.x' declares platforms []"),
    # a severity no rule can carry was exit 70 at the first policy naming the check
    ('"HIGH"', '("linux",)', "check 'declplug.x' declares severity 'HIGH'"),
    ("None", '("linux",)', "check 'declplug.x' declares severity None"),
])
def test_a_plugin_declared_with_an_unknown_platform_or_severity_is_refused(tmp_path, monkeypatch, severity,
                                                                            platforms, problem):
    site = tmp_path / "site"
    site.mkdir()
    (site / "declplug.py").write_text(DECLARATION.format(severity=severity, platforms=platforms), encoding="utf-8")
    info = site / "declplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: declplug\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[lbaudit.checks]\ndeclplug-checks = declplug\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    try:
        policy = tmp_path / "policy.yaml"
        policy.write_text("id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: declplug.x\n"
                          "  - id: eph\n    check: net.ephemeral_port_range\n    params: {min_pool_size: 1000}\n",
                          encoding="utf-8")
        evidence = tmp_path / "evidence.json"
        run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence)
        assert run.returncode == 2, run.stderr
        assert problem in run.stderr
        assert not evidence.exists()
    finally:
        sys.modules.pop("declplug", None)


def test_a_plugin_that_changes_the_facts_in_place_changes_no_other_rule_s_verdict():
    """The facts are frozen models holding lists: a plugin that filtered the listener list in place
    emptied it for every rule after it, and net.bind_addresses then passed "no tcp or udp listeners
    were found" on a host listening on 0.0.0.0 (COMPLIANT, exit 0), with the emptied list as the
    evidence's facts."""
    from dataclasses import replace
    from datetime import date

    from auditor.engine.evaluate import evaluate
    from auditor.engine.registry import _builtin_specs, build_registry
    from auditor.model.check import CheckParams, check, passed
    from auditor.model.policy import Policy, PolicySource, ResolvedRule
    from auditor.model.result import Severity
    from tests.factories import listener, snapshot

    class NoParams(CheckParams):
        pass

    @check(name="tidyplug.loopback", title="Counts loopback listeners", version="1", needs=["sockets"],
           params=NoParams, severity=Severity.LOW, controls=["CM-7"], rationale="r", remediation="m")
    def tidy(snap, params):
        listeners = snap.facts.sockets.listeners
        listeners[:] = [item for item in listeners if item.address.startswith("127.")]  # "filtered" in place
        yield passed("loopback listeners", f"{len(listeners)} loopback listeners")

    registry = build_registry([*_builtin_specs(), replace(tidy, origin="plugin tidyplug 1.0")])
    rules = [ResolvedRule(id=rule_id, check=name, params={}, severity=Severity.HIGH, controls=["CM-7"], enabled=True,
                          source="p.yaml:1") for rule_id, name in (("tidy", "tidyplug.loopback"),
                                                                    ("bind", "net.bind_addresses"))]
    policy = Policy(id="p", version="1", owner="o", description="", rules=rules, waivers=[],
                    sources=[PolicySource(path="p.yaml", sha256="0" * 64)])
    snap = snapshot(listeners=[listener("0.0.0.0", 8080), listener("127.0.0.1", 5432)])
    result = evaluate(policy, snap, registry, today=date(2026, 1, 1))
    assert result.exit_code == 1
    assert [f.subject for f in result.findings if f.rule_id == "bind" and f.status.value == "fail"] == [
        "tcp 0.0.0.0:8080 owner unknown"]
    assert [item.port for item in snap.facts.sockets.listeners] == [8080, 5432]
