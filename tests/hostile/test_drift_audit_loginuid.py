"""Hostile drift.audit_rules: the --loginuid-immutable the next boot loads.

``--loginuid-immutable`` in a rules file (audit-userspace src/auditctl.c: audit_set_loginuid_immutable,
AUDIT_SET_FEATURE with the feature set and locked) makes every process's loginuid unchangeable until
the next boot, so an administrator's actions stay attributed to the login that made them (the
hardening guides' rule).  The kernel reports the feature (AUDIT_GET_FEATURE; ``auditctl -s`` prints
``loginuid_immutable 1 locked``), but lbaudit neither collected it nor compared it: a host whose
rules.d sets it but which runs without it (the rules were never reloaded, or loaded with a failed
line before it) had no finding.  Now the feature is collected (auditctl -s, else netlink) and
compared like the other control statements.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.audit_netlink import parse_features
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import snapshot
from tests.privileges import require_root

SUBJECT = "audit control --loginuid-immutable (loginuid_immutable)"


def findings(tmp_path: Path, rules: str, loginuid_immutable: int | None):
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "10-base.rules").write_text(rules)
    offline, _ = collect_audit(CollectContext(root=root, live=False))
    assert offline is not None and offline.persistent_rules is not None
    facts = AuditFacts(enabled=1, rate_limit=0, backlog_limit=8192, failure=1, loginuid_immutable=loginuid_immutable,
                       loaded_rules=[], persistent_rules=offline.persistent_rules,
                       persistent_source=offline.persistent_source)
    return {o.subject: o for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
            if o.subject.startswith("audit control")}


@pytest.mark.parametrize("running, expected", [(0, Status.FAIL), (1, Status.PASS), (None, Status.NOT_REVIEWED)])
def test_the_feature_the_boot_sets_is_compared(tmp_path, running, expected):
    found = findings(tmp_path, "-D\n--loginuid-immutable\n", running)
    assert {s: o.status for s, o in found.items()} == {SUBJECT: expected}


def test_the_finding_says_what_the_kernel_holds(tmp_path):
    outcome = findings(tmp_path, "-D\n--loginuid-immutable\n", 0)[SUBJECT]
    assert outcome.message == ("the kernel holds loginuid_immutable 0 (a process may change its loginuid), but the "
                               "rules the next boot loads set 1 (loginuid immutable) (--loginuid-immutable at "
                               f"{outcome.expected['origin']})")
    assert outcome.evidence[1] == "/facts/audit/loginuid_immutable"


def test_rules_without_it_compare_the_kernels_default(tmp_path):
    # the next boot leaves the feature off: a kernel holding it on was set by hand (auditrules18)
    assert findings(tmp_path, "-D\n-b 8192\n", 0).get(SUBJECT) is None
    assert findings(tmp_path / "on", "-D\n-b 8192\n", 1)[SUBJECT].status is Status.FAIL


def test_the_feature_is_read_from_the_kernels_reply():
    # struct audit_features { vers, mask, features, lock }: loginuid_immutable is feature 1
    assert parse_features(struct.pack("=4I", 1, 0b11, 0b10, 0b10)) == {"loginuid_immutable": 1}
    assert parse_features(struct.pack("=4I", 1, 0b11, 0b01, 0)) == {"loginuid_immutable": 0}
    assert parse_features(struct.pack("=4I", 1, 0b01, 0b10, 0)) == {"loginuid_immutable": None}


@pytest.mark.live
def test_auditctl_and_netlink_read_the_kernels_feature(tmp_path):
    require_root()
    from tests.audit_kernel import auditctl_status_of_this_kernel

    printed = auditctl_status_of_this_kernel()
    if "loginuid_immutable" not in printed:
        pytest.skip("this auditctl prints no loginuid_immutable")
    expected = int(printed["loginuid_immutable"].split()[0])
    by_auditctl, _ = collect_audit(CollectContext(sections=frozenset({"audit"})))
    by_netlink, _ = collect_audit(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    assert (by_auditctl.runtime_source, by_auditctl.loginuid_immutable) == ("auditctl", expected)
    assert (by_netlink.runtime_source, by_netlink.loginuid_immutable) == ("netlink", expected)


def test_the_lock_does_not_refuse_the_feature(tmp_path):
    # kernel/audit.c: AUDIT_SET_FEATURE checks only the feature's own lock, not -e 2; a hand-written
    # audit.rules that locks first still makes loginuids immutable (augenrules moves -e last anyway)
    root = tmp_path / "image"
    (root / "etc" / "audit").mkdir(parents=True)
    (root / "etc" / "audit" / "audit.rules").write_text("-D\n-e 2\n--loginuid-immutable\n")
    offline, gaps = collect_audit(CollectContext(root=root, live=False))
    assert [g.reason for g in gaps if g.field.startswith("persistent_rules")] == []
    facts = offline.model_copy(update={"enabled": 2, "rate_limit": 0, "loginuid_immutable": 1, "loaded_rules": []})
    found = {o.subject: o.status for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
             if o.subject.startswith("audit control")}
    assert found == {"audit control -e (enabled)": Status.PASS, SUBJECT: Status.PASS}
