"""Hostile corpus: the running audit daemon reads another auditd.conf (``auditd -c DIR``).

``auditd -c /var/tmp/quiet`` reads /var/tmp/quiet/auditd.conf: with ``write_logs = no`` there it
takes every record and writes none, while /etc/audit/auditd.conf, which lbaudit read, says yes.
The daemon was registered and running, so "audit records written" passed on the wrong file.  The
collector now records the daemon's arguments (/proc/PID/cmdline) and a -c other than /etc/audit
makes the finding not reviewed, naming the directory.
"""

from __future__ import annotations

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.audit import daemon_process
from auditor.model.facts import AuditDaemonProcess, AuditFacts
from auditor.model.result import Status
from tests.factories import SHELL_WAITING, X32_OFF, running_auditd, snapshot, started_shell

SUBJECT = "audit records written"
SLEEPER = "import sys; sys.stdin.read()"


def judged(args: list[str] | None) -> tuple[Status, str]:
    process = AuditDaemonProcess(state="running", name="auditd", exe="/usr/sbin/auditd", args=args)
    facts = AuditFacts(x32=X32_OFF, enabled=1, runtime_source="auditctl", loaded_rules=[], persistent_rules=[],
                       **{**running_auditd(612), "auditd_process": process})
    [outcome] = [o for o in audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams())
                 if o.subject == SUBJECT]
    return outcome.status, outcome.message


def test_a_daemon_reading_another_directory_is_not_reviewed():
    status, message = judged(["/sbin/auditd", "-c", "/var/tmp/quiet"])
    assert status == Status.NOT_REVIEWED
    assert message == ("not reviewed: the audit daemon (pid 612) runs with -c /var/tmp/quiet (/sbin/auditd -c "
                       "/var/tmp/quiet): it read its auditd.conf there, not /etc/audit/auditd.conf, which lbaudit read")
    assert judged(["/sbin/auditd", "-nc/var/tmp/quiet"])[0] == Status.NOT_REVIEWED


def test_the_usual_daemon_passes():
    assert judged(["/sbin/auditd"])[0] == Status.PASS
    assert judged(["/sbin/auditd", "-c", "/etc/audit/"])[0] == Status.PASS
    assert judged(None)[0] == Status.PASS  # a snapshot before the arguments were recorded


@pytest.mark.live  # reads this host's /proc, as the collector does
def test_the_collector_reads_the_daemons_arguments():
    # argv[0] auditd's (only auditd's arguments are recorded: test_auditlog16_stopped_daemon.py), on
    # a shell, which runs whatever its argv[0] (a Python started as /sbin/auditd looks for its
    # library there)
    child = started_shell(["/sbin/auditd", "-c", SHELL_WAITING, "-c", "/var/tmp/quiet"])
    try:
        found, gaps = daemon_process("/proc", child.pid)
        assert gaps == [] and found is not None and child.poll() is None
        assert found.args == ["/sbin/auditd", "-c", SHELL_WAITING, "-c", "/var/tmp/quiet"]
    finally:
        child.kill()
        child.wait()
