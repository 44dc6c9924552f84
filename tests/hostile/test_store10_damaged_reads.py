"""``history diff`` and ``fleet report`` of an SQLite store whose file is damaged refuse it (exit 2,
the file and SQLite's finding named), never answer from the runs a damaged index still finds.

The defect: ``history verify`` ran SQLite's integrity check (exit 10 on a damaged file), but the
read commands found runs through the store's indexes without asking whether they hold together.
An index that lost the newest run (a torn write on a disk without barriers, a restore of a copy
taken mid-write) leaves every row readable:

* ``history diff`` found the last two runs through ``ix_runs_host_policy_id`` and compared the two
  before the newest: "regressions: 0", exit 0, of a host whose newest run opened a wildcard
  listener (exit 1 before the damage);
* ``fleet report`` ordered the runs through ``ix_runs_started_at``: the host's verdict was its
  previous run's (incomplete, not non_compliant) and "regressed since their previous run: 0", exit 0.

Now every read of an SQLite store first has SQLite check the tables through which runs are found
(runs, hosts, policies, pruned and retired links, missed scans, counts; once per opened store), and
a failed check is exit 2 naming the file and what SQLite found.

The damage is a real file's: the store is recorded by ``lbaudit evaluate --record``, then one index
is rebuilt without the newest run behind SQLite's back (a partial index whose definition is then
rewritten as the full one), which SQLite's integrity check reports as "row 3 missing from index".
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import record_scan

USAGE = 2
VERIFY_DIGEST = 10


def _recorded(tmp_path: Path) -> Path:
    store = tmp_path / "history.db"
    for name, wildcard in (("monday", False), ("tuesday", False), ("wednesday", True)):
        record_scan(tmp_path, str(store), name, wildcard_redis=wildcard)
    return store


def _lose_the_newest_run_from(store: Path, index: str) -> None:
    with sqlite3.connect(store) as conn:
        full = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
        newest = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
        conn.execute(f"DROP INDEX {index}")
        conn.execute(f"{full} WHERE id < {newest}")
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (full, index))
    conn.close()
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall()[0] == (f"row {newest} missing from index {index}",)
    conn.close()


def _refused(store: Path, index: str) -> str:
    return (f"lbaudit: {store}: the history store's file is damaged: SQLite's integrity check failed: row 3 "
            f"missing from index {index}; wrong # of entries in index {index} (its answers may leave runs out; "
            "restore the store from a backup, and see lbaudit history verify)\n")


def test_history_diff_of_a_store_whose_index_lost_the_newest_run_is_exit_2(tmp_path):
    store = _recorded(tmp_path)
    intact = run_cli("history", "diff", "--store", store)
    assert intact.returncode == 1 and "runs: 2 -> 3\n" in intact.stdout  # tuesday -> wednesday: redis regressed
    _lose_the_newest_run_from(store, "ix_runs_host_policy_id")
    result = run_cli("history", "diff", "--store", store)
    assert result.returncode == USAGE, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == _refused(store, "ix_runs_host_policy_id")
    as_json = run_cli("history", "diff", "--store", store, "--json")
    assert as_json.returncode == USAGE and as_json.stdout == ""


@pytest.mark.parametrize("as_json", [False, True])
def test_fleet_report_of_a_store_whose_index_lost_the_newest_run_is_exit_2(tmp_path, as_json):
    store = _recorded(tmp_path)
    json_flag = ("--json",) if as_json else ()
    intact = run_cli("fleet", "report", "--store", store, *json_flag)
    assert intact.returncode == 1, intact.stdout + intact.stderr
    _lose_the_newest_run_from(store, "ix_runs_started_at")
    result = run_cli("fleet", "report", "--store", store, *json_flag)
    assert result.returncode == USAGE, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == _refused(store, "ix_runs_started_at")


def test_history_verify_still_reports_the_damage_as_its_break_with_10(tmp_path):
    store = _recorded(tmp_path)
    _lose_the_newest_run_from(store, "ix_runs_started_at")
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == VERIFY_DIGEST, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["first_break"]["kind"] == "store_damaged"
    assert "row 3 missing from index ix_runs_started_at" in document["first_break"]["detail"]


def test_control_case_an_intact_store_still_answers(tmp_path):
    store = _recorded(tmp_path)
    diff = run_cli("history", "diff", "--store", store, "--json")
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert json.loads(diff.stdout)["runs"] == {"before": 2, "after": 3, "passed_over": []}
    report = json.loads(run_cli("fleet", "report", "--store", store, "--json").stdout)
    assert [row["run"] for row in report["regressed_since_previous_run"]] == [3]
