"""Commands that write to a store whose rows were edited outside lbaudit end in exit 2 naming the
store and the column, never exit 70, and write nothing.

Every row ``history list/show/diff/verify`` reads passes one check (test_crashes_store_rows), but the
rows read while writing did not: ``history retire`` built the retirement's digest from a policy id,
evidence digest or host key that SQLite held as bytes (``TypeError: Object of type bytes is not JSON
serializable``), sorted a chain's policy ids of which one was bytes, and ``evaluate --record`` and
``retire`` read a ``recorded_at`` holding a number (``fromisoformat: argument must be str``): exit 70,
an internal error, for a store a user can fix.  Now a write's transaction reads through the same
check as a read's: exit 2, "a row of the history store is damaged", and the transaction rolled back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import record_scan, write_scan_snapshot

USAGE = 2


@pytest.fixture
def store(tmp_path: Path) -> Path:
    record_scan(tmp_path, str(tmp_path / "history.db"), "monday", wildcard_redis=False)
    return tmp_path / "history.db"


def _edit(store: Path, *statements: str) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            conn.execute(statement)
    conn.close()


def _count(store: Path, table: str) -> int:
    with sqlite3.connect(store) as conn:
        found = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return int(found)


@pytest.mark.parametrize("statements, column", [
    (["UPDATE runs SET policy_id = x'00ff'"], "runs.policy_id holds b'\\x00\\xff', not str"),
    (["UPDATE runs SET evidence_sha256 = x'00ff'"], "runs.evidence_sha256 holds b'\\x00\\xff', not str"),
    (["UPDATE hosts SET host_key = x'00ff'"], "hosts.host_key holds b'\\x00\\xff', not str"),
    (["INSERT INTO pruned_runs SELECT 99, host_id, x'00ff', x'00', NULL, started_at, recorded_at FROM runs"],
     "pruned_runs.policy_id holds b'\\x00\\xff', not str"),
    (["UPDATE runs SET recorded_at = 5"], "a value cannot be read as its column's type"),
], ids=["policy-id", "evidence-digest", "host-key", "pruned-policy-id", "recorded-at"])
def test_retire_of_a_damaged_row_is_exit_2_and_retires_nothing(store, statements, column):
    _edit(store, *statements)
    result = run_cli("history", "retire", "web01.example.test", "--store", store)
    assert result.returncode == USAGE, result.stderr
    assert result.stderr.startswith(f"lbaudit: {store}: a row of the history store is damaged: "), result.stderr
    assert column in result.stderr and "internal error" not in result.stderr, result.stderr
    assert _count(store, "retirements") == 0


def test_recording_after_a_damaged_recorded_at_is_exit_2_and_records_nothing(tmp_path, store):
    _edit(store, "UPDATE runs SET recorded_at = 5")
    snap = write_scan_snapshot(tmp_path / "tuesday.snapshot.json", wildcard_redis=True)
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", snap, "-o", tmp_path / "t.json", "-q",
                     "--record", "--store", store)
    assert result.returncode == USAGE, result.stderr
    assert f"lbaudit: {store}: a row of the history store is damaged: a value cannot be read as its column's type: " \
           "TypeError: " in result.stderr, result.stderr
    assert "internal error" not in result.stderr
    assert not (tmp_path / "t.json").exists() and _count(store, "runs") == 1
