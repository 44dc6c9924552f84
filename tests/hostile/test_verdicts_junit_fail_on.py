"""JUnit says what the exit code says: a ``<failure>`` exactly for the failures ``--fail-on`` counts.

The defect: JUnit judged each rule by its worst status alone, so a failure below ``--fail-on`` was a
``<failure>``: Jenkins marked the build unstable and GitLab's test report showed failed tests for a
run whose exit code (and every other output's verdict) was compliant.  Now such a rule's test case is
``<skipped type="fail_below_threshold">`` whose message says its subjects fail and are not counted
(never an empty test case, which a CI server shows as passed); a rule with counted failures is a
``<failure>`` naming those and, after them, the ones below the threshold.

The evidence is the fixture host (tests/evidence_fixtures.py: passes, failures of severity high,
medium and low, a waiver, an expired waiver, not reviewed, not applicable and an error) judged by the
engine at each ``--fail-on``, written to a file and rendered by ``lbaudit report``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.evidence import Evidence
from auditor.model.result import Severity, Status
from tests.cli import run_cli
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy, make_snapshot, write_evidence_file
from tests.factories import FIXED_TIME


def _evidence(fail_on: Severity, *, without: tuple[str, ...] = ()) -> Evidence:
    policy = make_policy()
    policy = policy.model_copy(update={"rules": [r for r in policy.rules if r.id not in without]})
    registry = build_registry(list(CHECKS))
    snap = make_snapshot()
    result = evaluate(policy, snap, registry, fail_on=fail_on, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                          started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7),
                          evaluated_on=EVALUATED_ON)


def _junit(tmp_path: Path, evidence: Evidence) -> ET.Element:
    path, _ = write_evidence_file(tmp_path, evidence)
    run = run_cli("report", path, "--format", "junit", "--out-dir", tmp_path / "out", timeout=60)
    assert run.returncode == 0, run.stderr
    return ET.fromstring((tmp_path / "out" / "corp-baseline.junit.xml").read_bytes()).find("testsuite")


def _outcome(case: ET.Element) -> tuple[str, str | None]:
    for kind in ("failure", "error", "skipped"):
        element = case.find(kind)
        if element is not None:
            return kind, element.get("type")
    return "passed", None


# Without the rules that cannot be judged (error, not reviewed), so the exit code is 0 or 1 alone.
JUDGED_ONLY = ("audit-socket-calls", "broken-check")


@pytest.mark.parametrize("fail_on", list(Severity), ids=lambda s: s.value)
def test_junit_failures_are_exactly_the_failures_the_exit_code_counts(tmp_path, fail_on):
    evidence = _evidence(fail_on, without=JUDGED_ONLY)
    suite = _junit(tmp_path, evidence)
    failing = {f.rule_id: f.severity for f in evidence.result.findings if f.status == Status.FAIL}
    assert failing == {"wildcard-listeners": Severity.HIGH, "port-range": Severity.MEDIUM}
    outcomes = {case.get("name"): _outcome(case) for case in suite.findall("testcase")}
    expected = {rule: ("failure", severity.value) if severity.rank >= fail_on.rank
                else ("skipped", "fail_below_threshold") for rule, severity in failing.items()}
    assert {rule: outcomes[rule] for rule in failing} == expected
    # what Jenkins and GitLab count: a failed test exactly when the run exits 1
    assert (int(suite.get("failures")) > 0) == (evidence.result.exit_code == 1)
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["exit_code"] == str(
        evidence.result.exit_code)


def test_a_failure_below_the_threshold_says_it_fails_and_is_not_counted(tmp_path):
    suite = _junit(tmp_path, _evidence(Severity.CRITICAL, without=JUDGED_ONLY))
    case = next(c for c in suite.findall("testcase") if c.get("name") == "port-range")
    skipped = case.find("skipped")
    assert skipped.get("message") == ("1 of 1 subjects fail below --fail-on critical (listed, not counted by the "
                                      "verdict): sysctl net.ipv4.ip_local_port_range")
    assert skipped.text.startswith("[fail] sysctl net.ipv4.ip_local_port_range: 28232 ephemeral ports")
    assert suite.get("failures") == "0"
    assert suite.get("skipped") == str(sum(1 for c in suite.findall("testcase") if c.find("skipped") is not None))


def test_unjudged_findings_stay_errors_whatever_the_threshold(tmp_path):
    """With the rules that cannot be judged the run exits 3 at every threshold: their cases are errors."""
    for fail_on in (Severity.INFO, Severity.CRITICAL):
        evidence = _evidence(fail_on)
        suite = _junit(tmp_path / fail_on.value, evidence)
        outcomes = {case.get("name"): _outcome(case) for case in suite.findall("testcase")}
        assert outcomes["audit-socket-calls"] == ("error", "not_reviewed")
        assert outcomes["broken-check"] == ("error", "error")
        assert evidence.result.exit_code == (1 if fail_on == Severity.INFO else 3)
        assert (int(suite.get("failures")) > 0) == (evidence.result.exit_code == 1)


REAL_POLICY = """\
id: junit-fail-on
version: "1"
owner: Tests <tests@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    severity: low
    params:
      allow: [loopback]
"""


@pytest.mark.parametrize(("fail_on", "exit_code", "outcome"), [
    ("low", 1, ("failure", "low")),
    ("medium", 0, ("skipped", "fail_below_threshold")),
])
def test_a_real_evaluate_writes_the_junit_its_exit_code_says(tmp_path, fail_on, exit_code, outcome):
    """``lbaudit evaluate --snapshot`` with the built-in checks: a listener on the wildcard address
    fails a rule of severity low; at --fail-on medium the run exits 0 and JUnit shows no failure."""
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, snapshot

    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080), listener("127.0.0.1", 631)]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(REAL_POLICY, encoding="utf-8")
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "--fail-on", fail_on, "-o", tmp_path / "e.json", "--format", "junit", "--out-dir", tmp_path / "out",
                  "-q")
    assert run.returncode == exit_code, run.stderr
    suite = ET.fromstring((tmp_path / "out" / "junit-fail-on.junit.xml").read_bytes()).find("testsuite")
    [case] = suite.findall("testcase")
    assert _outcome(case) == outcome
    assert suite.get("failures") == ("1" if exit_code == 1 else "0")
    assert "tcp 0.0.0.0:8080" in case.find(outcome[0]).get("message")
