"""Hostile outputs, SIGTERM and Ctrl-C at every step of the writer: the command ends with 143 or
130 and every file is what it was, with no temporary file and no previous version left beside it.

A signal handler raises where the process is.  Before this fix, a SIGTERM or Ctrl-C that landed
between the writer's steps that belong together left debris the transaction never knew of: just
after a temporary file was created (``.e.json.RANDOM.tmp`` stayed), between keeping a previous
version and replacing the file (``.e.json.RANDOM.previous`` stayed), or between replacing a file
and recording it (the new evidence stayed, its previous version beside it, after exit 143).

Each case runs a real command in this process with the command line's own handlers
(:func:`auditor.cli.install_signal_handlers`, what ``main`` installs) and sends this process a real
signal (``os.kill``) at one moment of the writer: the Nth line the writer's functions execute, for
every N of the run, found by first counting them in an uninterrupted run (``sys.settrace`` only
picks the moment; nothing is replaced).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from pathlib import Path
from typing import Callable

import pytest

from auditor import cli
from auditor.attest.signing import generate_keypair
from auditor.command_files import at_free_name, previous_version
from auditor.storage import outputs
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.schedule.conftest import make_image_root

pytestmark = pytest.mark.slow  # one run of the command per line the writer executes: a few hundred runs

# Every function of the writer that changes the file system, and the helpers they call.
WRITER = [outputs.write_atomic, outputs._put_in_place, outputs._create_temporary, outputs.remove_file,
          outputs.make_directory, outputs.make_directories, outputs.create_private_file, outputs.write_symlink,
          previous_version, at_free_name]
CODES = {function.__code__ for function in WRITER}
EXIT = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 130}


def tree(directory: Path) -> dict[str, tuple]:
    """Every entry under ``directory``: kind, inode, mode, a file's bytes, a link's target."""
    found = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root, name)
            st = os.lstat(path)
            content = (os.readlink(path) if stat.S_ISLNK(st.st_mode) else
                       path.read_bytes() if stat.S_ISREG(st.st_mode) else None)
            found[str(path.relative_to(directory))] = (stat.S_IFMT(st.st_mode), st.st_ino,
                                                       stat.S_IMODE(st.st_mode), content)
    return found


def _evaluate_over_a_previous_run(work: Path) -> list[object]:
    (work / "policy.yaml").write_text(loopback_only_policy("signals"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 5432)]), work / "snap.json")
    (work / "out").mkdir()
    # stand-ins for the previous run's files, each of its kind (lbaudit replaces only its own kind)
    (work / "e.json").write_text('{"schema": "lbaudit/evidence", "run": "the previous one"}\n')
    (work / "e.json.sig").write_text('{"schema": "lbaudit/evidence-signature", "stale": "once e.json is replaced"}\n')
    (work / "out" / "signals.sarif").write_text('{"runs": [{"tool": {"driver": {"name": "lbaudit"}}}]}\n')
    return ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
            "--format", "sarif,junit", "--out-dir", "out"]


def _evaluate_into_new_directories_and_store(work: Path) -> list[object]:
    (work / "policy.yaml").write_text(loopback_only_policy("signals"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 5432)]), work / "snap.json")
    return ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "--format", "sarif",
            "--out-dir", "reports", "--record", "--store", "state/lbaudit/history.db"]


def _keygen_force(work: Path) -> list[object]:
    generate_keypair(work / "keys")
    return ["keygen", "--out", "keys", "--force", "-q"]


def _schedule_install_again(work: Path) -> list[object]:
    root = make_image_root(work)
    args = ["schedule", "install", "--backend", "systemd", "--root", root, "--executable", "/usr/local/bin/lbaudit",
            "--policy", "/etc/lbaudit/corp.yaml"]
    assert run_cli(*args).returncode == 0
    return [*args, "--on-calendar", "hourly"]


def _schedule_install_first(work: Path) -> list[object]:
    root = make_image_root(work)  # no timers.target.wants yet: the install creates it
    return ["schedule", "install", "--backend", "systemd", "--root", root, "--executable", "/usr/local/bin/lbaudit",
            "--policy", "/etc/lbaudit/corp.yaml"]


SCENARIOS: dict[str, Callable[[Path], list[object]]] = {
    "evaluate-over-a-previous-run": _evaluate_over_a_previous_run,
    "evaluate-into-new-directories-and-store": _evaluate_into_new_directories_and_store,
    "keygen-force": _keygen_force,
    "schedule-install-again": _schedule_install_again,
    "schedule-install-first": _schedule_install_first,
}


def _run(args: list[object], work: Path, at: int | None, signum: int) -> tuple[int, int]:
    """Run the command with the command line's handlers; at the ``at``-th line the writer executes,
    send this process ``signum``.  Returns (exit code, lines the writer executed)."""
    executed = 0

    def line(frame, event, arg):
        nonlocal executed
        if event == "line":
            executed += 1
            if executed == at:
                os.kill(os.getpid(), signum)
        return line

    def call(frame, event, arg):
        return line if frame.f_code in CODES else None

    previous_term, previous_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    previous_hup = signal.getsignal(signal.SIGHUP)
    # Ctrl-C as a terminal's shell leaves it: a suite started in the background by a shell without
    # job control (`pytest ... &`) inherits SIGINT ignored, which lbaudit rightly keeps ignoring
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cli.install_signal_handlers()
    sys.settrace(call)
    try:
        result = run_cli(*args, cwd=work)
    finally:
        sys.settrace(None)
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGHUP, previous_hup)
    return result.returncode, executed


# SIGTERM through every scenario; Ctrl-C, whose handler differs but holds the same steps, through one.
CASES = [(scenario, signal.SIGTERM) for scenario in SCENARIOS] + [("evaluate-over-a-previous-run", signal.SIGINT)]


@pytest.mark.parametrize("scenario, signum", CASES, ids=[f"{s}-{signal.Signals(n).name}" for s, n in CASES])
def test_a_signal_at_any_step_of_the_writer_puts_every_file_back(tmp_path, scenario, signum):
    setup = SCENARIOS[scenario]
    dry = tmp_path / "dry"
    dry.mkdir()
    code, steps = _run(setup(dry), dry, None, signum)
    assert code in (0, 1) and steps > 10, (code, steps)  # the command writes, through the writer
    broken = []
    for at in range(1, steps + 1):
        work = tmp_path / f"at{at}"
        work.mkdir()
        args = setup(work)
        before = tree(work)
        code, _ = _run(args, work, at, signum)
        after = tree(work)
        if code != EXIT[signum] or after != before:
            broken.append((at, code, sorted(name for name in before.keys() | after.keys()
                                            if before.get(name) != after.get(name))))
    # before: e.g. (37, 143, ['.e.json.5c0e….previous', 'e.json']): the new evidence kept after exit 143
    assert broken == []


def _ctrl_c_not_ignored() -> None:
    """In the child before exec: SIGINT at its default, as a terminal's shell starts a command.  An
    ignored SIGINT is inherited across exec (a suite started with `pytest ... &` by a shell without
    job control has it), and lbaudit then keeps it ignored, as `nohup`-style callers expect."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_the_reports_render_is_130_and_puts_the_evidence_back(tmp_path):
    """A real process and a real Ctrl-C (SIGINT) once the evidence is written and the PDF renders."""
    import subprocess
    import time

    from tests.cli import REPO

    args = _evaluate_over_a_previous_run(tmp_path)
    before = tree(tmp_path)
    evidence_inode = (tmp_path / "e.json").stat().st_ino
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *map(str, args), "--pdf", "a.pdf"], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_not_ignored)
    try:
        deadline = time.monotonic() + 60
        while (tmp_path / "e.json").stat().st_ino == evidence_inode:
            assert process.poll() is None, "the run ended before writing its evidence"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, (process.returncode, stderr)  # before: 2 and "aborted", a usage error
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert tree(tmp_path) == before
