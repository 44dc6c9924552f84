"""Two spellings of one control in the evidence: ``SC-07`` beside ``SC-7``, one OSCAL objective.

A control id was any ``XX-N(M)`` with one or two digits each, so ``SC-07`` and ``SC-7(05)`` were
ids of their own in the evidence (its policy copy, findings and control judgements: whoever edits the
file writes the policy digest to match; the policy loader and the check registry look ids up in the
catalog, the evidence loader only matched the pattern).  OSCAL writes a control as NIST's catalogs
do, ``sc-7``, and both spellings became that one id: evidence whose failing rule maps to ``SC-7`` and
whose passing rule maps to ``SC-07`` gave an assessment-results document with two findings for the
objective ``sc-7_obj``, the first ``satisfied``, and ``sc-7`` twice in the reviewed controls.  A
reader keyed by objective saw SC-7 (Boundary Protection, failing) satisfied.

Now a control id has no leading zero (``[1-9]`` then at most one digit, as every SP 800-53 id is
written): ``SC-07`` is not a control id anywhere, the evidence holding one is refused (exit 2, naming
the field) and nothing is rendered from it.  Each id has one spelling, so OSCAL's id is one-to-one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model.controls import CONTROL_ID, oscal_control_id
from auditor.storage.jsonfile import canonical_sha256
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

BAD_INPUT = 2


def _with_control_respelled(directory: Path, rule_id: str, old: str, new: str) -> Path:
    """The fixture evidence with ``old`` of ``rule_id`` written ``new`` (in the policy, the rule's
    findings and the control's judgement), and the policy digest written to match."""
    path, raw = write_evidence_file(directory, make_evidence())
    data = json.loads(raw)
    for rule in data["policy"]["rules"]:
        if rule["id"] == rule_id:
            rule["controls"] = [new if c == old else c for c in rule["controls"]]
    for finding in data["result"]["findings"]:
        if finding["rule_id"] == rule_id:
            finding["controls"] = [new if c == old else c for c in finding["controls"]]
    for control in data["result"]["controls"]:
        if control["id"] == old:
            control["id"] = new
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("spelling", ["SC-07", "SC-7(05)", "SC-07(5)"])
def test_a_second_spelling_of_a_failing_control_is_refused(tmp_path: Path, spelling: str):
    # privileged-ports passes (AC-4); SC-7 and SC-7(5) fail through wildcard-listeners
    path = _with_control_respelled(tmp_path, "privileged-ports", "AC-4", spelling)
    run = run_cli("report", path, "--format", "oscal,junit,sarif,hdf,html,prometheus,text",
                  "--out-dir", tmp_path / "out")
    # before: exit 0, and OSCAL's objective sc-7_obj (or sc-7.5_obj) was "satisfied" in one finding
    assert run.returncode == BAD_INPUT, (run.returncode, run.stderr)
    assert "/policy/rules/5/controls/0" in run.stderr and "/result/controls/0/id" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    shown = run_cli("show", str(path))
    assert shown.returncode == BAD_INPUT, (shown.returncode, shown.stdout)


def test_the_unedited_evidence_renders_each_objective_once(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    run = run_cli("report", path, "--format", "oscal", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    [document] = (tmp_path / "out").glob("*.oscal.json")
    result = json.loads(document.read_text(encoding="utf-8"))["assessment-results"]["results"][0]
    targets = [f["target"]["target-id"] for f in result["findings"]]
    assert len(targets) == len(set(targets)) and "sc-7_obj" in targets
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert states["sc-7_obj"] == "not-satisfied"
    reviewed = [c["control-id"] for c in result["reviewed-controls"]["control-selections"][0]["include-controls"]]
    assert len(reviewed) == len(set(reviewed))


@pytest.mark.parametrize("text", ["SC-07", "SC-7(05)", "SC-0", "SC-7(0)", "AC-00"])
def test_a_control_id_has_one_spelling(text: str):
    assert CONTROL_ID.match(text) is None


@pytest.mark.parametrize(("text", "oscal"), [("SC-7", "sc-7"), ("SC-7(5)", "sc-7.5"), ("AC-2(13)", "ac-2.13"),
                                             ("SI-10", "si-10"), ("AU-12", "au-12")])
def test_the_catalog_spellings_are_ids(text: str, oscal: str):
    assert CONTROL_ID.match(text) is not None
    assert oscal_control_id(text) == oscal
