"""Run ``lbaudit`` in this process, as a separate process would see it, without the ~0.6 s a
``python -m auditor.cli`` costs (the interpreter and the imports).

:func:`run_cli` goes through :func:`auditor.cli.run`, the function ``main()`` is ``sys.exit`` of, so
exit codes and messages are the ones the installed command prints (``tests/test_cli.py``
``test_main_exit_codes_from_a_real_process`` keeps one real process to prove ``main()`` itself).
What a process would have to itself is set and restored around the call: the working directory,
the environment (``env`` adds or, with ``None``, removes variables), the umask, stdin/stdout/stderr
(click's ``CliRunner``), and ``sys.argv``.  Module-level caches in ``auditor`` hold only shipped
data (catalog, audit tables, PDF theme), pure functions of their argument, or the entry points
installed on ``sys.path`` (rescanned when one of its directories changes), so nothing a run does
leaks into the next one.

A run that could block (an open or read of a FIFO) gives ``timeout``: an alarm then interrupts the
blocked call and raises :class:`Hang` (a BaseException, so lbaudit's handler of unexpected errors
cannot turn it into exit 70), and the test fails instead of hanging the suite.

Keep a real subprocess where the process is the point: dropping privileges, import side effects,
packaging, plugin autoload from a fake distribution on ``PYTHONPATH``, a stdout that is a pipe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from click.testing import CliRunner

from auditor.cli import run

REPO = Path(__file__).resolve().parents[1]


# lbaudit started from a small process of its own, which reads its peak memory (os.wait4) into the
# file named by its first argument and exits with its code.  Started by the test directly, its peak
# would hold the test's: a child forked from pytest counts the pages it shared with it until exec
# (302 MiB in a serial run).
FORK_AND_MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""
LBAUDIT_MAIN = "import sys; from auditor.entry import main; sys.argv[0] = 'lbaudit'; sys.exit(main())"


def run_measuring_peak(peak_file: Path, *args: object, timeout: int = 300) -> tuple[subprocess.CompletedProcess[str], int]:
    """``lbaudit ARGS`` in a process of its own (this checkout's package), and its peak memory in bytes."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", FORK_AND_MEASURE, str(peak_file), sys.executable, "-c", LBAUDIT_MAIN,
                             *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout)
    return result, int(Path(peak_file).read_text())


class Hang(BaseException):
    """Raised by the alarm of a run given a ``timeout`` that did not finish in time."""


@dataclass(frozen=True)
class Result:
    """What ``subprocess.run(..., capture_output=True, text=True)`` gives, for the same asserts."""

    returncode: int
    stdout: str
    stderr: str
    args: tuple[str, ...] = ()


def run_cli(*args: object, cwd: Path | str | None = None, env: Mapping[str, str | None] | None = None,
            input: str | bytes | None = None, umask: int | None = None, timeout: int | None = None,
            terminal: int | None = None) -> Result:
    """``lbaudit ARGS`` in-process: exit code, stdout and stderr.  ``cwd`` defaults to the
    checkout, like the subprocess helpers this replaces; ``timeout`` (seconds) guards a run that
    could block.  Stdout is captured, so not a terminal; ``terminal`` (a width in columns) makes
    it one: ``isatty()`` is true and ``COLUMNS`` says the width, which is what lbaudit reads when
    the kernel cannot tell (a captured stream has no file descriptor)."""
    argv = [str(a) for a in args]
    runner = CliRunner()
    previous_cwd = os.getcwd()
    previous_argv = sys.argv
    previous_umask = os.umask(umask) if umask is not None else None
    try:
        os.chdir(cwd if cwd is not None else REPO)
        sys.argv = ["lbaudit", *argv]
        environment = dict(env or {})
        if terminal is not None:
            environment["COLUMNS"] = str(terminal)
        with runner.isolation(input=input, env=environment) as (stdout, stderr, _):
            if terminal is not None:
                sys.stdout.isatty = lambda: True  # type: ignore[method-assign]
            code = _guarded(argv, timeout) if timeout is not None else run(argv, prog_name="lbaudit")
            sys.stdout.flush()
            sys.stderr.flush()
            out, err = stdout.getvalue(), stderr.getvalue()
    finally:
        os.chdir(previous_cwd)
        sys.argv = previous_argv
        if previous_umask is not None:
            os.umask(previous_umask)
    return Result(int(code), out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), tuple(argv))


def _guarded(argv: list[str], timeout: int) -> int:
    def expire(signum: int, frame: object) -> None:
        raise Hang(f"lbaudit {' '.join(argv)} did not finish in {timeout} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(timeout)  # a blocking open() or read() is interrupted and the handler's exception raised (PEP 475)
    try:
        return run(argv, prog_name="lbaudit")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def evaluate_snapshot(tmp_path: Path, policy_text: str, snapshot_path: Path) -> tuple[Result, Path]:
    """``lbaudit evaluate`` of ``policy_text`` (written to ``tmp_path/policy.yaml``) on the snapshot
    at ``snapshot_path``, without plugins or colour: the run and where its evidence is (or would be)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text, encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", snapshot_path, "-o", evidence,
                  "--color", "never")
    return run, evidence
