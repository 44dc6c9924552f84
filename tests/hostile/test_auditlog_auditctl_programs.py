"""Hostile corpus: an auditctl that hangs, refuses or prints a status without the auditd pid.

Each case puts a program named auditctl (a shell script this test writes) first and alone on the
program path lbaudit searches, collects this host's audit section through it, and asserts the
exact status of the findings that depend on what it printed: nothing it could not say passes.
The host's own files (/proc/cmdline, systemd units, auditd.conf) are read as they are.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES

GOOD_LIST = SOCKET_AUDIT_RULES.replace("-k net", "-F key=net")  # as auditctl -l prints them


def fake_auditctl(directory: Path, status: str, listing: str = GOOD_LIST, hang: bool = False,
                  exit_code: int = 0) -> Path:
    """An auditctl that answers -s with ``status`` and -l with ``listing`` (or sleeps, or fails)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "status.txt").write_text(status)
    (directory / "list.txt").write_text(listing)
    body = "/bin/sleep 30\n" if hang else ""
    script = (f"#!/bin/sh\n{body}"
              f'case "$1" in -s) /bin/cat "{directory}/status.txt";; -l) /bin/cat "{directory}/list.txt";; esac\n'
              f"exit {exit_code}\n")
    program = directory / "auditctl"
    program.write_text(script)
    program.chmod(0o755)
    return directory


def judge(directory: Path, timeout: float = 10.0) -> dict:
    snap = collect_snapshot(CollectContext(program_path=(str(directory),), command_timeout=timeout,
                                           sections=frozenset({"audit"})))
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}


@pytest.mark.live
def test_auditctl_that_hangs_is_not_reviewed_within_the_timeout(tmp_path):
    started = time.monotonic()
    found = judge(fake_auditctl(tmp_path / "bin", "enabled 1\npid 612\n", hang=True), timeout=0.3)
    assert time.monotonic() - started < 20
    for subject in ("loaded rules b64", "loaded rules b32", "audit enabled"):
        assert found[subject].status == Status.NOT_REVIEWED, subject
    assert found["loaded rules b64"].reason and "auditctl -l" in found["loaded rules b64"].reason


@pytest.mark.live
def test_auditctl_that_refuses_is_not_reviewed_with_its_reason(tmp_path):
    found = judge(fake_auditctl(tmp_path / "bin", "You must be root to run this program.\n",
                                listing="You must be root to run this program.\n", exit_code=4))
    for subject in ("loaded rules b64", "loaded rules b32", "audit enabled"):
        assert found[subject].status == Status.NOT_REVIEWED, subject


@pytest.mark.live
def test_status_without_the_auditd_pid_does_not_pass_records_written(tmp_path):
    # an auditctl -s that does not say which daemon (if any) takes the records
    found = judge(fake_auditctl(tmp_path / "bin", "enabled 1\nfailure 1\nrate_limit 0\n"))
    assert found["loaded rules b64"].status == Status.PASS  # the listing itself is fine
    written = found["audit records written"]
    if written.status == Status.FAIL:  # this host's own auditd set-up (auditd.conf, units) already fails it
        assert "pid" not in written.message
    else:
        assert written.status == Status.NOT_REVIEWED and "auditctl -s pid" in (written.reason or "")


@pytest.mark.live
def test_status_with_pid_0_fails_records_written(tmp_path):
    found = judge(fake_auditctl(tmp_path / "bin", "enabled 1\nfailure 1\npid 0\nrate_limit 0\n"))
    assert found["audit records written"].status == Status.FAIL
    assert "auditctl -s pid 0" in found["audit records written"].message
