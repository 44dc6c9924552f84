"""Hostile collisions the output plan did not see: one directory reached by two paths, and a fleet's
out dir among the snapshots it reads.

Two outputs (or an output and an input) were compared by resolved path, and by device and inode
only when the file existed.  A file that does not exist yet, in a directory reached by two paths
(a bind mount, ``/proc/self/fd/N`` of an open directory), has two resolved paths and no inode:
``--output A/x.json --pdf B/x.json`` with ``B`` a bind mount of ``A`` wrote the PDF over the
evidence just written (exit 1, the evidence gone); ``--snapshot A/s.json -o B/s.json.sig`` wrote the
evidence where the snapshot's signature is looked for.  Now a file not yet there is also compared
by its directory's device and inode and its name.

``fleet evaluate --out-dir`` inside a ``--snapshots`` directory made the next run read the out dir as
a host without a snapshot (a host failing every run: exit 2), and the same directory mixed every
host's evidence and the fleet summary into the fetch layout; both are refused before any work,
however the out dir is reached (a symlink, a bind mount).  Exact exit codes; every file as it was.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2
WRITTEN = 1  # the snapshot's listener binds 0.0.0.0


def tree(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_ino)
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


@pytest.fixture
def bound(work: Path):
    """``work/a`` and ``work/b``, the same directory: b is a bind mount of a (root only)."""
    (work / "a").mkdir()
    (work / "b").mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "--bind", str(work / "a"), str(work / "b")],
                                           capture_output=True).returncode != 0:
        pytest.skip("a bind mount needs root and mount(8)")
    try:
        yield work
    finally:
        subprocess.run(["umount", str(work / "b")], check=True)


def test_two_new_outputs_in_one_directory_reached_by_two_paths_are_refused(bound):
    before = tree(bound)
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q",
                     "-o", "a/x.json", "--pdf", "b/x.json", cwd=bound)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert "are the same file" in result.stderr
    assert tree(bound) == before and list((bound / "a").iterdir()) == []  # before: exit 1, a PDF named x.json


def test_a_new_output_in_the_place_of_a_missing_input_through_a_bind_mount_is_refused(bound):
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), bound / "a" / "s.json")
    before = tree(bound)
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "a/s.json", "-q", "-o", "b/s.json.sig",
                     cwd=bound)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert "is the place of the snapshot signature" in result.stderr
    assert tree(bound) == before  # before: the evidence written where the snapshot's signature is read


def test_a_new_output_through_proc_self_fd_of_its_directory_is_the_same_place(work):
    (work / "a").mkdir()
    fd = os.open(work / "a", os.O_RDONLY | os.O_DIRECTORY)
    try:
        before = tree(work)
        result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q",
                         "-o", "a/x.json", "--pdf", f"/proc/self/fd/{fd}/x.json", cwd=work)
    finally:
        os.close(fd)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert "are the same file" in result.stderr
    assert tree(work) == before


def test_control_case_two_names_in_one_directory_reached_by_two_paths_are_written(bound):
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q",
                     "-o", "a/x.json", "--pdf", "b/x.pdf", cwd=bound)
    assert result.returncode == WRITTEN, result.stderr
    assert sorted(p.name for p in (bound / "a").iterdir()) == ["x.json", "x.pdf"]


# ------------------------------------------------------------------ fleet: the out dir among the snapshots

@pytest.fixture
def fetched(work: Path) -> Path:
    for host in ("web01", "web02"):
        (work / "fetched" / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=host, machine_id=host[-1] * 32),
                       work / "fetched" / host / "facts.snapshot.json")
    return work


def _fleet(work: Path, out: str):
    return run_cli("fleet", "evaluate", "--snapshots", "fetched", "--policy", "policy.yaml", "--out-dir", out, "-q",
                   cwd=work)


@pytest.mark.parametrize("out", ["fetched/reports", "fetched", "fetched/web01", "link/reports"])
def test_a_fleet_out_dir_among_the_snapshots_is_refused_before_any_host(fetched, out):
    os.symlink("fetched", fetched / "link")
    before = tree(fetched)
    result = _fleet(fetched, out)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert "the --snapshots directory fetched" in result.stderr
    assert tree(fetched) == before
    assert not (fetched / "fetched" / "reports").exists()  # before: created, and a host "reports" from then on


def test_a_fleet_out_dir_bind_mounted_into_the_snapshots_is_refused(fetched):
    (fetched / "fetched" / "mnt").mkdir()
    (fetched / "elsewhere").mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "--bind", str(fetched / "fetched"), str(fetched / "elsewhere")],
                                           capture_output=True).returncode != 0:
        pytest.skip("a bind mount needs root and mount(8)")
    try:
        before = tree(fetched / "fetched")
        result = _fleet(fetched, "elsewhere/mnt")
        assert result.returncode == USAGE and "is inside the --snapshots directory" in result.stderr
        assert tree(fetched / "fetched") == before
    finally:
        subprocess.run(["umount", str(fetched / "elsewhere")], check=True)


def test_control_case_a_fleet_out_dir_beside_the_snapshots_is_written_and_read_again_the_same(fetched):
    assert _fleet(fetched, "reports").returncode == WRITTEN
    again = _fleet(fetched, "reports")
    assert again.returncode == WRITTEN, again.stderr  # two hosts, both judged, no third
    assert sorted(p.name for p in (fetched / "reports").iterdir() if p.name.endswith(".evidence.json")) == [
        "web01.evidence.json", "web02.evidence.json"]
