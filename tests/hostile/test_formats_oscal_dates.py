"""Hostile cases: times OSCAL's date-time cannot hold.

OSCAL 1.1.2's ``DateTimeWithTimezoneDatatype`` is a pattern that admits the years 1900 to 2999
alone.  Every time in the assessment results came from the evidence as it was:

* a waiver that ``expires: 9999-12-31`` (the usual way of writing "until further notice") made the
  risk's ``deadline`` ``9999-12-31T23:59:59Z``, and the whole document failed the schema, so an
  OSCAL consumer rejected the run;
* a snapshot whose clock said 1899 (or evidence edited so) made the observations' ``collected``
  invalid the same way.

Now a waiver past the last moment OSCAL can write has no deadline in OSCAL (it is still named, with
its day, in the risk log); a time of the run or the facts that OSCAL cannot write is bad input
(exit 2, naming it), and no file of the run is left.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file
from tests.factories import listener, snapshot
from tests.report.conftest import oscal_validator  # noqa: F401  (the session fixture with the official schema)

USAGE, COMPLIANT = 2, 0

POLICY = """\
id: dates
version: "1"
owner: Tests <tests@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
waivers:
  - rule: loopback-only
    subject: "tcp 0.0.0.0:22 *"
    reason: until further notice
    approver: Dana Whitfield (CISO)
    expires: 9999-12-31
"""


def _errors(validator, document: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:120]}" for e in validator.iter_errors(document)]


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_waiver_until_9999_gives_a_valid_document_without_a_deadline(tmp_path: Path, oscal_validator):  # noqa: F811
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "-o", tmp_path / "e.json", "--format", "oscal", "--out-dir", tmp_path / "out", "-q")
    assert run.returncode == COMPLIANT, run.stderr  # the one failure is waived
    document = json.loads((tmp_path / "out" / "dates.oscal.json").read_text(encoding="utf-8"))
    # before: ["...risks/0/deadline: '9999-12-31T23:59:59Z' does not match ..."]
    assert _errors(oscal_validator, document) == []
    [risk] = document["assessment-results"]["results"][0]["risks"]
    assert risk["status"] == "deviation-approved"
    assert "deadline" not in risk
    [entry] = risk["risk-log"]["entries"]
    assert entry["description"].startswith("Waived by the policy until 9999-12-31 ")


def test_control_case_a_waiver_of_this_millennium_keeps_its_deadline(tmp_path: Path, oscal_validator):  # noqa: F811
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(POLICY.replace("9999-12-31", "2999-12-31"), encoding="utf-8")
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "-o", tmp_path / "e.json", "--format", "oscal", "--out-dir", tmp_path / "out", "-q")
    assert run.returncode == COMPLIANT, run.stderr
    document = json.loads((tmp_path / "out" / "dates.oscal.json").read_text(encoding="utf-8"))
    assert _errors(oscal_validator, document) == []
    [risk] = document["assessment-results"]["results"][0]["risks"]
    assert risk["deadline"] == "2999-12-31T23:59:59Z"


def test_facts_collected_in_1899_are_refused_for_oscal_and_nothing_is_left(tmp_path: Path):
    snap = snapshot(listeners=[listener("0.0.0.0", 22)])
    snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={
        "collected_at": snap.provenance.collected_at.replace(year=1899)})})
    write_snapshot(snap, tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "out").mkdir()
    before = _files(tmp_path)
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "-o", tmp_path / "e.json", "--format", "sarif,oscal", "--out-dir", tmp_path / "out", "-q")
    # before: exit 0 and an OSCAL document whose every observation's "collected" failed the schema
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert ("the facts' collection time 1899-11-01T12:00:00Z: OSCAL's date-time holds the years 1900 to 2999 "
            "alone; no OSCAL document is rendered") in run.stderr, run.stderr
    assert _files(tmp_path) == before and _files(tmp_path / "out") == []


def test_report_of_evidence_edited_to_1899_writes_nothing(tmp_path: Path):
    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    data["run"]["started_at"] = "1899-12-31T23:59:59Z"  # no digest covers the run's times
    path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    run = run_cli("report", path, "--format", "junit,oscal", "--out-dir", tmp_path / "out")
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert "the run's start 1899-12-31T23:59:59Z: OSCAL's date-time holds the years 1900 to 2999 alone" in run.stderr
    assert not (tmp_path / "out").exists()
