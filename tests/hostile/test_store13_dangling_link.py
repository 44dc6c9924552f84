"""A store path that is a symbolic link to a store not made yet (``history.db -> data/history.db``,
set up before the first scan, to keep the store on another disk).  The private creation of a new
store refuses to follow a link, so it created nothing, and SQLite then made the target through the
link with the umask's mode: 0644, every listener and process of the host readable by every local
user, where a new store is 0600; and a command that failed after creating it left it behind.

Now the link's target is created as every new store is: 0600, and removed by a command that fails."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("store"))
    (tmp_path / "bad.yaml").write_text("id: bad\nrules: [\n")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 5432)]), tmp_path / "snap.json")
    (tmp_path / "data").mkdir()
    os.symlink(tmp_path / "data" / "history.db", tmp_path / "history.db")
    return tmp_path


def _evaluate(work: Path, policy: str):
    return run_cli("evaluate", "--policy", policy, "--snapshot", "snap.json", "-q", "-o", "e.json", "--record",
                   "--store", "history.db", cwd=work)


def test_a_store_created_through_a_link_is_private(work):
    os.umask(old := os.umask(0o022))
    try:
        result = _evaluate(work, "policy.yaml")
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    target = work / "data" / "history.db"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # before: 0644
    assert (work / "history.db").is_symlink()  # the link is left as it is
    listed = run_cli("history", "list", "--store", "history.db", cwd=work)
    assert listed.returncode == 0 and "compliant" in listed.stdout


def test_a_failed_command_removes_the_store_it_created_through_a_link(work):
    result = _evaluate(work, "bad.yaml")
    assert result.returncode == 2 and "invalid policy" in result.stderr, result.stderr
    assert sorted(os.listdir(work / "data")) == []  # before: history.db, -wal and -shm left behind
    assert (work / "history.db").is_symlink()
