"""``history verify`` of an SQLite store whose file is damaged says so (exit 10), never "history verified".

The defect: verify walked the chains through the rows SQLite gave it and checked each against its
evidence, but never asked SQLite whether the file itself holds together.  An index that lost the
newest run (a torn write on a disk without barriers, a restore from a copy taken mid-write, an edit
with writable_schema) leaves every row readable and every chain whole, so verify said "history
verified: every chain link, evidence digest and record holds", exit 0, while the commands that find
runs through that index answered from the wrong ones: ``history diff`` compared the two runs
before the newest, and its "nothing regressed" was about a scan that is not the latest.

Now verify runs SQLite's own integrity check of the file first; a file that fails it is the break
``store_damaged`` (exit 10), named first, with what SQLite found.

The damage is a real file's: the store is recorded by lbaudit, then the index is rebuilt without the
newest run behind SQLite's back (a partial index whose definition is then rewritten as the full one),
which is exactly what SQLite's integrity check reports as "row 3 missing from index".
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli import run_cli
from tests.history.scans import record_scan

VERIFY_DIGEST = 10


def _recorded(tmp_path: Path) -> Path:
    store = tmp_path / "history.db"
    for name, wildcard in (("monday", False), ("tuesday", False), ("wednesday", True)):
        record_scan(tmp_path, str(store), name, wildcard_redis=wildcard)
    return store


def _lose_the_newest_run_from_its_index(store: Path) -> None:
    index = "ix_runs_host_policy_id"
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


def test_a_store_whose_index_lost_the_newest_run_fails_verify_with_10(tmp_path):
    store = _recorded(tmp_path)
    assert run_cli("history", "diff", "--store", store).returncode == 1  # tuesday -> wednesday: redis regressed
    _lose_the_newest_run_from_its_index(store)
    result = run_cli("history", "verify", "--store", store)
    assert result.returncode == VERIFY_DIGEST, result.stdout + result.stderr
    assert "history verified" not in result.stdout
    assert ("FIRST BREAK: the store's database file: store_damaged: SQLite's integrity check of the file failed: "
            "row 3 missing from index ix_runs_host_policy_id; wrong # of entries in index ix_runs_host_policy_id "
            "(restore the store from a backup; until then its answers may leave runs out)\n") in result.stdout, \
        result.stdout
    document = json.loads(run_cli("history", "verify", "--store", store, "--json").stdout)
    assert document["ok"] is False and document["exit_code"] == VERIFY_DIGEST
    assert document["first_break"]["kind"] == "store_damaged"


def test_control_case_an_intact_store_still_verifies(tmp_path):
    store = _recorded(tmp_path)
    result = run_cli("history", "verify", "--store", store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "history verified: every chain link, evidence digest and record holds" in result.stdout
