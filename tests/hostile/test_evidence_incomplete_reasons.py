"""Evidence whose recorded reasons for being incomplete are not what its findings give is refused.

The reader checked that ``result.incomplete_reasons`` was empty exactly when the run was complete,
never what it said: a run whose listeners could not be read, its reasons replaced by "scheduled
maintenance window" (every count, the verdict and the exit code left as they were), was rendered
by ``show`` and every report with that reason, the unread section nowhere said.  Now the reasons
must be those the findings give (``auditor/model/result.py`` ``tally_run``); exit 2 names the field.
"""

from __future__ import annotations

from auditor.storage.evidence import evidence_bytes
from tests.cli import run_cli
from tests.evidence_fixtures import make_policy
from tests.hostile.test_renderings import evidence_for, only

REFUSED = "the evidence contradicts its own findings"


def _incomplete(tmp_path, reasons=None):
    evidence = evidence_for(make_policy())
    assert not evidence.result.complete and evidence.result.incomplete_reasons
    if reasons is not None:
        evidence = evidence.model_copy(update={"result": evidence.result.model_copy(
            update={"incomplete_reasons": reasons})})
    path = tmp_path / "evidence.json"
    path.write_bytes(evidence_bytes(evidence))
    return evidence, path


def test_replaced_reasons_are_refused(tmp_path):
    _, path = _incomplete(tmp_path, ["scheduled maintenance window"])
    run = run_cli("show", path)
    assert run.returncode == 2, run.stdout
    assert REFUSED in run.stderr
    assert "/result/incomplete_reasons: records ['scheduled maintenance window'], but the findings give [" in run.stderr
    assert "scheduled maintenance" not in run.stdout


def test_a_reason_left_out_is_refused(tmp_path):
    evidence, _ = _incomplete(tmp_path)
    _, path = _incomplete(tmp_path, evidence.result.incomplete_reasons[1:])
    run = run_cli("report", path, "--out-dir", tmp_path / "out", "--format", "junit,sarif")
    assert run.returncode == 2, run.stdout
    assert "/result/incomplete_reasons: records [" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_control_case_the_reasons_the_engine_wrote_are_read(tmp_path):
    evidence, path = _incomplete(tmp_path)
    run = run_cli("show", path)
    assert run.returncode == 0, run.stderr
    assert evidence.result.incomplete_reasons[0].split(":")[0] in run.stdout


def test_control_case_the_earlier_wording_of_nothing_judged_is_read(tmp_path):
    """Before its reason said which statuses the findings have (c051a63), lbaudit wrote "nothing was
    judged: every finding is not_applicable" for a run that judged nothing: such evidence is read."""
    evidence = evidence_for(only(make_policy(), "ipv6-only"))
    assert evidence.result.incomplete_reasons == ["nothing was judged: every finding is not_applicable"]
    evidence = evidence_for(only(make_policy(), "ipv6-only", "audit-socket-calls"))
    now = evidence.result.incomplete_reasons
    assert now[-1] == "nothing was judged: no finding passed, failed or was waived (the findings are not_reviewed, " \
        "not_applicable)"
    earlier = [*now[:-1], "nothing was judged: every finding is not_applicable"]
    edited = evidence.model_copy(update={"result": evidence.result.model_copy(update={"incomplete_reasons": earlier})})
    path = tmp_path / "evidence.json"
    path.write_bytes(evidence_bytes(edited))
    run = run_cli("show", path)
    assert run.returncode == 0, run.stderr
