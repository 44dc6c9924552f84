"""``history prune --dry-run`` reads the store; it does not wait for the write lock.

A dry run began its transaction as every prune does, ``BEGIN IMMEDIATE``: while another process
held the store for writing (the nightly ``evaluate --record``, a long import, a backup tool in a
transaction) it waited the whole busy timeout, 10 s, and then was exit 75, "cannot prune the history
store ... nothing was written, run again", for a command that writes nothing.  Every other command
that only reads (``history list``, ``show``, ``export``, ``verify``) answered at once, as WAL mode
lets a reader do.  Now a dry run reads in a deferred transaction like them: it answers while the
writer holds the store, and says what a prune would remove.  The prune itself still takes the write
lock (the control case: exit 75 after the wait, the store unchanged).

The writer is a real process holding ``BEGIN IMMEDIATE`` on the store with Python's sqlite3; each
command is a real lbaudit process under a hard timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.history.scans import record_scan

pytestmark = pytest.mark.slow  # real processes; the control case waits out the 10 s busy timeout

REPO = Path(__file__).resolve().parents[2]
LBAUDIT = "import sys; sys.argv = ['lbaudit'] + sys.argv[1:]; from auditor.entry import main; main()"
BUSY = 75
HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
connection.execute("BEGIN IMMEDIATE")
connection.execute("CREATE TABLE held_by_the_test (x)")
print("held", flush=True)
sys.stdin.read()  # until the test closes the pipe
"""


def _lbaudit(*args: object, cwd: Path, lock_wait: str | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", LBAUDIT, *map(str, args)], capture_output=True, text=True,
                            timeout=60, cwd=cwd,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": "",
                                 "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "HOME": str(cwd)})
    return result, time.monotonic() - started


@pytest.fixture
def store(tmp_path: Path) -> Path:
    location = tmp_path / "history.db"
    record_scan(tmp_path, str(location), "first", wildcard_redis=False)
    record_scan(tmp_path, str(location), "second", wildcard_redis=True)
    return location


@pytest.fixture
def held(store: Path):
    """Another process holding the store's write lock for as long as the test runs."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield store
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_a_dry_run_answers_while_another_process_writes(held):
    result, seconds = _lbaudit("history", "prune", "--keep-last", "1", "--dry-run", "--store", held, cwd=held.parent)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "would remove 1 runs (1)\nwould remove 1 evidence documents no run refers to\n"
    assert seconds < 8  # the busy timeout is 10 s: an answer before it did not wait for the lock


def test_a_dry_run_in_json_while_another_process_writes(held):
    result, seconds = _lbaudit("history", "prune", "--older-than", "0", "--dry-run", "--json", "--store", held,
                               cwd=held.parent)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"dry_run": True, "pruned": [1, 2], "kept_attested": [],
                                         "orphan_evidence_removed": 2, "dated_ahead": [], "evaluated_later": [], "missed_scans_removed": 0}
    assert seconds < 8


def test_control_case_the_prune_itself_still_waits_for_the_writer_and_removes_nothing(held):
    result, seconds = _lbaudit("history", "prune", "--keep-last", "1", "--store", held, cwd=held.parent)
    assert result.returncode == BUSY, (result.stdout, result.stderr)
    assert result.stderr == (f"lbaudit: {held}: cannot prune the history store: another process held it for longer "
                             "than 10 s (database is locked); nothing was written, run again\n")
    assert seconds >= 10


def test_control_case_the_dry_run_says_what_the_prune_then_removes(store):
    dry, _ = _lbaudit("history", "prune", "--keep-last", "1", "--dry-run", "--store", store, cwd=store.parent)
    done, _ = _lbaudit("history", "prune", "--keep-last", "1", "--store", store, cwd=store.parent)
    assert dry.stdout.replace("would remove", "removed") == done.stdout == (
        "removed 1 runs (1)\nremoved 1 evidence documents no run refers to\n")
