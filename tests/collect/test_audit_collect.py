"""collect_audit against fixture root directories, the live host as root, and as ``nobody``."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from auditor.collect import CollectContext
from auditor.collect.audit import OFFLINE_REASON, SOURCE_AUDIT_RULES, SOURCE_RULES_D, collect_audit
from auditor.collect.programs import run_command
from auditor.domain.audit_rules import parse_auditctl_status
from auditor.model.facts import AuditFacts, Gap, GapKind
from tests.privileges import require_root, run_as_unprivileged

ROOTS = Path(__file__).resolve().parents[1] / "fixtures" / "roots"
LIVE_ENV = "LBAUDIT_TEST_LIVE_AUDIT"


def offline(name: str) -> tuple[AuditFacts, list[Gap]]:
    facts, gaps = collect_audit(CollectContext(root=ROOTS / name, live=False))
    assert facts is not None
    return facts, gaps


def gap_reasons(gaps: list[Gap], field: str) -> list[str]:
    return [g.reason for g in gaps if g.field == field]


def test_offline_runtime_state_is_not_applicable():
    facts, gaps = offline("audit-rulesd")
    assert facts.enabled is None and facts.loaded_rules is None
    runtime = [g for g in gaps if g.field in ("enabled", "loaded_rules")]
    assert [(g.field, g.kind, g.reason) for g in runtime] == [
        ("enabled", GapKind.NOT_APPLICABLE, OFFLINE_REASON),
        ("loaded_rules", GapKind.NOT_APPLICABLE, OFFLINE_REASON),
    ]


def test_rules_d_compiled_as_augenrules_does():
    facts, gaps = offline("audit-rulesd")
    assert facts.persistent_source == SOURCE_RULES_D
    assert [g for g in gaps if g.field.startswith("persistent_rules")] == []
    origins = [r.origin for r in facts.persistent_rules]
    base = "/etc/audit/rules.d/"
    assert origins == [
        base + "10-base.rules:2",  # -D, -b, -f first
        base + "10-base.rules:3",
        base + "10-base.rules:5",
        base + "9-never.rules:2",  # 9 before 10 (ls -v), and before the socket rules
        base + "10-base.rules:4",  # --backlog_wait_time is not moved
        base + "30-net.rules:2",
        base + "30-net.rules:3",
        base + "30-net.rules:4",
        base + "99-finalize.rules:1",  # -e last
    ]
    # README, *.bak and the stale audit.rules are not read
    assert not any("stale" in r.keys for r in facts.persistent_rules)
    assert not any(r.syscalls == ["all"] for r in facts.persistent_rules)


def test_audit_rules_without_rules_d_stops_at_the_broken_line():
    facts, gaps = offline("audit-rules-only")
    assert facts.persistent_source == SOURCE_AUDIT_RULES
    assert [r.keys for r in facts.persistent_rules] == [[], ["out"], ["duplicate-syscall-rule"]]
    assert gap_reasons(gaps, "persistent_rules/problems") == [
        "/etc/audit/audit.rules:5: parameter passed without an option given; auditctl -R stops here, so no later line is loaded"
    ]


def test_empty_rules_d_wins_over_a_hand_written_audit_rules():
    facts, gaps = offline("audit-empty-rulesd")
    assert facts.persistent_source == SOURCE_RULES_D
    assert facts.persistent_rules == []
    assert not [g for g in gaps if g.field.startswith("persistent_rules")]


def test_no_etc_audit_is_no_persistent_rules_not_a_gap():
    facts, gaps = offline("audit-none")
    assert facts.config_dir_exists is False
    assert facts.persistent_rules == [] and facts.persistent_source is None
    assert [g for g in gaps if g.field.startswith("persistent_rules")] == []


def test_etc_audit_without_rule_files_is_still_a_gap(tmp_path):
    (tmp_path / "etc" / "audit").mkdir(parents=True)
    facts, gaps = collect_audit(CollectContext(root=tmp_path, live=False))
    assert facts.config_dir_exists is True and facts.persistent_rules is None
    assert gap_reasons(gaps, "persistent_rules") == [
        "/etc/audit/audit.rules: not found (and there is no /etc/audit/rules.d)"
    ]


def test_unreadable_rules_d_file_is_a_gap_not_a_partial_list():
    facts, gaps = offline("audit-dangling")
    assert facts.persistent_rules is None and facts.persistent_source == SOURCE_RULES_D
    assert gap_reasons(gaps, "persistent_rules") == ["/etc/audit/rules.d/20-gone.rules: not found"]


def test_absolute_symlink_is_resolved_inside_the_root():
    facts, _ = offline("audit-symlink")
    assert [r.keys for r in facts.persistent_rules] == [["linked"]]


# ---------------------------------------------------------------- live host


def _auditctl_status() -> dict[str, str] | None:
    result = run_command(["auditctl", "-s"], timeout=10)
    return parse_auditctl_status(result.stdout)[0] if result.ok else None


@pytest.mark.live
def test_live_as_root_reads_enabled_loaded_and_persistent():
    require_root()
    if _auditctl_status() is None:
        pytest.skip("auditctl -s does not work here (tool absent or kernel audit unavailable)")
    facts, gaps = collect_audit(CollectContext())
    assert facts.enabled in (0, 1, 2)
    assert facts.loaded_rules is not None
    assert not [g for g in gaps if g.field in ("enabled", "loaded_rules")]
    assert facts.persistent_rules is not None or gap_reasons(gaps, "persistent_rules")


@pytest.mark.live
@pytest.mark.integration  # changes the kernel audit rules (live: the host xdist group runs it alone)
def test_live_rule_added_with_auditctl_is_seen_in_loaded_rules():
    """Adds one real rule with a unique key, collects, and always deletes it again."""
    require_root()
    if os.environ.get(LIVE_ENV) != "1":
        pytest.skip(f"changes the host's audit rules; set {LIVE_ENV}=1 to run it")
    status = _auditctl_status()
    if status is None:
        pytest.skip("auditctl -s does not work here (tool absent or kernel audit unavailable)")
    if status.get("enabled") == "2":
        pytest.skip("the kernel audit configuration is locked (enabled 2): no rule can be added until reboot")
    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}"
    # auid 4000000000 is no login: the rule matches nothing, so it logs nothing while it exists
    rule = ["-a", "always,exit", "-F", "arch=b64", "-S", "bind", "-F", "auid=4000000000", "-k", key]
    added = run_command(["auditctl", *rule], timeout=10)
    assert added.ok, added.reason
    try:
        facts, gaps = collect_audit(CollectContext())
        mine = [r for r in facts.loaded_rules if key in r.keys]
        assert len(mine) == 1, [r.text for r in facts.loaded_rules]
        assert (mine[0].action, mine[0].arch, mine[0].syscalls) == ("always", "b64", ["bind"])
        assert [(f.name, f.op, f.value) for f in mine[0].fields] == [("auid", "=", "4000000000")]
        assert mine[0].origin.startswith("auditctl -l:")
    finally:
        removed = run_command(["auditctl", "-D", "-k", key], timeout=10)
        assert removed.ok, removed.reason
    listed = run_command(["auditctl", "-l"], timeout=10)
    assert key not in listed.stdout


@pytest.mark.live
def test_as_nobody_runtime_state_is_a_gap_with_the_reason():
    require_root()
    facts, gaps = run_as_unprivileged(collect_audit, CollectContext())
    assert facts.enabled is None and facts.loaded_rules is None
    for field in ("enabled", "loaded_rules"):
        reasons = gap_reasons(gaps, field)
        assert len(reasons) == 1 and reasons[0], field
        assert all(g.kind == GapKind.UNREADABLE for g in gaps if g.field == field)
    if run_command(["auditctl", "-s"], timeout=10).executable:
        assert gap_reasons(gaps, "loaded_rules") == ["auditctl -l: must be root"]
    # /etc/audit is root-only on Debian; wherever it is not, the rules must have been read
    assert facts.persistent_rules is not None or gap_reasons(gaps, "persistent_rules")
