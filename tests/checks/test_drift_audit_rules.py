"""drift.audit_rules: loaded rules (auditctl -l form) against the rules the boot loads (rules.d).

The persistent side is the fixture root tests/fixtures/roots/audit-rules read by the real
collector; the loaded side is auditctl -l text in the form auditctl prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list, semantic_key
from auditor.model.facts import AuditFacts, Gap, HostSnapshot
from auditor.model.result import Status
from tests.factories import snapshot

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "roots" / "audit-rules"

# What auditctl -l prints for the rules.d rules, minus listen, plus one rule added by hand.
LOADED = """\
-w /etc/hosts -p wa -k lbaudit-hosts
-a always,exit -F arch=b64 -S connect,bind -F key=lbaudit-net
-a always,exit -F arch=b64 -S accept4 -F key=lbaudit-adhoc
"""


def persistent_facts() -> AuditFacts:
    facts, gaps = collect_audit(CollectContext(root=ROOT, live=False))
    assert facts is not None and facts.persistent_rules is not None
    return facts


def live_like(loaded_text: str, gaps: list[Gap] | None = None) -> HostSnapshot:
    offline = persistent_facts()
    parsed = parse_auditctl_list(loaded_text, "x86_64")
    # the kernel holds the -b 8192 of the fixture's rules.d
    facts = AuditFacts(enabled=1, backlog_limit=8192, loaded_rules=parsed.rules,
                       persistent_rules=offline.persistent_rules, persistent_source=offline.persistent_source)
    return snapshot(audit=facts, gaps=gaps)


def run(snap: HostSnapshot):
    return {o.subject: o for o in drift_audit_rules.run(snap, DriftAuditRulesParams())}


def test_augenrules_order_of_the_fixture_root():
    facts = persistent_facts()
    assert facts.persistent_source == "/etc/audit/rules.d (augenrules)"
    assert [r.origin for r in facts.persistent_rules] == [
        "/etc/audit/rules.d/10-base.rules:2",  # -D and -b go first
        "/etc/audit/rules.d/10-base.rules:3",
        "/etc/audit/rules.d/2-hosts.rules:2",  # version order: 2 before 10
        "/etc/audit/rules.d/10-base.rules:6",
        "/etc/audit/rules.d/30-listen.rules:1",
        "/etc/audit/rules.d/99-finalize.rules:1",  # -e goes last
    ]
    assert not any("not-a-rules-file" in r.text for r in facts.persistent_rules)


def test_loaded_not_persisted_and_persisted_not_loaded_are_each_a_failure():
    outcomes = run(live_like(LOADED))
    adhoc = outcomes["audit rule -a always,exit -F arch=b64 -S accept4 -F key=lbaudit-adhoc"]
    assert adhoc.status == Status.FAIL and "lost at the next reboot" in adhoc.message
    assert adhoc.observed == {"loaded": adhoc.subject.removeprefix("audit rule "), "origin": "auditctl -l:3"}
    assert adhoc.evidence == ["/facts/audit/loaded_rules/2"]
    listen = outcomes["audit rule -a always,exit -F arch=b64 -S listen -k lbaudit-listen"]
    assert listen.status == Status.FAIL and "not loaded" in listen.message
    assert listen.expected["origin"] == "/etc/audit/rules.d/30-listen.rules:1"
    summary = outcomes["audit rules"]
    assert summary.status == Status.PASS  # the watch and the bind/connect rule match despite their forms
    assert summary.observed == {"loaded": 3, "persistent": 3, "matching": 2}
    # the fixture's rules.d sets -b 8192 and ends in -e 1, which the kernel holds (live_like)
    assert outcomes["audit control -e (enabled)"].status == Status.PASS
    assert outcomes["audit control -b (backlog_limit)"].status == Status.PASS
    assert len(outcomes) == 5


def test_same_rules_in_another_form_do_not_drift():
    loaded = LOADED.replace("-a always,exit -F arch=b64 -S accept4 -F key=lbaudit-adhoc\n",
                            "-a always,exit -F arch=b64 -S listen -F key=lbaudit-listen\n")
    outcomes = run(live_like(loaded))
    assert [(s, o.status) for s, o in outcomes.items()] == [("audit rules", Status.PASS),
                                                            ("audit control -e (enabled)", Status.PASS),
                                                            ("audit control -b (backlog_limit)", Status.PASS)]


def test_unparsed_lines_make_the_comparison_not_reviewed():
    gap = Gap(section="audit", field="loaded_rules/problems", reason="auditctl -l:4: unknown field 'bogus'")
    outcomes = run(live_like(LOADED, gaps=[gap]))
    assert outcomes["audit rules (unparsed lines)"].status == Status.NOT_REVIEWED
    assert "bogus" in outcomes["audit rules (unparsed lines)"].reason


def test_offline_root_is_not_applicable_with_the_reason():
    root = collect_root(ROOT, frozenset({"audit"}))
    [outcome] = drift_audit_rules.run(root, DriftAuditRulesParams())
    assert outcome.status == Status.NOT_APPLICABLE
    assert outcome.reason == "runtime audit state is not visible in an offline root directory"


def test_unreadable_loaded_rules_on_a_live_host_are_not_reviewed():
    gap = Gap(section="audit", field="loaded_rules", reason="auditctl -l: permission denied (needs root)")
    facts = AuditFacts(persistent_rules=[], persistent_source="/etc/audit/audit.rules")
    [outcome] = drift_audit_rules.run(snapshot(audit=facts, gaps=[gap]), DriftAuditRulesParams())
    assert outcome.status == Status.NOT_REVIEWED and outcome.reason == gap.reason


@pytest.mark.live
def test_this_host_every_rule_on_one_side_only_is_reported():
    facts, gaps = collect_audit(CollectContext())
    outcomes = drift_audit_rules.run(snapshot(audit=facts, gaps=gaps), DriftAuditRulesParams())
    if facts.loaded_rules is None or facts.persistent_rules is None:
        assert all(o.status in (Status.NOT_REVIEWED, Status.NOT_APPLICABLE) for o in outcomes)
        return
    loaded = {semantic_key(r) for r in facts.loaded_rules if r.kind != "control"}
    persistent = {semantic_key(r) for r in facts.persistent_rules if r.kind != "control"}
    # control statements (-e, -r, -b, -f) are findings of their own, judged on the kernel's values
    failing = sum(1 for o in outcomes if o.status == Status.FAIL and not o.subject.startswith("audit control"))
    assert failing == len(loaded ^ persistent)
