"""Hostile corpus: auditd.service starts auditd with ``-s disable`` (or ``-s nochange``).

auditd sets the kernel's enabled flag when it starts (src/auditd.c: ``-s enable``, the default,
``disable`` or ``nochange``; audit_set_enabled() unless the flag is locked at 2), and augenrules
loads the rules in ExecStartPost= after it.  A drop-in ``ExecStart=/sbin/auditd -s disable`` leaves
auditing off after every boot unless the rules end with -e 1 or -e 2, while rules.d covers every
socket call: the persistent scope passed.  It now fails naming the unit's command, passes when the
rules turn auditing back on after auditd started, and is not reviewed for ``-s nochange`` where the
kernel command line (audit=1) is not known, as offline.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

AUDITD_3 = ("[Unit]\nDescription=Security Auditing Service\nDefaultDependencies=no\n[Service]\nType=forking\n"
            "ExecStart=/sbin/auditd\nExecStartPost=-/sbin/augenrules --load\n[Install]\nWantedBy=multi-user.target\n")


def persistent_b64(tmp_path: Path, exec_start: str | None, rules_tail: str = ""):
    """The "persistent rules b64" finding of a Debian-like systemd image whose auditd.service runs
    ``exec_start`` (a drop-in replacing ExecStart=; None: the unit as shipped) and whose rules.d
    covers every socket call, then ``rules_tail``."""
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "30-net.rules").write_text(SOCKET_AUDIT_RULES + rules_tail)
    (rules_d / "10-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    (root / "usr" / "sbin" / "auditd").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)
    vendor = root / "usr" / "lib" / "systemd" / "system"
    vendor.mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd").write_bytes(ELF_X86_64)
    (vendor / "auditd.service").write_text(AUDITD_3)
    local = root / "etc" / "systemd" / "system"
    (local / "multi-user.target.wants").mkdir(parents=True)
    (local / "multi-user.target.wants" / "auditd.service").symlink_to("/usr/lib/systemd/system/auditd.service")
    if exec_start is not None:
        (local / "auditd.service.d").mkdir()
        (local / "auditd.service.d" / "start.conf").write_text(f"[Service]\nExecStart=\nExecStart={exec_start}\n")
    snap = collect_root(root, frozenset({"audit"}))
    [found] = [o for o in audit_socket_logging.run(snap, SocketLoggingParams()) if o.subject == "persistent rules b64"]
    return found


def test_control_case_auditd_as_shipped_passes(tmp_path):
    assert persistent_b64(tmp_path, None).status == Status.PASS
    assert persistent_b64(tmp_path / "enable", "/sbin/auditd -s enable").status == Status.PASS


def test_auditd_started_with_s_disable_fails(tmp_path):
    found = persistent_b64(tmp_path, "/sbin/auditd -s disable")
    assert found.status == Status.FAIL
    assert found.message == (
        "persistent rules b64: syscalls audited: auditd.service starts auditd with -s disable (ExecStart=/sbin/auditd "
        "-s disable): auditd turns auditing off when it starts, and no -e 1 of these rules turns it back on")
    assert "/facts/audit/auditd_exec_start" in found.evidence
    # the option written the other ways getopt reads it
    assert persistent_b64(tmp_path / "joined", "-/sbin/auditd -nsdisable").status == Status.FAIL


def test_rules_that_turn_auditing_back_on_after_auditd_pass(tmp_path):
    assert persistent_b64(tmp_path / "e1", "/sbin/auditd -s disable", "-e 1\n").status == Status.PASS
    assert persistent_b64(tmp_path / "e2", "/sbin/auditd -s disable", "-e 2\n").status == Status.PASS


def test_auditd_started_with_s_nochange_needs_the_kernel_command_line(tmp_path):
    found = persistent_b64(tmp_path, "/sbin/auditd -s nochange")
    assert found.status == Status.NOT_REVIEWED
    assert ("auditd.service starts auditd with -s nochange (ExecStart=/sbin/auditd -s nochange): auditd leaves "
            "auditing as the kernel booted, on only with audit=1 on its command line, which was not read, and no "
            "-e 1 of these rules turns it on") in found.message


def records_written(tmp_path: Path, exec_start: str):
    """The "audit records written" finding of the same image."""
    persistent_b64(tmp_path, exec_start)
    snap = collect_root(tmp_path / "image", frozenset({"audit"}))
    [found] = [o for o in audit_socket_logging.run(snap, SocketLoggingParams()) if o.subject == "audit records written"]
    return found


def test_auditd_that_refuses_its_arguments_writes_nothing(tmp_path):
    found = records_written(tmp_path, "/sbin/auditd -s off")
    assert found.status == Status.FAIL
    assert found.message == ("audit records are not written: auditd.service starts auditd with arguments it refuses "
                             "(-s off (disable, enable or nochange expected), ExecStart=/sbin/auditd -s off): it "
                             "prints its usage and does not start at boot")


def test_auditd_reading_another_configuration_directory_is_not_reviewed(tmp_path):
    found = records_written(tmp_path, "/sbin/auditd -c /etc/audit-elsewhere")
    assert found.status == Status.NOT_REVIEWED
    assert found.message == ("not reviewed: auditd.service starts auditd with -c /etc/audit-elsewhere "
                             "(ExecStart=/sbin/auditd -c /etc/audit-elsewhere): it reads its auditd.conf there, not "
                             "/etc/audit/auditd.conf, which lbaudit read")
    assert records_written(tmp_path / "same", "/sbin/auditd -c /etc/audit/").status == Status.PASS
