"""The NETLINK_AUDIT client: captured kernel replies against auditctl's view of the same state,
rules that must not be rendered, and (as root, opt-in) rules added to this host's kernel."""

from __future__ import annotations

import errno
import os
import struct
import uuid
from pathlib import Path

import pytest

from auditor.collect import CollectContext, audit_netlink
from auditor.collect.audit import RUNTIME_NETLINK, collect_audit, loaded_from_kernel_rules
from auditor.collect.audit_netlink import (
    AUDIT_GET,
    KernelRule,
    RenderError,
    parse_rule,
    parse_rules_datagram,
    parse_status,
    parse_status_datagram,
    render_rule,
)
from auditor.collect.netlink import NLMSG_ERROR, NetlinkError
from auditor.collect.programs import find_executable, run_command
from auditor.domain.audit_rules import parse_auditctl_list, parse_auditctl_status, semantic_key
from tests.audit_kernel import (
    ARCH_AARCH64,
    ARCH_I386,
    ARCH_X86_64,
    EQUAL,
    EXCLUDE,
    GREATER_OR_EQUAL,
    NEVER,
    NOT_EQUAL,
    TASK,
    encode_rule,
    message,
    numbered,
    reply,
)
from tests.privileges import require_root

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "netlink"
LIVE_ENV = "LBAUDIT_TEST_LIVE_AUDIT"
LIST_SEQ, STATUS_SEQ = 4343, 4344  # the sequence numbers the captures were requested with


def _datagrams(name: str) -> list[bytes]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]


def _kernel_rules(datagrams: list[bytes], seq: int) -> list[KernelRule]:
    rules: list[KernelRule] = []
    for index, gram in enumerate(datagrams):
        found, done = parse_rules_datagram(gram, seq)
        rules.extend(found)
        assert done == (index == len(datagrams) - 1)
    return rules


def _render(*fields, **kw) -> str:
    return render_rule(parse_rule(encode_rule(*fields, **kw)), "x86_64")


# ---------------------------------------------------------------- captured from Linux 6.18 x86_64


def test_captured_status_is_what_auditctl_s_printed():
    (gram,) = _datagrams("audit_status.hex")
    status = parse_status_datagram(gram, STATUS_SEQ)
    printed, problems = parse_auditctl_status((FIXTURES / "audit_status.auditctl-s").read_text())
    assert problems == []
    for name in ("enabled", "failure", "pid", "rate_limit", "backlog_limit", "lost", "backlog",
                 "backlog_wait_time", "backlog_wait_time_actual"):
        assert status[name] == int(printed[name]), name


def test_captured_rules_render_as_auditctl_text_with_syscall_numbers():
    rules = _kernel_rules(_datagrams("audit_list_rules.hex"), LIST_SEQ)
    key = "-F key=lbaudit-capture"
    assert [render_rule(r, "x86_64") for r in rules] == [
        f"-a always,exit -F arch=b64 -S 42 -S 43 -S 49 -S 288 -F auid>=1000 -F auid!=4294967295 {key}",
        f"-a always,exit -F arch=b32 -S 361 -S 362 -S 364 {key}",
        f"-a always,exit -F arch=b32 -S 102 -F a0=0x5 {key}",
        f"-a always,exit -S all -F path=/tmp/lbnl/x -F perm=wa {key}",
        f"-a never,exit -F arch=b64 -S 288 -F exit=-13 -F success=0 {key} -F key=second",
        f"-a always,exit -F arch=b64 -S 59 -C uid!=euid {key}",
        f"-a always,exit -F arch=b64 -S all -F pid=5 {key}",
    ]


def test_captured_rules_mean_what_auditctl_l_printed():
    rules, problems = loaded_from_kernel_rules(_kernel_rules(_datagrams("audit_list_rules.hex"), LIST_SEQ), "x86_64")
    assert problems == []
    printed = parse_auditctl_list(numbered((FIXTURES / "audit_list_rules.auditctl-l").read_text()), "x86_64")
    assert printed.problems == []
    assert [semantic_key(r) for r in rules] == [semantic_key(r) for r in printed.rules]
    assert [r.kind for r in rules] == ["syscall"] * 3 + ["watch"] + ["syscall"] * 3
    assert rules[0].origin == "netlink AUDIT_LIST_RULES:1"


# ---------------------------------------------------------------- built replies


def test_status_of_an_older_kernel_is_the_prefix_it_sends():
    assert parse_status(struct.pack("=8I", 0, 2, 1, 812, 0, 8192, 3, 0)) == {
        "mask": 0, "enabled": 2, "failure": 1, "pid": 812, "rate_limit": 0, "backlog_limit": 8192, "lost": 3,
        "backlog": 0}
    with pytest.raises(NetlinkError) as raised:
        parse_status(b"\x00\x00\x00")
    assert raised.value.errno == errno.EBADMSG


def test_refusal_is_the_kernel_errno_and_an_ack_or_stale_reply_is_skipped():
    refused = message(NLMSG_ERROR, struct.pack("=i", -errno.EPERM) + bytes(16), seq=5, flags=0)
    with pytest.raises(NetlinkError) as raised:
        parse_status_datagram(refused, 5)
    assert raised.value.errno == errno.EPERM
    assert audit_netlink.describe_error(raised.value).startswith("must be root")
    ack = message(NLMSG_ERROR, struct.pack("=i", 0) + bytes(16), seq=5, flags=0)
    stale = message(AUDIT_GET, struct.pack("=2I", 0, 1), seq=4)
    assert parse_status_datagram(ack + stale, 5) is None
    assert parse_status_datagram(message(AUDIT_GET, struct.pack("=2I", 0, 1), seq=5), 5)["enabled"] == 1


def test_task_exclude_and_multi_key_rules():
    assert _render(("uid", EQUAL, 40000), rule_list=TASK, action=NEVER) == "-a never,task -F uid=40000"
    assert _render(("msgtype", EQUAL, 1300), rule_list=EXCLUDE) == "-a always,exclude -F msgtype=1300"
    assert _render(("arch", EQUAL, ARCH_I386), ("auid", NOT_EQUAL, 0xFFFFFFFF), ("key", EQUAL, b"a\x01b"),
                   syscalls=(361,)) == "-a always,exit -F arch=b32 -S 361 -F auid!=4294967295 -F key=a -F key=b"
    # a machine without a 64-bit ABI word for this value
    assert render_rule(parse_rule(encode_rule(("arch", EQUAL, ARCH_I386), syscalls=(361,))), "i686") == \
        "-a always,exit -F arch=b32 -S 361"


@pytest.mark.parametrize("fields, kw, reason", [
    ((("arch", EQUAL, ARCH_X86_64),), {"syscalls": ()}, "selects no syscall at all"),
    ((("arch", EQUAL, ARCH_AARCH64),), {"syscalls": (49,)}, "arch 0xc00000b7 is neither b64 nor b32"),
    ((("arch", GREATER_OR_EQUAL | 0x1, ARCH_X86_64),), {"syscalls": (49,)}, "unknown operator 0x60000001"),
    ((("key", EQUAL, b"a b"),), {"syscalls": (49,)}, "holds white space"),
    ((("path", EQUAL, b"/tmp/\n-a"),), {"all_syscalls": True}, "holds white space or control characters"),
    ((("obj_user", EQUAL, b"\xff\xfe"),), {"syscalls": (49,)}, "is not UTF-8 text"),
    ((("perm", EQUAL, 0x10),), {"all_syscalls": True}, "not a combination of r, w, x, a"),
    ((("field_compare", EQUAL, 99),), {"syscalls": (49,)}, "unknown field comparison 99"),
    ((), {"syscalls": (49,), "action": 1}, "unknown action 1"),
    ((), {"syscalls": (49,), "rule_list": 3}, "unknown filter list 3"),
])
def test_what_auditctl_text_cannot_carry_is_refused(fields, kw, reason):
    with pytest.raises(RenderError, match=reason.replace("(", r"\(")):
        _render(*fields, **kw)


def test_unknown_field_number_is_refused():
    data = bytearray(encode_rule(("pid", EQUAL, 5), syscalls=(49,)))
    struct.pack_into("=I", data, audit_netlink.FIELDS_OFFSET, 999)
    with pytest.raises(RenderError, match="unknown field number 999"):
        render_rule(parse_rule(bytes(data)), "x86_64")


def test_truncated_or_inconsistent_rules_are_malformed_replies():
    good = encode_rule(("key", EQUAL, b"net"), syscalls=(49,))
    for bad in (good[:-1], good[:100], good[:-3] + b""):
        with pytest.raises(NetlinkError) as raised:
            parse_rule(bad)
        assert raised.value.errno == errno.EBADMSG
    claims_more = bytearray(good)
    struct.pack_into("=I", claims_more, audit_netlink.VALUES_OFFSET, 4)  # key of 4 bytes in a 3-byte buffer
    with pytest.raises(NetlinkError, match="runs past the buffer"):
        parse_rule(bytes(claims_more))
    (rules, done) = parse_rules_datagram(b"".join(reply(good, seq=3)), 3)
    assert done and len(rules) == 1


def test_grammar_refusals_of_rendered_rules_are_problems_with_the_text():
    # The kernel has an entry list; the rule grammar has not (auditctl refuses it since 2.x).
    rules, problems = loaded_from_kernel_rules(
        [parse_rule(encode_rule(syscalls=(49,), rule_list=2, action=NEVER))], "x86_64")
    assert rules == []
    assert [str(p) for p in problems] == [
        "netlink AUDIT_LIST_RULES:1: '-a never,entry -S 49': Append rule - bad keyword never,entry"
    ]


# ---------------------------------------------------------------- this host's kernel


def _auditctl(*args: str):
    return run_command(["auditctl", *args], timeout=10)


def _kernel_audit_or_skip() -> None:
    try:
        audit_netlink.get_status(5)
    except OSError as exc:
        pytest.skip(f"kernel audit is not readable here: {audit_netlink.describe_error(exc)}")


@pytest.mark.live
def test_live_collect_without_auditctl_reads_the_kernel(tmp_path):
    require_root()
    _kernel_audit_or_skip()
    facts, gaps = collect_audit(CollectContext(program_path=(str(tmp_path),)))
    assert facts.runtime_source == RUNTIME_NETLINK
    assert facts.enabled in (0, 1, 2) and facts.loaded_rules is not None
    assert not [g for g in gaps if g.field in ("enabled", "loaded_rules")]
    if find_executable("auditctl"):
        printed, _ = parse_auditctl_status(_auditctl("-s").stdout)
        assert facts.enabled == int(printed["enabled"])


@pytest.mark.live
@pytest.mark.integration  # changes the kernel audit rules (live: the host xdist group runs it alone)
def test_live_rules_read_over_netlink_match_auditctl(tmp_path):
    """Adds five rules with a unique key, reads them both ways, and always deletes them again."""
    require_root()
    if os.environ.get(LIVE_ENV) != "1":
        pytest.skip(f"changes the host's audit rules; set {LIVE_ENV}=1 to run it")
    if not find_executable("auditctl"):
        pytest.skip("auditctl is not installed: nothing to compare the netlink reading with")
    _kernel_audit_or_skip()
    if os.uname().machine != "x86_64":
        pytest.skip("the comparison maps x86 syscall names to numbers")
    status, _ = parse_auditctl_status(_auditctl("-s").stdout)
    if status.get("enabled") == "2":
        pytest.skip("the kernel audit configuration is locked (enabled 2): no rule can be added until reboot")
    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}"
    watched = tmp_path / "x"
    added_rules = [
        ["-a", "always,exit", "-F", "arch=b64", "-S", "bind,connect", "-F", "auid>=1000", "-k", key],
        ["-a", "always,exit", "-F", "arch=b32", "-S", "bind,connect,accept4", "-k", key],
        ["-a", "always,exit", "-F", "arch=b32", "-S", "socketcall", "-F", "a0=2", "-k", key],
        ["-w", str(watched), "-p", "wa", "-k", key],
        ["-a", "never,exit", "-F", "arch=b64", "-S", "accept4", "-F", "exit=-EACCES", "-F", "uid!=0", "-k", key],
    ]
    try:
        for rule in added_rules:
            added = _auditctl(*rule)
            assert added.ok, (rule, added.reason)
        kernel_status = audit_netlink.get_status(5)
        kernel_rules, problems = loaded_from_kernel_rules(audit_netlink.list_rules(5), "x86_64")
        listed = _auditctl("-l")
        printed_status, _ = parse_auditctl_status(_auditctl("-s").stdout)
    finally:
        removed = _auditctl("-D", "-k", key)
    assert removed.ok, removed.reason
    assert key not in _auditctl("-l").stdout
    assert listed.ok, listed.reason
    for name in ("enabled", "failure", "rate_limit", "backlog_limit", "backlog_wait_time"):
        assert kernel_status[name] == int(printed_status[name]), name

    mine = [r for r in kernel_rules if key in r.keys]
    assert not [p for p in problems if key in str(p)]
    printed = parse_auditctl_list(numbered("\n".join(line for line in listed.stdout.splitlines() if key in line)),
                                  os.uname().machine)
    assert printed.problems == []
    assert len(mine) == len(added_rules)
    assert [semantic_key(r) for r in mine] == [semantic_key(r) for r in printed.rules]
    assert mine[3].kind == "watch" and mine[3].watch == str(watched) and mine[3].permissions == "wa"
    assert mine[0].syscalls == ["bind", "connect"] and [(f.name, f.op, f.value) for f in mine[0].fields] == [
        ("auid", ">=", "1000")]
