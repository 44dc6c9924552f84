"""Hostile process environment: SIGHUP (a closed terminal, a dropped SSH session), and a stopping
signal that arrives inside a library that catches everything.

Before, SIGHUP killed lbaudit by its default action between two files of a run: the new evidence
beside the previous run's PDF, or a temporary file left behind; and a SIGTERM or Ctrl-C that arrived
while reportlab read a font was turned by reportlab's bare ``except:`` into ``TTFError: Corrupt TTF
file``: exit 70, "a bug".  Now SIGHUP stops a command as SIGTERM does (exit 129, every file put
back; ignored under ``nohup``), and a command stopped by a signal ends with the signal's code,
whatever error the library made of it.  What the parent left in the signal state is undone at
start: SIGTERM blocked by an inherited mask was never delivered (the run went on, until systemd's
SIGKILL part way), and SIGCHLD ignored made every tool's exit status 0 (a failed ``auditctl`` or
``iptables-save`` read as a whole answer).  Real processes and real signals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.cli import REPO
from tests.hostile.test_overwrites_signals import _evaluate_over_a_previous_run, tree

pytestmark = pytest.mark.slow  # real processes rendering a PDF

NON_COMPLIANT = 1
# The command line of lbaudit in a process that sends itself SIGTERM at the first line reportlab
# executes inside its catch-all of reading a font's table directory.
IN_A_CATCH_ALL = """\
import os, signal, sys
from reportlab.pdfbase.ttfonts import TTFontParser
target = TTFontParser.readTableDirectory.__code__
sent = []
def line(frame, event, arg):
    if event == "line" and not sent:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGTERM)
    return line
def call(frame, event, arg):
    return line if frame.f_code is target else None
sys.settrace(call)
sys.argv = ["lbaudit", *sys.argv[1:]]
from auditor import cli
cli.main()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _nohup() -> None:  # what nohup does before it starts the command
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _sigterm_blocked() -> None:  # an inherited signal mask (a runtime that spawns with signals blocked)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def _signal_once_the_evidence_is_written(work: Path, args: list[object], signum: int,
                                         preexec: Callable[[], None] | None = None) -> tuple[int, str]:
    evidence_inode = (work / "e.json").stat().st_ino
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *map(str, args), "--pdf", "a.pdf"], cwd=work,
                               env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=preexec)
    try:
        deadline = time.monotonic() + 60
        while (work / "e.json").stat().st_ino == evidence_inode:
            assert process.poll() is None, "the run ended before writing its evidence"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr


def test_sighup_while_the_reports_render_is_129_and_puts_every_file_back(tmp_path):
    args = _evaluate_over_a_previous_run(tmp_path)
    before = tree(tmp_path)
    code, stderr = _signal_once_the_evidence_is_written(tmp_path, args, signal.SIGHUP)
    assert (code, stderr) == (128 + signal.SIGHUP, "terminated by SIGHUP\n")  # before: -1 (killed), files mixed
    assert tree(tmp_path) == before


def test_sighup_under_nohup_lets_the_run_finish(tmp_path):
    args = _evaluate_over_a_previous_run(tmp_path)
    code, stderr = _signal_once_the_evidence_is_written(tmp_path, args, signal.SIGHUP, _nohup)
    assert (code, stderr) == (NON_COMPLIANT, "")
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF-")


def test_sigterm_inside_a_librarys_catch_all_still_ends_with_143(tmp_path):
    args = _evaluate_over_a_previous_run(tmp_path)
    before = tree(tmp_path)
    done = subprocess.run([sys.executable, "-c", IN_A_CATCH_ALL, *map(str, args), "--pdf", "a.pdf"], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=300)
    # before: 70, "internal error: TTFError: Corrupt TTF file ... cannot read Table Directory"
    assert (done.returncode, done.stderr) == (128 + signal.SIGTERM, "terminated\n")
    assert tree(tmp_path) == before


def test_sigterm_blocked_by_the_parent_still_stops_the_run_and_puts_every_file_back(tmp_path):
    args = _evaluate_over_a_previous_run(tmp_path)
    before = tree(tmp_path)
    code, stderr = _signal_once_the_evidence_is_written(tmp_path, args, signal.SIGTERM, _sigterm_blocked)
    # before: 1, the run finished regardless (systemd's SIGKILL would have come part way instead)
    assert (code, stderr) == (128 + signal.SIGTERM, "terminated\n")
    assert tree(tmp_path) == before


# lbaudit's command line started with SIGCHLD ignored (inherited across exec from a supervisor or
# shell), then a tool run the way collectors run auditctl, iptables-save and nft.
TOOL_AFTER_MAIN = """\
import sys
sys.argv = ["lbaudit", "--version"]
from auditor import cli
try:
    cli.main()
except SystemExit:
    pass
from auditor.collect.programs import run_command
result = run_command(["sh", "-c", "echo partial; exit 3"], 30)
print(result.returncode, result.failure, file=sys.stderr)
"""


def test_an_inherited_ignored_sigchld_does_not_hide_a_tools_failure(tmp_path):
    def sigchld_ignored() -> None:
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)

    done = subprocess.run([sys.executable, "-c", TOOL_AFTER_MAIN], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=120, preexec_fn=sigchld_ignored)
    assert done.returncode == 0, done.stderr
    # before: "0 None": the kernel reaped the tool, Python said 0, and its partial output was read as whole
    assert done.stderr == "3 exit status 3\n"


def test_sigterm_and_sighup_at_once_are_143_with_every_file_put_back_and_no_traceback(tmp_path):
    """systemd's SendSIGHUP=yes sends SIGHUP right after SIGTERM.  The first handler set the other
    signal to SIG_IGN while it was already received: its turn then raised OSError "Signal 15 ignored
    due to race condition" wherever the run was (putting a file in place, or back)."""
    args = _evaluate_over_a_previous_run(tmp_path)
    before = tree(tmp_path)
    evidence_inode = (tmp_path / "e.json").stat().st_ino
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *map(str, args), "--pdf", "a.pdf"], cwd=tmp_path,
                               env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (tmp_path / "e.json").stat().st_ino == evidence_inode:
            assert process.poll() is None, "the run ended before writing its evidence"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGTERM)
        os.kill(process.pid, signal.SIGHUP)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # before: the same code, and "Traceback ... OSError: Signal 15 ignored due to race condition" above it
    assert (process.returncode, stderr) in ((128 + signal.SIGTERM, "terminated\n"),
                                            (128 + signal.SIGHUP, "terminated by SIGHUP\n"))
    assert tree(tmp_path) == before
