"""Hostile drift.audit_rules: the backlog limit (-b) and failure mode (-f) the next boot loads.

drift.audit_rules compared only the last -e and -r of the rules the boot loads with the kernel's
values; -b and -f were skipped although lbaudit collects the kernel's backlog_limit and failure
(auditctl -s, or AUDIT_GET over netlink).  A host raised to ``-b 8192`` by hand whose rules.d says
``-b 64`` (the next boot loses records past 64 queued), or running ``-f 2`` (panic on a lost record)
whose rules.d says ``-f 1``, passed.  The last statement in load order is what the kernel holds
after the rules load, as for -e and -r.  The persistent side is a real rules.d read by the
collector.  --backlog_wait_time: tests/hostile/test_drift_audit_backlog_wait.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import snapshot

BACKLOG = "audit control -b (backlog_limit)"
FAILURE = "audit control -f (failure)"


def findings(tmp_path: Path, rules: str, *, backlog_limit: int | None, failure: int | None):
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "10-base.rules").write_text(rules)
    offline, _ = collect_audit(CollectContext(root=root, live=False))
    assert offline is not None and offline.persistent_rules is not None
    facts = AuditFacts(enabled=1, rate_limit=0, backlog_limit=backlog_limit, failure=failure, loaded_rules=[],
                       persistent_rules=offline.persistent_rules, persistent_source=offline.persistent_source)
    return {o.subject: o for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
            if o.subject.startswith("audit control")}


def judged(tmp_path: Path, rules: str, *, backlog_limit: int | None = 8192, failure: int | None = 1):
    return {s: o.status for s, o in findings(tmp_path, rules, backlog_limit=backlog_limit, failure=failure).items()}


@pytest.mark.parametrize("rules, backlog_limit, expected", [
    ("-D\n-b 64\n", 8192, Status.FAIL),             # the next boot lowers the backlog (was no finding)
    ("-D\n-b 8192\n-b 320\n", 8192, Status.FAIL),   # the last -b is what the boot leaves
    ("-D\n-b 320\n-b 8192\n", 8192, Status.PASS),
    ("-D\n-b 0x2000\n", 8192, Status.PASS),         # auditctl reads 0x hex (strtoul base 0)
    ("-D\n-b 8192\n", None, Status.NOT_REVIEWED),   # the kernel's value was not collected
])
def test_the_backlog_limit_the_boot_leaves_is_compared(tmp_path, rules, backlog_limit, expected):
    assert judged(tmp_path, rules, backlog_limit=backlog_limit) == {BACKLOG: expected}


@pytest.mark.parametrize("rules, failure, expected", [
    ("-D\n-f 1\n", 2, Status.FAIL),                 # panic now, printk after the boot (was no finding)
    ("-D\n-f 2\n-f 0\n", 2, Status.FAIL),
    ("-D\n-f 2\n", 2, Status.PASS),
    ("-D\n-f 2\n", None, Status.NOT_REVIEWED),
])
def test_the_failure_mode_the_boot_leaves_is_compared(tmp_path, rules, failure, expected):
    assert judged(tmp_path, rules, failure=failure) == {FAILURE: expected}


def test_the_finding_names_both_values_and_the_line(tmp_path):
    outcome = findings(tmp_path, "-D\n-f 1\n-b 64\n", backlog_limit=8192, failure=2)
    assert outcome[FAILURE].message == (
        "the kernel holds failure 2 (panic), but the rules the next boot loads set 1 (printk) "
        f"(-f 1 at {outcome[FAILURE].expected['origin']})")
    assert outcome[FAILURE].observed == {"failure": 2}
    assert outcome[BACKLOG].message.startswith("the kernel holds backlog_limit 8192, but the rules the next boot "
                                               "loads set 64 (-b 64 at /etc/audit/")
    assert outcome[BACKLOG].evidence[1] == "/facts/audit/backlog_limit"

