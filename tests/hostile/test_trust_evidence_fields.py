"""Hostile evidence whose verdict, counts and control judgements all agree with its findings, but whose
findings were edited in a field the loader did not check against the rest of the file.

The defect: ``result_contradictions`` recomputed the verdict from the findings, but took each
finding's severity, controls, rule and waiver as recorded.  Lowering the severity of the failures
below ``fail_on``, or waiving them under a waiver the run never had, and reconciling the counts,
made ``lbaudit show`` print COMPLIANT and exit 0 for a non-compliant host.  Now a finding must carry
its enabled rule's severity and controls, a waived finding the waiver of the run that covers it
(:func:`auditor.model.waiving.judge_waivers`, the engine's own judgement), the waiver states must
be what the run's waivers and findings give, and ``policy_sha256`` the recorded policy's digest:
anything else is exit 2, naming the field.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from auditor.model.evidence import Evidence
from auditor.model.result import AppliedWaiver, Severity, Status, Verdict
from auditor.storage.evidence import evidence_bytes
from tests.cli import run_cli
from tests.evidence_fixtures import EVALUATED_ON, make_policy, reconciled
from tests.hostile.test_renderings import evidence_for, only, waiver

REFUSED = "the evidence contradicts its own findings"


def _failing() -> Evidence:
    """wildcard-listeners (high) fails on the fixture host; privileged-ports passes; fail_on is low."""
    evidence = evidence_for(only(make_policy(), "wildcard-listeners", "privileged-ports"))
    assert evidence.result.verdict == Verdict.NON_COMPLIANT
    return evidence


def _with_findings(evidence: Evidence, edit) -> Evidence:
    findings = [edit(f) if f.status == Status.FAIL else f for f in evidence.result.findings]
    return reconciled(evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": findings})}))


def _write(tmp_path: Path, evidence: Evidence) -> Path:
    path = tmp_path / "evidence.json"
    path.write_bytes(evidence_bytes(evidence))
    return path


def _severity_lowered(evidence: Evidence) -> Evidence:
    return _with_findings(evidence, lambda f: f.model_copy(update={"severity": Severity.INFO}))


def _waived_by_no_waiver_of_the_run(evidence: Evidence) -> Evidence:
    invented = AppliedWaiver(reason="approved", approver="Nobody", expires=EVALUATED_ON + timedelta(days=30))
    return _with_findings(evidence, lambda f: f.model_copy(update={"status": Status.WAIVED, "waiver": invented}))


def _policy_and_findings_lowered(evidence: Evidence) -> Evidence:
    rules = [r.model_copy(update={"severity": Severity.INFO}) if r.id == "wildcard-listeners" else r
             for r in evidence.policy.rules]
    edited = evidence.model_copy(update={"policy": evidence.policy.model_copy(update={"rules": rules})})
    return _severity_lowered(edited)


# What each edit makes the findings give (as reconciled), and the problem the loader must name.
EDITS = {
    "severity-lowered": (_severity_lowered, Verdict.COMPLIANT,
                         "/severity: records 'info', but rule wildcard-listeners has severity 'high'"),
    "invented-waiver": (_waived_by_no_waiver_of_the_run, Verdict.COMPLIANT,
                        "/waiver: the finding is waived, but no waiver of the run (the policy's or --waivers') "
                        "covers it"),
    "policy-and-findings-lowered": (_policy_and_findings_lowered, Verdict.COMPLIANT,
                                    "/policy_sha256: records "),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("command", [("show",), ("show", "--json"), ("report", "--format", "junit,sarif,hdf,oscal")])
def test_a_failure_made_to_pass_by_a_consistent_edit_is_refused(tmp_path, edit, command):
    change, gives, problem = EDITS[edit]
    edited = change(_failing())
    assert edited.result.verdict == gives  # every count, control and the verdict agree with the edit
    path = _write(tmp_path, edited)
    extra = ("--out-dir", tmp_path / "out") if command[0] == "report" else ()
    run = run_cli(command[0], path, *command[1:], *extra)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert REFUSED in run.stderr and problem in run.stderr, run.stderr
    assert "COMPLIANT" not in run.stdout and '"compliant"' not in run.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_failures_moved_to_other_controls_are_refused(tmp_path):
    edited = _with_findings(_failing(), lambda f: f.model_copy(update={"controls": ["AC-4"]}))
    run = run_cli("show", _write(tmp_path, edited))
    assert run.returncode == 2, run.stdout
    assert ("/controls: records ['AC-4'], but rule wildcard-listeners maps to ['CM-7', 'SC-7', 'SC-7(5)']"
            in run.stderr)


def test_a_failure_moved_to_a_disabled_rule_is_refused(tmp_path):
    evidence = evidence_for(make_policy())
    assert any(not r.enabled and r.id == "disabled-rule" for r in evidence.policy.rules)
    edited = _with_findings(evidence, lambda f: f.model_copy(update={"rule_id": "disabled-rule"})
                            if f.rule_id == "port-range" else f)
    run = run_cli("show", _write(tmp_path, edited))
    assert run.returncode == 2, run.stdout
    assert "/rule_id: 'disabled-rule' is no enabled rule of the recorded policy" in run.stderr


def test_a_waiver_recorded_for_a_finding_it_does_not_match_is_refused(tmp_path):
    """The run's waiver of wildcard-listeners names one subject; a recorded copy of it on every failure
    of the rule (counts reconciled) waives findings the approver never accepted."""
    evidence = evidence_for(only(make_policy(), "wildcard-listeners", "privileged-ports"))
    applied = [f for f in evidence.result.findings if f.status == Status.WAIVED]
    assert len(applied) == 1 and any(f.status == Status.FAIL for f in evidence.result.findings)
    edited = _with_findings(evidence, lambda f: f.model_copy(update={"status": Status.WAIVED,
                                                                     "waiver": applied[0].waiver}))
    assert edited.result.verdict == Verdict.COMPLIANT
    run = run_cli("show", _write(tmp_path, edited))
    assert run.returncode == 2, run.stdout
    assert "no waiver of the run (the policy's or --waivers') covers it" in run.stderr


def test_an_expired_waiver_recorded_as_applied_is_refused(tmp_path):
    evidence = evidence_for(only(make_policy(), "port-range",
                                 waivers=[waiver("port-range", EVALUATED_ON - timedelta(days=1))]))
    states = [s.model_copy(update={"state": "applied"}) for s in evidence.result.waivers]
    assert [s.state for s in evidence.result.waivers] == ["expired"]
    edited = evidence.model_copy(update={"result": evidence.result.model_copy(update={"waivers": states})})
    run = run_cli("show", _write(tmp_path, edited))
    assert run.returncode == 2, run.stdout
    assert "/result/waivers/0: records state otherwise than the run's waivers and findings give (state expired" \
        in run.stderr


def test_a_failure_a_valid_waiver_covers_recorded_as_fail_is_refused(tmp_path):
    evidence = evidence_for(only(make_policy(), "port-range",
                                 waivers=[waiver("port-range", EVALUATED_ON + timedelta(days=10))]))
    edited = reconciled(evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": [
        f.model_copy(update={"status": Status.FAIL, "waiver": None}) for f in evidence.result.findings]})}))
    run = run_cli("show", _write(tmp_path, edited))
    assert run.returncode == 2, run.stdout
    assert "/status: records fail, but the run's waiver of rule port-range" in run.stderr


@pytest.mark.parametrize("today", [EVALUATED_ON, date(2027, 6, 1)])
def test_evidence_the_engine_wrote_with_waivers_still_renders(tmp_path, today):
    """Applied, expired and unused waivers, judged on two days: the loader finds nothing to refuse."""
    run = run_cli("show", _write(tmp_path, evidence_for(make_policy(), today=today)), "--json")
    assert run.returncode == 0, run.stderr


def test_a_waiver_glob_against_long_subjects_is_judged_without_hanging(tmp_path):
    """Reading evidence judges its waivers again, on globs and subjects the file's author wrote: the
    walk back to the last star took len(glob) x len(subject) Python steps (23 s for one 1,000-
    character piece against a 20,000-character subject), so five such findings hung ``show``."""
    glob = "*" + "a" * 1000 + "b*"
    evidence = evidence_for(only(make_policy(), "wildcard-listeners", "privileged-ports",
                                 waivers=[waiver("wildcard-listeners", EVALUATED_ON + timedelta(days=30), glob)]))
    edited = _with_findings(evidence, lambda f: f.model_copy(update={"subject": "a" * 50_000}))
    assert sum(f.subject == "a" * 50_000 for f in edited.result.findings) >= 3
    run = run_cli("show", _write(tmp_path, edited), "--json", timeout=30)
    assert run.returncode == 0, run.stderr
    assert '"non_compliant"' in run.stdout
