"""Hostile image, round auditlog22: augenrules from audit 3.1.1 strips a carriage return ending a line.

Since upstream 8971c152 ("rules that have been (incorrectly) copied from Windows", audit 3.1.1;
Ubuntu 24.04's 3.1.2, RHEL 9's 3.1.x, every 4.x) augenrules' awk program starts with
``sub(/\\r$/, "")``: a rules.d file with CRLF line ends is compiled into audit.rules without the
carriage returns.  Debian 12's augenrules (3.0.9) has no such line, and auditctl itself never strips
one.  lbaudit always kept the carriage return.  Mostly that refuses lines the boot loads (a false
failure), but one line means something else with it: ``-D -k net\\r`` deletes the rules whose key
contains "net\\r" (none: auditctl 3.0.9 on this host takes it and deletes nothing), while the line
augenrules 3.1.1 writes, ``-D -k net``, deletes every rule keyed net.  A CRLF clean-up file of that
kind after the socket rules passed the persistent scopes on a host whose boot deletes them all.

Now rules.d is compiled as the target's augenrules script does it (read from the image), and where
no script says, the two readings are compared: rules they disagree on are not reviewed.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_rules_d
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

PASS, FAIL, NOT_REVIEWED = Status.PASS, Status.FAIL, Status.NOT_REVIEWED
# the parts of augenrules' awk program that differ (audit 3.0.9 and 3.1.5, init.d/augenrules)
AWK_3_0_9 = ("for rules in $(/bin/ls -1v ${SourceRulesDir} | grep \"\\.rules$\") ; do\n"
             "\tcat ${SourceRulesDir}/${rules}\ndone | awk '\n{\n"
             "        if (length($0) < 1) { next; }\n        if (match($0, \"^\\\\s*#\")) { next; }\n}'\n")
AWK_3_1_5 = AWK_3_0_9.replace("{\n        if (length", "{\n        sub(/\\r$/, \"\");\n        if (length")
CLEAN_UP = b"# tidy the network rules\r\n-D -k net\r\n"  # written on Windows


def image(tmp_path: Path, augenrules: str | None) -> Path:
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    (rules_d / "30-net.rules").write_text(SOCKET_AUDIT_RULES)  # every rule keyed net
    (rules_d / "90-tidy.rules").write_bytes(CLEAN_UP)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)
    if augenrules is not None:
        (root / "usr" / "sbin" / "augenrules").write_text("#!/bin/sh\n" + augenrules)
    return root


def persistent(root: Path) -> tuple[tuple[Status, Status], str]:
    snap = collect_root(root, frozenset({"audit"}))
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    return (found["persistent rules b64"].status, found["persistent rules b32"].status), found["persistent rules b64"].message


def test_the_scripts_are_told_apart():
    assert "sub(/\\r$/" in AWK_3_1_5 and "sub(" not in AWK_3_0_9


def test_control_case_augenrules_3_0_9_keeps_the_carriage_return_and_deletes_nothing(tmp_path):
    assert persistent(image(tmp_path, AWK_3_0_9))[0] == (PASS, PASS)


def test_augenrules_3_1_1_strips_it_and_the_boot_deletes_the_socket_rules(tmp_path):
    statuses, reason = persistent(image(tmp_path, AWK_3_1_5))
    assert statuses == (FAIL, FAIL)
    assert "no rule" in reason


def test_without_the_script_the_two_readings_are_not_vouched_for(tmp_path):
    statuses, reason = persistent(image(tmp_path, None))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert "carriage return" in reason and "90-tidy.rules" in reason


def test_control_case_crlf_that_means_the_same_either_way_is_no_problem():
    files = [("/etc/audit/rules.d/10-a.rules", "# comment\r\n-b 8192\r\n")]
    assert parse_rules_d(files, "x86_64", "gawk", None).problems == []


def test_a_lone_carriage_return_line_is_blank_once_stripped():
    files = [("/etc/audit/rules.d/10-a.rules", "\r\n-a always,exit -F arch=b64 -S bind -k net\r\n")]
    stripped = parse_rules_d(files, "x86_64", "gawk", True)
    assert stripped.problems == [] and [r.syscalls for r in stripped.rules] == [["bind"]]
    kept = parse_rules_d(files, "x86_64", "gawk", False)
    assert kept.rules == [] and len(kept.problems) == 1  # "\r" is an argument auditctl refuses
