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
import textwrap
from pathlib import Path

import pytest

from tests.cli import run_cli

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
    site = tmp_path / "site"
    site.mkdir()
    (site / "verdictplug.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "verdictplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: verdictplug\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[lbaudit.checks]\nverdictplug-checks = verdictplug\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
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
