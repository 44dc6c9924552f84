"""Hostile process environment: a stopping signal (SIGTERM, SIGHUP, Ctrl-C) while lbaudit is blocked
writing to a standard output that nobody reads (a pipe to a reader that hung, a paused terminal).

Before, the signal interrupted the blocked write and the command put its files back, but what it
still held for standard output was written again on the way out (the command's own last flush, then
the interpreter's), with the stopping signals by then ignored: the process blocked for ever on the
full pipe, and only SIGKILL ended it.  Now a stopped command waits a short, fixed time for a reader
that does not read, drops what is left, and ends with the signal's code.  Real processes, real pipes
and real signals.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, snapshot

pytestmark = pytest.mark.slow  # a real process per case

POLICY = REPO / "policies" / "corp.yaml"
STOPPED_WITHIN = 10.0  # seconds: the fixed wait for the reader, and the interpreter's exit, with room


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}


@pytest.fixture(scope="module")
def many_listeners(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot whose summary (one line per finding) is well over a pipe's 64 KiB."""
    path = tmp_path_factory.mktemp("snapshot") / "big.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 1000 + i) for i in range(400)], hostname="big"), path)
    return path


def _held_in_pipe(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    held = bytearray(4)
    fcntl.ioctl(process.stdout.fileno(), termios.FIONREAD, held)
    return int.from_bytes(held, sys.byteorder)


def _wait_until_blocked_writing(process: subprocess.Popen[bytes]) -> None:
    """Until the pipe holds most of its capacity (64 KiB; lines that do not fit a page's rest start
    the next page, so never all of it) and has not taken a byte more for half a second."""
    assert process.stdout is not None
    capacity = fcntl.fcntl(process.stdout.fileno(), fcntl.F_GETPIPE_SZ)
    deadline = time.monotonic() + 60
    held, since = -1, time.monotonic()
    while True:
        assert process.poll() is None, "lbaudit ended before filling its standard output"
        assert time.monotonic() < deadline, "lbaudit never filled its standard output"
        now = _held_in_pipe(process)
        if now != held:
            held, since = now, time.monotonic()
        elif held > capacity // 2 and time.monotonic() - since > 0.5:
            return
        time.sleep(0.02)


def _stop_while_blocked_on_stdout(args: list[object], cwd: Path, signum: int,
                                  again: int | None = None) -> tuple[int | None, float, str]:
    """Start lbaudit with a standard output nobody reads, wait until the pipe is full (lbaudit blocked
    writing), send ``signum`` (and ``again`` half a second later); the exit code (None: still running
    after STOPPED_WITHIN), the seconds it took to end, and its standard error."""
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *map(str, args)], cwd=cwd, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_blocked_writing(process)
        process.send_signal(signum)
        sent = time.monotonic()
        if again is not None:
            time.sleep(0.5)
            process.send_signal(again)
        try:
            code: int | None = process.wait(timeout=STOPPED_WITHIN)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    return code, took, process.stderr.read().decode("utf-8", "replace")


STOPS = [(signal.SIGTERM, "terminated"), (signal.SIGHUP, "terminated by SIGHUP"), (signal.SIGINT, "interrupted")]


@pytest.mark.parametrize(("signum", "said"), STOPS, ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_while_the_summary_waits_for_a_reader_ends_the_run_and_puts_its_evidence_back(
        tmp_path, many_listeners, signum, said):
    code, took, stderr = _stop_while_blocked_on_stdout(
        ["evaluate", "--policy", POLICY, "--snapshot", many_listeners, "-o", "e.json"], tmp_path, signum)
    # before: still blocked after the signal (on the last flush of standard output), killed by the test
    assert code == 128 + signum, f"still running {took:.1f} s after the signal; stderr: {stderr[-300:]}"
    assert stderr.endswith(said + "\n") and "Traceback" not in stderr
    assert sorted(os.listdir(tmp_path)) == []  # the evidence written before the summary is put back


@pytest.mark.parametrize(("signum", "said"), STOPS, ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_while_show_waits_for_a_reader_ends_it(tmp_path, many_listeners, signum, said):
    evidence = tmp_path / "e.json"
    done = subprocess.run([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", POLICY, "--snapshot",
                           many_listeners, "-o", evidence, "-q"], env=_env(), capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr
    code, took, stderr = _stop_while_blocked_on_stdout(["show", evidence], tmp_path, signum)
    assert code == 128 + signum, f"still running {took:.1f} s after the signal; stderr: {stderr[-300:]}"
    assert stderr == said + "\n" if signum != signal.SIGINT else stderr == "\n" + said + "\n"


def test_a_second_ctrl_c_while_the_stopped_command_waits_for_its_reader_is_not_a_traceback(tmp_path, many_listeners):
    evidence = tmp_path / "e.json"
    done = subprocess.run([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", POLICY, "--snapshot",
                           many_listeners, "-o", evidence, "-q"], env=_env(), capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr
    code, took, stderr = _stop_while_blocked_on_stdout(["show", evidence], tmp_path, signal.SIGINT, signal.SIGINT)
    # before: the second Ctrl-C raised KeyboardInterrupt out of the last flush: a traceback, killed by SIGINT (-2)
    assert (code, stderr) == (128 + signal.SIGINT, "\ninterrupted\n")
