"""Evidence that records one control's judgement twice: every report counted it twice, and OSCAL gave
two findings one UUID.

The loader compared each recorded control with the judgement its findings give, and looked for a
control missing from the record, but not for one recorded twice: a copy of ``AC-4``'s entry (same
status, same counts) appended to ``result.controls`` passed every comparison.  The reports render the
recorded judgements as they are: the OSCAL assessment results held two findings with one ``uuid``
(OSCAL's identifiers are unique in a document; a consumer keyed by them merged the two, or rejected
the file), and the HTML report, the PDF and the summaries counted two controls where the run judged
one.  Now a control recorded twice is a contradiction like the others: exit 2, naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

BAD_INPUT = 2


def _with_control_twice(directory: Path, control_id: str) -> tuple[Path, int]:
    path, raw = write_evidence_file(directory, make_evidence())
    data = json.loads(raw)
    controls = data["result"]["controls"]
    controls.append(dict(next(c for c in controls if c["id"] == control_id)))
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return path, len(controls) - 1


def test_a_control_recorded_twice_is_refused(tmp_path: Path):
    path, index = _with_control_twice(tmp_path, "AC-4")
    run = run_cli("report", path, "--format", "oscal,html,text", "--out-dir", tmp_path / "out")
    # before: exit 0; two OSCAL findings shared a uuid and the reports counted AC-4 twice
    assert run.returncode == BAD_INPUT, (run.returncode, run.stderr)
    assert f"/result/controls/{index}" in run.stderr and "AC-4" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    shown = run_cli("show", str(path))
    assert shown.returncode == BAD_INPUT, (shown.returncode, shown.stdout)


def test_the_engine_s_evidence_has_one_finding_per_control_in_oscal(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    run = run_cli("report", path, "--format", "oscal", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    [document] = (tmp_path / "out").glob("*.oscal.json")
    result = json.loads(document.read_text(encoding="utf-8"))["assessment-results"]["results"][0]
    uuids = [f["uuid"] for f in result["findings"]]
    assert len(uuids) == len(set(uuids)) == len(json.loads(path.read_text())["result"]["controls"])
