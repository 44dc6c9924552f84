"""Waived failures in the terminal summary and the text report: shown with their waivers.

The defect: ``lbaudit show`` on a terminal listed failures, failures below the threshold and what
could not be judged, and nothing else: a run whose four failures were waived printed the counts, the
controls and "verdict: COMPLIANT (exit 0): no failure counted", and not one of the waived failures nor
who had accepted them.  The text report (a pipe, a CI log) listed them under "other findings" beside
the passes with the failure's message only: no approver, no expiry, no reason, where JUnit, SARIF,
HDF, OSCAL and the PDF each show the waiver.  Now both list every waived failure after its waiver
("waived until DAY by APPROVER: REASON; message") and the verdict line says how many failures were
waived.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.evidence_fixtures import write_evidence_file
from tests.hostile.test_renderings import all_failures_waived, evidence_for, make_policy, only

WAIVED_WHY = "waived until 2026-11-11 by Test Approver: accepted for the test; listens on the wildcard address"
VERDICT = ("verdict: COMPLIANT (exit 0): no failure counted; this run fails on failures of severity low or above; "
           "4 failures waived (approved deviations, listed with their waivers)")


def test_the_text_report_shows_each_waived_failure_with_its_waiver(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, all_failures_waived())
    run = run_cli("show", path, timeout=30)  # standard output is no terminal: the plain layout
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    waived = [line for line in lines if " | high | waived | " in line]
    assert waived == [
        f"wildcard-listeners | high | waived | udp 0.0.0.0:5353 avahi-daemon pid 640 | {WAIVED_WHY} 0.0.0.0",
        f"wildcard-listeners | high | waived | tcp 0.0.0.0:5432 postgres pid 812 | {WAIVED_WHY} 0.0.0.0",
        f"wildcard-listeners | high | waived | tcp 0.0.0.0:8080 java pid 1500 | {WAIVED_WHY} 0.0.0.0",
        f"wildcard-listeners | high | waived | tcp [::]:6379 redis-server pid 901 | {WAIVED_WHY} ::",
    ]
    assert VERDICT in lines


def test_the_terminal_summary_lists_the_waived_failures_and_their_waivers(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, all_failures_waived())
    run = run_cli("show", path, "--color", "never", terminal=400, timeout=30)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("Waived (failures the policy accepts until the waiver expires)") for line in lines)
    rows = [line for line in lines if "│ high     │ waived │" in line]
    assert len(rows) == 4
    assert all(WAIVED_WHY in row for row in rows)
    assert any("tcp [::]:6379 redis-server pid 901" in row for row in rows)
    assert VERDICT in lines


def test_control_case_a_run_without_waivers_says_nothing_of_waivers(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, evidence_for(only(make_policy(), "privileged-ports")))
    run = run_cli("show", path, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "waived (approved" not in run.stdout
    assert run.stdout.splitlines()[-2].startswith("verdict: COMPLIANT (exit 0): no failure counted; this run fails")


def test_the_json_summary_lists_each_waived_failure_with_its_waiver(tmp_path: Path):
    """``show --json`` (and ``evaluate --json``) had the count of waived findings and nothing else."""
    path, _ = write_evidence_file(tmp_path, all_failures_waived())
    run = run_cli("show", path, "--json", timeout=30)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["verdict"], summary["counts"]["waived"], summary["failing"]) == ("compliant", 4, [])
    assert [(w["subject"], w["status"], w["waiver"]) for w in summary["waived"]] == [
        (subject, "waived", {"approver": "Test Approver", "reason": "accepted for the test", "expires": "2026-11-11"})
        for subject in ("udp 0.0.0.0:5353 avahi-daemon pid 640", "tcp 0.0.0.0:5432 postgres pid 812",
                        "tcp 0.0.0.0:8080 java pid 1500", "tcp [::]:6379 redis-server pid 901")]
    assert summary["waived"][0]["reason"] == "listens on the wildcard address 0.0.0.0"


def test_control_case_the_json_summary_of_a_run_without_waivers_has_an_empty_list(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, evidence_for(only(make_policy(), "privileged-ports")))
    run = run_cli("show", path, "--json", timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["waived"] == []
