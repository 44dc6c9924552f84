"""Hostile judging, drift.audit_rules: the same rules in another order are other rules.

On the exit list the kernel stops at the first rule that matches a call (audit_filter_syscall:
``if (audit_in_mask(...) && audit_filter_rules(...)) { ctx->current_state = state; return; }``),
and so do the task list (audit_filter_task), the user list (audit_filter) and io_uring.  A never
rule put in front at run time (``auditctl -A never,exit ...``, or an ``auditctl -D`` and a reload
in another order) drops what the always rule behind it was meant to record, while the files the
next boot loads keep the always rule first.  drift.audit_rules compared the two as sets and said
they match (the check's own notes: "Order is not compared"), so it passed a host whose loaded
rules do not record what its boot rules do.  audit.socket_logging catches it for the four socket
calls it judges; drift.audit_rules is what catches it for every other rule.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import ELF_X86_64, X32_OFF, install_kernel_without_x32, snapshot


def drift(tmp_path: Path, persisted: str, listed: str) -> list[tuple[str, Status]]:
    """drift.audit_rules of an image whose rules.d holds ``persisted``, against ``auditctl -l`` output."""
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "30-exec.rules").write_text(persisted)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    offline = collect_root(root, frozenset({"audit"}))
    audit = offline.facts.audit
    assert audit is not None and not offline.gaps_for("audit", "persistent_rules")
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parse_auditctl_list(listed, "x86_64").rules,
                       persistent_rules=audit.persistent_rules, persistent_source=audit.persistent_source,
                       machine=audit.machine)
    return [(o.subject, o.status) for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())]


ALWAYS = "-a always,exit -F arch=b64 -S execve -F key=exec"
NEVER = "-a never,exit -F arch=b64 -S execve -F auid=0"


def test_a_never_rule_moved_in_front_at_run_time_is_drift(tmp_path):
    found = drift(tmp_path, f"{ALWAYS}\n{NEVER}\n", f"{NEVER}\n{ALWAYS}\n")
    assert found == [
        ("audit rules", Status.PASS),
        (f"audit rule order (exit list): {NEVER} / {ALWAYS}", Status.FAIL),
    ]


def test_a_never_rule_without_arch_moved_behind_on_the_task_list_is_drift(tmp_path):
    # at boot every task of auid 0 is not audited at all; now the always rule comes first
    persisted = "-a never,task -F auid=0\n-a always,task -F uid=0\n"
    found = dict(drift(tmp_path, persisted, "-a always,task -F uid=0\n-a never,task -F auid=0\n"))
    assert found["audit rule order (task list): -a always,task -F uid=0 / -a never,task -F auid=0"] == Status.FAIL


def test_control_cases_order_that_decides_nothing_is_not_drift(tmp_path):
    two_always = "-a always,exit -F arch=b64 -S execve -F key=a\n-a always,exit -F arch=b64 -S execve -F key=b\n"
    swapped = "-a always,exit -F arch=b64 -S execve -F key=b\n-a always,exit -F arch=b64 -S execve -F key=a\n"
    assert drift(tmp_path / "a", two_always, swapped) == [("audit rules", Status.PASS)]
    disjoint = "-a always,exit -F arch=b64 -S bind -F key=net\n-a never,exit -F arch=b64 -S execve\n"
    reversed_disjoint = "-a never,exit -F arch=b64 -S execve\n-a always,exit -F arch=b64 -S bind -F key=net\n"
    assert drift(tmp_path / "b", disjoint, reversed_disjoint) == [("audit rules", Status.PASS)]
    other_arch = "-a always,exit -F arch=b64 -S execve -F key=x\n-a never,exit -F arch=b32 -S execve\n"
    reversed_arch = "-a never,exit -F arch=b32 -S execve\n-a always,exit -F arch=b64 -S execve -F key=x\n"
    assert drift(tmp_path / "c", other_arch, reversed_arch) == [("audit rules", Status.PASS)]
    assert drift(tmp_path / "d", f"{ALWAYS}\n{NEVER}\n", f"{ALWAYS}\n{NEVER}\n") == [("audit rules", Status.PASS)]
