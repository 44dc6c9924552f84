"""Hostile runs whose evidence is not a pass, rendered into formats a CI server or Heimdall reads alone.

The defects:
* every finding not applicable: the evidence says ``incomplete`` (exit 3), but JUnit had only
  ``<skipped>`` test cases (``failures="0" errors="0"``: green in every CI server) and SARIF said
  ``executionSuccessful: true`` with no notification;
* a run whose only unjudged findings are ``not_reviewed`` (no check error): SARIF said
  ``executionSuccessful: true``;
* a rule with passing subjects and one not-reviewed subject: HDF gave ``passed`` and ``skipped``
  results, and Heimdall calls such a control "Passed" (failed > passed > skipped; only ``error``
  outranks them), so the unreviewed subject was hidden behind the passes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.check import CheckParams, check, not_reviewed, passed
from auditor.model.evidence import Evidence
from auditor.model.result import Severity, Verdict
from auditor.report import ReportContext
from auditor.report.hdf import render_hdf
from auditor.report.junit import render_junit
from auditor.report.sarif import render_sarif
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy, make_snapshot
from tests.factories import FIXED_TIME
from tests.hostile.test_renderings import evidence_for, only


@check(
    name="test.partly_seen",
    title="Every namespace's listeners are bound to a specific address",
    version="1.0",
    needs=["sockets"],
    params=CheckParams,
    severity=Severity.HIGH,
    controls=["SC-7"],
    rationale="Shows a rule with passing subjects beside one whose evidence could not be read.",
    remediation="Make every namespace readable.",
)
def partly_seen(snap, params):
    yield passed("netns host", "bound to specific addresses")
    yield not_reviewed("netns blue", "/proc/42/net/tcp is not readable")


def _context(evidence: Evidence) -> ReportContext:
    return ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="evidence.json", assessor="A")


def nothing_judged() -> Evidence:
    """ipv6-only alone: its one finding is not applicable."""
    return evidence_for(only(make_policy(), "ipv6-only"))


def partly_reviewed() -> Evidence:
    base = make_policy()
    rule = base.rules[0].model_copy(update={"id": "namespaces", "check": "test.partly_seen", "params": {},
                                            "controls": ["SC-7"]})
    policy = base.model_copy(update={"rules": [rule], "waivers": []})
    registry = build_registry([*CHECKS, partly_seen])
    snap = make_snapshot()
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result, started_at=FIXED_TIME,
                          finished_at=FIXED_TIME, evaluated_on=EVALUATED_ON)


def test_nothing_judged_is_an_error_in_junit():
    evidence = nothing_judged()
    assert (evidence.result.verdict, evidence.result.exit_code) == (Verdict.INCOMPLETE, 3)
    root = ET.fromstring(render_junit(evidence, _context(evidence)))
    assert root.get("errors") == "1"
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("errors"), suite.get("skipped")) == ("2", "1", "1")
    run_case = [c for c in root.iter("testcase") if c.get("name") == "lbaudit run complete"]
    assert len(run_case) == 1
    error = run_case[0].find("error")
    assert error.get("type") == "incomplete"
    assert error.get("message") == "nothing was judged: every finding is not_applicable"


def test_nothing_judged_is_not_a_successful_sarif_invocation():
    evidence = nothing_judged()
    invocation = json.loads(render_sarif(evidence, _context(evidence)))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert [n["level"] for n in invocation["toolExecutionNotifications"]] == ["error"]
    assert "nothing was judged" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_not_reviewed_without_a_check_error_is_not_a_successful_sarif_invocation():
    evidence = partly_reviewed()
    assert (evidence.result.verdict, evidence.result.complete) == (Verdict.INCOMPLETE, False)
    invocation = json.loads(render_sarif(evidence, _context(evidence)))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "/proc/42/net/tcp is not readable" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_a_complete_run_stays_a_successful_sarif_invocation_and_has_no_run_case_in_junit():
    evidence = evidence_for(only(make_policy(), "privileged-ports"))
    assert evidence.result.complete
    invocation = json.loads(render_sarif(evidence, _context(evidence)))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    root = ET.fromstring(render_junit(evidence, _context(evidence)))
    assert [c.get("name") for c in root.iter("testcase")] == ["privileged-ports"]


def heimdall_status(control: dict) -> str:
    """Heimdall's control status (its compute_status): error, then impact 0, failed, passed, skipped."""
    statuses = [r["status"] for r in control["results"]]
    if "error" in statuses:
        return "Profile Error"
    if control["impact"] == 0:
        return "Not Applicable"
    for status, word in (("failed", "Failed"), ("passed", "Passed"), ("skipped", "Not Reviewed")):
        if status in statuses:
            return word
    return "Profile Error"


def test_a_not_reviewed_subject_beside_passes_is_no_heimdall_pass():
    evidence = partly_reviewed()
    control = json.loads(render_hdf(evidence, _context(evidence)))["profiles"][0]["controls"][0]
    assert [(r["resource_id"], r["status"], r["lbaudit_status"]) for r in control["results"]] == [
        ("netns blue", "error", "not_reviewed"), ("netns host", "passed", "pass")]
    assert control["results"][0]["backtrace"] == ["/proc/42/net/tcp is not readable"]
    assert heimdall_status(control) == "Profile Error"


def test_a_rule_with_nothing_but_not_reviewed_stays_not_reviewed_in_heimdall():
    evidence = evidence_for(only(make_policy(), "audit-socket-calls"))
    control = json.loads(render_hdf(evidence, _context(evidence)))["profiles"][0]["controls"][0]
    assert {r["status"] for r in control["results"]} == {"skipped"}
    assert heimdall_status(control) == "Not Reviewed"


def test_nothing_judged_reads_as_nothing_judged_in_the_html_and_pdf_verdict():
    from auditor.report.view import verdict_sentence

    sentence = verdict_sentence(nothing_judged())
    assert sentence == ("Compliance with policy corp-baseline 2026.11 could not be established: nothing was "
                        "judged: every finding is not_applicable. No finding failed at or above severity low.")


def test_waived_failures_beside_passes_are_skipped_as_waived_in_junit_not_passed():
    from tests.hostile.test_renderings import all_failures_waived

    evidence = all_failures_waived()
    case = next(ET.fromstring(render_junit(evidence, _context(evidence))).iter("testcase"))
    assert [child.tag for child in case] == ["skipped", "system-out"]
    skipped = case.find("skipped")
    assert skipped.get("type") == "waived"
    assert skipped.get("message").count(": waived until ") == 4
    assert "tcp 0.0.0.0:5432 postgres pid 812: waived until" in skipped.get("message")
