"""Hostile corpus, round rules12: audit= on the command line of a kernel older than 4.17.

audit_enable() (kernel/audit.c) read its value as a number until Linux 4.15 ("audit_default =
!!simple_strtol(str, NULL, 0)"); 4.16 used kstrtol() and panicked on anything else; only 4.17 and
later take the words "on" and "off" (and turn auditing on for any value they reject).  On RHEL 7's
3.10, "audit=on" is the number 0: auditing stays off until auditd turns it on, and every process
forked before that (systemd, the listeners of socket units) is never audited.  lbaudit read every
command line as 4.17 does, so "audit=on" on a 3.10 kernel passed "audit enabled" as audit=1.  The
reading now follows the running kernel's release (``uname -r``), and where that is not known a
value counts as on or off only where both readings agree.
"""

from __future__ import annotations

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.domain.audit_rules import boot_audit_param, parse_rules_text
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot

RHEL7 = "3.10.0-1160.el7.x86_64"
DEBIAN12 = "6.1.0-18-amd64"


@pytest.mark.parametrize(("cmdline", "release", "expected"), [
    ("audit=on", RHEL7, "off"),  # simple_strtol("on") is 0
    ("audit=ON", RHEL7, "off"),
    ("audit=1 audit=yes", RHEL7, "off"),  # the later one is applied too, and reads 0
    ("audit=0x1", RHEL7, "on"),
    ("audit=1abc", RHEL7, "on"),  # a prefix of digits
    ("audit=00", RHEL7, "off"),
    ("audit=on", "4.15.0-213-generic", "off"),
    ("audit=on", "4.18.0-553.el8_10.x86_64", "on"),
    ("audit=on", None, "invalid"),  # the readings disagree: not audit=1 for certain
    ("audit=1", None, "on"),
    ("audit=0", None, "off"),
    ("audit=1 audit=off", DEBIAN12, "off"),
    ("audit=off audit=yes", DEBIAN12, "off"),  # off stays off until reboot, whatever follows (targets13)
])
def test_audit_on_the_command_line_is_read_as_the_running_kernel_reads_it(cmdline, release, expected):
    assert boot_audit_param(f"BOOT_IMAGE=/vmlinuz root=/dev/sda1 {cmdline}\n", release) == expected


def test_audit_on_of_a_3_10_kernel_fails_audit_enabled():
    boot = boot_audit_param("root=/dev/sda1 audit=on\n", RHEL7)
    rules = parse_rules_text(SOCKET_AUDIT_RULES, "/etc/audit/rules.d/30-net.rules", "x86_64").rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=rules, persistent_rules=rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="auditctl",
                       config_dir_exists=True, boot_audit=boot, **running_auditd())  # type: ignore[arg-type]
    [outcome] = [o for o in audit_socket_logging.run(snapshot(audit=facts, arch="x86_64"), SocketLoggingParams())
                 if o.subject == "audit enabled"]
    assert outcome.status == Status.FAIL
    assert ("audit= on the kernel command line turns auditing off (audit=0 or off; before Linux 4.17 any value that "
            "is not a number other than 0, audit=on too): processes started before auditd") in outcome.message
