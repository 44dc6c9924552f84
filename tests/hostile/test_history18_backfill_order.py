"""A host's latest and previous runs are its two newest by their facts, not by when they were
evaluated, however many backfills (older facts judged again later) were recorded after them.

``history diff`` (no run ids) and ``fleet report`` took a host's two runs evaluated last, then put
those two in the order of their facts (test_overtime_scan_order).  With a third run that fixed only
the pair, not the choice of it:

* Tuesday's scan closed a wildcard redis that Monday's had, Wednesday's opened it again (a
  regression), and then Monday's snapshot was judged again and recorded (a backfill, a new policy
  over old facts).  The two runs evaluated last are Wednesday's and the backfill: compared
  Monday -> Wednesday, redis failed in both, "regressions: 0", exit 0, and fleet report listed no
  host that regressed.  Wednesday's previous scan is Tuesday's: redis is a regression, exit 1.
* Wednesday's scan (redis open) followed by two backfills of Monday's and Tuesday's facts (no
  redis): fleet report judged the host by Tuesday's facts, its newest facts' failure hidden, and
  ``history diff`` compared Monday with Tuesday, exit 0.
* ``prune --keep-last 1`` kept the backfill evaluated last and removed Wednesday's run, the
  host's newest facts: the host was then judged by Monday's facts for good.  Now the newest facts
  are kept, and so is a backfill evaluated after them (its link, a start alone, would stand as the
  host's newest entry) until newer facts are recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, REDIS, later, write_scan_snapshot

pytestmark = pytest.mark.slow  # each test records three or four real evaluations


def _record(tmp_path: Path, store: str, name: str, days: int, redis: bool) -> None:
    snapshot = write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=redis, when=later(days))
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", tmp_path / f"{name}.evidence.json",
                     "-q", "--record", "--store", store)
    assert result.returncode in (1, 3), result.stderr


def test_history_diff_compares_the_newest_facts_with_the_scan_before_them_after_a_backfill(tmp_path: Path, store_url: str):  # noqa: F811
    store = store_url
    _record(tmp_path, store, "tuesday", 1, redis=False)  # run 1
    _record(tmp_path, store, "wednesday", 2, redis=True)  # run 2: redis opened again
    _record(tmp_path, store, "monday", 0, redis=True)  # run 3: Monday's facts judged again, evaluated last
    result = run_cli("history", "diff", "--store", store, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["runs"]["before"], data["runs"]["after"]) == (1, 1, 2), result.stdout
    assert [(c["subject"].startswith(REDIS), c["before"], c["after"]) for c in data["regressions"]] == [
        (True, None, "fail")]
    report = run_cli("fleet", "report", "--store", store, "--stale-days", "3650", "--json")
    assert report.returncode == 1, report.stdout + report.stderr
    (regressed,) = json.loads(report.stdout)["regressed_since_previous_run"]
    assert (regressed["previous_run"], regressed["run"]) == (1, 2)
    assert [(c["before"], c["after"]) for c in regressed["regressions"]] == [(None, "fail")]


def test_fleet_report_and_history_diff_take_the_newest_facts_after_two_backfills(tmp_path: Path, store_url: str):  # noqa: F811
    store = store_url
    _record(tmp_path, store, "wednesday", 2, redis=True)  # run 1: the host as it is now
    _record(tmp_path, store, "monday", 0, redis=False)  # run 2: backfill
    _record(tmp_path, store, "tuesday", 1, redis=False)  # run 3: backfill
    report = run_cli("fleet", "report", "--store", store, "--stale-days", "3650", "--json")
    data = json.loads(report.stdout)
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01.example.test"]}, report.stdout
    assert [(row["run_id"], row["failing_rules"]) for row in data["hosts"]] == [(1, ["listeners-loopback-only"])]
    (regressed,) = data["regressed_since_previous_run"]
    assert (regressed["previous_run"], regressed["run"]) == (3, 1)
    result = run_cli("history", "diff", "--store", store, "--json")
    assert (result.returncode, json.loads(result.stdout)["runs"]["after"]) == (1, 1), result.stdout


def test_prune_keep_last_keeps_the_newest_facts_not_the_backfill_evaluated_last(tmp_path: Path, store_url: str):  # noqa: F811
    store = store_url
    _record(tmp_path, store, "wednesday", 2, redis=True)  # run 1: the newest facts
    _record(tmp_path, store, "monday", 0, redis=False)  # run 2: backfill
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", store, "--json")
    assert pruned.returncode == 0, pruned.stderr
    # before: run 1 was removed and the backfill kept.  The backfill is kept too: removed, its link
    # (a start alone, after run 1's) would stand as the host's newest entry, "pruned"
    assert (json.loads(pruned.stdout)["pruned"], json.loads(pruned.stdout)["evaluated_later"]) == ([], [2])
    report = run_cli("fleet", "report", "--store", store, "--stale-days", "3650", "--json")
    data = json.loads(report.stdout)
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01.example.test"]}, report.stdout
    assert [row["run_id"] for row in data["hosts"]] == [1]
    _record(tmp_path, store, "thursday", 3, redis=False)  # run 3: newer facts, evaluated after both
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", store, "--json")
    assert (pruned.returncode, json.loads(pruned.stdout)["pruned"]) == (0, [1, 2]), pruned.stdout + pruned.stderr
    report = run_cli("fleet", "report", "--store", store, "--stale-days", "3650", "--json")
    assert [row["run_id"] for row in json.loads(report.stdout)["hosts"]] == [3], report.stdout


def test_a_backfill_after_a_missed_fleet_run_does_not_make_the_host_scanned(tmp_path: Path):
    """web01 judged by a fleet run (Wednesday's facts), not scanned by the next fleet run (no
    snapshot), then Monday's facts of it judged and recorded (a backfill).  The backfill was the
    host's latest run (evaluated last), and having started after the fleet run that could not
    judge the host, it took that back: fleet report judged web01 by its runs from before that fleet
    run, as scanned (compliant, had they been), not as not scanned."""
    store = str(tmp_path / "history.db")
    fetch = tmp_path / "fetch" / "web01"
    fetch.mkdir(parents=True)
    write_scan_snapshot(fetch / "lbaudit.snapshot.json", wildcard_redis=True, when=later(2))
    fleet = ("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", CORP, "--out-dir", tmp_path / "out",
             "--record", "--store", store, "--jobs", "1", "-q", "--expect-hosts", "web01")
    assert run_cli(*fleet).returncode == 1  # web01: non-compliant (redis)
    (fetch / "lbaudit.snapshot.json").unlink()
    assert run_cli(*fleet).returncode == 2  # web01 expected, no snapshot: not scanned
    snapshot = write_scan_snapshot(tmp_path / "monday.snapshot.json", wildcard_redis=False, when=later(0))
    evidence = tmp_path / "monday.evidence.json"
    assert run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q").returncode == 3
    assert run_cli("history", "import", evidence, "--host", "web01", "--store", store).returncode == 0
    report = run_cli("fleet", "report", "--store", store, "--stale-days", "3650", "--json")
    data = json.loads(report.stdout)
    assert data["hosts_by_verdict"] == {"not_scanned": ["web01"]}, report.stdout
