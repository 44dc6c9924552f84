"""Hostile evidence that contradicts its own findings (hand-edited, or written by a faulty plugin) but
is otherwise schema-valid: every report renders the recorded verdict, counts and control judgements,
so the loader refuses such a file (exit 2, naming the field) instead of letting ``report``/``show``
print "COMPLIANT" over a failing finding.

The defect: a non-compliant evidence file whose ``result.verdict`` was edited to ``compliant`` (and
``exit_code`` to 0) was shown as COMPLIANT by ``lbaudit show`` and rendered as compliant into every
report, and ``lbaudit report`` exited 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def _edited(tmp_path: Path, edit) -> Path:
    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    edit(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    return path


def _compliant_claim(data: dict) -> None:
    data["result"]["verdict"] = "compliant"
    data["result"]["exit_code"] = 0


def _failing_control_satisfied(data: dict) -> None:
    for control in data["result"]["controls"]:
        if control["status"] == "fail":
            control["status"] = "pass"


def _counts_hide_failures(data: dict) -> None:
    by_status = data["result"]["summary"]["by_status"]
    by_status["pass"] += by_status["fail"]
    by_status["fail"] = 0


def _failing_control_dropped(data: dict) -> None:
    data["result"]["controls"] = [c for c in data["result"]["controls"] if c["status"] != "fail"]


def _marked_complete(data: dict) -> None:
    data["result"]["complete"] = True
    data["result"]["incomplete_reasons"] = []


EDITS = {
    "verdict-compliant": (_compliant_claim, "/result/verdict: records 'compliant', but the findings give "
                                            "'non_compliant'"),
    "control-satisfied": (_failing_control_satisfied, "/result/controls/"),
    "counts": (_counts_hide_failures, "/result/summary/by_status/fail: records 0, but the findings give 4"),
    "control-dropped": (_failing_control_dropped, "/result/controls: control"),
    "complete": (_marked_complete, "/result/complete: records True, but the findings give False"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("command", [("show",), ("show", "--json"), ("report", "--format", "junit,sarif,hdf,oscal")])
def test_evidence_contradicting_its_findings_is_refused(tmp_path, edit, command):
    change, problem = EDITS[edit]
    path = _edited(tmp_path, change)
    extra = ("--out-dir", tmp_path / "out") if command[0] == "report" else ()
    run = run_cli(command[0], path, *command[1:], *extra)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "the evidence contradicts its own findings" in run.stderr
    assert problem in run.stderr
    assert "COMPLIANT" not in run.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_consistent_evidence_still_renders(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    run = run_cli("show", path, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["verdict"] == "non_compliant"


def test_a_satisfied_control_over_a_failing_finding_names_the_control(tmp_path):
    path = _edited(tmp_path, _failing_control_satisfied)
    run = run_cli("show", path)
    assert run.returncode == 2
    data = json.loads(path.read_text(encoding="utf-8"))
    failing = [i for i, c in enumerate(data["result"]["controls"]) if c["status"] == "pass"
               and c["counts"]["fail"] > 0]
    assert failing
    for index in failing:
        assert f"/result/controls/{index}/status: records 'pass', but the findings give 'fail'" in run.stderr


def test_fleet_report_takes_the_verdict_from_the_evidence_not_an_edited_run_row(tmp_path):
    """The defect: ``fleet report`` showed the run row's verdict, exit code and counts; a row edited
    in the database (``history verify``: record_mismatch) put a non-compliant host under compliant."""
    import sqlite3

    path, _ = write_evidence_file(tmp_path, make_evidence())
    store = tmp_path / "h.db"
    assert run_cli("history", "import", path, "--store", store).returncode == 0
    with sqlite3.connect(store) as db:
        db.execute("UPDATE runs SET verdict = 'compliant', exit_code = 0, n_fail = 0")
    run = run_cli("fleet", "report", "--store", store, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["hosts_by_verdict"] == {"non_compliant": ["web01.example.test"]}
    row = report["hosts"][0]
    assert (row["verdict"], row["exit_code"], row["counts"]["fail"]) == ("non_compliant", 1, 4)
    assert run_cli("history", "verify", "--store", store).returncode == 10  # and verify names the edit


@pytest.mark.parametrize("as_json", [False, True])
def test_history_show_refuses_a_run_row_edited_to_compliant(tmp_path, as_json):
    """The defect: ``history show`` printed "run 1: compliant (exit 0)" from an edited run row above
    the run's failing findings."""
    import sqlite3

    path, _ = write_evidence_file(tmp_path, make_evidence())
    store = tmp_path / "h.db"
    assert run_cli("history", "import", path, "--store", store).returncode == 0
    assert run_cli("history", "show", "1", "--store", store).returncode == 0
    with sqlite3.connect(store) as db:
        db.execute("UPDATE runs SET verdict = 'compliant', exit_code = 0, n_fail = 0")
    run = run_cli("history", "show", "1", "--store", store, *(["--json"] if as_json else []))
    assert run.returncode == 2, run.stdout
    assert "run 1's record contradicts its evidence (verdict: the record says 'compliant', the evidence " \
           "'non_compliant'; exit_code: the record says 0, the evidence 1;" in run.stderr
    assert "compliant" not in run.stdout


def _expired_waiver_honoured(data: dict) -> None:
    """A fail finding turned waived under a waiver that had expired on the evaluation day, every
    count and control edited to agree: only the waiver's date gives it away."""
    for finding in data["result"]["findings"]:
        if finding["rule_id"] == "port-range" and finding["status"] == "fail":
            finding["status"] = "waived"
            finding["waiver"] = {"reason": "Kernel tuning rollout pending", "approver": "Sam Okafor (Platform lead)",
                                 "expires": "2026-10-02", "subject": None}


def test_a_finding_waived_under_an_expired_waiver_is_refused(tmp_path):
    from auditor.model.evidence import Evidence
    from auditor.storage.evidence import evidence_bytes
    from tests.evidence_fixtures import reconciled

    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    _expired_waiver_honoured(data)
    edited = reconciled(Evidence.model_validate(data))  # counts, verdict and controls agree with the edit
    path.write_bytes(evidence_bytes(edited))
    run = run_cli("show", path)
    assert run.returncode == 2, run.stdout
    assert "/waiver/expires: the waiver expired on 2026-10-02, before the evaluation day 2026-11-01" in run.stderr


def test_a_failing_rule_whose_findings_were_removed_is_refused(tmp_path):
    """Every finding of the failing rule port-range deleted and every count, control and the verdict
    edited to agree (compliant, exit 0): the engine never leaves an enabled rule without a finding."""
    from auditor.model.result import ExitCode, Verdict
    from auditor.storage.evidence import derived_result, evidence_bytes
    from tests.evidence_fixtures import make_policy
    from tests.hostile.test_renderings import evidence_for, only

    evidence = evidence_for(only(make_policy(), "privileged-ports", "port-range"))
    assert evidence.result.verdict == Verdict.NON_COMPLIANT
    findings = [f for f in evidence.result.findings if f.rule_id != "port-range"]
    edited = evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": findings})})
    derived = derived_result(edited)
    controls = [c.model_copy(update={"status": derived.controls[c.id].status, "counts": derived.controls[c.id].counts})
                for c in edited.result.controls]
    summary = edited.result.summary.model_copy(update={"by_status": derived.by_status, "rules": derived.rules,
                                                       "failing_by_severity": derived.failing_by_severity,
                                                       "findings": derived.findings})
    edited = edited.model_copy(update={"result": edited.result.model_copy(update={
        "controls": controls, "summary": summary, "verdict": Verdict.COMPLIANT, "exit_code": int(ExitCode.COMPLIANT),
        "complete": True, "incomplete_reasons": []})})
    path = tmp_path / "evidence.json"
    path.write_bytes(evidence_bytes(edited))
    run = run_cli("show", path)
    assert run.returncode == 2, run.stdout
    assert "/result/findings: enabled rule port-range has no finding, so nothing was judged for it" in run.stderr
    assert "/result/verdict: records 'compliant', but the findings give 'incomplete'" in run.stderr


# ---------------------------------------------------------------- diff: judged by the findings

def _a_pass_edited_to_fail(data: dict) -> None:
    """What a reviewer does to make a regression by hand: one finding's status, nothing else."""
    finding = next(f for f in data["result"]["findings"] if f["status"] == "pass")
    finding["status"] = "fail"


def test_diff_judges_hand_edited_findings_by_the_findings_and_says_so(tmp_path):
    """``show`` and ``report`` refuse evidence whose summary contradicts its findings, as they would
    print the summary; ``diff`` compares findings, so it takes the edited findings, replaces the
    recorded verdict by theirs and warns, rather than refusing the comparison (exit 2)."""
    before, _ = write_evidence_file(tmp_path / "before", make_evidence())
    after = _edited(tmp_path / "after", _a_pass_edited_to_fail)
    run = run_cli("diff", before, after)
    assert run.returncode == 1, (run.stdout, run.stderr)  # the pass that now fails is a regression
    assert "regressions: 1" in run.stdout
    assert f"warning: {after}: the recorded verdict or summary contradicts the findings" in run.stderr
    assert "compared by the findings" in run.stderr
    same = run_cli("diff", before, before)
    assert same.returncode == 0 and "warning" not in same.stderr


def test_diff_prints_the_verdict_the_findings_give_not_an_edited_one(tmp_path):
    before, _ = write_evidence_file(tmp_path / "before", make_evidence())
    after = _edited(tmp_path / "after", _compliant_claim)  # non-compliant findings, "compliant" claimed
    run = run_cli("diff", before, after, "--json")
    assert run.returncode == 0, (run.stdout, run.stderr)  # the findings did not change
    assert json.loads(run.stdout)["verdict"] == {"before": "non_compliant", "after": "non_compliant"}
