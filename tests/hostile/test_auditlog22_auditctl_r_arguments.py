"""Hostile image, round auditlog22: ``auditctl`` reads a rules file only as ``auditctl -R FILE``, alone.

auditctl's main() reads the file only when ``argc == 3 && strcmp(argv[1], "-R") == 0``; any other
command line goes to setopt(), whose ``-R`` is "Error - nested rule files not supported" (and
``-c``/``-i`` before it end the options there): nothing is loaded.  This host's auditctl 3.0.9 exits
255 with no rule loaded for ``auditctl -i -R FILE`` and for ``auditctl -R FILE -k x``.  lbaudit took
any command naming ``-R`` in a unit that replaces augenrules as loading that file, so a unit running
``auditctl -c -R /etc/audit/audit.rules`` (to go on past a bad line) passed the persistent scopes
on audit.rules while the boot loads no rule.  Only the exact form is a loader now; another command
that names auditctl is one lbaudit cannot tell the effect of (not reviewed).  So is augenrules
run with any argument but ``--load``: another word is its usage and exit 1, and ``--check`` leaves
changed rules unwritten and unloaded; lbaudit took any augenrules command holding ``--load``.
"""

from __future__ import annotations

import pytest

from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, SOCKET_AUDIT_RULES
from tests.hostile.test_rules12_audit_boot_loader import AUDITD_3, image, persistent

PASS, NOT_REVIEWED = Status.PASS, Status.NOT_REVIEWED
COVERING = BOOT_BACKLOG_RULES + SOCKET_AUDIT_RULES


def loading(command: str) -> str:
    return AUDITD_3.replace("ExecStartPost=-/sbin/augenrules --load\n#ExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules",
                            f"#ExecStartPost=-/sbin/augenrules --load\nExecStartPost=-{command}")


def test_control_case_auditctl_r_file_alone_loads_it(tmp_path):
    statuses, source, gaps = persistent(image(tmp_path, override=loading("/sbin/auditctl -R /etc/audit/audit.rules"),
                                              audit_rules=COVERING))
    assert statuses == (PASS, PASS) and gaps == []
    assert source is not None and source.startswith("/etc/audit/audit.rules (auditctl -R")


@pytest.mark.parametrize("command", [
    "/sbin/auditctl -c -R /etc/audit/audit.rules",
    "/sbin/auditctl -i -R /etc/audit/audit.rules",
    "/sbin/auditctl -R /etc/audit/audit.rules -e 1",
])
def test_auditctl_r_with_other_arguments_loads_nothing_and_is_not_reviewed(tmp_path, command):
    statuses, source, gaps = persistent(image(tmp_path, override=loading(command), audit_rules=COVERING))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert source is None
    assert len(gaps) == 1 and command in gaps[0]


# augenrules reads its arguments in a loop: --check and --load set flags, any other word prints the
# usage and exits 1 before compiling or loading anything; with --check, rules.d that differs from
# audit.rules is reported and neither written nor loaded.
@pytest.mark.parametrize("command", ["/sbin/augenrules --load --quiet", "/sbin/augenrules --check --load"])
def test_augenrules_with_other_arguments_is_not_vouched_for(tmp_path, command):
    unit = AUDITD_3.replace("ExecStartPost=-/sbin/augenrules --load", f"ExecStartPost=-{command}")
    statuses, source, gaps = persistent(image(tmp_path, override=unit))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert len(gaps) == 1 and command in gaps[0]


def test_control_case_augenrules_load_twice_is_still_augenrules(tmp_path):
    unit = AUDITD_3.replace("ExecStartPost=-/sbin/augenrules --load", "ExecStartPost=-/sbin/augenrules --load --load")
    assert persistent(image(tmp_path, override=unit)) == ((PASS, PASS), "/etc/audit/rules.d (augenrules)", [])
