"""Hostile drift.audit_rules: the audit backlog limit set on the kernel command line.

``audit_backlog_limit=8192`` on the kernel command line (kernel/audit.c audit_backlog_limit_set) is
the backlog limit the kernel starts with, the documented way to keep a busy boot from losing records
before auditd loads its rules; only a ``-b`` in those rules replaces it.  drift.audit_rules compared
the backlog limit only where the rules set one, so a host booted with 8192 and lowered by hand
(``auditctl -b 64``) had no finding, although the next boot returns to 8192.  The command line is
read as the kernel reads it (the last readable value; ``0x2000`` is 8192; quotes removed; nothing
after ``--``), and a ``-b`` in the rules still decides where there is one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.targets import LocalHost
from auditor.domain.audit_rules import boot_backlog_limit_param
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import snapshot

SUBJECT = "audit control -b (backlog_limit)"


def findings(tmp_path: Path, rules: str, cmdline: str, running: int):
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "10-base.rules").write_text(rules)
    offline, _ = collect_audit(CollectContext(root=root, live=False))
    assert offline is not None and offline.persistent_rules is not None
    facts = AuditFacts(enabled=1, rate_limit=0, backlog_limit=running, failure=1, boot_audit="on",
                       boot_backlog_limit=boot_backlog_limit_param(cmdline), loaded_rules=[],
                       persistent_rules=offline.persistent_rules, persistent_source=offline.persistent_source)
    return {o.subject: o for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
            if o.subject.startswith("audit control")}


def test_a_backlog_lowered_by_hand_returns_to_the_command_lines_at_boot(tmp_path):
    found = findings(tmp_path, "-D\n", "root=/dev/vda1 audit=1 audit_backlog_limit=8192 quiet", running=64)
    outcome = found[SUBJECT]
    assert outcome.status == Status.FAIL
    assert outcome.message == ("the kernel holds backlog_limit 64, but the kernel command line sets at boot (and no -b "
                               "in the rules replaces) 8192 (audit_backlog_limit=8192 at /proc/cmdline)")
    assert outcome.evidence == ["/facts/audit/boot_backlog_limit", "/facts/audit/backlog_limit"]


def test_the_rules_b_replaces_the_command_line(tmp_path):
    found = findings(tmp_path, "-D\n-b 320\n", "audit_backlog_limit=8192", running=320)
    assert found[SUBJECT].status == Status.PASS
    assert found[SUBJECT].expected["origin"].startswith("/etc/audit/rules.d/10-base.rules")


@pytest.mark.parametrize("cmdline, limit", [
    ("audit_backlog_limit=0x2000", 8192),
    ("audit_backlog_limit=8192 audit_backlog_limit=x", 8192),   # unreadable: the one before stays
    ('"audit_backlog_limit=320"', 320),
    ("audit_backlog_limit=+64", 64),
    ("audit_backlog_limit=4294967296", None),                    # above a u32: ERANGE, ignored
    ("quiet -- audit_backlog_limit=8192", None),                  # init's arguments
    ("audit_backlog_limit", None),
])
def test_the_kernel_reads_the_parameter(cmdline, limit):
    assert boot_backlog_limit_param(cmdline) == limit


@pytest.mark.live  # the collector also asks this kernel's audit status over netlink
def test_the_collector_reads_it_from_the_running_kernels_command_line(tmp_path):
    root = tmp_path / "host"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "cmdline").write_text("BOOT_IMAGE=/vmlinuz audit=1 audit_backlog_limit=8192\n")
    facts, _ = collect_audit(CollectContext(target=LocalHost(root=root, proc=str(root / "proc"),
                                                             program_path=(str(tmp_path / "none"),)),
                                            sections=frozenset({"audit"})))
    assert (facts.boot_audit, facts.boot_backlog_limit) == ("on", 8192)
