"""An output replaced where its previous version cannot be kept as a hard link.

A run keeps the previous version of every file it replaces as a hard link beside it, so that a run
that fails part way puts every file back (auditor/command_files.py ``previous_version``).  Where no
hard link can be made (a file system without them: FAT, sshfs; a file already at its file system's
link limit, EMLINK) no previous version was kept, and a run that failed afterwards *deleted* the file
it had replaced: the earlier run's evidence was gone, and so was this run's.  Now the previous
version is a copy there (and a file whose previous version cannot be kept at all is not replaced).

The file at its link limit is real: an earlier run's evidence with 64,999 more names (ext4's limit is
65,000), on an ext4 file system of a few MiB made for the test and mounted in a mount namespace of
the run's own, where the PDF of the next run does not fit.
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

pytestmark = pytest.mark.slow  # a file system made, 65,000 links, real processes

REPO = Path(__file__).resolve().parents[2]
IO_ERROR = 74  # a disk that could not take a file: EX_IOERR (it was exit 2, a usage error)

# $1 the mount point, $2 the work directory, $3 python, $4 how many more names the evidence gets,
# $5 the free bytes left on the disk for the second run (its evidence fits, its PDF does not)
FULL_DISK_AT_THE_PDF = r"""
set -e
truncate -s 32M "$2/disk.img"
mkfs.ext4 -q -m 0 -N 70000 "$2/disk.img"
mount -o loop "$2/disk.img" "$1"
trap 'umount "$1"' EXIT
cd "$2"
"$3" -m auditor.cli evaluate --policy policy.yaml --snapshot snap.json -q -o "$1/e.json" || true
cp "$1/e.json" earlier.json
"$3" - "$1" "$4" "$5" <<'PY'
import os, sys
disk, names, free = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.mkdir(f"{disk}/names")
for number in range(names):
    os.link(f"{disk}/e.json", f"{disk}/names/{number}")
st = os.statvfs(disk)
with open(f"{disk}/filler", "wb") as filler:
    filler.write(b"\0" * max(st.f_bavail * st.f_frsize - free, 0))
PY
set +e
"$3" -m auditor.cli evaluate --policy policy.yaml --snapshot snap.json -q -o "$1/e.json" --pdf "$1/r.pdf" 2>stderr
echo $? > code
ls -A "$1" > left
cmp -s "$1/e.json" earlier.json && echo same > kept || echo changed > kept
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    missing = [tool for tool in ("unshare", "mkfs.ext4", "mount") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"needs root and {', '.join(missing) or 'loop devices'}: an ext4 file system made for the test")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


@pytest.mark.parametrize("more_names", [0, 64_999], ids=["linkable", "at-the-link-limit"])
def test_a_run_that_fails_after_replacing_a_file_it_could_not_link_puts_it_back(work, more_names):
    disk = work / "disk"
    disk.mkdir()
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", FULL_DISK_AT_THE_PDF, "sh",
                           disk, work, sys.executable, str(more_names), str(48 * 1024)],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    if "failed to setup loop device" in done.stderr or "cannot mount" in done.stderr:
        pytest.skip(f"no loop device here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    stderr = (work / "stderr").read_text()
    assert (work / "code").read_text().strip() == str(IO_ERROR), stderr
    assert "r.pdf" in stderr and "No space left on device" in stderr
    # before (at the link limit): e.json gone, its earlier version and this run's both
    assert (work / "left").read_text().split() == ["e.json", "filler", "lost+found", "names"]
    assert (work / "kept").read_text().strip() == "same"
