"""Hostile drift.audit_rules: the control statements the next boot loads against the kernel's state.

drift.audit_rules skipped every control statement, so a host running with auditing enabled whose
rules.d ends in ``-e 0`` (the next boot turns auditing off), one whose rules.d locks the rules with
``-e 2`` that were never loaded locked, and a ``-r`` rate limit changed at run time all passed.  The
persistent side is a real rules.d read by the collector; the loaded side is the kernel's state.
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


def judged(tmp_path: Path, rules: str, *, enabled: int | None, rate_limit: int | None = 0) -> dict[str, Status]:
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "10-base.rules").write_text(rules)
    offline, _ = collect_audit(CollectContext(root=root, live=False))
    assert offline is not None and offline.persistent_rules is not None
    facts = AuditFacts(enabled=enabled, rate_limit=rate_limit, loaded_rules=[], persistent_rules=offline.persistent_rules,
                       persistent_source=offline.persistent_source)
    # -b is judged in test_drift_audit_loss_controls.py
    return {o.subject: o.status for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
            if o.subject.startswith("audit control") and o.subject != "audit control -b (backlog_limit)"}


@pytest.mark.parametrize("rules, enabled, expected", [
    ("-D\n-b 8192\n-e 0\n", 1, Status.FAIL),        # the next boot turns auditing off (was pass)
    ("-D\n-e 1\n", 0, Status.FAIL),                 # auditing off now, on after the boot (was pass)
    ("-D\n-e 1\n-e 2\n", 1, Status.FAIL),           # locked at boot, not locked now (was pass)
    ("-D\n-e 2\n", 2, Status.PASS),
    ("-D\n-e 0\n-e 1\n", 1, Status.PASS),           # the last -e is what the boot leaves
    ("-D\n-e 1\n", None, Status.NOT_REVIEWED),      # the kernel's state was not collected
])
def test_the_enabled_flag_the_boot_leaves_is_compared(tmp_path, rules, enabled, expected):
    assert judged(tmp_path, rules, enabled=enabled) == {"audit control -e (enabled)": expected}


def test_the_rate_limit_the_boot_sets_is_compared(tmp_path):
    assert judged(tmp_path, "-D\n-r 100\n", enabled=1, rate_limit=0) == {"audit control -r (rate_limit)": Status.FAIL}
    assert judged(tmp_path / "b", "-D\n-r 100\n", enabled=1, rate_limit=100) == {
        "audit control -r (rate_limit)": Status.PASS}


def test_control_case_rules_without_control_settings_make_no_control_finding(tmp_path):
    assert judged(tmp_path, "-D\n-c\n", enabled=1) == {}
