"""A history store (SQLite) whose file has more than one name.

Every other file lbaudit writes is replaced whole, by a new file renamed over the name given, so a
second name of the old file (a hard link: ``cp -l``, ``ln``) keeps what it held.  The history store
cannot be: SQLite writes it in place.  Recorded into through one name, the store changed under every
other name too (``ln history.db before-upgrade.db``, a "backup", recorded into with the next run),
and SQLite keeps its journal and write-ahead log beside the name it was opened by, so two names are
two journals of one file: a run interrupted through one name is not recovered through the other
(https://www.sqlite.org/howtocorrupt.html, "Multiple links to the same file").  Now a store file
with more than one name is refused, exit 2 before any work, naming it and how many names it has;
both names keep their bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2
WRITTEN = 1  # the snapshot's listener binds 0.0.0.0: a run that writes fails its rule


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    recorded = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                       "--record", "--store", "history.db", cwd=tmp_path)
    assert recorded.returncode == WRITTEN, recorded.stderr
    os.link(tmp_path / "history.db", tmp_path / "backup.db")
    return tmp_path


def refused(result, work: Path, before: bytes) -> None:
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "history.db: the history store has 2 names (hard links)" in result.stderr, result.stderr
    assert (work / "backup.db").read_bytes() == before


@pytest.mark.parametrize("command", [
    ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e2.json", "--record",
     "--store", "history.db"],
    ["history", "import", "e.json", "--store", "history.db"],
    ["history", "prune", "--keep-last", "0", "--force", "--store", "history.db"],
])
def test_a_store_with_a_second_name_is_not_written(work, command):
    before = (work / "backup.db").read_bytes()
    refused(run_cli(*command, cwd=work), work, before)
    assert not (work / "e2.json").exists()


def test_control_case_a_store_with_one_name_is_recorded_into(work):
    os.unlink(work / "backup.db")
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e2.json",
                     "--record", "--store", "history.db", cwd=work)
    assert result.returncode == WRITTEN, result.stderr


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_a_companion_file_with_a_second_name_is_not_written(work, suffix):
    # SQLite keeps its write-ahead log, its index and its journal beside the store and writes them in
    # place: a -wal that was a second name of another file was overwritten with the log's frames
    # (and the other name kept them once SQLite removed its own)
    os.unlink(work / "backup.db")
    notes = work / "notes.txt"
    notes.write_bytes(b"notes of the user's own, not a write-ahead log\n" * 20)
    os.link(notes, work / f"history.db{suffix}")
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e2.json",
                     "--record", "--store", "history.db", cwd=work)
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert f"history.db{suffix}: has 2 names (hard links)" in result.stderr, result.stderr
    assert notes.read_bytes() == b"notes of the user's own, not a write-ahead log\n" * 20
    assert not (work / "e2.json").exists()
