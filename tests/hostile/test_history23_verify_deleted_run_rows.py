"""``history verify`` passed a store whose newest run was deleted outside lbaudit, its rows left behind.

A chain cannot tell its newest run deleted (the run before it is a valid end).  But a run deleted
with ``DELETE FROM runs`` (the sqlite3 shell enforces no foreign key) leaves its findings and its
family counts: verify passed (exit 0), and ``history trend --by family`` went on summing the deleted
run's findings.  Rows of a run that is not in the store are now the break ``run_missing`` (exit 10):
lbaudit removes them with their run (prune, withdraw), so nothing else leaves them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # real evaluations


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "history.db"
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("lo"))
    for name, address in (("good", "127.0.0.1"), ("bad", "0.0.0.0")):
        write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id="1" * 32),
                       tmp_path / f"{name}.json")
        recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / f"{name}.json",
                           "-q", "-o", tmp_path / f"{name}.evidence.json", "--record", "--store", store)
        assert recorded.returncode in (0, 1), recorded.stderr
    return store


def test_the_rows_of_a_deleted_newest_run_are_a_break(tmp_path: Path):
    store = _store(tmp_path)
    with sqlite3.connect(store) as conn:  # the failing run, newest of its chain, deleted by hand
        conn.execute("DELETE FROM runs WHERE id = 2")
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == 10, result.stdout + result.stderr  # before: exit 0, "history verified"
    (found,) = json.loads(result.stdout)["breaks"]
    assert (found["run_id"], found["kind"]) == (2, "run_missing")
    assert "findings, family_counts rows are in the store, its run is not" in found["detail"]


def test_control_a_pruned_run_leaves_no_rows(tmp_path: Path):
    store = _store(tmp_path)
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", store)
    assert pruned.returncode == 0, pruned.stderr
    result = run_cli("history", "verify", "--store", store)
    assert result.returncode == 0, result.stdout + result.stderr
