"""A plugin outcome holding NaN or an infinity (``observed=float("nan")``).

Outcome's ``JsonValue`` fields take any float, and the evidence was written with ``NaN`` or
``Infinity`` in it, which is not JSON: the plugin's pass stood (exit 0) with evidence that lbaudit
itself then refused to read ("Infinity is not a JSON number": ``show``, ``report``, ``verify``),
and ``--format sarif`` (or OSCAL) of the same run was exit 70.  Now such an outcome is one that
Outcome's validation refuses, the check's ``error`` finding, and the run is incomplete (exit 3)
with evidence every reader takes.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
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
COMPLIANT, INCOMPLETE = 0, 3

PLUGIN = """
from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


VALUES = {
    "nan-observed": {"observed": float("nan")},
    "inf-expected": {"expected": float("inf")},
    "negative-inf-detail": {"subject_detail": {"rate": float("-inf")}},
    "nested-nan": {"observed": {"samples": [1.0, [2.0, float("nan")]]}},
    "finite": {"observed": 1.5, "expected": [2.5], "subject_detail": {"rate": -0.25}},
}


@check(name="nanplug.x", title="A plugin returning numbers", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    return [passed("listener 0", "fine", **VALUES[params.mode])]
"""

REFUSED = ("check nanplug.x (plugin nanplug 1.0) returned an outcome with status 'pass' that Outcome's validation "
           "refuses (its subject, message, reason or a value that is not JSON)")


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "nanplug", PLUGIN, "[lbaudit.checks]\nnanplug = nanplug\n")
    yield
    sys.modules.pop("nanplug", None)


def _evaluate(tmp_path: Path, mode: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: nanplug.x\n"
                      f"    params: {{mode: {mode}}}\n", encoding="utf-8")
    evidence, reports = tmp_path / "evidence.json", tmp_path / "reports"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence,
                  "--format", "sarif,oscal", "--out-dir", reports)
    return run, evidence, reports


@pytest.mark.parametrize("mode", ["nan-observed", "inf-expected", "negative-inf-detail", "nested-nan"])
def test_a_plugin_outcome_holding_nan_or_infinity_is_its_error_finding(plugin, tmp_path, mode):
    # before: exit 70 (SARIF); without --format, exit 0 with evidence lbaudit refuses to read
    run, evidence, reports = _evaluate(tmp_path, mode)
    assert run.returncode == INCOMPLETE, run.stderr
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    assert [(f["status"], f["subject"], f["reason"]) for f in findings] == [("error", "check nanplug.x", REFUSED)]
    assert sorted(p.name for p in reports.iterdir()) == ["plugged.oscal.json", "plugged.sarif"]
    shown = run_cli("show", evidence)
    assert shown.returncode == 0, shown.stderr  # before: exit 2, "Infinity is not a JSON number"


def test_control_case_finite_numbers_are_judged(plugin, tmp_path):
    run, evidence, _ = _evaluate(tmp_path, "finite")
    assert run.returncode == COMPLIANT, run.stderr
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    assert [(f["status"], f["observed"], f["expected"], f["subject_detail"]) for f in findings] == [
        ("pass", 1.5, [2.5], {"rate": -0.25})]
