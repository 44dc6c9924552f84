"""Hostile timing, two lbaudit processes at once writing the same files: never a mix of two runs.

Each file is atomic on its own (tests/hostile/test_outputs.py) and each run puts its files back when
it fails (tests/hostile/test_run_outputs.py); these cases run a second command while the first is
part way through its files.  The first is a real process stopped with SIGSTOP right after its first
file, as a busy machine's scheduler may leave it; the second runs to its end meanwhile.  Before,
the second wrote all its files and the first then wrote the rest of its own: evidence of one run
beside the PDF, reports and fleet summary of the other (``verify --pdf`` failed 13, the summary named
digests of files that were not there), each command reporting success.  Now a command holds each
directory it writes in (flock on the directory) until it ends: the second waits for the first, and
gives up with 75 (EX_TEMPFAIL) after ``LBAUDIT_LOCK_WAIT`` seconds, writing nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # real processes, a PDF each

BUSY = 75
COMPLIANT, NON_COMPLIANT = 0, 1


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("race"))
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="host-a"), tmp_path / "a.json")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="host-b"), tmp_path / "b.json")
    assert run_cli("keygen", "--out", tmp_path / "keys", "-q").returncode == 0
    (tmp_path / "out").mkdir()
    return tmp_path


def _evaluate_argv(snapshot_file: str) -> list[str]:
    return [sys.executable, "-m", "auditor.cli", "evaluate", "--policy", "policy.yaml", "--snapshot", snapshot_file,
            "-q", "-o", "out/evidence.json", "--out-dir", "out", "--format", "sarif,html", "--pdf", "out/report.pdf",
            "--sign-key", "keys/lbaudit.key"]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


class Stopped:
    """A real lbaudit process, stopped (SIGSTOP) as soon as ``first_file`` exists; continued and
    reaped on leaving."""

    def __init__(self, argv: list[str], cwd: Path, first_file: Path):
        self.process = subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        deadline = time.monotonic() + 120
        while not first_file.exists():
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, "the first run never wrote its first file"
            time.sleep(0.001)
        self.process.send_signal(signal.SIGSTOP)

    def finish(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGCONT)
        _, stderr = self.process.communicate(timeout=120)
        return self.process.returncode, stderr

    def __enter__(self) -> "Stopped":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()


def _hosts_in(out: Path, names: list[str]) -> dict[str, set[str]]:
    return {name: {h for h in ("host-a", "host-b") if h in (out / name).read_text()} for name in names}


def _verify(work: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor.cli", "verify", "out/evidence.json", "--pubkey",
                           "keys/lbaudit.pub", "--pdf", "out/report.pdf"], cwd=work, env=_env(), capture_output=True,
                          text=True, timeout=120)


def test_a_run_writing_where_another_is_part_way_gives_up_with_75_and_mixes_nothing(work: Path):
    out = work / "out"
    with Stopped(_evaluate_argv("a.json"), work, out / "evidence.json") as first:
        second = subprocess.run(_evaluate_argv("b.json"), cwd=work, env=_env(LBAUDIT_LOCK_WAIT="0.5"),
                                capture_output=True, text=True, timeout=120)
        first_code, first_err = first.finish()
    # before: 1, host-b's evidence and signature, then host-a's reports and PDF over them
    assert second.returncode == BUSY, second.stderr
    assert f"lbaudit process {first.process.pid} is writing in this directory" in second.stderr
    assert "LBAUDIT_LOCK_WAIT" in second.stderr and "Traceback" not in second.stderr
    assert (first_code, first_err) == (COMPLIANT, "")
    assert _hosts_in(out, ["evidence.json", "race.sarif", "race.html"]) == {
        "evidence.json": {"host-a"}, "race.sarif": {"host-a"}, "race.html": {"host-a"}}
    assert _verify(work).returncode == 0  # before: 13, the PDF is another run's
    assert sorted(os.listdir(out)) == ["evidence.json", "evidence.json.sig", "race.html", "race.sarif", "report.pdf"]


def _has_open(pid: int, directory: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fds / fd) == str(directory) for fd in os.listdir(fds))
    except OSError:
        return False


@contextmanager
def _second_run_waiting_for(work: Path, directory: Path) -> Iterator[subprocess.Popen]:
    """A second ``evaluate`` (host-b's, into the same files), yielded once it has opened
    ``directory`` to hold it: from then on it waits.  Killed on the way out if still running."""
    second = subprocess.Popen(_evaluate_argv("b.json"), cwd=work, env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _has_open(second.pid, directory):
            assert second.poll() is None, second.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        yield second
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()


@pytest.mark.live  # reads /proc/PID/fd of its own child, to know that it waits
def test_a_run_that_waits_writes_its_whole_set_after_the_other(work: Path):
    out = work / "out"
    with Stopped(_evaluate_argv("a.json"), work, out / "evidence.json") as first:
        with _second_run_waiting_for(work, out) as second:
            first_code, first_err = first.finish()
            _, second_err = second.communicate(timeout=120)
    assert (first_code, first_err) == (COMPLIANT, "")
    assert (second.returncode, second_err) == (NON_COMPLIANT, "")
    assert _hosts_in(out, ["evidence.json", "race.sarif", "race.html"]) == {
        "evidence.json": {"host-b"}, "race.sarif": {"host-b"}, "race.html": {"host-b"}}
    assert _verify(work).returncode == 0  # before: 13 (host-b's evidence, host-a's PDF)


def test_control_case_runs_writing_in_different_directories_do_not_wait(work: Path):
    (work / "other").mkdir()
    with Stopped(_evaluate_argv("a.json"), work, work / "out" / "evidence.json") as first:
        argv = [a.replace("out/", "other/") if a.startswith("out/") else ("other" if a == "out" else a)
                for a in _evaluate_argv("b.json")]
        second = subprocess.run(argv, cwd=work, env=_env(LBAUDIT_LOCK_WAIT="0.5"), capture_output=True, text=True,
                                timeout=120)
        first_code, _ = first.finish()
    assert (second.returncode, second.stderr) == (NON_COMPLIANT, "")
    assert first_code == COMPLIANT


def _fleet_argv(fetch: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "auditor.cli", "fleet", "evaluate", "--snapshots", str(fetch), "--policy",
            "policy.yaml", "--out-dir", str(out), "--jobs", "1", "-q"]


def test_a_fleet_run_into_the_out_dir_of_another_gives_up_with_75_and_the_summary_names_its_files(work: Path):
    fetch, out = work / "fetch", work / "fleet"
    for name in ("host01", "host02"):
        (fetch / name).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name),
                       fetch / name / "lbaudit.snapshot.json")
    out.mkdir()
    with Stopped(_fleet_argv(fetch, out), work, out / "host01.evidence.json") as first:
        second = subprocess.run(_fleet_argv(fetch, out), cwd=work, env=_env(LBAUDIT_LOCK_WAIT="0.5"),
                                capture_output=True, text=True, timeout=120)
        first_code, first_err = first.finish()
    assert second.returncode == BUSY, second.stderr  # before: 0, and host01's evidence was its own
    assert first_code == COMPLIANT, first_err
    summary = json.loads((out / "fleet-summary.json").read_text())
    # before: the summary's digest of host01 was of the first run's file, which the second replaced
    assert {h["host"]: h["evidence_sha256"] for h in summary["hosts"]} == {
        name: hashlib.sha256((out / f"{name}.evidence.json").read_bytes()).hexdigest() for name in ("host01", "host02")}


@pytest.mark.live  # reads /proc/PID/fd of its own child, to know that it waits
def test_sigterm_while_waiting_for_the_directory_is_143_and_leaves_the_other_runs_files(work: Path):
    out = work / "out"
    with Stopped(_evaluate_argv("a.json"), work, out / "evidence.json") as first:
        with _second_run_waiting_for(work, out) as second:
            second.send_signal(signal.SIGTERM)
            _, second_err = second.communicate(timeout=60)
        first_code, _ = first.finish()
    assert second.returncode == 128 + signal.SIGTERM and "terminated" in second_err, second_err
    assert first_code == COMPLIANT
    assert _hosts_in(out, ["evidence.json", "race.sarif", "race.html"]) == {
        "evidence.json": {"host-a"}, "race.sarif": {"host-a"}, "race.html": {"host-a"}}
    assert _verify(work).returncode == 0
