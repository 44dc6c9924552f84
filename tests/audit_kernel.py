"""Build what the kernel sends over NETLINK_AUDIT, for tests of the audit netlink client.

``encode_rule`` lays out a ``struct audit_rule_data`` the way the kernel's audit_krule_to_data()
does (include/uapi/linux/audit.h); ``reply`` wraps payloads in netlink headers.  The captured
replies in tests/fixtures/netlink/audit_*.hex check that these layouts are the kernel's.
"""

from __future__ import annotations

import re
import struct

from auditor.collect.audit_netlink import AUDIT_LIST_RULES, FIELD_NAMES
from auditor.collect.netlink import NLM_F_MULTI, NLMSG_DONE, NLMSGHDR

FIELD = {name: number for number, name in FIELD_NAMES.items()}
EQUAL, NOT_EQUAL, GREATER_OR_EQUAL = 0x40000000, 0x30000000, 0x60000000
BIT_MASK = 0x08000000  # AUDIT_BIT_MASK, auditctl's "&"
EXIT, TASK, EXCLUDE = 4, 1, 5
NEVER, ALWAYS = 0, 2
ARCH_X86_64, ARCH_I386, ARCH_AARCH64 = 0xC000003E, 0x40000003, 0xC00000B7
STRING_FIELDS = {"subj_user", "subj_role", "subj_type", "subj_sen", "subj_clr", "obj_user", "obj_role", "obj_type",
                 "obj_lev_low", "obj_lev_high", "path", "dir", "exe", "key"}

# Syscall numbers of the calls the tests use (arch/x86/entry/syscalls/syscall_{64,32}.tbl), to put
# auditctl -l output (names) and netlink rules (numbers) in one form before comparing them.
SYSCALL_NUMBERS = {
    "b64": {"connect": 42, "accept": 43, "sendto": 44, "sendmsg": 46, "bind": 49, "listen": 50, "execve": 59,
            "accept4": 288, "sendmmsg": 307},
    "b32": {"socketcall": 102, "sendmmsg": 345, "bind": 361, "connect": 362, "listen": 363, "accept4": 364,
            "sendto": 369, "sendmsg": 370},
}


def encode_rule(
    *fields: tuple[str, int, int | bytes],
    rule_list: int = EXIT,
    action: int = ALWAYS,
    syscalls: tuple[int, ...] = (),
    all_syscalls: bool = False,
) -> bytes:
    """``struct audit_rule_data`` with ``fields`` as (name, operator, number or string bytes)."""
    mask = [0] * 64
    if all_syscalls:  # as the kernel lists "-S all": its 16 class bits at the top are cleared
        mask = [0xFFFFFFFF] * 63 + [0x0000FFFF]
    for number in syscalls:
        mask[number // 32] |= 1 << (number % 32)
    types, ops, values, buf = [], [], [], b""
    for name, op, value in fields:
        types.append(FIELD[name])
        ops.append(op)
        if isinstance(value, bytes):
            values.append(len(value))
            buf += value
        else:
            values.append(value & 0xFFFFFFFF)
    pad = [0] * (64 - len(fields))
    return (struct.pack("=III", rule_list, action, len(fields)) + struct.pack("=64I", *mask)
            + struct.pack("=64I", *types, *pad) + struct.pack("=64I", *values, *pad)
            + struct.pack("=64I", *ops, *pad) + struct.pack("=I", len(buf)) + buf)


def message(msg_type: int, payload: bytes, seq: int, flags: int = NLM_F_MULTI) -> bytes:
    length = NLMSGHDR.size + len(payload)
    return NLMSGHDR.pack(length, msg_type, flags, seq, 0) + payload + bytes(-length % 4)


def reply(*rules: bytes, seq: int = 7) -> list[bytes]:
    """An AUDIT_LIST_RULES reply as the kernel sends it: one datagram per rule, then NLMSG_DONE."""
    return [message(AUDIT_LIST_RULES, rule, seq) for rule in rules] + [message(NLMSG_DONE, b"", seq)]


def numbered(text: str) -> str:
    """auditctl -l text with its x86 syscall names replaced by numbers (one -S per number)."""
    out = []
    for line in text.splitlines():
        arch = re.search(r"-F arch=(b64|b32)", line)
        table = SYSCALL_NUMBERS[arch.group(1)] if arch else {}

        def numbers(match: re.Match) -> str:
            names = match.group(1).split(",")
            if names == ["all"]:
                return "-S all"
            return " ".join(f"-S {table.get(n, n)}" for n in names)  # noqa: B023 - called by re.sub within this iteration

        out.append(re.sub(r"-S (\S+)", numbers, line))
    return "\n".join(out)


def auditctl_status_of_this_kernel() -> dict[str, str]:
    """``auditctl -s`` of this kernel, parsed: the independent answer live tests compare lbaudit's
    own reading with; the test skips, saying why, where auditctl is missing or does not work."""
    import pytest

    from auditor.collect.programs import find_executable, run_command
    from auditor.domain.audit_rules import parse_auditctl_status

    if not find_executable("auditctl"):
        pytest.skip("auditctl is not installed: nothing independent to compare the kernel's answer with")
    printed = run_command(["auditctl", "-s"], timeout=10)
    if not printed.ok:
        pytest.skip(f"auditctl -s does not work here: {printed.reason}")
    return parse_auditctl_status(printed.stdout)[0]
