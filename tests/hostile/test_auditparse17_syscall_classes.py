"""Hostile judging, audit.socket_logging: a syscall number that is a syscall class to the kernel.

The last 16 bits of a rule's syscall bitmask (numbers 2032 to 2047, AUDIT_BITMASK_SIZE * 32 - 1 -
class) are not syscalls: the kernel's audit_to_entry_common() (kernel/auditfilter.c) clears each
one set and adds every syscall of that class (AUDIT_CLASS_WRITE is 6, so number 2041; its 32-bit
twin is 2040) to the rule.  The write class holds bind ("bind can affect fs object only in one
way...", include/asm-generic/audit_write.h).  auditctl sends ``-S 2041`` as it is (libaudit's
audit_rule_syscall_data takes any number below 2048), so a rules file with
``-a never,exit -F arch=b64 -S 2041`` in front of the socket rules stops every bind being recorded
after the next boot.  lbaudit read the line as a rule for one unnamed syscall, 2041, and passed the
persistent scope.  ``auditctl -l`` shows what the kernel made of it (the class's syscalls by name),
so the loaded scope was judged right, and the two readings of one rule disagreed.

A rule holding a class bit is now read as selecting syscalls lbaudit cannot name: it covers no
call it does not list by itself, and a never rule of that kind counts against every call it may
take away.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, SOCKET_AUDIT_RULES, X32_OFF, snapshot

LIVE_ENV = "LBAUDIT_TEST_LIVE_AUDIT"
WRITE_CLASS, WRITE_CLASS_32 = 2041, 2040  # 2047 - AUDIT_CLASS_WRITE, 2047 - AUDIT_CLASS_WRITE_32


def persistent(rules: str) -> dict[str, Status]:
    """audit.socket_logging's persistent findings for /etc/audit/audit.rules holding ``rules`` (x86_64)."""
    parsed = parse_rules_text(BOOT_BACKLOG_RULES + rules, "/etc/audit/audit.rules", "x86_64")
    assert parsed.problems == []
    facts = AuditFacts(x32=X32_OFF, enabled=1, persistent_rules=parsed.rules, machine="x86_64",
                       boot_backlog_limit=8192, boot_audit="on")
    found = audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams(require_loaded=False))
    return {o.subject: o.status for o in found if o.subject in ("persistent rules b64", "persistent rules b32")}


def loaded(listing: str) -> dict[str, Status]:
    parsed = parse_auditctl_list(listing, "x86_64")
    assert parsed.problems == []
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parsed.rules, machine="x86_64")
    found = audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams(require_persistent=False))
    return {o.subject: o.status for o in found if o.subject in ("loaded rules b64", "loaded rules b32")}


def test_control_case_the_socket_rules_alone_pass():
    assert persistent(SOCKET_AUDIT_RULES) == {"persistent rules b64": Status.PASS,
                                              "persistent rules b32": Status.PASS}


def test_a_never_rule_for_the_write_class_shadows_bind():
    found = persistent(f"-a never,exit -F arch=b64 -S {WRITE_CLASS}\n{SOCKET_AUDIT_RULES}")
    assert found["persistent rules b64"] == Status.FAIL
    found = persistent(f"-a never,exit -F arch=b32 -S {WRITE_CLASS_32}\n{SOCKET_AUDIT_RULES}")
    assert found["persistent rules b32"] == Status.FAIL


def test_the_finding_says_why():
    outcomes = audit_socket_logging.run(snapshot(audit=AuditFacts(
        x32=X32_OFF, enabled=1, machine="x86_64", boot_backlog_limit=8192, boot_audit="on",
        persistent_rules=parse_rules_text(f"-b 8192\n-a never,exit -F arch=b64 -S {WRITE_CLASS}\n{SOCKET_AUDIT_RULES}",
                                          "/etc/audit/audit.rules", "x86_64").rules)),
        SocketLoggingParams(require_loaded=False))
    b64 = next(o for o in outcomes if o.subject == "persistent rules b64")
    assert "syscall class" in b64.message and "/etc/audit/audit.rules:2" in b64.message


def test_an_always_rule_for_a_class_is_not_read_as_covering_what_it_does_not_name():
    # fail closed: which syscalls a class holds is the kernel's, and lbaudit does not hold the tables
    found = persistent(f"-a always,exit -F arch=b64 -S {WRITE_CLASS}\n")
    assert found["persistent rules b64"] == Status.FAIL


def test_a_class_bit_besides_named_syscalls_still_covers_those():
    rules = SOCKET_AUDIT_RULES.replace("-S bind,listen,connect,accept,accept4",
                                       f"-S bind,listen,connect,accept,accept4,{WRITE_CLASS}")
    assert rules != SOCKET_AUDIT_RULES
    assert persistent(rules)["persistent rules b64"] == Status.PASS


def test_the_loaded_reading_of_the_kernel_expansion_agrees():
    # what auditctl -l printed on Linux 6.18 for "-a never,exit -F arch=b64 -S 2041"
    expanded = ("-a never,exit -F arch=b64 -S bind,truncate,ftruncate,rename,mkdir,rmdir,creat,link,unlink,"
                "symlink,mknod,acct,swapon,quotactl,mkdirat,mknodat,unlinkat,renameat,linkat,symlinkat,"
                "fallocate,renameat2\n")
    assert loaded(expanded + SOCKET_AUDIT_RULES)["loaded rules b64"] == Status.FAIL


@pytest.mark.live  # adds a rule to this host's kernel and lists it back
def test_this_kernel_turns_the_class_number_into_bind():
    """Ground truth for the reading above: the kernel lists the rule with bind in it."""
    if os.environ.get(LIVE_ENV) != "1":
        pytest.skip(f"changes the host's audit rules; set {LIVE_ENV}=1 to run it")
    if os.geteuid() != 0:
        pytest.skip("adding an audit rule needs root (CAP_AUDIT_CONTROL)")
    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}"
    # filtered by a pid no process has (pid_max is at most 2**22), so it records nothing meanwhile
    rule = ["-F", "arch=b64", "-S", str(WRITE_CLASS), "-F", "pid=99999999", "-k", key]
    added = subprocess.run(["auditctl", "-a", "always,exit", *rule], capture_output=True, text=True)
    if added.returncode != 0:
        pytest.skip(f"auditctl cannot add a rule here: {added.stderr.strip()}")
    try:
        listing = subprocess.run(["auditctl", "-l"], capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run(["auditctl", "-d", "always,exit", *rule], check=True, capture_output=True)
    mine = [line for line in listing.splitlines() if key in line]
    assert len(mine) == 1
    parsed = parse_auditctl_list(mine[0] + "\n", "x86_64")
    assert parsed.problems == [] and "bind" in parsed.rules[0].syscalls
    assert key not in subprocess.run(["auditctl", "-l"], capture_output=True, text=True).stdout
