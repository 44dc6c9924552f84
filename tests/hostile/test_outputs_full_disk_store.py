"""A history store created by a run that fails on a full disk.

A run with ``--record`` creates its SQLite store when there is none; a run that fails removes it
again (the files of a run are kept together or not at all).  SQLite writes two more files beside
the database, ``STORE-wal`` and ``STORE-shm``, and removes them when it closes the database; on a
full disk it could not, and the failed run left them (190 KB on a 200 KiB disk) beside a store that
was never made.  Now the files SQLite keeps beside a store this run created go with it
(auditor/command_files.py ``Change.beside``).

The full disk is a tmpfs mounted in a mount namespace of the run's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # real processes in a mount namespace

REPO = Path(__file__).resolve().parents[2]
IO_ERROR = 74  # a disk that could not take the store: EX_IOERR (it was exit 2, a usage error)

# $1 the mount point, $2 its size, $3 the work directory, $4 python
RECORD_ON_A_SMALL_DISK = """
set -e
mount -t tmpfs -o size="$2" lbaudit-test "$1"
cd "$3"
set +e
"$4" -m auditor.cli evaluate --policy policy.yaml --snapshot snap.json -q -o "$1/e.json" --record --store "$1/h.db" \
    2>stderr
echo $? > code
ls -A "$1" > left
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1): the full disk is a tmpfs in a mount namespace of its own")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


@pytest.mark.parametrize("size", ["64k", "200k"])
def test_a_store_a_failed_run_created_leaves_none_of_its_files(work, size):
    disk = work / "disk"
    disk.mkdir()
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", RECORD_ON_A_SMALL_DISK, "sh",
                           disk, size, work, sys.executable], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stderr = (work / "stderr").read_text()
    assert (work / "code").read_text().strip() == str(IO_ERROR), stderr
    assert "h.db" in stderr and ("disk is full" in stderr or "No space left on device" in stderr), stderr
    # before: ['h.db-shm', 'h.db-wal']
    assert (work / "left").read_text().split() == []
