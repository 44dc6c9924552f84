"""Ctrl-C while lbaudit starts, before its own signal handlers are in place, is exit 130 without a traceback.

The defect: the console script imports the command line (click, pydantic, the commands: half a second
on a loaded host) before :func:`auditor.cli.install_signal_handlers` runs.  A Ctrl-C in that window met
Python's own handler: a 20-line ``KeyboardInterrupt`` traceback through importlib and a death by SIGINT,
where the README promises exit 130 and one line.  Nothing is written before the command runs, so
there is nothing to put back: now :func:`auditor.entry.main` says "interrupted" and exits 130.

The signal is real, sent by the process to itself when Python is about to import click (an import
hook placed before the console script starts), which is where a Ctrl-C in that window lands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.cli import REPO

pytestmark = pytest.mark.slow  # a real process per case

INTERRUPTED = 128 + signal.SIGINT

# The console script (auditor.entry.main), started with a hook that sends SIGINT to this process as
# the import of MODULE begins; $1 is the module, the rest the command line.
CONSOLE_SCRIPT_INTERRUPTED_AT_IMPORT = """
import os, signal, sys

MODULE = sys.argv.pop(1)

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv[0] = "lbaudit"
from auditor.entry import main
main()
"""


@pytest.mark.parametrize("module", ["click", "auditor.cli", "auditor.commands.options"])
def test_ctrl_c_while_the_command_line_is_imported_is_130_and_one_line(tmp_path, module):
    done = subprocess.run([sys.executable, "-c", CONSOLE_SCRIPT_INTERRUPTED_AT_IMPORT, module, "validate",
                           str(REPO / "policies" / "corp.yaml")], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": ""}, timeout=60)
    # before: -2 (killed by SIGINT) and a KeyboardInterrupt traceback through importlib
    assert (done.returncode, done.stderr) == (INTERRUPTED, "interrupted\n")
    assert done.stdout == ""


# The console script, with an exit handler of the interpreter's (as multiprocessing and logging
# register) during which the process receives $1, the signal's number.
SIGNAL_WHILE_THE_INTERPRETER_EXITS = """
import atexit, os, signal, sys, time

SIGNUM = int(sys.argv.pop(1))
atexit.register(lambda: (os.kill(os.getpid(), SIGNUM), time.sleep(0.2)))
sys.argv[0] = "lbaudit"
from auditor.entry import main
main()
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_once_the_command_has_ended_leaves_its_exit_code_and_no_traceback(tmp_path, signum):
    """The command's code is decided and its files kept: a signal while the interpreter exits (its
    exit handlers, SystemExit unwinding) raised lbaudit's _StoppedWhileEnding there, a traceback."""
    done = subprocess.run([sys.executable, "-c", SIGNAL_WHILE_THE_INTERPRETER_EXITS, str(int(signum)), "validate",
                           str(REPO / "policies" / "corp.yaml")], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": ""}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "corp.yaml: ok" in done.stdout
    assert done.stderr == ""  # before: "Exception ignored in atexit callback" and a traceback


# The console script, where the import of $2 (part way through the run) drops an object whose
# __del__ receives signal $1: its handler's exception is raised inside __del__, where Python cannot
# raise it ("Exception ignored in ...").
SIGNAL_INSIDE_A_FINALIZER = """
import os, signal, sys, time

SIGNUM = int(sys.argv.pop(1))
MODULE = sys.argv.pop(1)

class Finalized:
    def __del__(self):
        os.kill(os.getpid(), SIGNUM)
        time.sleep(0.3)

class DropOne:
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            Finalized()
        return None

sys.meta_path.insert(0, DropOne())
sys.argv[0] = "lbaudit"
from auditor.entry import main
main()
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_whose_exception_python_swallows_still_stops_the_run_and_puts_its_files_back(tmp_path, signum):
    """Before: "Exception ignored in: <function Finalized.__del__>" and a KeyboardInterrupt traceback,
    then the run went on to its verdict (exit 1) and kept the evidence of a run stopped by hand."""
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, loopback_only_policy, snapshot

    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    done = subprocess.run([sys.executable, "-c", SIGNAL_INSIDE_A_FINALIZER, str(int(signum)), "auditor.report.sarif",
                           "evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json",
                           "--format", "sarif", "-q"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": "",
                               "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}, timeout=60)
    said = "interrupted" if signum == signal.SIGINT else "terminated"
    assert (done.returncode, done.stderr.strip()) == (128 + signum, said), done.stderr  # click: a new line first
    assert sorted(os.listdir(tmp_path)) == ["policy.yaml", "snap.json"]
