"""Hostile process environment: standard output and error that cannot be written.

Before, every command writing to ``/dev/full`` (ENOSPC) ended with ``lbaudit: internal error:
OSError: [Errno 28] No space left on device`` and exit 70, "a bug"; a usage error whose message could
not reach a full stderr ended with a traceback the interpreter could not print either, and exit 1,
which a release gate reads as "non-compliant"; ``-o -`` with descriptor 1 closed was exit 70
(AttributeError on ``sys.stdout`` None); a non-blocking stdout (a descriptor shared with a node or
shell parent that set O_NONBLOCK) whose reader was behind got 4 KiB of a 60 KiB schema, and exit 0;
``PYTHONIOENCODING=latin-1`` and a path outside latin-1 was exit 70 (UnicodeEncodeError).

Now one place, :mod:`auditor.stdio` (installed by ``main`` before anything else), makes each of
these exit 74 (EX_IOERR) with one line on stderr naming the stream, and the command's files put
back; text a stream's encoding cannot hold is escaped.  Real processes: the descriptors are the point.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # a real process per case: what descriptors 0-2 are is the point

IO_ERROR = 74
USAGE = 2
NON_COMPLIANT = 1
FULL = "lbaudit: standard output: cannot write: No space left on device\n"
F_SETPIPE_SZ = 1031  # linux/fcntl.h


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1",
            "LBAUDIT_CONFIG": "", **extra}


def _lbaudit(args: list[str], cwd: Path, stdout: int | None = None, stderr: int | None = None,
             **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, env=_env(**extra), timeout=120,
                          stdout=subprocess.PIPE if stdout is None else stdout,
                          stderr=subprocess.PIPE if stderr is None else stderr)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("env-streams")
    (directory / "policy.yaml").write_text(loopback_only_policy("env-streams"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), directory / "snap.json")
    done = _lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "-q",
                     "--record", "--store", "h.db"], directory)
    assert done.returncode == NON_COMPLIANT, done.stderr
    return directory


@pytest.fixture
def work(template: Path, tmp_path: Path) -> Path:
    shutil.copytree(template, tmp_path / "work")
    return tmp_path / "work"


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


EVALUATE = ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json"]
COMMANDS = {
    "evaluate-summary": [*EVALUATE, "-o", "new.json", "--format", "sarif", "--out-dir", "out"],
    "evaluate-evidence-to-stdout": [*EVALUATE, "-o", "-"],
    "evaluate-json": [*EVALUATE, "-o", "new.json", "--json"],
    "show": ["show", "e.json"],
    "report": ["report", "e.json", "--format", "sarif", "--out-dir", "out"],
    "schema": ["schema", "policy"],
    "list-checks": ["list-checks"],
    "explain": ["explain", "net.time_wait"],
    "capture": ["capture", "--platform", "windows"],
    "diff": ["diff", "e.json", "e.json"],
    "history-list": ["history", "list", "--store", "h.db"],
    "validate": ["validate", "policy.yaml"],
    "config": ["config", "show"],
    "coverage": ["coverage", "--policy", "policy.yaml", "--baseline", "low"],
    "keygen": ["keygen", "--out", "keys"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_stdout_on_a_full_disk_is_exit_74_with_one_line_and_nothing_written(work, name):
    before = _tree(work)
    with open("/dev/full", "wb") as full:
        done = _lbaudit(COMMANDS[name], work, stdout=full.fileno())
    # before: 70 and "lbaudit: internal error: OSError: [Errno 28] No space left on device"
    assert (done.returncode, done.stderr.decode()) == (IO_ERROR, FULL)
    assert _tree(work) == before  # the run's evidence, reports and keys put back


def test_a_usage_error_whose_message_meets_a_full_stderr_is_still_exit_2(work):
    with open("/dev/full", "wb") as full:
        done = _lbaudit(["evaluate", "--policy", "missing.yaml", "--snapshot", "snap.json"], work,
                        stderr=full.fileno())
    assert done.returncode == USAGE  # before: 1 (a traceback the full stderr could not take): "non-compliant"
    assert done.stdout == b""


def test_a_warning_that_meets_a_full_stderr_is_exit_74_and_the_run_put_back(work):
    (work / "w.yaml").write_text("waivers:\n  - rule: loopback-only\n    subject: 'tcp 0.0.0.0:9*'\n"
                                 "    reason: r\n    approver: A <a@example.test>\n    expires: '2099-01-01'\n")
    before = _tree(work)
    with open("/dev/full", "wb") as full:
        done = _lbaudit([*EVALUATE, "--waivers", "w.yaml", "-o", "new.json"], work, stdout=subprocess.DEVNULL,
                        stderr=full.fileno())
    assert done.returncode == IO_ERROR  # before: 70
    assert _tree(work) == before


def test_evidence_to_a_closed_stdout_is_exit_74_naming_it(work):
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "auditor.cli", *EVALUATE,
                           "-o", "-"], cwd=work, env=_env(), capture_output=True, timeout=120)
    # before: 70, "internal error: AttributeError: 'NoneType' object has no attribute 'write'"
    assert done.returncode == IO_ERROR
    assert done.stderr.decode() == ("lbaudit: standard output is closed (lbaudit was started without it): nothing "
                                    "could be printed; redirect it to /dev/null to discard what lbaudit prints\n")


def test_a_non_blocking_stdout_whose_reader_is_behind_gets_the_whole_document(work):
    reader, writer = os.pipe()
    try:
        fcntl.fcntl(writer, F_SETPIPE_SZ, 4096)
        fcntl.fcntl(writer, fcntl.F_SETFL, fcntl.fcntl(writer, fcntl.F_GETFL) | os.O_NONBLOCK)
        process = subprocess.Popen([sys.executable, "-m", "auditor.cli", "schema", "evidence"], cwd=work, env=_env(),
                                   stdout=writer, stderr=subprocess.PIPE)
        os.close(writer)
        writer = -1
        time.sleep(2)  # the reader is behind: the pipe is full long before the schema is written
        received = b""
        while chunk := os.read(reader, 65536):
            received += chunk
        stderr = process.stderr.read()  # type: ignore[union-attr]
        process.wait(timeout=60)
    finally:
        os.close(reader)
        if writer != -1:
            os.close(writer)
    whole = _lbaudit(["schema", "evidence"], work).stdout
    assert (process.returncode, stderr) == (0, b"")
    assert len(whole) > 4096 * 4 and received == whole  # before: exit 0 with the first 4096 bytes


def test_a_stream_encoding_that_cannot_hold_a_path_escapes_it(work):
    (work / "r€").mkdir()
    done = _lbaudit([*EVALUATE, "-o", "r€/e.json", "--color", "never"], work, PYTHONIOENCODING="latin-1")
    assert done.returncode == NON_COMPLIANT, done.stderr  # before: 70, UnicodeEncodeError
    assert "evidence: r\\u20ac/e.json" in done.stdout.decode("latin-1").splitlines()
    assert (work / "r€" / "e.json").is_file()
