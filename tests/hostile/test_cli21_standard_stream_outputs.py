"""An output path that is the file standard output or standard error is open on is refused (exit 2).

The defect: ``lbaudit evaluate ... -o /dev/stdout --json > out.json`` (or ``-o out.json --json >
out.json``, or ``-o run.log 2> run.log``) was exit 1 with the evidence in out.json and the JSON
summary nowhere: lbaudit replaces a file by renaming a new one over it, the standard stream stays
open on the old file, now unlinked, and everything printed after (the ``--json`` summary, the
human summary, warnings, the message of a later failure) went into a file nobody can read.  A CI
step that parsed out.json as the summary it asked for read the evidence instead.  ``-o - --json``
was refused ("both write to stdout"), the same request through a path was not.  Now an output that
is the same file as descriptor 1 or 2 (by device and inode: ``/dev/stdout``, ``/dev/fd/1``,
``/proc/self/fd/2``, or the redirected file by its name) is refused before any work, naming the
stream; ``-o -`` is how the evidence goes to standard output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.factories import listener, loopback_only_policy, snapshot

REPO = Path(__file__).resolve().parents[2]
USAGE = 2


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "corp.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "s.json")
    return tmp_path


def _lbaudit(work: Path, *args: str, stdout: Path | None = None, stderr: Path | None = None) -> int:
    """A real lbaudit process whose standard output and error are the files given (appended to, as
    a shell's ``>>``) or pipes."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": "", "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    with open(stdout or os.devnull, "ab") as out, open(stderr or os.devnull, "ab") as err:
        done = subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=work, env=env, timeout=120,
                              stdin=subprocess.DEVNULL, stdout=out if stdout else subprocess.PIPE,
                              stderr=err if stderr else subprocess.PIPE)
    return done.returncode


EVALUATE = ("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json")


@pytest.mark.slow  # real processes: the standard streams are the point
@pytest.mark.parametrize("output", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "out.json"])
def test_evidence_over_the_file_standard_output_writes_to_is_refused(work, output):
    (work / "out.json").write_bytes(b"")
    inode = os.stat(work / "out.json").st_ino
    code = _lbaudit(work, *EVALUATE, "-o", output, "--json", stdout=work / "out.json", stderr=work / "err.txt")
    # before: exit 1, out.json replaced by the evidence and the --json summary written into the
    # unlinked file standard output was still open on
    assert code == USAGE, (work / "err.txt").read_text()
    err = (work / "err.txt").read_text()
    assert "standard output" in err and "-o -" in err, err
    assert os.stat(work / "out.json").st_ino == inode and (work / "out.json").read_bytes() == b""


@pytest.mark.slow
def test_a_report_over_the_file_standard_error_writes_to_is_refused_and_the_message_stays_readable(work):
    (work / "run.log").write_bytes(b"")
    code = _lbaudit(work, *EVALUATE, "-o", "e.json", "--pdf", "run.log", "--force", stderr=work / "run.log")
    # before: exit 1 and run.log a PDF; a failure's message after it would have gone nowhere
    assert code == USAGE
    log = (work / "run.log").read_text()
    assert "standard error" in log and "run.log" in log, log
    assert not (work / "e.json").exists()


@pytest.mark.slow
def test_control_an_output_beside_a_redirected_standard_output_is_written(work):
    code = _lbaudit(work, *EVALUATE, "-o", "e.json", "--json", stdout=work / "out.json", stderr=work / "err.txt")
    assert code == 1, (work / "err.txt").read_text()
    assert b'"verdict"' in (work / "out.json").read_bytes()
    assert b'"schema": "lbaudit/evidence"' in (work / "e.json").read_bytes()


@pytest.mark.slow
def test_keygen_force_over_the_file_standard_output_writes_to_is_refused(work):
    (work / "keys").mkdir()
    (work / "keys" / "lbaudit.pub").write_bytes(b"")
    code = _lbaudit(work, "keygen", "--out", "keys", "--force", stdout=work / "keys" / "lbaudit.pub",
                    stderr=work / "err.txt")
    # before: exit 0, the public key renamed over the file the "public key: ..." line then went to
    assert code == USAGE, (work / "err.txt").read_text()
    assert "standard output" in (work / "err.txt").read_text()
    assert (work / "keys" / "lbaudit.pub").read_bytes() == b""
    assert not (work / "keys" / "lbaudit.key").exists()
