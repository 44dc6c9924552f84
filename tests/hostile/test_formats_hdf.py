"""Hostile cases: an HDF (Heimdall Exec JSON) of an incomplete run is never green to a gate.

A gate reading HDF (``saf validate threshold``, a Heimdall dashboard) counts failed and error results.
An incomplete run (exit 3) whose findings are all not applicable or not reviewed (both ``skipped`` in
HDF), or whose policy has no enabled rule, had no failed and no error result: the gate passed a run
that judged nothing.  JUnit already adds an ``lbaudit run complete`` error case; HDF now adds the
``lbaudit-run-complete`` control with an ``error`` result.  Each document validates against MITRE's
schema from ../shared/reference (skipped on a workstation without it, a failure in CI).
"""

from __future__ import annotations

import json

import pytest

from auditor.report import ReportContext
from auditor.report.hdf import IMPACT, UNMAPPED_NIST, render_hdf
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence
from tests.report.conftest import hdf_validator as hdf_validator  # noqa: F401 - the fixture, used by name

RUN_COMPLETE_CONTROL = "lbaudit-run-complete"


def _hdf(only_rules: list[str]) -> tuple[dict, object]:
    evidence = make_evidence(only_rules=only_rules)  # through the real engine
    context = ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="e.json")
    return json.loads(render_hdf(evidence, context)), evidence


def _statuses(document: dict) -> list[tuple[str, list[str]]]:
    return [(c["id"], [r["status"] for r in c["results"]]) for c in document["profiles"][0]["controls"]]


@pytest.mark.parametrize(("only_rules", "rule_statuses", "reason"), [
    (["ipv6-only"], [("ipv6-only", ["skipped"])], "nothing was judged: every finding is not_applicable"),
    (["audit-socket-calls"], [("audit-socket-calls", ["skipped"])],
     "audit-socket-calls: facts: audit: auditctl -l: permission denied (needs CAP_AUDIT_CONTROL)"),
    ([], [], "nothing was judged: no enabled rule, no finding"),
], ids=["all-not-applicable", "all-not-reviewed", "no-enabled-rule"])
def test_an_incomplete_run_has_an_error_result(hdf_validator, only_rules, rule_statuses, reason):
    document, evidence = _hdf(only_rules)
    assert evidence.result.verdict.value == "incomplete" and evidence.result.exit_code == 3
    assert [f"{list(e.absolute_path)}: {e.message}" for e in hdf_validator.iter_errors(document)] == []
    assert _statuses(document) == [*rule_statuses, (RUN_COMPLETE_CONTROL, ["error"])]
    run = document["profiles"][0]["controls"][-1]
    assert run["results"][0]["message"] == "; ".join(evidence.result.incomplete_reasons)
    assert reason in evidence.result.incomplete_reasons
    assert run["impact"] == IMPACT[evidence.result.fail_on] and run["tags"]["nist"] == [UNMAPPED_NIST]


def test_an_incomplete_run_that_already_has_an_error_gets_no_extra_control(hdf_validator):
    document, evidence = _hdf(["broken-check", "ipv6-only"])
    assert evidence.result.verdict.value == "incomplete"
    assert [f"{list(e.absolute_path)}: {e.message}" for e in hdf_validator.iter_errors(document)] == []
    assert _statuses(document) == [("ipv6-only", ["skipped"]), ("broken-check", ["error"])]


def test_a_complete_run_gets_no_extra_control():
    document, evidence = _hdf(["wildcard-listeners"])
    assert evidence.result.complete
    assert RUN_COMPLETE_CONTROL not in [c["id"] for c in document["profiles"][0]["controls"]]
