"""A history store on a read-only file system (a backup mounted for an auditor, a read-only bind
mount into a container): every command failed, `history list`, `show`, `diff` and `verify` too,
with SQLite's "cannot open the history store: unable to open database file" (exit 2), which says
neither why nor what to do.  A store in WAL mode is read through its ``-shm`` index, which SQLite
must create beside it.

Now a command that only reads opens a store it cannot write read-only: immutable on a read-only
file system (nothing can change the file there), unless a ``-wal`` beside it holds writes not yet
in the file (a copy taken mid-write), which are then read through it or the command says why it
cannot; the newest runs are never silently left out.  A command that writes says the store is
read-only, and that nothing was written.

The read-only file system is a read-only bind mount in a mount namespace of the test's own."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.engine.registry import load_registry
from auditor.history import open_store
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot
from tests.history.scans import CORP, write_scan_snapshot

pytestmark = pytest.mark.slow  # real processes in a mount namespace

REPO = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(plugins=False)
POLICY = load_policy(CORP, REGISTRY)
NOW = datetime.now(timezone.utc).replace(microsecond=0)

# $1 the directory made read-only, $2 the work directory, $3 python, then lbaudit's arguments
READ_ONLY = """
set -e
mount --bind "$1" "$1"
mount -o remount,ro,bind "$1"
cd "$2"
shift 3
set +e
"$PYTHON" -m auditor.cli "$@" >stdout 2>stderr
echo $? > code
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1): the read-only file system is a bind mount in a namespace of its own")
    return tmp_path


def _record(store: Path, tmp_path: Path, *scans: tuple[str, int, bool]) -> None:
    with open_store(str(store)) as opened:
        for name, minutes_ago, wildcard in scans:
            at = NOW - timedelta(minutes=minutes_ago)
            snap = load_snapshot(write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=wildcard,
                                                     when=at))
            evidence = assess(POLICY, snap, REGISTRY, started_at=at)
            opened.record(evidence_bytes(evidence), evidence)


def _read_only(work: Path, directory: Path, *args: object) -> tuple[int, str, str]:
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY, "sh", directory,
                           work, sys.executable, *map(str, args)],
                          env={**os.environ, "PYTHONPATH": str(REPO), "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int((work / "code").read_text()), (work / "stdout").read_text(), (work / "stderr").read_text()


@pytest.fixture
def archived(work: Path) -> Path:
    """A store of two runs (the second: redis on every address) in its own directory, closed."""
    (work / "archive").mkdir()
    store = work / "archive" / "history.db"
    _record(store, work, ("monday", 50, False), ("tuesday", 40, True))
    assert sorted(os.listdir(work / "archive")) == ["history.db"]
    return store


def test_the_reading_commands_read_a_store_on_a_read_only_file_system(work, archived):
    code, out, err = _read_only(work, archived.parent, "history", "list", "--json", "--store", archived)
    assert code == 0, err  # before: 2, "unable to open database file"
    assert [run["id"] for run in json.loads(out)] == [2, 1]
    code, out, err = _read_only(work, archived.parent, "history", "diff", "--store", archived)
    assert (code, "regressions: 1") == (1, out.splitlines()[2]), out + err
    code, out, err = _read_only(work, archived.parent, "history", "verify", "--store", archived)
    assert code == 0 and "history verified" in out, out + err
    code, out, err = _read_only(work, archived.parent, "history", "show", "2", "--store", archived)
    assert code == 0 and out.startswith("run 2: non_compliant (exit 1)"), out + err
    assert sorted(os.listdir(archived.parent)) == ["history.db"]


def test_a_writing_command_says_the_store_is_read_only(work, archived):
    code, out, err = _read_only(work, archived.parent, "history", "prune", "--keep-last", "1", "--store", archived)
    assert (code, out) == (2, ""), err
    assert (f"{archived}: cannot prune the history store: attempt to write a readonly database (this user cannot "
            "write it, or it is on a read-only file system); nothing was written") in err, err
    (work / "snap.json").write_bytes((work / "monday.snapshot.json").read_bytes())
    code, out, err = _read_only(work, archived.parent, "evaluate", "--policy", CORP, "--snapshot", "snap.json", "-q",
                                "-o", "e.json", "--record", "--store", archived)
    assert code == 2 and (f"{archived}: cannot record in the history store: this user cannot write it, or it is on "
                          "a read-only file system") in err, err
    assert not (work / "e.json").exists()


def test_a_copy_taken_mid_write_is_never_read_without_its_newest_runs(work, archived):
    """The third run is in history.db-wal only (a copy taken while a reader held the store open):
    opened immutable, the file alone would say the newest run is run 2.  Copied with its -shm it
    is read through it; without, the command says why it cannot read it."""
    holder = sqlite3.connect(archived)  # keeps SQLite from folding the WAL into the file on close
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("SELECT count(*) FROM runs").fetchone()
    _record(archived, work, ("wednesday", 30, False))
    for name, suffixes in (("whole", ("", "-wal", "-shm")), ("no-shm", ("", "-wal"))):
        (work / name).mkdir()
        for suffix in suffixes:
            shutil.copyfile(f"{archived}{suffix}", work / name / f"history.db{suffix}")
    holder.close()
    assert (work / "whole" / "history.db-wal").stat().st_size > 0
    code, out, err = _read_only(work, work / "whole", "history", "list", "--json", "--store",
                                work / "whole" / "history.db")
    assert code == 0, err
    assert [run["id"] for run in json.loads(out)] == [3, 2, 1]
    store = work / "no-shm" / "history.db"
    code, out, err = _read_only(work, store.parent, "history", "list", "--json", "--store", store)
    assert (code, out) == (2, ""), out
    assert (f"{store}: cannot read the history store (unable to open database file): this user cannot write it or "
            f"its directory, and SQLite reads a store in WAL mode through {store}-shm, which it cannot create there; "
            f"{store}-wal holds writes not yet in the store: run as the store's owner, or copy the store and the "
            "files beside it to a directory you can write") in err, err
