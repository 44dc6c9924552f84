"""Hostile corpus: auditing on, rules loaded, and the listeners of socket units still never audited.

audit_alloc() gives a task an audit context only when auditing was ever on at its fork; a process
forked before auditd turned auditing on (systemd itself, pid 1, which binds the listening sockets
of socket units; anything of the initramfs) is never audited, whatever the rules say later.  Only
audit=1 on the kernel command line turns auditing on before pid 1 starts.  The kernel applies each
audit= in turn (the last decides, but one 0/off disables auditing until reboot), reads 0/off and
1/on, rejects anything else (the default stays), and leaves the words after "--" to init.  ``audit.socket_logging`` 1.5.0 fails "audit enabled"
without audit=1 (``require_boot_audit``, default true).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.domain.audit_rules import boot_audit_param, parse_rules_text
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot
from tests.privileges import require_root

SUBJECT = "audit enabled"


def judge(boot: str | None, **params) -> tuple[Status, str]:
    rules = parse_rules_text(SOCKET_AUDIT_RULES, "/etc/audit/rules.d/30-net.rules", "x86_64").rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=rules, persistent_rules=rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="auditctl",
                       config_dir_exists=True, boot_audit=boot, **running_auditd())  # type: ignore[arg-type]
    found = {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts, arch="x86_64"),
                                                             SocketLoggingParams(**params))}[SUBJECT]
    return found.status, found.message


@pytest.mark.parametrize(("cmdline", "expected"), [
    ("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet", "unset"),
    ("root=/dev/sda1 audit=1", "on"),
    ("root=/dev/sda1 audit=ON", "on"),
    ("root=/dev/sda1 audit=0", "off"),
    ("audit=1 audit=0", "off"),  # the last one decides
    ("audit=0 audit=1", "off"),  # audit=0 set AUDIT_DISABLED, which no later audit= undoes (targets13)
    ("root=/dev/sda1 audit=yes", "invalid"),  # audit_enable() rejects it, the default stays
    ("audit=1 audit=yes", "on"),  # a rejected value changes nothing
    ("root=/dev/sda1 -- audit=1", "unset"),  # after "--": init's arguments, not the kernel's
    ("root=/dev/sda1 noaudit=1 audit_backlog_limit=8192", "unset"),
])
def test_the_kernel_reading_of_audit_on_its_command_line(cmdline, expected):
    # a kernel that reads the words (4.17 and later); older ones read a number, see
    # tests/hostile/test_rules12_audit_boot_param.py
    assert boot_audit_param(cmdline + "\n", "6.1.0-18-amd64") == expected


def test_audit_1_at_boot_passes():
    status, message = judge("on")
    assert status == Status.PASS and "audit=1 on the kernel command line" in message


@pytest.mark.parametrize("boot", ["unset", "off", "invalid"])
def test_without_audit_1_at_boot_pid_1_is_never_audited(boot):
    status, message = judge(boot)
    assert status == Status.FAIL and "systemd (pid 1)" in message


def test_policy_may_leave_boot_audit_unjudged():
    assert judge("unset", require_boot_audit=False)[0] == Status.PASS


def test_snapshot_without_the_fact_passes_and_says_it_was_not_recorded():
    status, message = judge(None)
    assert status == Status.PASS and "kernel command line was not recorded" in message


@pytest.mark.live
def test_live_collect_reads_this_kernels_command_line(tmp_path):
    require_root()
    facts, _ = collect_audit(CollectContext(sections=frozenset({"audit"})))
    assert facts is not None
    assert facts.boot_audit == boot_audit_param(Path("/proc/cmdline").read_text())
