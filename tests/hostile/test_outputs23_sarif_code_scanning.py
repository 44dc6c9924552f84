"""SARIF as GitHub code scanning reads it: levels of low and info failures, and passes that were alerts.

Levels: a failure of severity low or info is ``level: note`` (SARIF 2.1.0 3.27.10: "a minor problem"),
medium ``warning``, high and critical ``error``; every other kind is ``level: none``, as the spec
requires for a kind other than ``fail``.  That was already so; these tests keep it so.

The defect: every finding was a result, the passing and not applicable ones too, told apart only by
``kind`` (``pass``, ``notApplicable``).  Code scanning ignores ``kind``: each result is an alert, of
the security severity of its rule (a passing listener of a high-severity check was a "High" alert).
And since a result's fingerprint is its finding id (rule and subject, not status), a failure that was
fixed stayed an open alert: the next upload still held a result of that fingerprint, now passing, so
code scanning never closed it.  Now the log holds a result for each finding that is a problem (fail,
waived, error, not reviewed) and none for a pass or not applicable; the run's properties count the
findings of each status as the evidence does, so a reader still sees what was judged.
"""

from __future__ import annotations

import json

from auditor.model.result import Severity, Status
from auditor.report.sarif import FINGERPRINT_KEY, render_sarif
from tests.evidence_fixtures import make_evidence, make_policy
from tests.hostile.test_renderings import context_of, evidence_for, only
from tests.report.conftest import sarif_validator as sarif_validator  # noqa: F401 - the fixture, used by name

SHOWN = {Status.FAIL, Status.WAIVED, Status.ERROR, Status.NOT_REVIEWED}


def _log(evidence) -> dict:
    return json.loads(render_sarif(evidence, context_of(evidence)))


def _with_severity(policy, severity: Severity):
    return policy.model_copy(update={"rules": [r.model_copy(update={"severity": severity}) for r in policy.rules]})


def _valid(validator, log) -> None:
    assert [e.message[:200] for e in validator.iter_errors(log)] == []


def test_low_and_info_failures_are_notes(sarif_validator):
    for severity, level, security in ((Severity.LOW, "note", "3.0"), (Severity.INFO, "note", None)):
        evidence = evidence_for(_with_severity(only(make_policy(), "wildcard-listeners"), severity))
        log = _log(evidence)
        _valid(sarif_validator, log)
        results = log["runs"][0]["results"]
        failing = [r for r in results if r["properties"]["status"] == "fail"]
        assert failing, "the fixture has failing listeners"
        assert {(r["kind"], r["level"]) for r in failing} == {("fail", level)}
        rule = log["runs"][0]["tool"]["driver"]["rules"][failing[0]["ruleIndex"]]
        assert rule["defaultConfiguration"]["level"] == level
        # code scanning: 3.9 or less is "low"; info has no security severity (shown by its level, Note)
        assert rule["properties"].get("security-severity") == security


def test_passes_and_not_applicable_are_no_alerts(sarif_validator):
    evidence = make_evidence()
    statuses = {f.status for f in evidence.result.findings}
    assert {Status.PASS, Status.NOT_APPLICABLE} <= statuses, "the fixture has passes and not applicable"
    log = _log(evidence)
    _valid(sarif_validator, log)
    run = log["runs"][0]
    shown = [r["properties"]["findingId"] for r in run["results"]]
    assert shown == [f.id for f in evidence.result.findings if f.status in SHOWN]
    assert {r["kind"] for r in run["results"]} <= {"fail", "review"}
    # what was judged is still counted, as the evidence counts it
    assert run["properties"]["findingsByStatus"] == {s.value: sum(f.status == s for f in evidence.result.findings)
                                                     for s in Status}
    assert run["properties"]["findingsByStatus"]["pass"] > 0


def test_a_fixed_failure_leaves_no_result_of_its_fingerprint():
    failing = evidence_for(only(make_policy(), "port-range"))
    fixed = evidence_for(only(make_policy(), "port-range").model_copy(update={"rules": [
        r.model_copy(update={"params": {"min_ports": 1000}}) for r in only(make_policy(), "port-range").rules]}))
    [before] = failing.result.findings
    [after] = fixed.result.findings
    assert (before.status, after.status) == (Status.FAIL, Status.PASS) and before.id == after.id
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in _log(failing)["runs"][0]["results"]] == [before.id]
    # the alert closes: the next analysis of the category holds no result of that fingerprint
    assert _log(fixed)["runs"][0]["results"] == []
    assert _log(fixed)["runs"][0]["invocations"][0]["executionSuccessful"] is True
