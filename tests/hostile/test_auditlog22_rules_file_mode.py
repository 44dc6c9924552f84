"""Hostile image, round auditlog22: a rules file that ``auditctl -R`` refuses for its mode or owner.

auditctl's fileopt() checks the file before reading a line of it: audit up to 3.1.1 (Debian 12's
3.0.9, Ubuntu 22.04's 3.0.7) refuses a file not owned by root ("isn't owned by root") and one
writable by every user ("is world writable"); 3.1.2 dropped both checks (upstream 3bbe0ab3), 4.2
brought the second back (2f9f91c3).  A refused file loads no rule at all, so the boot's persistent
rules are none.  Checked against this host's auditctl 3.0.9: ``chmod 666`` or ``chown 1000`` and
``auditctl -R`` exits 1 with ``No rules`` loaded.

lbaudit read the file's text and judged its rules whatever its mode and owner: audit.rules covering
every socket call, mode 0666, passed "persistent rules b64/b32" while the boot of Debian 12 (or of
any audit from 4.2) loads none of them.  Which auditctl the target runs is not known to lbaudit, so
such a file is now not reviewed, with the reason; the owner is judged only live (an image's owners
may be whoever unpacked it), as for auditd.conf.  Where augenrules compiles rules.d, audit.rules is
its output: it copies the compiled rules into the file (which keeps the file's owner) and sets mode
0640 only when they differ from what it holds, so a world-writable audit.rules that already holds
them is loaded as it is, and refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.rootdir import collect_root
from auditor.collect.targets import LocalHost
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

PASS, NOT_REVIEWED = Status.PASS, Status.NOT_REVIEWED
RULES = BOOT_BACKLOG_RULES + SOCKET_AUDIT_RULES
AUDITD_BY_AUDITCTL = ("[Unit]\nDescription=Security Auditing Service\n[Service]\nType=forking\n"
                      "ExecStart=/sbin/auditd\nExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules\n"
                      "[Install]\nWantedBy=multi-user.target\n")


def image(tmp_path: Path, *, mode: int, systemd: bool, rules_d: bool = False) -> Path:
    """An x86_64 image whose boot loads /etc/audit/audit.rules (``RULES``, with ``mode``): with
    ``systemd`` through auditd.service's ``auditctl -R``, else as augenrules does without rules.d;
    with ``rules_d`` the same rules in rules.d too, compiled by augenrules."""
    root = tmp_path / "image"
    audit = root / "etc" / "audit"
    audit.mkdir(parents=True)
    (audit / "audit.rules").write_text(RULES)
    os.chmod(audit / "audit.rules", mode)
    if rules_d:
        (audit / "rules.d").mkdir()
        (audit / "rules.d" / "30-net.rules").write_text(RULES)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    (root / "usr" / "sbin" / "auditd").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)
    if systemd:
        vendor = root / "usr" / "lib" / "systemd" / "system"
        vendor.mkdir(parents=True)
        (root / "usr" / "lib" / "systemd" / "systemd").write_bytes(ELF_X86_64)
        (vendor / "auditd.service").write_text(AUDITD_BY_AUDITCTL)
        wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
        wants.mkdir(parents=True)
        (wants / "auditd.service").symlink_to("/usr/lib/systemd/system/auditd.service")
    return root


def persistent(root: Path) -> tuple[tuple[Status, Status], str]:
    snap = collect_root(root, frozenset({"audit"}))
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    b64, b32 = found["persistent rules b64"], found["persistent rules b32"]
    return (b64.status, b32.status), b64.reason


@pytest.mark.parametrize("systemd", [True, False])
def test_control_case_a_rules_file_only_root_writes_passes(tmp_path, systemd):
    assert persistent(image(tmp_path, mode=0o640, systemd=systemd))[0] == (PASS, PASS)


@pytest.mark.parametrize("systemd", [True, False])
def test_a_world_writable_rules_file_is_not_reviewed(tmp_path, systemd):
    statuses, reason = persistent(image(tmp_path, mode=0o666, systemd=systemd))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert "/etc/audit/audit.rules: writable by every user" in reason
    assert "before audit 3.1.2 and from 4.2" in reason


def test_control_case_group_writable_is_not_refused(tmp_path):
    assert persistent(image(tmp_path, mode=0o660, systemd=True))[0] == (PASS, PASS)


def test_a_world_writable_audit_rules_that_augenrules_finds_unchanged_is_not_reviewed(tmp_path):
    statuses, reason = persistent(image(tmp_path, mode=0o666, systemd=False, rules_d=True))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert "augenrules sets mode 0640 only when" in reason


def test_control_case_an_images_owner_is_not_judged(tmp_path):
    root = image(tmp_path, mode=0o640, systemd=True)
    os.chown(root / "etc" / "audit" / "audit.rules", 1000, 1000)
    assert persistent(root)[0] == (PASS, PASS)


@pytest.mark.live  # the collector also asks this kernel's audit status over netlink
@pytest.mark.parametrize("rules_d", [False, True])
def test_live_a_rules_file_not_owned_by_root_is_a_problem(tmp_path, rules_d):
    root = image(tmp_path, mode=0o640, systemd=False, rules_d=rules_d)
    (root / "proc").mkdir()
    (root / "proc" / "cmdline").write_text("audit=1\n")
    target = LocalHost(root=root, proc=str(root / "proc"), program_path=(str(tmp_path / "none"),))

    def problems() -> list[str]:
        facts, gaps = collect_audit(CollectContext(target=target, sections=frozenset({"audit"})))
        assert facts is not None and len(facts.persistent_rules or []) > 1  # read all the same
        return [g.reason for g in gaps if g.path == ("persistent_rules", "problems")]

    assert problems() == []
    os.chown(root / "etc" / "audit" / "audit.rules", 1000, 1000)
    found = problems()
    assert len(found) == 1
    assert "/etc/audit/audit.rules: owned by uid 1000, not root" in found[0]
    assert "before audit 3.1.2" in found[0]


def test_an_audit_rules_directory_beside_rules_d_loads_nothing(tmp_path):
    """augenrules' cp puts the compiled rules inside a directory named audit.rules, and auditctl -R
    refuses the directory ("is not a regular file"): lbaudit judged rules.d and passed."""
    root = image(tmp_path, mode=0o640, systemd=False, rules_d=True)
    (root / "etc" / "audit" / "audit.rules").unlink()
    (root / "etc" / "audit" / "audit.rules").mkdir()
    statuses, reason = persistent(root)
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert "/etc/audit/audit.rules: not a regular file" in reason
