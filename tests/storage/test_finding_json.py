"""The evidence writes each finding with ``finding_json``, built directly instead of through
pydantic's dump: it must be ``Finding.model_dump(mode="json")`` exactly, for every kind of finding
(waived, erroring, with floats and non-finite floats, validated from a file or built by a check)."""

from __future__ import annotations

import math
from pathlib import Path

from auditor.model.result import AppliedWaiver, Finding, Severity, Status
from auditor.storage.evidence import _FINDING_FIELDS, evidence_bytes, finding_json, parse_evidence
from tests.evidence_fixtures import make_evidence


def test_it_knows_every_field_of_a_finding() -> None:
    # A field it did not know would make every evidence fall back to pydantic's slower dump.
    assert tuple(Finding.model_fields) == _FINDING_FIELDS


def test_every_finding_of_an_evaluation_is_written_as_pydantic_dumps_it() -> None:
    evidence = make_evidence(extra_listeners=3)
    statuses = {f.status for f in evidence.result.findings}
    assert {Status.PASS, Status.FAIL, Status.WAIVED, Status.ERROR} <= statuses
    for finding in evidence.result.findings:
        assert finding_json(finding) == finding.model_dump(mode="json")


def test_findings_read_back_from_a_file_are_written_as_pydantic_dumps_them(tmp_path: Path) -> None:
    data = evidence_bytes(make_evidence())
    read = parse_evidence(data, "evidence.json")
    assert [finding_json(f) for f in read.result.findings] == [f.model_dump(mode="json") for f in read.result.findings]
    assert evidence_bytes(read) == data


def test_floats_and_a_waiver_are_written_as_pydantic_dumps_them() -> None:
    finding = Finding(
        id="0123456789abcdef", rule_id="r", check="c", status=Status.WAIVED, severity=Severity.HIGH,
        controls=["SC-7"], subject="s", subject_detail={"share": 0.25, "big": 1e16, "small": 1e-05},
        observed={"inf": math.inf, "values": [1.5, -0.0, 2**70]}, expected=[None, True, "x"], message="m",
        waiver=AppliedWaiver(reason="r", approver="a", expires="2027-01-31", subject="s*"),
    )
    assert finding_json(finding) == finding.model_dump(mode="json")


def test_the_json_values_are_not_changed_by_writing() -> None:
    evidence = make_evidence()
    before = [f.model_dump(mode="json") for f in evidence.result.findings]
    evidence_bytes(evidence)  # floats are replaced by fragments while written, then put back
    assert [f.model_dump(mode="json") for f in evidence.result.findings] == before
