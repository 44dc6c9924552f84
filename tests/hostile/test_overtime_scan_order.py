"""Scans in the order of their facts.  An older snapshot evaluated after a newer one (a backfill, a
new policy over old facts) was taken for the later scan when it was also evaluated later: ``diff
NEWER OLDER_AGAIN`` read a listener opened between the scans as "gone" (an improvement, exit 0),
and ``history diff`` and ``fleet report``, which take the last two runs evaluated, did the same.
Now the facts decide: ``diff`` refuses the pair given backwards (exit 2), ``history diff`` without
run ids and ``fleet report`` compare the two runs in the order of their facts (a regression)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.history.scans import CORP, REDIS, later, write_scan_snapshot


def _evaluate(tmp_path: Path, snapshot: Path, name: str, *extra: object) -> Path:
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q", *extra)
    assert result.returncode in (1, 3), result.stderr
    return evidence


def _snapshots(tmp_path: Path) -> tuple[Path, Path]:
    """Monday's (no redis) and Tuesday's (redis on every address), of one host."""
    return (write_scan_snapshot(tmp_path / "mon.snapshot.json", wildcard_redis=False, when=later(0)),
            write_scan_snapshot(tmp_path / "tue.snapshot.json", wildcard_redis=True, when=later(1)))


def test_diff_of_newer_facts_before_older_facts_evaluated_later_is_exit_2(tmp_path: Path):
    monday, tuesday = _snapshots(tmp_path)
    tuesday_evidence = _evaluate(tmp_path, tuesday, "tuesday")
    monday_again = _evaluate(tmp_path, monday, "monday-again")  # evaluated after Tuesday's
    backwards = run_cli("diff", tuesday_evidence, monday_again)
    assert (backwards.returncode, backwards.stdout) == (2, "")
    assert "BEFORE is the later scan (facts collected 2026-11-02T12:00:00+00:00" in backwards.stderr
    assert run_cli("diff", monday_again, tuesday_evidence).returncode == 1  # in order: redis is a regression


def test_diff_of_one_snapshot_judged_twice_given_backwards_is_exit_2(tmp_path: Path):
    _, tuesday = _snapshots(tmp_path)
    first = _evaluate(tmp_path, tuesday, "first")
    second = _evaluate(tmp_path, tuesday, "second")
    assert run_cli("diff", first, second).returncode == 0
    backwards = run_cli("diff", second, first)
    assert (backwards.returncode, backwards.stdout) == (2, "")
    assert "give the earlier scan first" in backwards.stderr


def test_history_diff_and_fleet_report_compare_a_backfilled_older_scan_first(tmp_path: Path):
    store = str(tmp_path / "history.db")
    monday, tuesday = _snapshots(tmp_path)
    _evaluate(tmp_path, tuesday, "tuesday", "--record", "--store", store)  # run 1
    _evaluate(tmp_path, monday, "monday", "--record", "--store", store)  # run 2: older facts, evaluated last
    result = run_cli("history", "diff", "--store", store, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["runs"]) == (1, {"before": 2, "after": 1, "passed_over": []}), result.stdout + result.stderr
    assert [(c["subject"].startswith(REDIS), c["before"], c["after"]) for c in data["regressions"]] == [
        (True, None, "fail")]
    assert data["improvements"] == []
    report = run_cli("fleet", "report", "--store", store, "--json")
    assert report.returncode == 1, report.stdout + report.stderr
    (regressed,) = json.loads(report.stdout)["regressed_since_previous_run"]
    assert (regressed["previous_run"], regressed["run"]) == (2, 1)
    assert [(c["before"], c["after"]) for c in regressed["regressions"]] == [(None, "fail")]
    # two run ids given backwards are still refused
    backwards = run_cli("history", "diff", "1", "2", "--store", store)
    assert (backwards.returncode, backwards.stdout) == (2, "")


def test_fleet_report_takes_the_host_as_its_newest_facts_show_it_after_a_backfill(tmp_path: Path):
    store = str(tmp_path / "history.db")
    monday, tuesday = _snapshots(tmp_path)
    _evaluate(tmp_path, tuesday, "tuesday", "--record", "--store", store)  # run 1: redis, non-compliant
    _evaluate(tmp_path, monday, "monday", "--record", "--store", store)  # run 2: older facts, evaluated last
    report = run_cli("fleet", "report", "--store", store, "--stale-days", "3650", "--json")
    data = json.loads(report.stdout)
    # before: the host was listed by Monday's run (incomplete), its newest facts' failure hidden
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01.example.test"]}, report.stdout
    assert [(row["run_id"], row["verdict"], row["failing_rules"]) for row in data["hosts"]] == [
        (1, "non_compliant", ["listeners-loopback-only"])]
