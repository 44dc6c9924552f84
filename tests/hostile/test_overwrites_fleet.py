"""Hostile outputs of ``fleet evaluate --jobs N``: a fleet run stopped by SIGTERM (exit 143) leaves
its out dir as it was, as ``--jobs 1`` always did.

With worker processes each worker kept the files of the hosts it finished itself, so the command's
own transaction could not put them back: a run stopped part way exited 143 beside the evidence of
every host its workers had finished (and of hosts finished in a batch not yet returned), and a
worker stopped while writing left its ``.HOST.evidence.json.RANDOM.tmp``.  A real process, real
worker processes, a real SIGTERM once some hosts' evidence is written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # a real fleet run with worker processes

TERMINATED = 128 + signal.SIGTERM


def tree(directory: Path) -> dict[str, tuple]:
    return {name: (os.lstat(directory / name).st_ino, (directory / name).read_bytes())
            for name in sorted(os.listdir(directory))}


@pytest.fixture
def fleet(tmp_path: Path) -> list[str]:
    fetch = tmp_path / "fetch"
    for n in range(16):
        host = f"h{n:02}"
        (fetch / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8000 + p) for p in range(300)], hostname=host),
                       fetch / host / "lbaudit.snapshot.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("fleet"))
    return ["fleet", "evaluate", "--snapshots", str(fetch), "--policy", str(tmp_path / "policy.yaml"), "--out-dir",
            str(tmp_path / "out"), "--jobs", "2", "-q"]


def _lbaudit(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_part_way_leaves_no_host_file_and_no_temporary_file(tmp_path, fleet):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the operator's file\n")
    before = tree(out)
    process = _lbaudit(fleet)
    try:
        deadline = time.monotonic() + 120
        while len([name for name in os.listdir(out) if name.endswith(".evidence.json")]) < 2:
            assert process.poll() is None, "the run ended before two hosts were written"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == TERMINATED, (process.returncode, stderr)
    assert "terminated" in stderr and "Traceback" not in stderr
    time.sleep(0.5)  # the workers, stopped by the pool, are gone once their files are
    # before: e.g. ['h00.evidence.json', 'h08.evidence.json', 'notes.txt'] after exit 143
    assert tree(out) == before


def test_control_case_a_finished_run_keeps_every_host_and_leaves_no_previous_version(tmp_path, fleet):
    for _ in range(2):  # the second replaces the first run's files
        process = _lbaudit(fleet)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 1, stderr
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted([f"h{n:02}.evidence.json" for n in range(16)] +
                           ["fleet-summary.html", "fleet-summary.json", "fleet.junit.xml"])
