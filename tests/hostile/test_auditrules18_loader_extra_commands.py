"""Hostile image, round auditrules18: auditd.service runs another rule command beside ``augenrules --load``.

ExecStartPost= (and audit-rules.service's ExecStart=) is a list: a drop-in that adds a line without
resetting it keeps ``augenrules --load`` and runs the new command too, in order.  lbaudit stopped at
the first ``augenrules --load`` and judged rules.d alone, so a drop-in adding
``ExecStartPost=-/sbin/auditctl -D`` (every rule deleted right after they load), ``auditctl -e 0``,
or ``auditctl -R /etc/audit/never.rules`` loaded before or after augenrules (its never rules first,
or more rules after) passed the persistent scopes on rules.d, while the boot left other rules in the
kernel.  Which rules the two commands leave together is not read by lbaudit: the persistent scopes are
now not reviewed, naming the command; a command that does not touch the audit rules changes nothing.
"""

from __future__ import annotations

from tests.hostile.test_rules12_audit_boot_loader import NOT_REVIEWED, PASS, image, persistent


def _dropin(*lines: str) -> str:
    return "[Service]\n" + "".join(f"ExecStartPost={line}\n" for line in lines)


def test_control_case_an_added_command_that_does_not_touch_the_rules_changes_nothing(tmp_path):
    statuses, source, gaps = persistent(image(tmp_path, dropin=_dropin("/bin/true")))
    assert (statuses, source, gaps) == ((PASS, PASS), "/etc/audit/rules.d (augenrules)", [])


def test_auditctl_delete_all_added_after_augenrules_is_not_vouched_for(tmp_path):
    statuses, source, gaps = persistent(image(tmp_path, dropin=_dropin("-/sbin/auditctl -D")))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert source is None
    assert gaps == ["auditd.service ExecStartPost=-/sbin/auditctl -D runs besides ExecStartPost=-/sbin/augenrules "
                    "--load: lbaudit cannot tell which audit rules the two leave loaded at boot"]


def test_auditctl_disable_added_after_augenrules_is_not_vouched_for(tmp_path):
    statuses, _, _ = persistent(image(tmp_path, dropin=_dropin("/sbin/auditctl -e 0")))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)


def test_a_second_rules_file_loaded_before_augenrules_is_not_vouched_for(tmp_path):
    # the drop-in resets the list and loads its own file first: its never rules stay in front when
    # rules.d has no -D
    dropin = "[Service]\nExecStartPost=\nExecStartPost=/sbin/auditctl -R /etc/audit/never.rules\n" \
             "ExecStartPost=-/sbin/augenrules --load\n"
    statuses, source, gaps = persistent(image(tmp_path, dropin=dropin))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert source is None
    assert gaps == ["auditd.service ExecStartPost=/sbin/auditctl -R /etc/audit/never.rules runs besides "
                    "ExecStartPost=-/sbin/augenrules --load: lbaudit cannot tell which audit rules the two leave "
                    "loaded at boot"]


def test_a_rule_command_run_through_a_shell_after_augenrules_is_not_vouched_for(tmp_path):
    statuses, _, _ = persistent(image(tmp_path, dropin=_dropin("/bin/sh -c 'auditctl -D'")))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)


def test_a_rules_file_loaded_in_exec_start_pre_is_not_vouched_for(tmp_path):
    # ExecStartPre= runs before auditd and its ExecStartPost=: the file's never rules stay in front
    dropin = "[Service]\nExecStartPre=/sbin/auditctl -R /etc/audit/never.rules\n"
    statuses, source, gaps = persistent(image(tmp_path, dropin=dropin))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert source is None
    assert gaps == ["auditd.service ExecStartPre=/sbin/auditctl -R /etc/audit/never.rules runs besides "
                    "ExecStartPost=-/sbin/augenrules --load: lbaudit cannot tell which audit rules the two leave "
                    "loaded at boot"]


def test_control_case_a_status_print_beside_augenrules_changes_nothing(tmp_path):
    dropin = "[Service]\nExecStartPre=-/sbin/auditctl -s\nExecStartPost=/sbin/auditctl -l\n"
    assert persistent(image(tmp_path, dropin=dropin)) == ((PASS, PASS), "/etc/audit/rules.d (augenrules)", [])


def test_a_rules_command_beside_a_unit_that_loads_audit_rules_is_not_vouched_for(tmp_path):
    from tests.hostile.test_rules12_audit_boot_loader import BY_AUDITCTL
    dropin = "[Service]\nExecStartPre=/sbin/auditctl -R /etc/audit/never.rules\n"
    statuses, source, gaps = persistent(image(tmp_path, override=BY_AUDITCTL, dropin=dropin))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert gaps == ["auditd.service ExecStartPre=/sbin/auditctl -R /etc/audit/never.rules runs besides "
                    "ExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules: lbaudit cannot tell which audit rules "
                    "the two leave loaded at boot"]
