"""A store whose largest run id is the largest integer SQLite holds (edited outside lbaudit, or a
link written by another tool) is exit 2 naming the store, never exit 70.

The next id of a run or a retirement link is the largest id of the store plus one: past
9223372036854775807 SQLite's sum is a REAL, and binding it back as the new row's id was Python's
``OverflowError: Python int too large to convert to SQLite INTEGER``: ``evaluate --record`` and
``history retire`` ended in an internal error (exit 70).  Now the id is checked before it is used:
exit 2, naming the store and the id, nothing written (the run's evidence put back).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import record_scan, write_scan_snapshot

USAGE = 2
LARGEST = 2**63 - 1


@pytest.fixture
def store(tmp_path: Path) -> Path:
    record_scan(tmp_path, str(tmp_path / "history.db"), "monday", wildcard_redis=False)
    return tmp_path / "history.db"


@pytest.mark.parametrize("table, column", [("runs", "id"), ("pruned_runs", "run_id")])
def test_recording_after_the_largest_id_is_exit_2_and_writes_nothing(tmp_path, store, table, column):
    with sqlite3.connect(store) as conn:
        if table == "runs":
            conn.execute("UPDATE runs SET id = ?", (LARGEST,))
            conn.execute("UPDATE findings SET run_id = ?", (LARGEST,))
            conn.execute("UPDATE family_counts SET run_id = ?", (LARGEST,))
        else:
            conn.execute("INSERT INTO pruned_runs SELECT ?, host_id, policy_id, evidence_sha256, NULL, started_at, "
                         "recorded_at FROM runs", (LARGEST,))
    conn.close()
    snap = write_scan_snapshot(tmp_path / "tuesday.snapshot.json", wildcard_redis=True)
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", snap, "-o", tmp_path / "t.json", "-q",
                     "--record", "--store", store)
    assert (result.returncode, result.stderr.splitlines()[-1:]) == (USAGE, [
        f"lbaudit: {store}: cannot record in the history store: the next run id would be {LARGEST + 1}, past the "
        f"largest SQLite holds ({LARGEST}): the store's ids were changed outside lbaudit"]), result.stderr
    assert not (tmp_path / "t.json").exists()
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    conn.close()


def test_retiring_after_the_largest_id_is_exit_2(store):
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE runs SET id = ?", (LARGEST,))
        conn.execute("UPDATE findings SET run_id = ?", (LARGEST,))
        conn.execute("UPDATE family_counts SET run_id = ?", (LARGEST,))
    conn.close()
    result = run_cli("history", "retire", "web01.example.test", "--store", store)
    assert (result.returncode, result.stderr) == (USAGE, (
        f"lbaudit: {store}: cannot retire a host in the history store: the next run id would be {LARGEST + 1}, past "
        f"the largest SQLite holds ({LARGEST}): the store's ids were changed outside lbaudit\n")), result.stderr
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM retirements").fetchone() == (0,)
    conn.close()
