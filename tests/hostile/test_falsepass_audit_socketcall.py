"""Hostile corpus, false passes: a socket call is audited only when every way of making it is.

A 32-bit program on x86_64 binds with i386 ``bind`` (361, since Linux 4.3) or with ``socketcall``
(102, a0=2): the program picks, not the rules.  lbaudit counted a b32 call as audited when *either*
way was, so rules for one way (only ``-S socketcall``, or only the direct syscalls, or a never rule
that takes socketcall's bind away) passed while the other way bound sockets unrecorded.  s390x and
ppc64 have socketcall on their 64-bit ABI too.  Each case builds an offline image (rules.d and the
image's auditctl, whose ELF header says the machine) and asserts the exact status of the
``audit.socket_logging`` persistent findings.
"""

from __future__ import annotations

import struct

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.model.result import Status
from tests.factories import ELF_X86_64
from tests.hostile.test_audit_rules import NET, image, persistent

PASS, FAIL = Status.PASS, Status.FAIL
B64 = "".join(line + "\n" for line in NET.splitlines() if "arch=b64" in line)  # x86_64 has no socketcall
# ELFCLASS64, big-endian, EM_S390 (22): the auditctl of an s390x image
ELF_S390X = b"\x7fELF" + bytes([2, 2, 1, 0]) + bytes(8) + struct.pack(">HHI", 2, 22, 1)


def b32(tmp_path, rules: str):
    snap = image(tmp_path, {"30-net.rules": rules})
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}["persistent rules b32"]


def test_control_case_both_ways_audited_pass(tmp_path):
    assert persistent(image(tmp_path, {"30-net.rules": NET})) == (PASS, PASS)


def test_socketcall_alone_leaves_the_direct_i386_syscalls_unrecorded(tmp_path):
    outcome = b32(tmp_path, B64 + "-a always,exit -F arch=b32 -S socketcall -k net\n")
    assert outcome.status == FAIL
    assert outcome.observed["missing"] == ["bind", "connect", "accept4", "listen"]  # i386 has no accept syscall
    assert outcome.observed["partly_covered"]["bind"] == ["socketcall a0=2 (bind)"]
    assert "no rule: bind, connect, accept4, listen" in outcome.message


def test_direct_syscalls_alone_leave_socketcall_unrecorded(tmp_path):
    outcome = b32(tmp_path, B64 + "-a always,exit -F arch=b32 -S bind,listen,connect,accept4 -k net\n"
                            "-a always,exit -F arch=b32 -S socketcall -F a0=5 -k net\n")
    assert outcome.status == FAIL
    assert outcome.observed["missing"] == ["bind", "connect", "accept4", "listen"]
    assert outcome.observed["partly_covered"]["bind"] == ["bind"]
    assert sorted(outcome.observed["covered"]) == ["accept"]  # only through socketcall on i386


def test_a_never_rule_on_socketcalls_bind_is_not_made_up_for_by_the_direct_syscall(tmp_path):
    for never in ("-F a0=2", "-F a0=0x2", "-F a0&2", "-F a0!=1"):
        outcome = b32(tmp_path / never.replace(" ", "_"),
                      f"-a never,exit -F arch=b32 -S socketcall {never}\n" + NET)
        assert outcome.status == FAIL, never
        assert [s["via"] for s in outcome.observed["shadowed"]][:1] == ["socketcall a0=2 (bind)"], never
        assert "bind" not in outcome.observed["covered"], never


def test_s390x_64_bit_programs_have_socketcall_too(tmp_path):
    # s390x has no accept syscall on either ABI: socketcall (a0=5) is its only way
    # (listen with bind; the sends that connect with TCP Fast Open with connect)
    direct = "-a always,exit -F arch=b64 -S bind,listen,connect,accept4,sendto,sendmsg,sendmmsg -k net\n" \
             "-a always,exit -F arch=b32 -S bind,listen,connect,accept4,sendto,sendmsg,sendmmsg,socketcall -k net\n"
    snap = image(tmp_path, {"30-net.rules": direct}, auditctl=ELF_S390X)
    assert snap.facts.audit.machine == "s390x" and snap.facts.audit.persistent_rules
    b64 = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}["persistent rules b64"]
    assert b64.status == FAIL and b64.observed["missing"] == ["bind", "connect", "accept", "accept4", "listen"]
    assert "no rule: socketcall a0=2 (bind)" in b64.message
    both = image(tmp_path / "both", {"30-net.rules": direct + "-a always,exit -F arch=b64 -S socketcall -k net\n"},
                 auditctl=ELF_S390X)
    assert persistent(both) == (PASS, PASS)


def test_x86_64_programs_have_no_socketcall_so_the_direct_rule_is_all_b64_needs(tmp_path):
    assert image(tmp_path, {"30-net.rules": NET}, auditctl=ELF_X86_64).facts.audit.machine == "x86_64"
    assert persistent(image(tmp_path / "b64", {"30-net.rules": NET}))[0] == PASS
