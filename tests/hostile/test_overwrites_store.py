"""Hostile outputs, the history store a run creates: a command that ends in exit 2 leaves no store
and no directory behind.

``--record`` opens (creating and migrating) the store before the policy is even loaded, so that an
unusable store stops the run before any work.  Before this fix the store, and every directory of a
``--store`` path that did not exist, stayed behind a run that then failed: a refused run had
written a database.  Each case asserts the exact exit code and that the directory tree is what it
was, entry for entry.  (A fleet whose summary would be the new store: tests/hostile/test_fleet.py
``test_a_store_named_like_the_fleet_summary_is_exit_2_before_any_host``.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.history import open_store
from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2


def tree(directory: Path) -> dict[str, tuple]:
    return {str(Path(root, name).relative_to(directory)): (os.lstat(Path(root, name)).st_mode,
                                                           os.lstat(Path(root, name)).st_size)
            for root, dirs, files in os.walk(directory) for name in dirs + files}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("store"))
    (tmp_path / "bad.yaml").write_text("id: bad\nrules: [\n")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 5432, processes=[ProcessInfo(pid=812, name="pg")])]),
                   tmp_path / "snap.json")
    return tmp_path


def test_a_refused_evaluate_leaves_no_new_store_or_directory(work):
    before = tree(work)
    result = run_cli("evaluate", "--policy", "bad.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                     "--record", "--store", "var/lib/lbaudit/history.db", cwd=work)
    assert result.returncode == USAGE and "invalid policy" in result.stderr, result.stderr
    assert tree(work) == before  # before: var/lib/lbaudit/history.db, migrated, beside no evidence


def test_a_refused_evaluate_leaves_no_new_store_in_an_existing_directory(work):
    before = tree(work)
    result = run_cli("evaluate", "--policy", "bad.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                     "--record", "--store", "history.db", cwd=work)
    assert result.returncode == USAGE
    assert tree(work) == before


def test_control_case_an_existing_store_stays_after_a_refused_run(work):
    open_store(str(work / "history.db")).close()
    before = tree(work)
    result = run_cli("evaluate", "--policy", "bad.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                     "--record", "--store", "history.db", cwd=work)
    assert result.returncode == USAGE
    assert tree(work) == before
    ok = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                 "--record", "--store", "history.db", cwd=work)
    assert ok.returncode == 1 and (work / "history.db").stat().st_size > 0 and (work / "e.json").is_file()
