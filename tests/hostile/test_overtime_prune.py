"""Retention over time: ``history prune`` keeps the newest runs by when they ran, and a pruned run's
id is never given to another run (SQLite reuses the largest rowid of a table without AUTOINCREMENT)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.history.scans import CORP, later, write_scan_snapshot


def _evidence(tmp_path: Path, day: int, *, redis: bool, store: str | None = None) -> Path:
    snapshot = write_scan_snapshot(tmp_path / f"{day}.snapshot.json", wildcard_redis=redis, when=later(day))
    evidence = tmp_path / f"{day}.evidence.json"
    record = ("--record", "--store", store) if store else ()
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q", *record)
    assert result.returncode in (1, 3), result.stderr
    return evidence


def test_keep_last_keeps_the_latest_scan_not_an_older_one_imported_later(tmp_path: Path):
    store = str(tmp_path / "history.db")
    older = _evidence(tmp_path, 0, redis=True)
    _evidence(tmp_path, 1, redis=False, store=store)  # run 1: the latest scan
    assert run_cli("history", "import", older, "--store", store).stdout == f"{older}: recorded as run 2\n"
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", store)
    assert (pruned.returncode, pruned.stdout.splitlines()[0]) == (0, "removed 1 runs (2)")
    listed = run_cli("history", "list", "--store", store, "--json")

    assert [(r["id"], r["verdict"]) for r in json.loads(listed.stdout)] == [(1, "incomplete")]
    assert run_cli("history", "verify", "--store", store).returncode == 0


def test_a_run_recorded_after_the_newest_was_pruned_gets_a_new_id_and_the_chain_verifies(tmp_path: Path):
    store = str(tmp_path / "history.db")
    _evidence(tmp_path, 0, redis=False, store=store)
    _evidence(tmp_path, 1, redis=True, store=store)
    assert run_cli("history", "prune", "--older-than", "0", "--store", store).stdout.splitlines()[0] == \
        "removed 2 runs (1, 2)"
    later_scan = _evidence(tmp_path, 2, redis=False)
    assert run_cli("history", "import", later_scan, "--store", store).stdout == f"{later_scan}: recorded as run 3\n"
    verified = run_cli("history", "verify", "--store", store)
    assert verified.returncode == 0, verified.stdout
    assert run_cli("history", "show", "1", "--store", store).returncode == 2  # run 1 stays gone
