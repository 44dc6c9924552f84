"""A control whose passing findings stand beside waived failures: waived, never "pass".

The defect: the engine rolled a control's findings up worst first in the order fail, error,
not_reviewed, pass, waived, so a control with passes beside waived failures was recorded ``pass``,
and every report states the recorded judgement: OSCAL's ``control-status`` was ``pass``, SARIF's
and JUnit's control properties, the terminal summary and the PDF said ``pass``, and the failures the
policy had accepted were nowhere in the control's judgement (JUnit's test case and Prometheus's rule
status patched the same roll-up for rules, one renderer at a time).  Now waived comes before pass
in ``rollup_status`` (auditor/model/result.py): the control is ``waived``, and not satisfied (a waived
failure is an approved deviation, never a tested pass: tests/hostile/test_verdicts_every_reporter.py).  Evidence an
earlier lbaudit wrote, with ``pass`` recorded there, is read with the control as this version
judges it, neither refused nor shown as a pass.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from auditor.model.result import Status, rollup_status
from auditor.report.junit import render_junit
from tests.cli import run_cli
from tests.evidence_fixtures import write_evidence_file
from tests.hostile.test_renderings import (
    all_failures_waived,
    console_controls,
    context_of,
    junit_controls,
    oscal_controls,
    pdf_controls,
    sarif_controls,
)

WAIVED_CONTROLS = {"CM-7": ("waived", "not satisfied"), "SC-7": ("waived", "not satisfied"),
                   "SC-7(5)": ("waived", "not satisfied")}


def test_passes_beside_waived_failures_roll_up_to_waived():
    assert rollup_status([Status.PASS, Status.WAIVED]) is Status.WAIVED
    assert rollup_status([Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE]) is Status.WAIVED
    assert rollup_status([Status.PASS, Status.NOT_APPLICABLE]) is Status.PASS  # control case
    assert rollup_status([Status.WAIVED, Status.NOT_REVIEWED]) is Status.NOT_REVIEWED
    assert rollup_status([Status.WAIVED, Status.FAIL]) is Status.FAIL


def test_every_rendering_states_a_control_with_waived_failures_as_waived():
    evidence = all_failures_waived()
    counts = {c.id: (c.counts["pass"], c.counts["waived"]) for c in evidence.result.controls}
    assert counts == {"CM-7": (4, 4), "SC-7": (4, 4), "SC-7(5)": (4, 4)}
    assert {c.id: (c.status, c.satisfied) for c in evidence.result.controls} == {
        "CM-7": (Status.WAIVED, False), "SC-7": (Status.WAIVED, False), "SC-7(5)": (Status.WAIVED, False)}
    assert {cid: (status, state.replace("-", " ")) for cid, (status, state) in oscal_controls(evidence).items()} \
        == WAIVED_CONTROLS
    assert sarif_controls(evidence) == WAIVED_CONTROLS
    assert junit_controls(evidence) == {"CM-7": "waived (not satisfied)", "SC-7": "waived (not satisfied)",
                                        "SC-7(5)": "waived (not satisfied)"}
    assert console_controls(evidence) == WAIVED_CONTROLS
    assert pdf_controls(evidence) == WAIVED_CONTROLS


def test_the_junit_case_of_passes_beside_waived_failures_is_skipped_as_waived():
    evidence = all_failures_waived()
    case = ET.fromstring(render_junit(evidence, context_of(evidence))).find("testsuite/testcase")
    assert case.get("name") == "wildcard-listeners"
    assert case.find("skipped").get("type") == "waived"


def _as_an_earlier_lbaudit_wrote_it(tmp_path: Path) -> Path:
    """The evidence of all_failures_waived with its controls recorded ``pass``, as before the fix."""
    path, raw = write_evidence_file(tmp_path, all_failures_waived())
    data = json.loads(raw)
    for control in data["result"]["controls"]:
        assert control["status"] == "waived"
        control["status"] = "pass"
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_evidence_recording_pass_for_such_a_control_is_shown_waived_not_refused(tmp_path: Path):
    path = _as_an_earlier_lbaudit_wrote_it(tmp_path)
    run = run_cli("show", path, "--color", "never", timeout=30)
    assert run.returncode == 0, run.stderr
    assert [line for line in run.stdout.splitlines() if line.startswith("control ")] == [
        "control CM-7 | waived | not satisfied | wildcard-listeners",
        "control SC-7 | waived | not satisfied | wildcard-listeners",
        "control SC-7(5) | waived | not satisfied | wildcard-listeners",
    ]
    out = tmp_path / "out"
    run = run_cli("report", path, "--format", "oscal", "--out-dir", out, timeout=60)
    assert run.returncode == 0, run.stderr
    document = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    statuses = {prop["value"] for finding in document["assessment-results"]["results"][0]["findings"]
                for prop in finding["props"] if prop["name"] == "control-status"}
    assert statuses == {"waived"}
