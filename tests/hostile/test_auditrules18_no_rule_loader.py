"""Hostile image, round auditrules18: auditd.service starts at boot, and no command loads the rules.

lbaudit took an enabled auditd.service to load the persistent rules: audit 3's runs ``augenrules
--load`` in ExecStartPost=, audit 4's pulls in audit-rules.service (Wants=).  But an auditd.service
copied to /etc without that line (audit 4's Wants=, or audit 3's ExecStartPost=, emptied by a
drop-in) loads nothing, and audit-rules.service is then not started either: the kernel holds no rule
after the boot, while the persistent scopes passed on rules.d.  Such a boot now makes them not
reviewed, naming what is missing.
"""

from __future__ import annotations

from tests.hostile.test_auditlog_boot_units import (
    AUDIT_RULES_4,
    AUDITD_3,
    AUDITD_4,
    FAIL,
    NOT_REVIEWED,
    PASS,
    expect,
    image,
)

AUDITD_4_WITHOUT_WANTS = AUDITD_4.replace("Wants=audit-rules.service\n", "")
AUDITD_3_WITHOUT_LOADER = AUDITD_3.replace("ExecStartPost=-/sbin/augenrules --load\n", "")


def test_control_case_audit_4_auditd_that_pulls_in_audit_rules(tmp_path):
    units = {"auditd.service": AUDITD_4, "audit-rules.service": AUDIT_RULES_4}
    assert image(tmp_path, units, enabled=("auditd.service",)) == expect(PASS, PASS)


def test_audit_4_auditd_without_wants_loads_nothing(tmp_path):
    units = {"auditd.service": AUDITD_4_WITHOUT_WANTS, "audit-rules.service": AUDIT_RULES_4}
    assert image(tmp_path, units, enabled=("auditd.service",)) == expect(NOT_REVIEWED, PASS)


def test_control_case_audit_rules_enabled_beside_such_an_auditd(tmp_path):
    units = {"auditd.service": AUDITD_4_WITHOUT_WANTS, "audit-rules.service": AUDIT_RULES_4}
    assert image(tmp_path, units, enabled=("auditd.service", "audit-rules.service")) == expect(PASS, PASS)


def test_audit_3_auditd_without_its_exec_start_post_loads_nothing(tmp_path):
    assert image(tmp_path, {"auditd.service": AUDITD_3_WITHOUT_LOADER}, enabled=("auditd.service",)) == \
        expect(NOT_REVIEWED, PASS)


def test_control_case_a_disabled_auditd_still_fails(tmp_path):
    assert image(tmp_path, {"auditd.service": AUDITD_3_WITHOUT_LOADER}) == expect(FAIL, FAIL)


def test_the_reason_names_what_is_missing(tmp_path):
    from auditor.collect.rootdir import collect_root
    units = {"auditd.service": AUDITD_4_WITHOUT_WANTS, "audit-rules.service": AUDIT_RULES_4}
    image(tmp_path, units, enabled=("auditd.service",))
    snap = collect_root(tmp_path / "image", frozenset({"audit"}))
    assert [g.reason for g in snap.gaps_for("audit", "persistent_rules")] == [
        "auditd.service starts at boot but loads no rules (no augenrules --load or auditctl -R in its "
        "ExecStartPost=), and audit-rules.service, which loads them in audit 4, is disabled: nothing may load the "
        "persistent rules at boot"]


def test_audit_rules_service_whose_command_a_drop_in_replaced_loads_nothing(tmp_path):
    units = {"auditd.service": AUDITD_4, "audit-rules.service": AUDIT_RULES_4}
    dropin = tmp_path / "image" / "etc" / "systemd" / "system" / "audit-rules.service.d"
    dropin.mkdir(parents=True)
    (dropin / "off.conf").write_text("[Service]\nExecStart=\nExecStart=/bin/true\n")
    assert image(tmp_path, units, enabled=("auditd.service",)) == expect(NOT_REVIEWED, PASS)
