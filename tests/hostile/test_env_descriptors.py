"""Hostile process environment: lbaudit started with descriptors 0, 1 and 2 closed (``<&- >&- 2>&-``,
a daemon that closed them, a cron without them).

The first file a process opens takes the lowest free descriptor: with 1 and 2 closed, an evidence
file, a PDF or the history store would be descriptor 1 or 2, and anything written to those numbers
(by lbaudit, a library, the interpreter's last words) would land inside it.  :mod:`auditor.stdio`
opens /dev/null on them before anything else; the files of a run are byte for byte those of a
normal run, and the descriptors the run's files get are never 0-2.  Real processes: the
descriptors they start with are the point.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # a real process per case

NON_COMPLIANT = 1
COMPLIANT = 0
IO_ERROR = 74
CLOSED = "<&- >&- 2>&-"
# lbaudit's evaluate with descriptors 0-2 closed; the probe writes (on descriptor REPORT, a pipe) the
# descriptor each file the command opens gets, /dev/null aside.
PROBE = """\
import os, sys
sys.argv = ["lbaudit", "evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "f.json", "-q",
            "--pdf", "f.pdf"]
real_open = os.open
def recording_open(path, *args, **kwargs):
    fd = real_open(path, *args, **kwargs)
    if os.fspath(path) != os.devnull:
        os.write(REPORT, b"%d " % fd)
    return fd
os.open = recording_open
from auditor import cli
cli.main()
"""


def _env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1",
            "LBAUDIT_CONFIG": ""}


def _lbaudit(args: list[str], cwd: Path, closing: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", f'exec "$@" {closing}', "sh", sys.executable, "-m", "auditor.cli", *args],
                          cwd=cwd, env=_env(), capture_output=True, timeout=300)


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("env-fds"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), tmp_path / "snap.json")
    done = _lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "-q"], tmp_path)
    assert done.returncode == NON_COMPLIANT, done.stderr
    return tmp_path


def test_reports_rendered_without_descriptors_0_to_2_are_byte_identical(work):
    args = ["report", "e.json", "--format", "html,sarif,junit", "--pdf", "out/e.pdf", "--out-dir", "out", "-q"]
    normal = _lbaudit(args, work)
    assert normal.returncode == COMPLIANT, normal.stderr
    expected = _files(work / "out")
    shutil.rmtree(work / "out")
    closed = _lbaudit(args, work, CLOSED)
    assert closed.returncode == COMPLIANT
    assert _files(work / "out") == expected and len(expected) == 4


def test_a_run_recorded_without_descriptors_0_to_2_leaves_a_store_that_verifies(work):
    closed = _lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "f.json", "-q",
                       "--record", "--store", "h.db"], work, CLOSED)
    assert closed.returncode == NON_COMPLIANT
    verified = _lbaudit(["history", "verify", "--store", "h.db"], work)
    assert verified.returncode == COMPLIANT, verified.stdout + verified.stderr


def test_no_file_lbaudit_opens_is_descriptor_0_1_or_2(work):
    import os

    reader, writer = os.pipe()
    try:
        done = subprocess.run(["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh", sys.executable, "-c",
                               PROBE.replace("REPORT", str(writer))],
                              cwd=work, env=_env(), pass_fds=(writer,), timeout=120)
        os.close(writer)
        writer = -1
        opened = [int(fd) for fd in os.read(reader, 65536).split()]
    finally:
        os.close(reader)
        if writer != -1:
            os.close(writer)
    assert done.returncode == NON_COMPLIANT
    assert opened and min(opened) > 2, opened  # before: 0 (the first file the command opened took the free number)
    assert (work / "f.json").is_file() and (work / "f.pdf").is_file()


def test_a_summary_for_a_closed_stdout_is_exit_74_and_the_run_put_back(work):
    done = _lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "f.json"], work, ">&-")
    assert done.returncode == IO_ERROR  # before: 1, the summary silently dropped
    assert done.stderr.decode() == ("lbaudit: standard output is closed (lbaudit was started without it): nothing "
                                    "could be printed; redirect it to /dev/null to discard what lbaudit prints\n")
    assert not (work / "f.json").exists()
