"""Hostile: socket calls made through io_uring, which no syscall rule records.

The defect: since Linux 5.5 (IORING_OP_CONNECT, IORING_OP_ACCEPT) and 6.11 (IORING_OP_BIND,
IORING_OP_LISTEN) a process binds, listens, connects and accepts through io_uring without making
those syscalls, so ``-S bind,connect,accept`` rules never see it.  audit.socket_logging passed
every scope on syscall rules alone, on a kernel where every process may use io_uring
(kernel.io_uring_disabled 0): the host was ``compliant`` while io_uring's socket operations went
unrecorded.  It now judges, per scope, the io_uring audit rules (or io_uring being absent or
disabled on the running kernel), and says not_reviewed when that state cannot be seen (an offline
image, a snapshot written before lbaudit read it).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import struct
import uuid
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.netlink import NLMSGHDR
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.model.facts import AuditFacts, Gap, GapKind, IoUringBoot, IoUringState, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.audit_kernel import EQUAL, encode_rule
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot, sysctl_facts
from tests.privileges import require_root

ROOTS = Path(__file__).resolve().parents[1] / "fixtures" / "roots"
RULES_FILE = "/etc/audit/rules.d/10-socket.rules"
URING_RULE = "-a always,io_uring -S bind,listen,connect,accept -k net"
OPEN = IoUringState(present=True, disabled=0, group=-1, source="/proc/sys/kernel/io_uring_disabled")
LIVE_ENV = "LBAUDIT_TEST_LIVE_AUDIT"
AFTER_SOCKET_RULES = len(SOCKET_AUDIT_RULES.splitlines()) + 1  # the line number of a rule appended to them
NOT_SET = IoUringBoot()  # no sysctl.d file sets kernel.io_uring_disabled
OFF_AT_BOOT = IoUringBoot(value="2", origin="/etc/sysctl.d/60-io_uring.conf:1")


def loaded(text: str) -> list:
    parsed = parse_auditctl_list(text, "x86_64")
    assert parsed.problems == []
    return parsed.rules


def server_only_fastopen() -> SysctlFacts:
    """net.ipv4.tcp_fastopen 2, running and at boot: TCP Fast Open cannot connect, so io_uring's sends
    (whose connects no rule records: tests/hostile/test_auditlog_fastopen.py) are not what is judged here."""
    values = sysctl_facts(net__ipv4__tcp_fastopen="2")
    boot = {"net.ipv4.tcp_fastopen": SysctlSetting(value="2", origin="/etc/sysctl.d/60-tfo.conf:1")}
    return values.model_copy(update={"persistent": boot})


def judge(state: IoUringState | None, rules: str = SOCKET_AUDIT_RULES, kernel: str = "6.12.0",
          gaps: list[Gap] | None = None, boot: IoUringBoot | None = NOT_SET, **params) -> dict:
    persistent = parse_rules_text(SOCKET_AUDIT_RULES, RULES_FILE, "x86_64")
    assert persistent.problems == []
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=loaded(rules), persistent_rules=persistent.rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", io_uring=state, io_uring_boot=boot,
                       **running_auditd())
    snap = snapshot(audit=facts, gaps=gaps, sysctl=server_only_fastopen())
    snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={"kernel": kernel})})
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(**params))}


# ---------------------------------------------------------------- judged on facts


def test_syscall_rules_alone_fail_where_every_process_may_use_io_uring():
    found = judge(OPEN)
    assert (found["loaded rules b64"].status, found["loaded rules b32"].status) == (Status.PASS, Status.PASS)
    uring = found["loaded rules io_uring"]
    assert uring.status == Status.FAIL
    assert uring.message == (
        "loaded rules io_uring: 4 of 4 io_uring operations not audited: no io_uring rule: accept, connect, bind, listen; "
        "io_uring is open to every process, which can bind, listen, connect and accept through it without "
        "the syscalls the syscall rules record")
    assert found["persistent rules io_uring"].status == Status.FAIL


def test_io_uring_rules_covering_the_operations_pass():
    found = judge(OPEN, rules=SOCKET_AUDIT_RULES + URING_RULE + "\n")
    assert found["loaded rules io_uring"].status == Status.PASS
    assert found["loaded rules io_uring"].observed["covered"] == ["accept", "connect", "bind", "listen"]
    assert found["persistent rules io_uring"].status == Status.FAIL  # rules.d holds no io_uring rule
    # a policy that asks for listen too needs IORING_OP_LISTEN covered
    with_listen = judge(OPEN, rules=SOCKET_AUDIT_RULES + "-a always,io_uring -S bind,connect,accept\n",
                        syscalls=["bind", "listen", "connect", "accept"])
    assert with_listen["loaded rules io_uring"].status == Status.FAIL
    assert "no io_uring rule: listen" in with_listen["loaded rules io_uring"].message


def test_a_never_io_uring_rule_first_shadows_and_a_filtered_one_narrows():
    shadowed = judge(OPEN, rules=SOCKET_AUDIT_RULES + "-a never,io_uring -S all\n" + URING_RULE + "\n")
    assert shadowed["loaded rules io_uring"].status == Status.FAIL
    assert f"shadowed by auditctl -l:{AFTER_SOCKET_RULES} (-a never,io_uring -S all)" in shadowed["loaded rules io_uring"].message
    narrowed = judge(OPEN, rules=SOCKET_AUDIT_RULES + "-a always,io_uring -S connect,accept,bind,listen "
                                                      "-F auid>=1000\n")
    assert narrowed["loaded rules io_uring"].status == Status.FAIL
    accepted = judge(OPEN, rules=SOCKET_AUDIT_RULES + "-a always,io_uring -S connect,accept,bind,listen "
                                                      "-F auid>=1000\n", accepted_filters=["auid>=1000"])
    assert accepted["loaded rules io_uring"].status == Status.PASS


def test_only_the_operations_this_kernel_has_are_required():
    # Linux 6.8: IORING_OP_BIND and IORING_OP_LISTEN do not exist yet, connect and accept do
    found = judge(OPEN, rules=SOCKET_AUDIT_RULES + "-a always,io_uring -S connect,accept\n", kernel="6.8.0-45-generic")
    assert found["loaded rules io_uring"].status == Status.PASS
    assert found["loaded rules io_uring"].observed["covered"] == ["accept", "connect"]


def test_group_restricted_io_uring_still_needs_the_rules():
    group = IoUringState(present=True, disabled=1, group=1001, source="/proc/sys/kernel/io_uring_disabled")
    found = judge(group)
    assert found["loaded rules io_uring"].status == Status.FAIL
    assert "io_uring is open to members of kernel.io_uring_group (gid 1001) and processes with CAP_SYS_ADMIN" \
        in found["loaded rules io_uring"].message


def test_disabled_or_absent_io_uring_passes_without_rules():
    disabled = IoUringState(present=True, disabled=2, group=-1, source="/proc/sys/kernel/io_uring_disabled",
                           holders=[])
    assert judge(disabled)["loaded rules io_uring"].status == Status.PASS
    # disabled now, but nothing disables it at the next boot
    reopened = judge(disabled)["persistent rules io_uring"]
    assert reopened.status == Status.FAIL
    assert ("kernel.io_uring_disabled is 2 now, but after the next boot no file of the boot's sysctl configuration "
            "sets kernel.io_uring_disabled (the kernel's default, 0, applies), so io_uring is open again") \
        in reopened.message
    assert judge(disabled, boot=OFF_AT_BOOT)["persistent rules io_uring"].status == Status.PASS
    assert judge(OPEN, boot=OFF_AT_BOOT)["persistent rules io_uring"].status == Status.PASS
    assert judge(disabled, boot=None)["persistent rules io_uring"].status == Status.NOT_REVIEWED  # sysctl.d unread
    absent = IoUringState(present=False, source="/proc/kallsyms")
    assert judge(absent, kernel="5.15.0")["loaded rules io_uring"].status == Status.PASS


def test_kernel_before_5_16_with_io_uring_cannot_audit_it():
    old = IoUringState(present=True, source="/proc/kallsyms")  # 5.10: io_uring, no io_uring_disabled
    found = judge(old, kernel="5.10.0-30-amd64")
    assert found["loaded rules io_uring"].status == Status.FAIL
    assert "the kernel audits io_uring operations only from Linux 5.16" in found["loaded rules io_uring"].message
    assert judge(old, kernel="5.4.0")["loaded rules io_uring"].status == Status.PASS  # no socket op before 5.5


def test_snapshot_without_the_io_uring_state_is_not_reviewed_never_passed():
    found = judge(None)  # a snapshot written by lbaudit before it read io_uring
    assert found["loaded rules io_uring"].status == Status.NOT_REVIEWED
    assert "not recorded in this snapshot" in found["loaded rules io_uring"].reason
    gap = Gap(section="audit", field="io_uring", reason="/proc/kallsyms: permission denied", kind=GapKind.UNREADABLE)
    unread = judge(None, gaps=[gap])
    assert unread["loaded rules io_uring"].status == Status.NOT_REVIEWED
    assert "/proc/kallsyms: permission denied" in unread["loaded rules io_uring"].reason
    # covering rules pass whatever the kernel's io_uring state
    assert judge(None, rules=SOCKET_AUDIT_RULES + URING_RULE + "\n")["loaded rules io_uring"].status == Status.PASS


def test_io_uring_rule_printed_by_an_auditctl_before_3_1_is_not_reviewed_not_failed():
    """auditctl 3.0.9 (Debian 12) lists a loaded io_uring rule as the list "(null)" with the op
    numbers as x86_64 syscall names (captured on this host from a rule for accept, connect, bind,
    listen): the rule is there, unreadable, so the io_uring scope is neither passed nor failed."""
    printed = "-a always,(null) -S rt_sigaction,ioctl,clone,fork -F key=lbaudit-probe\n"
    parsed = parse_auditctl_list(SOCKET_AUDIT_RULES + printed, "x86_64")
    assert [str(p) for p in parsed.problems] == [f"auditctl -l:{AFTER_SOCKET_RULES}: Append rule - bad keyword always,(null)"]
    gaps = [Gap(section="audit", field="loaded_rules/problems", reason=str(p)) for p in parsed.problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=parsed.rules, io_uring=OPEN, **running_auditd())
    found = {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts, gaps=gaps), SocketLoggingParams())}
    assert found["loaded rules io_uring"].status == Status.NOT_REVIEWED
    assert "bad keyword always,(null)" in found["loaded rules io_uring"].reason
    assert found["loaded rules b64"].status == Status.NOT_REVIEWED


def test_policy_can_leave_io_uring_out_or_ask_for_no_call_io_uring_makes():
    assert "loaded rules io_uring" not in judge(OPEN, require_io_uring=False)
    assert "loaded rules io_uring" not in judge(OPEN, syscalls=["sendto"])


# ---------------------------------------------------------------- real fixture roots


def test_offline_image_is_not_reviewed_for_io_uring_not_passed():
    snap = collect_root(ROOTS / "audit-rulesd", frozenset({"audit"}))
    assert snap.facts.audit.io_uring is None
    assert [g.kind for g in snap.gaps_for("audit", "io_uring")] == [GapKind.NOT_APPLICABLE]
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    assert found["loaded rules io_uring"].status == Status.NOT_APPLICABLE
    assert found["persistent rules io_uring"].status == Status.NOT_REVIEWED


def test_image_whose_rules_d_holds_an_io_uring_rule_names_the_auditctl_version_doubt(tmp_path):
    root = tmp_path / "image"
    shutil.copytree(ROOTS / "audit-rulesd", root, symlinks=True)
    (root / "etc/audit/rules.d/9-never.rules").unlink()  # its chronyd never rule fails b64 on its own
    (root / "etc/audit/rules.d/30-net.rules").write_text(SOCKET_AUDIT_RULES)  # every way of making the calls
    (root / "etc/audit/rules.d/40-uring.rules").write_text(URING_RULE + "\n")
    snap = collect_root(root, frozenset({"audit"}))
    problems = [g.reason for g in snap.gaps_for("audit", "persistent_rules/problems")]
    assert len(problems) == 1 and "auditctl before 3.1 refuses it" in problems[0]
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    # covered as 3.1 reads it, but a boot whose auditctl is 3.0 stops loading there: not vouched for
    assert found["persistent rules io_uring"].status == Status.NOT_REVIEWED
    assert "auditctl before 3.1 refuses it" in found["persistent rules io_uring"].reason
    assert found["persistent rules b64"].status == Status.NOT_REVIEWED


# ---------------------------------------------------------------- live


@pytest.mark.live
def test_live_io_uring_state_is_read_and_judged():
    require_root()
    facts, gaps = collect_audit(CollectContext(sections=frozenset({"audit"})))
    state = facts.io_uring
    sysctl = Path("/proc/sys/kernel/io_uring_disabled")
    if sysctl.exists():
        assert state is not None and state.present is True and state.disabled == int(sysctl.read_text())
    else:
        assert state is not None and state.source == "/proc/kallsyms"
    uring_rules = [r for r in facts.loaded_rules or [] if r.rule_list == "io_uring"]
    if state.disabled != 2 and state.present and not uring_rules and facts.loaded_rules is not None:
        snap = snapshot(audit=facts, gaps=gaps)
        snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={"kernel": os.uname().release})})
        found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
        assert found["loaded rules io_uring"].status == Status.FAIL


AUDIT_ADD_RULE, AUDIT_DEL_RULE, NLMSG_ERROR = 1011, 1012, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
IO_URING_LIST = 7


def _audit_request(msg_type: int, payload: bytes) -> None:
    """Send one rule change to the kernel and raise OSError with its errno unless it acks."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9) as sock:  # NETLINK_AUDIT
        sock.settimeout(5)
        sock.bind((0, 0))
        length = NLMSGHDR.size + len(payload)
        sock.send(NLMSGHDR.pack(length, msg_type, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + payload + bytes(-length % 4))
        while True:
            data = sock.recv(65536)
            _, kind, _, seq, _ = NLMSGHDR.unpack_from(data)
            if kind == NLMSG_ERROR and seq == 1:
                (code,) = struct.unpack_from("=i", data, NLMSGHDR.size)
                if code:
                    raise OSError(-code, os.strerror(-code))
                return


@pytest.mark.live
@pytest.mark.integration  # changes the kernel audit rules (live: the host xdist group runs it alone)
def test_live_io_uring_rule_loaded_in_the_kernel_is_read_and_covers(tmp_path):
    """Loads a real io_uring audit rule (over netlink: this host's auditctl may predate 3.1, which
    refuses the io_uring list), reads it back as lbaudit does without auditctl, and removes it."""
    require_root()
    if os.environ.get(LIVE_ENV) != "1":
        pytest.skip(f"changes the host's audit rules; set {LIVE_ENV}=1 to run it")
    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}".encode()
    rule = encode_rule(("key", EQUAL, key), rule_list=IO_URING_LIST, syscalls=(13, 16, 56, 57))
    try:
        _audit_request(AUDIT_ADD_RULE, rule)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.EPROTONOSUPPORT, errno.ECONNREFUSED):
            pytest.skip(f"this kernel does not take io_uring audit rules: {exc}")
        raise
    try:
        # auditctl hidden (an empty program path): the rules come from AUDIT_LIST_RULES
        facts, gaps = collect_audit(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    finally:
        _audit_request(AUDIT_DEL_RULE, rule)
    from auditor.collect import audit_netlink
    assert key.decode() not in str([r.fields for r in audit_netlink.list_rules(5)])  # removed again
    mine = [r for r in facts.loaded_rules or [] if key.decode() in r.keys]
    assert [(r.rule_list, r.action, r.syscall_numbers) for r in mine] == [("io_uring", "always", [13, 16, 56, 57])]
    snap = snapshot(audit=facts.model_copy(update={"loaded_rules": mine}), gaps=[], sysctl=server_only_fastopen())
    snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={"kernel": os.uname().release})})
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    assert found["loaded rules io_uring"].status == Status.PASS
    assert found["loaded rules b64"].status == Status.FAIL  # the io_uring rule records no syscall
