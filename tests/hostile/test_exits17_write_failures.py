"""A file that could not be written for want of space or a working disk is exit 74, like standard output.

The defect: the README's exit codes say 74 (EX_IOERR) is a stream that could not be written, "a full
disk or /dev/full", and its History section says a run "whose evidence, reports or summary could not
be written (a full disk ...: exit 74)" records nothing; yet a full disk under the evidence, a report,
the PDF, a snapshot, a key, the fleet's files or the history store was exit 2, "usage error: bad
command line, policy, ...", which a monitor reads as a broken schedule to fix, not a disk to clear, and
told apart from a full disk under ``-o -`` by nothing but the stream it went to.  Now one rule at the
root (``auditor/cli.py`` ``_map_exception``, ``auditor.errors.io_failure``): whatever a command was
doing, an error caused by the medium (ENOSPC, EDQUOT, EIO, EFBIG; SQLite's SQLITE_FULL and SQLITE_IOERR,
PostgreSQL's disk_full and io_error) is exit 74, the file and the reason named, the files of the run put
back; what the check before any work refuses (a read-only file system, a missing directory, a
directory or a FIFO at a file's path, two outputs that are one file, an output that is an input) stays
exit 2 with nothing written.

Real conditions, no mocks: a tmpfs this test mounts (and unmounts), filled to the last byte by a
filler file; a read-only bind mount.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # mounts, and a run per output

IO_ERROR = 74
USAGE = 2
NO_SPACE = "No space left on device"
ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": "", "LBAUDIT_LOCK_WAIT": "5"}


def _mount(args: list[str]) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} failed (needs root and mount(8)): {done.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8000 + n) for n in range(40)]), tmp_path / "big.json")
    fetch = tmp_path / "fetch"
    for host in ("h1", "h2"):
        (fetch / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=host),
                       fetch / host / "lbaudit.snapshot.json")
    assert run_cli("keygen", "--out", "keys", "-q", cwd=tmp_path, env=ENV).returncode == 0
    done = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                   "--record", "--store", "h.db", cwd=tmp_path, env=ENV)
    assert done.returncode == 1, done.stderr
    return tmp_path


@pytest.fixture
def disk(work: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs at ``work/disk``, unmounted after the test."""
    path = work / "disk"
    path.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=256k,mode=0755", "lbaudit-test", str(path)])
    try:
        yield path
    finally:
        _umount(path)


def _fill(disk: Path) -> None:
    """Take every free byte of ``disk``: the next write there fails with ENOSPC."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def _tree(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (but the filler) and the SHA-256 of its bytes."""
    return {str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.rglob("*")) if path.is_file() and path.name != "filler"}


EVALUATE = ("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q")

# Each writer of a file, writing into the full disk; what it names in its message.
FULL_DISK_RUNS = {
    "evidence": ((*EVALUATE, "-o", "disk/e.json"), "disk/e.json"),
    "signed evidence": ((*EVALUATE, "-o", "disk/e.json", "--sign-key", "keys/lbaudit.key"), "disk/e.json"),
    "pdf": (("report", "e.json", "--pdf", "disk/a.pdf", "-q"), "disk/a.pdf"),
    "html": (("report", "e.json", "--format", "html", "--out-dir", "disk", "-q"), "disk/corp.html"),
    "oscal": (("report", "e.json", "--format", "oscal", "--out-dir", "disk", "-q"), "disk/corp.oscal.json"),
    "sarif": (("report", "e.json", "--format", "sarif", "--out-dir", "disk", "-q"), "disk/corp.sarif"),
    "junit": (("report", "e.json", "--format", "junit", "--out-dir", "disk", "-q"), "disk/corp.junit.xml"),
    "hdf": (("report", "e.json", "--format", "hdf", "--out-dir", "disk", "-q"), "disk/corp.hdf.json"),
    "text": (("report", "e.json", "--format", "text", "--out-dir", "disk", "-q"), "disk/corp.txt"),
    "prometheus": (("report", "e.json", "--textfile-dir", "disk", "-q"), "disk/corp.prom"),
    "out dir": (("report", "e.json", "--format", "sarif", "--out-dir", "disk/new", "-q"), "disk/new"),
    "snapshot": (("collect", "--target", "root:fetch", "--section", "sysctl", "-o", "disk/s.json", "-q"),
                 "disk/s.json"),
    "keys": (("keygen", "--out", "disk/keys", "-q"), "disk/keys"),
    "policy": (("init", "-o", "disk/p.yaml"), "disk/p.yaml"),
    "fleet": (("fleet", "evaluate", "--snapshots", "fetch", "--policy", "policy.yaml", "--out-dir", "disk/fleet", "-q"),
              "disk/fleet"),
    "fleet html": (("fleet", "report", "--store", "h.db", "--html", "disk/fleet.html"), "disk/fleet.html"),
    "history store": ((*EVALUATE, "-o", "e2.json", "--record", "--store", "disk/h.db"), "disk/h.db"),
    "history import": (("history", "import", "e.json", "--store", "disk/h.db"), "disk/h.db"),
}


@pytest.mark.parametrize("output", FULL_DISK_RUNS)
def test_a_full_disk_under_any_output_is_exit_74_naming_it_and_nothing_is_left(work, disk, output):
    args, named = FULL_DISK_RUNS[output]
    _fill(disk)
    done = run_cli(*args, cwd=work, env=ENV)
    assert done.returncode == IO_ERROR, done.stderr  # before: 2, a usage error
    assert named in done.stderr, done.stderr
    assert NO_SPACE in done.stderr or "disk is full" in done.stderr or "disk I/O error" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert _tree(disk) == {}, "a failed run left files"
    assert sorted(os.listdir(disk)) == ["filler"]


def test_a_run_that_fills_the_disk_part_way_leaves_the_previous_runs_files_as_they_were(work, disk):
    """Evidence, signature, reports and PDF of one run are kept together: a second run that fills the
    disk part way leaves every file of the first, so the evidence's digest is still the PDF's."""
    outputs = ("-o", "disk/e.json", "--sign-key", "keys/lbaudit.key", "--format", "sarif,junit,html,hdf",
               "--out-dir", "disk", "--pdf", "disk/a.pdf")
    first = run_cli(*EVALUATE, *outputs, cwd=work, env=ENV)
    assert first.returncode == 1, first.stderr
    before = _tree(disk)
    assert {"e.json", "e.json.sig", "a.pdf", "corp.html"} <= set(before)
    second = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "big.json", "-q", *outputs,
                     cwd=work, env=ENV)
    assert second.returncode == IO_ERROR, second.stderr  # before: 2
    assert NO_SPACE in second.stderr and "disk/" in second.stderr, second.stderr
    assert _tree(disk) == before
    assert sorted(os.listdir(disk)) == sorted(before)  # no temporary file, no previous version beside them
    verified = run_cli("verify", "disk/e.json", "--pubkey", "keys/lbaudit.pub", "--pdf", "disk/a.pdf", cwd=work, env=ENV)
    assert verified.returncode == 0, verified.stderr


@pytest.fixture
def read_only(work: Path) -> Iterator[Path]:
    """``work/ro``: a read-only bind mount of ``work/ro-source``, which holds one evidence file."""
    source, path = work / "ro-source", work / "ro"
    source.mkdir()
    path.mkdir()
    (source / "e.json").write_bytes((work / "e.json").read_bytes())
    _mount(["--bind", str(source), str(path)])
    try:
        _mount(["-o", "remount,ro,bind", str(path)])
        yield path
    finally:
        _umount(path)


# What the check before any work refuses: exit 2, the path named, nothing written.
REFUSED_BEFORE_WORK = {
    "read-only evidence": ((*EVALUATE, "-o", "ro/e.json"), "ro/e.json"),
    "read-only pdf": ((*EVALUATE, "-o", "e3.json", "--pdf", "ro/a.pdf"), "ro/a.pdf"),
    "read-only reports": (("report", "e.json", "--format", "sarif", "--out-dir", "ro", "-q"), "ro"),
    "read-only store": ((*EVALUATE, "-o", "e3.json", "--record", "--store", "ro/h.db"), "ro/h.db"),
    "directory as evidence": ((*EVALUATE, "-o", "fetch"), "fetch"),
    "missing parent": ((*EVALUATE, "-o", "nowhere/e.json"), "nowhere"),
    "one file twice": ((*EVALUATE, "-o", "x.json", "--pdf", "x.json"), "x.json"),
    "the policy": ((*EVALUATE, "-o", "policy.yaml", "--force"), "policy.yaml"),
    "the snapshot": ((*EVALUATE, "-o", "snap.json", "--force"), "snap.json"),
    "/dev/full": ((*EVALUATE, "-o", "/dev/full"), "/dev/full"),
}


@pytest.mark.parametrize("case", REFUSED_BEFORE_WORK)
def test_what_the_check_before_work_refuses_stays_exit_2_and_writes_nothing(work, read_only, case):
    args, named = REFUSED_BEFORE_WORK[case]
    before = _tree(work)
    done = run_cli(*args, cwd=work, env=ENV)
    assert done.returncode == USAGE, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert _tree(work) == before
