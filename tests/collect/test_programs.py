"""run_command: fixed argv, executables only from SAFE_PATH, clean environment, bounded by a timeout."""

from __future__ import annotations

import os
import time

import pytest

from auditor.collect.programs import CLEAN_ENV, SAFE_PATH, find_executable, run_command


def test_runs_with_a_clean_c_locale_environment(monkeypatch):
    monkeypatch.setenv("LBAUDIT_TEST_SECRET", "must-not-leak")
    result = run_command(["env"], timeout=5)
    assert result.ok and result.returncode == 0 and result.failure is None
    assert dict(line.split("=", 1) for line in result.stdout.splitlines()) == CLEAN_ENV
    assert result.executable in {f"{d}/env" for d in SAFE_PATH}


def test_missing_command_is_a_reason_not_an_exception():
    result = run_command(["lbaudit-no-such-tool", "-l"], timeout=1)
    assert not result.ok and result.returncode is None and result.executable is None
    assert result.reason == f"lbaudit-no-such-tool -l: command not found in {':'.join(SAFE_PATH)}"


def test_callers_path_is_ignored(tmp_path, monkeypatch):
    tool = tmp_path / "lbaudit-test-planted"
    tool.write_text("#!/bin/sh\necho planted\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    assert find_executable("lbaudit-test-planted") is None
    assert "command not found" in run_command(["lbaudit-test-planted"], timeout=1).failure


def test_timeout_kills_the_whole_process_group():
    started = time.monotonic()
    # the shell's background child would keep the pipes open if only the shell were killed
    result = run_command(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.3)
    assert time.monotonic() - started < 5
    assert result.failure == "timed out after 0.3 s" and result.returncode is None
    assert result.reason == "sh -c sleep 30 & sleep 30: timed out after 0.3 s"


def test_nonzero_exit_and_known_stderr_phrases():
    assert run_command(["false"], timeout=5).failure == "exit status 1"
    refused = run_command(["sh", "-c", "echo 'You must be root to run this program.' >&2; exit 4"], timeout=5)
    assert (refused.returncode, refused.failure) == (4, "must be root")
    other = run_command(["sh", "-c", "echo first >&2; echo second >&2; exit 3"], timeout=5)
    assert other.failure == "exit status 3: first" and other.stderr == "first\nsecond\n"


@pytest.mark.parametrize("argv", [[], [""], ["/usr/sbin/auditctl", "-l"], ["../auditctl"]])
def test_argv0_must_be_a_bare_name(argv):
    with pytest.raises(ValueError):
        run_command(argv, timeout=1)


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        run_command(["true"], timeout=0)
