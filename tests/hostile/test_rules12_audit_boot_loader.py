"""Hostile image, round rules12: the boot loads /etc/audit/audit.rules with ``auditctl -R``, not rules.d.

auditd.service (audit 3) and audit-rules.service (audit 4) ship the alternative to ``augenrules
--load`` commented out, with the instructions to use it: "To not use augenrules, copy this file to
/etc/systemd/system/auditd.service and comment/delete the next line and uncomment the auditctl
line" (``ExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules``).  A host set up that way loads
audit.rules as it stands at every boot, and rules.d is never compiled.  lbaudit judged rules.d
whenever it existed: rules.d covering every socket call passed the persistent scope while the boot
loaded a stale audit.rules with none of them.  Each case builds a systemd image (units as audit 3
installs them, enabled) and asserts the exact persistent statuses.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

PASS, FAIL, NOT_REVIEWED = Status.PASS, Status.FAIL, Status.NOT_REVIEWED
AUDITD_3 = ("[Unit]\nDescription=Security Auditing Service\nDefaultDependencies=no\n[Service]\nType=forking\n"
            "ExecStart=/sbin/auditd\nExecStartPost=-/sbin/augenrules --load\n"
            "#ExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules\n[Install]\nWantedBy=multi-user.target\n")
BY_AUDITCTL = AUDITD_3.replace("ExecStartPost=-/sbin/augenrules --load\n#", "#ExecStartPost=-/sbin/augenrules --load\n")
STALE = "## generated long ago\n-a always,exit -F arch=b64 -S execve -k exec\n"


def image(tmp_path: Path, *, override: str | None = None, dropin: str | None = None,
          audit_rules: str = STALE) -> Path:
    root = tmp_path / "image"
    audit = root / "etc" / "audit"
    (audit / "rules.d").mkdir(parents=True)
    (audit / "rules.d" / "30-net.rules").write_text(SOCKET_AUDIT_RULES)
    (audit / "rules.d" / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b
    (audit / "audit.rules").write_text(audit_rules)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    (root / "usr" / "sbin" / "auditd").write_bytes(ELF_X86_64)
    vendor = root / "usr" / "lib" / "systemd" / "system"
    vendor.mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd").write_bytes(ELF_X86_64)
    (vendor / "auditd.service").write_text(AUDITD_3)
    local = root / "etc" / "systemd" / "system"
    (local / "multi-user.target.wants").mkdir(parents=True)
    (local / "multi-user.target.wants" / "auditd.service").symlink_to("/usr/lib/systemd/system/auditd.service")
    if override is not None:
        (local / "auditd.service").write_text(override)
    if dropin is not None:
        (local / "auditd.service.d").mkdir()
        (local / "auditd.service.d" / "rules.conf").write_text(dropin)
    return root


def persistent(root: Path) -> tuple[tuple[Status, Status], str | None, list[str]]:
    snap = collect_root(root, frozenset({"audit"}))
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    statuses = (found["persistent rules b64"].status, found["persistent rules b32"].status)
    return statuses, snap.facts.audit.persistent_source, [g.reason for g in snap.gaps_for("audit", "persistent_rules")]


def test_control_case_augenrules_loads_rules_d(tmp_path):
    assert persistent(image(tmp_path)) == ((PASS, PASS), "/etc/audit/rules.d (augenrules)", [])


def test_unit_copied_to_etc_that_loads_audit_rules_is_judged_on_audit_rules(tmp_path):
    statuses, source, gaps = persistent(image(tmp_path, override=BY_AUDITCTL))
    assert statuses == (FAIL, FAIL)
    assert source == ("/etc/audit/audit.rules (auditctl -R, auditd.service "
                      "ExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules)")
    assert gaps == []


def test_drop_in_that_replaces_augenrules_with_auditctl_is_judged_on_audit_rules(tmp_path):
    dropin = "[Service]\nExecStartPost=\nExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules\n"
    statuses, source, _ = persistent(image(tmp_path, dropin=dropin))
    assert statuses == (FAIL, FAIL)
    assert source is not None and source.startswith("/etc/audit/audit.rules (auditctl -R")


def test_control_case_audit_rules_that_cover_the_calls_pass_when_they_are_what_loads(tmp_path):
    statuses, _, _ = persistent(image(tmp_path, override=BY_AUDITCTL, audit_rules=BOOT_BACKLOG_RULES + SOCKET_AUDIT_RULES))
    assert statuses == (PASS, PASS)


def test_a_loader_run_through_a_shell_is_not_vouched_for(tmp_path):
    dropin = "[Service]\nExecStartPost=\nExecStartPost=/bin/sh -c 'auditctl -R /etc/audit/audit.rules'\n"
    statuses, source, gaps = persistent(image(tmp_path, dropin=dropin))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert source is None
    assert gaps == ["auditd.service ExecStartPost=/bin/sh -c 'auditctl -R /etc/audit/audit.rules': lbaudit cannot "
                    "tell which audit rules this loads at boot"]
