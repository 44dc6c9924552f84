"""Hostile drift.audit_rules: a kernel setting changed by hand that the boot's rules do not set.

drift.audit_rules compared a kernel setting only where the rules the next boot loads set it (their
last -r, -f, -b, --loginuid-immutable).  Without such a statement the next boot leaves the kernel's
own default (kernel/audit.c: audit_rate_limit 0, audit_failure AUDIT_FAIL_PRINTK 1,
audit_backlog_limit 64 unless audit_backlog_limit= is on the command line; the loginuid_immutable
feature off), so a host where someone ran ``auditctl -r 5`` (records past 5 a second dropped),
``auditctl -f 0`` or ``auditctl -b 8192`` by hand, with a rules.d that sets none of them, had no
finding: the running configuration was not the baseline, and nothing said so.  The kernel's value is
now compared with that default, a failing finding when they differ (the same value is, as before,
no finding).  -e is not judged this way (auditd's -s decides what the boot leaves), nor
--backlog_wait_time (its default is 60 seconds in jiffies, which depends on the kernel's HZ).
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import snapshot

RULES = "-D\n-a always,exit -F arch=b64 -S bind -k net\n"  # no control statement but -D


def controls(tmp_path: Path, **running) -> dict[str, tuple[Status, str]]:
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "10-base.rules").write_text(RULES)
    offline, _ = collect_audit(CollectContext(root=root, live=False))
    assert offline is not None and offline.persistent_rules is not None
    state = dict(enabled=1, rate_limit=0, backlog_limit=64, failure=1, boot_audit="on", loginuid_immutable=0)
    state.update(running)
    facts = AuditFacts(**state, loaded_rules=offline.persistent_rules, persistent_rules=offline.persistent_rules,
                       persistent_source=offline.persistent_source)
    return {o.subject: (o.status, o.message) for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
            if o.subject.startswith("audit control")}


def test_control_case_a_kernel_at_its_defaults_makes_no_control_finding(tmp_path):
    assert controls(tmp_path) == {}


def test_a_rate_limit_set_by_hand_is_drift(tmp_path):
    found = controls(tmp_path, rate_limit=5)
    assert found == {"audit control -r (rate_limit)": (
        Status.FAIL, "the kernel holds rate_limit 5, but the rules the next boot loads set no -r, so the boot leaves "
                     "the kernel's default 0")}


def test_a_silent_failure_mode_set_by_hand_is_drift(tmp_path):
    assert controls(tmp_path, failure=0)["audit control -f (failure)"][0] is Status.FAIL


def test_a_backlog_raised_by_hand_is_drift_when_the_command_line_sets_none(tmp_path):
    found = controls(tmp_path, backlog_limit=8192)
    assert found == {"audit control -b (backlog_limit)": (
        Status.FAIL, "the kernel holds backlog_limit 8192, but the rules the next boot loads set no -b (nor does "
                     "audit_backlog_limit= on the kernel command line), so the boot leaves the kernel's default 64")}


def test_control_case_the_backlog_is_not_judged_when_the_command_line_was_not_read(tmp_path):
    assert controls(tmp_path, backlog_limit=8192, boot_audit=None) == {}


def test_loginuid_made_immutable_by_hand_is_drift(tmp_path):
    assert controls(tmp_path, loginuid_immutable=1)["audit control --loginuid-immutable (loginuid_immutable)"][0] \
        is Status.FAIL


def test_control_case_a_value_not_collected_makes_no_finding(tmp_path):
    assert controls(tmp_path, rate_limit=None, failure=None, loginuid_immutable=None) == {}
