"""Outputs whose names are long but legal (up to 255 bytes, Linux's NAME_MAX).

The writer keeps hidden files beside an output (``.NAME.RANDOM.tmp`` while it writes,
``.NAME.RANDOM.previous`` for the version a failed run puts back), and their names were the output's
name and 19 to 23 bytes more.  An output named with 238 to 255 bytes could not be written at all
(exit 2, "File name too long", of a name the user gave legally), and one of 233 to 237 bytes was
written with no previous version kept: a run that failed afterwards (a full disk at its PDF)
*deleted* the earlier run's evidence instead of putting it back.  Now the hidden names carry as much
of the output's name as fits (auditor/command_files.py ``hidden_stem``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

REPO = Path(__file__).resolve().parents[2]
IO_ERROR, WRITTEN = 74, 1  # a full disk is EX_IOERR; the snapshot's listener binds 0.0.0.0: a run that writes fails its rule


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


def named(length: int, extension: str = ".json") -> str:
    return "e" * (length - len(extension)) + extension


@pytest.mark.parametrize("length", [238, 251])  # 251: its .sig (written or removed) is 255
def test_an_output_with_a_long_legal_name_is_written(work, length):
    name = named(length)
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", name,
                     "--pdf", named(length, ".pdf"), cwd=work)
    assert (result.returncode, result.stderr) == (WRITTEN, "")
    assert sorted(p.name for p in work.iterdir()) == sorted([name, named(length, ".pdf"), "policy.yaml", "snap.json"])


def test_an_earlier_output_with_a_long_name_is_replaced_and_nothing_is_left_beside_it(work):
    name = named(235)
    args = ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", name]
    assert run_cli(*args, cwd=work).returncode == WRITTEN
    inode = (work / name).stat().st_ino
    assert run_cli(*args, cwd=work).returncode == WRITTEN
    assert (work / name).stat().st_ino != inode
    assert sorted(p.name for p in work.iterdir()) == sorted([name, "policy.yaml", "snap.json"])


# A run that fails after it replaced the evidence: its PDF does not fit on the file system.  A tmpfs
# of 64 KiB mounted in a mount namespace of the run's own: the evidence (10 KiB) fits, the PDF (about
# 90 KiB) does not.
FULL_DISK_RUN = """
set -e
mount -t tmpfs -o size=64k lbaudit-test "$1"
cd "$2"
"$3" -m auditor.cli evaluate --policy policy.yaml --snapshot snap.json -q -o "$1/$4" || true
cp "$1/$4" earlier.json
set +e
"$3" -m auditor.cli evaluate --policy policy.yaml --snapshot snap.json -q -o "$1/$4" --pdf "$1/r.pdf" 2>stderr
echo $? > code
ls -A "$1" > left
cmp -s "$1/$4" earlier.json && echo same > kept || echo changed > kept
"""


@pytest.mark.slow  # real processes in a mount namespace
@pytest.mark.parametrize("length", [20, 235])
def test_a_run_that_fails_after_replacing_a_long_named_evidence_puts_it_back(work, length):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1): the full disk is a tmpfs in a mount namespace of its own")
    disk = work / "disk"
    disk.mkdir()
    name = named(length)
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", FULL_DISK_RUN, "sh",
                           disk, work, sys.executable, name], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "No space left on device" in (work / "stderr").read_text()
    assert (work / "code").read_text().strip() == str(IO_ERROR)
    # before (235 bytes): [] and the earlier evidence gone; its previous version could not be kept
    assert (work / "left").read_text().split() == [name]
    assert (work / "kept").read_text().strip() == "same"
