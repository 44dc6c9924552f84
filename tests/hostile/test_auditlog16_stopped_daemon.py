"""Hostile corpus: an audit daemon stopped with SIGSTOP (or held by a debugger) writes nothing.

``kill -STOP $(pidof auditd)`` blinds the audit log without killing the daemon: it stays registered
with the kernel, its pid runs (state T in /proc/PID/stat), and kauditd keeps handing it records
it never reads, so they wait in the kernel's queues until the backlog limit and are lost past it.
lbaudit read every state but a zombie as "running", so "audit records written" passed while no
record was written.  A stopped (T) or traced (t) daemon is now its own state, and a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.audit import daemon_process
from auditor.model.facts import AuditDaemonProcess, AuditFacts
from auditor.model.result import Status
from tests.factories import SHELL_WAITING, X32_OFF, running_auditd, snapshot, started_shell

SUBJECT = "audit records written"
SLEEPER = "import sys; sys.stdin.read()"


def judged(process: AuditDaemonProcess) -> tuple[Status, str]:
    facts = AuditFacts(x32=X32_OFF, enabled=1, runtime_source="auditctl", loaded_rules=[], persistent_rules=[],
                       **{**running_auditd(612), "auditd_process": process})
    [outcome] = [o for o in audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams())
                 if o.subject == SUBJECT]
    return outcome.status, outcome.message


def test_a_stopped_audit_daemon_fails():
    status, message = judged(AuditDaemonProcess(state="stopped", name="auditd", exe="/usr/sbin/auditd"))
    assert status == Status.FAIL
    assert message == ("audit records are not written: the kernel sends its records to pid 612 (auditd), which is "
                       "stopped (by SIGSTOP, or held by a debugger): it takes no record until it is continued, so "
                       "nothing is written meanwhile and the kernel loses what its backlog cannot hold")


@pytest.mark.live  # reads this host's /proc, as the collector does
def test_a_process_stopped_by_sigstop_is_read_as_stopped():
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], stdin=subprocess.PIPE)
    try:
        child.send_signal(signal.SIGSTOP)
        os.waitid(os.P_PID, child.pid, os.WSTOPPED | os.WNOWAIT)  # the kernel has stopped it
        found, gaps = daemon_process("/proc", child.pid)
        assert gaps == [] and found is not None
        assert (found.state, found.exe) == ("stopped", os.path.realpath(sys.executable))
        child.send_signal(signal.SIGCONT)
        os.waitid(os.P_PID, child.pid, os.WCONTINUED | os.WNOWAIT)
        assert daemon_process("/proc", child.pid)[0].state == "running"  # type: ignore[union-attr]
    finally:
        child.kill()
        child.wait()


@pytest.mark.live  # reads this host's /proc, as the collector does
def test_another_audit_daemons_command_line_is_not_recorded():
    """The arguments of the process at the audit pid went into the snapshot and the evidence
    whatever it was: auditbeat's ``-E output.elasticsearch.password=...`` with them, though no
    process's command line is recorded without --record-cmdline.  Only auditd's are judged (its -c
    and -s), and only they are recorded now."""
    secret = "output.elasticsearch.password=hunter2-lbaudit16"
    # argv[0] as each daemon names itself: a shell, which runs whatever its argv[0] (a Python
    # started as /sbin/auditd looks for its library there)
    child = started_shell(["auditbeat", "-c", SHELL_WAITING, "-E", secret])
    try:
        found, gaps = daemon_process("/proc", child.pid)
        assert gaps == [] and found is not None
        assert found.args is None and secret not in found.model_dump_json()
        own = started_shell(["/sbin/auditd", "-c", SHELL_WAITING])
        try:
            auditd, _ = daemon_process("/proc", own.pid)
            assert own.poll() is None and child.poll() is None  # both still there when read
            assert auditd is not None and auditd.args == ["/sbin/auditd", "-c", SHELL_WAITING]  # auditd's, judged
        finally:
            own.kill()
            own.wait()
    finally:
        child.kill()
        child.wait()
