"""OSCAL: a control objective whose failures are all waived is not "satisfied".

The defect: ``ControlResult.satisfied`` held ``waived`` beside ``pass``, so a run in which every
failure of a control was waived rendered the control's objective status as ``satisfied`` (reason
``other``): an auditor reads "satisfied" as tested and passing, and the waiver was visible only in
the risks.  OSCAL's objective state has two values (satisfied, not-satisfied); a waived control is
now ``not-satisfied`` for reason ``other``, its remarks say the failures were waived as an approved
deviation and the finding links the ``deviation-approved`` risks that name each waiver.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model.evidence import Evidence
from tests.cli import run_cli
from tests.evidence_fixtures import write_evidence_file
from tests.hostile.test_renderings import all_failures_waived, only_waived
from tests.report.conftest import oscal_validator  # noqa: F401 - the session fixture with the official schema


def _oscal_result(tmp_path: Path, evidence: Evidence) -> dict:
    path, _ = write_evidence_file(tmp_path, evidence)
    run = run_cli("report", path, "--format", "oscal", "--out-dir", tmp_path / "out", timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads((tmp_path / "out" / "corp-baseline.oscal.json").read_text(encoding="utf-8"))


VARIANTS = {
    # wildcard-listeners: 4 passing listeners beside 4 waived failures
    "passes-beside-waived": (all_failures_waived, {"CM-7", "SC-7", "SC-7(5)"},
                             "Not satisfied: 4 failing findings waived (a deviation the policy approved until the "
                             "waiver's expiry, not a pass; the related risks name each waiver) beside 4 passing "
                             "findings."),
    # port-range: its one failing finding waived
    "only-waived": (only_waived, {"CM-6", "SC-5"},
                    "Not satisfied: 1 failing finding waived (a deviation the policy approved until the waiver's "
                    "expiry, not a pass; the related risks name each waiver)."),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_waived_control_objective_is_not_satisfied(tmp_path, variant, oscal_validator):  # noqa: F811 - fixture
    build, controls, remarks = VARIANTS[variant]
    evidence = build()
    assert evidence.result.verdict.value == "compliant"  # the verdict itself is unchanged: no failure counted
    document = _oscal_result(tmp_path, evidence)
    assert not [e.message for e in oscal_validator.iter_errors(document)][:3]
    result = document["assessment-results"]["results"][0]
    risks = {r["uuid"]: r for r in result["risks"]}
    assert {r["status"] for r in risks.values()} == {"deviation-approved"}
    seen = set()
    for finding in result["findings"]:
        props = {p["name"]: p["value"] for p in finding["props"]}
        seen.add(props["control-id"])
        assert props["control-status"] == "waived"
        assert finding["target"]["status"] == {"state": "not-satisfied", "reason": "other", "remarks": remarks}
        # the deviation is reachable from the objective: each waived finding's risk is related
        related = {r["risk-uuid"] for r in finding["related-risks"]}
        assert related and related <= set(risks)
    assert seen == controls
