"""Hostile identities: two things of one name, which a consumer merges, must not let a pass stand for
a failure.

* HDF: an incomplete run without an ``error`` result gets the control ``lbaudit-run-complete``; a
  policy whose own rule had that id got two controls with one id, the rule's passing one and the
  run's error.  Readers key controls by id (Heimdall's comparisons, the saf converters): the passing
  control stood for both.  Now the run's control is ``lbaudit run complete`` there (spaces: no rule
  id may hold one).
* One subject judged twice by one rule (a check that yields it twice, e.g. two sockets of one
  process on one port): each format keeps both findings apart (SARIF fingerprints, HDF results), so
  the failing one is not merged into the passing one, and JUnit's one test case for the rule fails.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.check import CheckParams, check, failed, passed
from auditor.model.evidence import Evidence
from auditor.model.result import Severity, Verdict
from auditor.report import ReportContext
from auditor.report.hdf import render_hdf
from auditor.report.junit import render_junit
from auditor.report.sarif import FINGERPRINT_KEY, render_sarif
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy, make_snapshot
from tests.factories import FIXED_TIME
from tests.report.conftest import hdf_validator as hdf_validator  # noqa: F401 - the fixture, used by name


def heimdall_status(control: dict) -> str:
    """Heimdall's control status as inspecjs computes it (compat_inspec_1_0.ts ExecControl): a result
    with a backtrace is an error; any error is "Profile Error"; a control waived (skipped_due_to_waiver)
    or of impact 0 is "Not Applicable"; then failed, passed, skipped."""
    statuses = ["error" if r.get("backtrace") else r["status"] for r in control["results"]]
    if "error" in statuses:
        return "Profile Error"
    if control.get("waiver_data", {}).get("skipped_due_to_waiver") or control["impact"] == 0:
        return "Not Applicable"
    if not statuses:
        return "Profile Error"
    for status, word in (("failed", "Failed"), ("passed", "Passed"), ("skipped", "Not Reviewed")):
        if status in statuses:
            return word
    return "Profile Error"


def heimdall_by_id(document: dict) -> dict[str, str]:
    """Control id -> Heimdall status, as a reader that keys controls by id keeps them (the first)."""
    by_id: dict[str, str] = {}
    for control in document["profiles"][0]["controls"]:
        by_id.setdefault(control["id"], heimdall_status(control))
    return by_id


def _context(evidence: Evidence) -> ReportContext:
    return ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="evidence.json")


def _evidence(policy, checks=CHECKS) -> Evidence:
    registry = build_registry(list(checks))
    snap = make_snapshot()
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result, started_at=FIXED_TIME,
                          finished_at=FIXED_TIME, evaluated_on=EVALUATED_ON)


def _rules(*pairs: tuple[str, str]):
    """The fixture policy with only the rules named, each under a new id: (fixture rule id, new id)."""
    base = make_policy()
    by_id = {r.id: r for r in base.rules}
    return base.model_copy(update={"rules": [by_id[old].model_copy(update={"id": new}) for old, new in pairs],
                                   "waivers": []})


def test_a_rule_called_lbaudit_run_complete_does_not_hide_the_incomplete_run_in_hdf(hdf_validator):
    # privileged-ports passes; audit-socket-calls is not reviewed (no error result): the run is incomplete.
    evidence = _evidence(_rules(("audit-socket-calls", "audit-socket-calls"),
                                ("privileged-ports", "lbaudit-run-complete")))
    assert (evidence.result.verdict, evidence.result.exit_code) == (Verdict.INCOMPLETE, 3)
    document = json.loads(render_hdf(evidence, _context(evidence)))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in hdf_validator.iter_errors(document)] == []
    ids = [c["id"] for c in document["profiles"][0]["controls"]]
    assert ids == ["audit-socket-calls", "lbaudit-run-complete", "lbaudit run complete"]
    assert heimdall_by_id(document) == {"audit-socket-calls": "Not Reviewed", "lbaudit-run-complete": "Passed",
                                        "lbaudit run complete": "Profile Error"}


def test_control_case_the_run_control_keeps_its_id_when_no_rule_has_it(hdf_validator):
    evidence = _evidence(_rules(("audit-socket-calls", "audit-socket-calls"), ("privileged-ports", "ports")))
    document = json.loads(render_hdf(evidence, _context(evidence)))
    assert heimdall_by_id(document) == {"audit-socket-calls": "Not Reviewed", "ports": "Passed",
                                        "lbaudit-run-complete": "Profile Error"}


@check(
    name="test.twice",
    title="Each socket of a process is bound to a specific address",
    version="1.0",
    needs=["sockets"],
    params=CheckParams,
    severity=Severity.HIGH,
    controls=["SC-7"],
    rationale="One process may hold two sockets on one port (SO_REUSEPORT): one subject, two judgements.",
    remediation="Bind every socket to a specific address.",
)
def twice(snap, params):
    yield passed("tcp 0.0.0.0:80 nginx pid 700", "bound to 10.0.0.5")
    yield failed("tcp 0.0.0.0:80 nginx pid 700", "listens on the wildcard address", observed="0.0.0.0",
                 expected="a specific address")


def test_one_subject_judged_twice_keeps_its_failure_in_every_format():
    base = make_policy()
    rule = base.rules[0].model_copy(update={"id": "reuseport", "check": "test.twice", "params": {},
                                            "controls": ["SC-7"]})
    evidence = _evidence(base.model_copy(update={"rules": [rule], "waivers": []}), [*CHECKS, twice])
    assert (evidence.result.verdict, evidence.result.exit_code) == (Verdict.NON_COMPLIANT, 1)
    ids = [f.id for f in evidence.result.findings]
    assert len(set(ids)) == 2

    results = json.loads(render_sarif(evidence, _context(evidence)))["runs"][0]["results"]
    # the pass is no result (code scanning makes every result an alert, whatever its kind)
    assert [(r["kind"], r["level"], r["partialFingerprints"][FINGERPRINT_KEY]) for r in results] == [
        ("fail", "error", ids[1])]

    control = json.loads(render_hdf(evidence, _context(evidence)))["profiles"][0]["controls"][0]
    assert sorted(r["status"] for r in control["results"]) == ["failed", "passed"]
    assert heimdall_status(control) == "Failed"

    suite = ET.fromstring(render_junit(evidence, _context(evidence))).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    failure = suite.find("testcase/failure")
    assert failure.get("message") == "1 of 2 subjects fail: tcp 0.0.0.0:80 nginx pid 700"
