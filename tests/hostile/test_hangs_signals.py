"""Hostile process environment: a stopping signal (SIGTERM, SIGHUP, Ctrl-C) while lbaudit is blocked
writing to a standard output that nobody reads (a pipe to a reader that hung, a paused terminal).

Before, the signal interrupted the blocked write and the command put its files back, but what it
still held for standard output was written again on the way out (the command's own last flush, then
the interpreter's), with the stopping signals by then ignored: the process blocked for ever on the
full pipe, and only SIGKILL ended it.  Now a stopped command waits a short, fixed time for a reader
that does not read, drops what is left, and ends with the signal's code.

A stopping signal while a host tool lbaudit runs (auditctl, nft, iptables-save) does not answer:
the tool runs in a session of its own (so that a timeout kills its helpers too), and lbaudit ended
with 143 leaving it running for ever, orphaned.  Now the tool's process group is killed with it.
Real processes, real pipes, a real mount namespace and real signals.
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


# lbaudit's own process in a mount namespace of its own whose /usr/sbin (the first directory of the
# collectors' safe PATH) holds only an auditctl that never answers: the local collection then waits
# for it (up to the command timeout) when the signal comes.
IN_A_MOUNT_NAMESPACE = """\
set -e
mount -t tmpfs lbaudit-hostile /usr/sbin
cp "$1" /usr/sbin/auditctl
shift
exec "$@"
"""


def _hung_auditctl(directory: Path) -> tuple[Path, Path]:
    pid_file = directory / "auditctl.pid"
    tool = directory / "auditctl"
    tool.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec /bin/sleep 300\n")
    tool.chmod(0o755)
    return tool, pid_file


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(("signum", "said"), STOPS, ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_while_a_host_tool_hangs_stops_the_tool_too(tmp_path, signum, said):
    if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists() or Path("/usr/sbin").is_symlink():
        pytest.skip("needs root, unshare(1) and a /usr/sbin of its own (a tmpfs is mounted over it)")
    tool, pid_file = _hung_auditctl(tmp_path)
    process = subprocess.Popen(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                IN_A_MOUNT_NAMESPACE, "sh", str(tool), sys.executable, "-m", "auditor.cli", "evaluate",
                                "--policy", str(POLICY), "-o", str(tmp_path / "e.json"), "-q"],
                               cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tool_pid = None
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "lbaudit never ran auditctl"
            time.sleep(0.01)
        tool_pid = int(pid_file.read_text())
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=STOPPED_WITHIN)
        assert (process.returncode, stderr.rsplit("\n", 2)[-2]) == (128 + signum, said), stderr
        # before: the tool, in a session of its own, ran on (reparented to init) after lbaudit ended,
        # for its whole 300 s; a killed one can take a moment to go on a loaded machine
        gone_by = time.monotonic() + STOPPED_WITHIN
        while _alive(tool_pid) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not _alive(tool_pid), "the host tool lbaudit was waiting for outlived it"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if tool_pid is not None and _alive(tool_pid):
            os.kill(tool_pid, signal.SIGKILL)
    assert not (tmp_path / "e.json").exists()


# The signal comes while Popen is still running, just after the tool has started (a loaded machine
# schedules the new tool before lbaudit returns from Popen): a profile hook sends it at the return
# of _posixsubprocess.fork_exec, so lbaudit's handler runs inside Popen, every time.
SIGNAL_INSIDE_POPEN = """\
import os, signal, sys
from auditor.cli import install_signal_handlers
from auditor.collect.programs import run_command
from auditor.errors import Terminated

install_signal_handlers()

def profile(frame, event, arg):
    if event == "c_return" and getattr(arg, "__name__", "") == "fork_exec":
        sys.setprofile(None)
        os.kill(os.getpid(), signal.SIGTERM)

sys.setprofile(profile)
try:
    run_command(["hung"], timeout=60, search_path=(sys.argv[1],))
except Terminated:
    print("terminated")
"""


def _processes_running(marks: tuple[str, ...]) -> list[int]:
    """The processes whose command line holds one of ``marks``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(mark.encode() in words for mark in marks) and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.mark.live  # it looks through /proc for the tool
def test_a_signal_while_the_tool_is_being_started_stops_the_tool_too(tmp_path):
    tool = tmp_path / "hung"
    mark = f"300.{os.getpid()}{time.monotonic_ns() % 10**6}"  # this test's sleep, told from any other
    tool.write_text(f"#!/bin/sh\nexec /bin/sleep {mark}\n")
    tool.chmod(0o755)
    try:
        done = subprocess.run([sys.executable, "-c", SIGNAL_INSIDE_POPEN, str(tmp_path)], env=_env(),
                              capture_output=True, text=True, timeout=60)
        assert done.stdout == "terminated\n", done.stderr
        gone_by = time.monotonic() + STOPPED_WITHIN
        while _processes_running((str(tool), mark)) and time.monotonic() < gone_by:
            time.sleep(0.05)
        # before: raised out of Popen with no process object to stop; the tool ran on, orphaned
        assert not _processes_running((str(tool), mark)), "the tool lbaudit was starting outlived it"
    finally:
        for pid in _processes_running((str(tool), mark)):
            os.kill(pid, signal.SIGKILL)
