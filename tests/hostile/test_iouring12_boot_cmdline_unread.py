"""Hostile: the kernel command line not read is no audit=1 proven.

The defect: auditing turned on after boot gives an audit context only to the processes forked from
then on (audit_alloc() checks audit_ever_enabled), so 'audit enabled' requires audit=1 on the kernel
command line (``require_boot_audit``).  When /proc/cmdline could not be read (a gap
``boot_audit``), the finding passed with "the kernel command line was not recorded in this
snapshot": a live collection that could not see the setting vouched for it.  Now it is
not_reviewed with the reason; a snapshot that simply does not record it (no gap) keeps its note.
"""

from __future__ import annotations

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts, Gap
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot

SUBJECT = "audit enabled"
UNREAD = Gap(section="audit", path=("boot_audit",), reason="/proc/cmdline: permission denied")


def judge(gaps: list[Gap], **params) -> tuple[Status, str]:
    rules = parse_rules_text(SOCKET_AUDIT_RULES, "/etc/audit/rules.d/30-net.rules", "x86_64").rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=rules, persistent_rules=rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="auditctl",
                       config_dir_exists=True, boot_audit=None, lost=0, backlog_limit=8192, failure=1,
                       **running_auditd())
    found = {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts, arch="x86_64", gaps=gaps),
                                                             SocketLoggingParams(**params))}[SUBJECT]
    return found.status, found.message


def test_an_unread_kernel_command_line_is_not_reviewed():
    status, message = judge([UNREAD])
    assert status == Status.NOT_REVIEWED
    assert message == ("not reviewed: kernel auditing is on (enabled 1), but whether the kernel command line has "
                       "audit=1 is not known (/proc/cmdline: permission denied): without it the processes started "
                       "before auditd turned auditing on have no audit context and none of their calls is ever "
                       "recorded")


def test_control_case_not_judged_when_the_policy_does_not_ask():
    assert judge([UNREAD], require_boot_audit=False)[0] == Status.PASS


def test_control_case_a_snapshot_without_the_value_and_no_gap_keeps_its_note():
    status, message = judge([])
    assert status == Status.PASS
    assert message.endswith("the kernel command line was not recorded in this snapshot, so processes started before "
                            "auditd (unaudited without audit=1) are not ruled out")
