"""A small NETLINK_AUDIT client: the kernel's audit status (AUDIT_GET) and loaded rules (AUDIT_LIST_RULES).

Used when ``auditctl`` is not installed: the kernel answers the same two questions auditctl asks
(``auditctl -s`` and ``-l`` send exactly these requests), to a process holding CAP_AUDIT_CONTROL;
anyone else gets EPERM.  Reading changes nothing in the kernel, and any number of processes may
read while auditd runs.

Each loaded rule (``struct audit_rule_data``) is rendered as one line in auditctl's rule syntax
(``-a always,exit -F arch=b64 -S 49 -S 42 -F key=x``), so the one rule grammar in
:mod:`auditor.domain.audit_rules` reads it.  Syscalls stay numbers, as the kernel holds
them.  A rule holding something that syntax cannot carry faithfully (a field number, operator,
list or architecture this code does not know, a string with white space) is not rendered at all: it
is returned as a problem, never guessed at, so the scope it belongs to cannot pass on it.

Layouts follow include/uapi/linux/audit.h; the field names are auditctl's (audit-userspace
lib/fieldtab.h).  Parsing and rendering are pure functions over bytes; only :func:`get_status` and
:func:`list_rules` open a socket, through :func:`auditor.collect.netlink.exchange`.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import Iterator

from auditor.collect.netlink import (
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    NLMSGHDR,
    Message,
    NetlinkError,
    exchange,
    iter_messages,
    next_seq,
    parse_error,
)
from auditor.model.records import record

NETLINK_AUDIT = 9
AUDIT_GET = 1000
AUDIT_LIST_RULES = 1013
AUDIT_GET_FEATURE = 1019
REQUEST_NAMES = {AUDIT_GET: "netlink AUDIT_GET", AUDIT_LIST_RULES: "netlink AUDIT_LIST_RULES",
                 AUDIT_GET_FEATURE: "netlink AUDIT_GET_FEATURE"}
# struct audit_features { u32 vers, mask, features, lock; }: a feature's bit is 1 << its number.
FEATURES = struct.Struct("=4I")
AUDIT_FEATURE_LOGINUID_IMMUTABLE = 1
MAX_RULE_DATAGRAMS = 100_000  # the kernel sends one datagram per rule

# struct audit_status: u32 fields in this order; older kernels send a prefix of it.
STATUS_FIELDS = (
    "mask", "enabled", "failure", "pid", "rate_limit", "backlog_limit", "lost", "backlog",
    "feature_bitmap", "backlog_wait_time", "backlog_wait_time_actual",
)

# struct audit_rule_data { u32 flags, action, field_count; u32 mask[64]; u32 fields[64];
#                          u32 values[64]; u32 fieldflags[64]; u32 buflen; char buf[]; }
AUDIT_BITMASK_SIZE = 64
AUDIT_MAX_FIELDS = 64
RULE_HEAD = struct.Struct("=III")
WORDS = struct.Struct(f"={AUDIT_BITMASK_SIZE}I")
BUFLEN = struct.Struct("=I")
MASK_OFFSET = RULE_HEAD.size
FIELDS_OFFSET = MASK_OFFSET + WORDS.size
VALUES_OFFSET = FIELDS_OFFSET + WORDS.size
FIELDFLAGS_OFFSET = VALUES_OFFSET + WORDS.size
BUFLEN_OFFSET = FIELDFLAGS_OFFSET + WORDS.size
RULE_DATA_SIZE = BUFLEN_OFFSET + BUFLEN.size  # 1040

AUDIT_FILTER_PREPEND = 0x10
LISTS = {0: "user", 1: "task", 2: "entry", 4: "exit", 5: "exclude", 6: "filesystem", 7: "io_uring"}
LISTS_WITHOUT_SYSCALLS = frozenset({"user", "task", "exclude", "filesystem"})  # the mask means nothing there
ACTIONS = {0: "never", 2: "always"}  # 1, AUDIT_POSSIBLE, is refused by every kernel since 2.6.x

AUDIT_OPERATORS = 0x78000000
OPERATORS = {
    0x40000000: "=", 0x30000000: "!=", 0x20000000: ">", 0x60000000: ">=",
    0x10000000: "<", 0x50000000: "<=", 0x08000000: "&", 0x48000000: "&=",
}

AUDIT_ARCH = 11
AUDIT_PERM = 106
AUDIT_FIELD_COMPARE = 111
AUDIT_EXIT = 103
AUDIT_INODE = 102
AUDIT_FILTERKEY = 210
AUDIT_KEY_SEPARATOR = "\x01"  # several -k of one rule travel as one key string
FIELD_NAMES = {
    0: "pid", 1: "uid", 2: "euid", 3: "suid", 4: "fsuid", 5: "gid", 6: "egid", 7: "sgid", 8: "fsgid",
    9: "auid", 10: "pers", 11: "arch", 12: "msgtype", 13: "subj_user", 14: "subj_role", 15: "subj_type",
    16: "subj_sen", 17: "subj_clr", 18: "ppid", 19: "obj_user", 20: "obj_role", 21: "obj_type",
    22: "obj_lev_low", 23: "obj_lev_high", 24: "loginuid_set", 25: "sessionid", 26: "fstype",
    100: "devmajor", 101: "devminor", 102: "inode", 103: "exit", 104: "success", 105: "path", 106: "perm",
    107: "dir", 108: "filetype", 109: "obj_uid", 110: "obj_gid", 111: "field_compare", 112: "exe",
    113: "saddr_fam", 200: "a0", 201: "a1", 202: "a2", 203: "a3", 210: "key",
}
# Fields whose value is a length into buf (audit_krule_to_data): LSM labels, path, dir, exe, key.
STRING_FIELDS = frozenset({13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 105, 107, 112, 210})
UNSIGNED_FIELDS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 109, 110, AUDIT_INODE})  # ids and inodes
ARGUMENT_FIELDS = frozenset({200, 201, 202, 203})  # shown in hex, as auditctl -l does
# AUDIT_PERM_* bits, in the order auditctl prints them
PERMISSIONS = ((4, "r"), (2, "w"), (1, "x"), (8, "a"))
# AUDIT_COMPARE_*: the two fields a -C rule compares
COMPARISONS = {
    1: ("uid", "obj_uid"), 2: ("gid", "obj_gid"), 3: ("euid", "obj_uid"), 4: ("egid", "obj_gid"),
    5: ("auid", "obj_uid"), 6: ("suid", "obj_uid"), 7: ("sgid", "obj_gid"), 8: ("fsuid", "obj_uid"),
    9: ("fsgid", "obj_gid"), 10: ("uid", "auid"), 11: ("uid", "euid"), 12: ("uid", "fsuid"),
    13: ("uid", "suid"), 14: ("auid", "fsuid"), 15: ("auid", "suid"), 16: ("auid", "euid"),
    17: ("euid", "suid"), 18: ("euid", "fsuid"), 19: ("suid", "fsuid"), 20: ("gid", "egid"),
    21: ("gid", "fsgid"), 22: ("gid", "sgid"), 23: ("egid", "fsgid"), 24: ("egid", "sgid"), 25: ("sgid", "fsgid"),
}
# AUDIT_ARCH_* values that "-F arch=b64" and "-F arch=b32" stand for on each machine (libaudit's
# audit_determine_machine).  Any other value names an ABI the rule grammar has no word for here.
ARCH_WORDS = {
    "x86_64": {0xC000003E: "b64", 0x40000003: "b32"},
    "i386": {0x40000003: "b32"}, "i486": {0x40000003: "b32"},
    "i586": {0x40000003: "b32"}, "i686": {0x40000003: "b32"},
    "aarch64": {0xC00000B7: "b64", 0x40000028: "b32"},
    "ppc64": {0x80000015: "b64", 0x00000014: "b32"},
    "ppc64le": {0xC0000015: "b64", 0x00000014: "b32"},
    "s390x": {0x80000016: "b64", 0x00000016: "b32"},
}


class RenderError(ValueError):
    """A loaded rule that auditctl's syntax cannot carry faithfully; the message says what."""


@record
class RuleField:
    type: int
    op: int  # AUDIT_EQUAL, ... as the kernel sends it in fieldflags
    value: int  # the number, or the length of ``text`` for a string field
    text: bytes | None  # string fields only


@record
class KernelRule:
    """One ``struct audit_rule_data`` as the kernel listed it."""

    flags: int
    action: int
    mask: tuple[int, ...]  # AUDIT_BITMASK_SIZE words, bit n = syscall n
    fields: tuple[RuleField, ...]


# ---------------------------------------------------------------- pure: build and parse

def build_request(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """An AUDIT_GET or AUDIT_LIST_RULES request (a bare header), or AUDIT_GET_FEATURE (with an empty
    ``struct audit_features``, as libaudit sends it); the kernel answers the sender."""
    return NLMSGHDR.pack(NLMSGHDR.size + len(payload), msg_type, NLM_F_REQUEST, seq, 0) + payload


def parse_features(payload: bytes) -> dict[str, int | None]:
    """``struct audit_features`` as the features ``auditctl -s`` prints: ``loginuid_immutable`` 0 or 1,
    None when the kernel does not report it (its bit is not in the mask)."""
    if len(payload) < FEATURES.size:
        raise NetlinkError(errno.EBADMSG, f"audit features of {len(payload)} bytes, expected {FEATURES.size}")
    _version, mask, features, _lock = FEATURES.unpack_from(payload)
    bit = 1 << AUDIT_FEATURE_LOGINUID_IMMUTABLE
    return {"loginuid_immutable": int(bool(features & bit)) if mask & bit else None}


def parse_status(payload: bytes) -> dict[str, int]:
    """``struct audit_status`` as ``{"enabled": 1, ...}``: every field the kernel's version sends."""
    count = min(len(payload) // 4, len(STATUS_FIELDS))
    if count < 2:
        raise NetlinkError(errno.EBADMSG, f"audit status of {len(payload)} bytes has no enabled field")
    values = struct.unpack_from(f"={count}I", payload)
    return dict(zip(STATUS_FIELDS, values))


def parse_rule(payload: bytes) -> KernelRule:
    """Parse one ``struct audit_rule_data``; raises NetlinkError when it is truncated or inconsistent."""
    if len(payload) < RULE_DATA_SIZE:
        raise NetlinkError(errno.EBADMSG, f"audit rule of {len(payload)} bytes, expected at least {RULE_DATA_SIZE}")
    flags, action, field_count = RULE_HEAD.unpack_from(payload, 0)
    if field_count > AUDIT_MAX_FIELDS:
        raise NetlinkError(errno.EBADMSG, f"audit rule with {field_count} fields (at most {AUDIT_MAX_FIELDS})")
    mask = WORDS.unpack_from(payload, MASK_OFFSET)
    types = WORDS.unpack_from(payload, FIELDS_OFFSET)
    values = WORDS.unpack_from(payload, VALUES_OFFSET)
    ops = WORDS.unpack_from(payload, FIELDFLAGS_OFFSET)
    (buflen,) = BUFLEN.unpack_from(payload, BUFLEN_OFFSET)
    buf = payload[RULE_DATA_SIZE:]
    if buflen > len(buf):
        raise NetlinkError(errno.EBADMSG, f"audit rule string buffer of {buflen} bytes, only {len(buf)} received")
    fields: list[RuleField] = []
    offset = 0
    for index in range(field_count):
        text = None
        if types[index] in STRING_FIELDS:
            if offset + values[index] > buflen:
                raise NetlinkError(errno.EBADMSG, f"audit rule field {index}: string runs past the buffer")
            text = buf[offset : offset + values[index]]
            offset += values[index]
        fields.append(RuleField(types[index], ops[index], values[index], text))
    if offset != buflen:
        raise NetlinkError(errno.EBADMSG, f"audit rule strings use {offset} of {buflen} buffer bytes")
    return KernelRule(flags, action, tuple(mask), tuple(fields))


def _reply_messages(datagram: bytes, seq: int) -> Iterator[Message]:
    """The messages of a reply to request ``seq``; an error raises NetlinkError with its errno."""
    for message in iter_messages(datagram):
        if message.seq != seq or message.type == NLMSG_NOOP:
            continue
        if message.type == NLMSG_ERROR:
            code = parse_error(message.payload)
            if code == 0:
                continue  # an acknowledgement
            raise NetlinkError(code, f"refused by the kernel: {os.strerror(code)}")
        if message.type == NLMSG_OVERRUN:
            raise NetlinkError(errno.ENOBUFS, "netlink overrun, reply lost")
        yield message


def parse_status_datagram(datagram: bytes, seq: int) -> dict[str, int] | None:
    """The status in one datagram of an AUDIT_GET reply, or None when it holds none yet."""
    for message in _reply_messages(datagram, seq):
        if message.type == AUDIT_GET:
            return parse_status(message.payload)
        raise NetlinkError(errno.EBADMSG, f"unexpected netlink message type {message.type} in an AUDIT_GET reply")
    return None


def parse_rules_datagram(datagram: bytes, seq: int) -> tuple[list[KernelRule], bool]:
    """Rules in one datagram of an AUDIT_LIST_RULES reply, and whether it ended the list (NLMSG_DONE)."""
    rules: list[KernelRule] = []
    for message in _reply_messages(datagram, seq):
        if message.type == NLMSG_DONE:
            return rules, True
        if message.type == AUDIT_LIST_RULES:
            rules.append(parse_rule(message.payload))
        else:
            raise NetlinkError(errno.EBADMSG,
                               f"unexpected netlink message type {message.type} in an AUDIT_LIST_RULES reply")
    return rules, False


# ---------------------------------------------------------------- pure: render as auditctl text


def _signed(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value


def _word(text: bytes, what: str) -> str:
    """A string field as one token of rule text: UTF-8, no white space or control characters."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError(f"{what} {text!r} is not UTF-8 text") from None
    if not decoded:
        raise RenderError(f"{what} is empty")
    if any(c.isspace() or not c.isprintable() for c in decoded):
        raise RenderError(f"{what} {decoded!r} holds white space or control characters")
    return decoded


def _syscalls(rule: KernelRule, rule_list: str) -> list[str]:
    """The -S part: ``-S all`` when every word but the last (which holds the kernel's syscall class
    bits) is all ones, as auditctl decides, and one ``-S n`` per syscall number otherwise."""
    if rule_list in LISTS_WITHOUT_SYSCALLS:
        return []
    if rule_list != "io_uring" and all(word == 0xFFFFFFFF for word in rule.mask[:-1]):
        return ["-S all"]
    numbers = [n for n in range(AUDIT_BITMASK_SIZE * 32) if rule.mask[n // 32] & (1 << (n % 32))]
    if not numbers:
        # auditctl syntax has no way to say "no syscall"; a rule without -S means every syscall
        raise RenderError("selects no syscall at all")
    return [f"-S {n}" for n in numbers]


def _value(field: RuleField, name: str) -> str:
    if field.type in ARGUMENT_FIELDS:
        return hex(field.value)
    if field.type in UNSIGNED_FIELDS:
        return str(field.value)
    if field.type == AUDIT_PERM:
        if field.value & ~15 or not field.value:
            raise RenderError(f"perm value {field.value:#x} is not a combination of r, w, x, a")
        return "".join(letter for bit, letter in PERMISSIONS if field.value & bit)
    if field.text is not None:
        return _word(field.text, name)
    return str(_signed(field.value))  # pid, exit, msgtype, ...: auditctl -l prints them signed


def render_rule(rule: KernelRule, machine: str | None) -> str:
    """One loaded rule as a line of auditctl syntax; raises RenderError when that is not faithful.

    ``machine`` is the host's ``uname -m``: the word ``b64`` or ``b32`` is written only for the
    ABI it stands for on this machine."""
    listnr = rule.flags & ~AUDIT_FILTER_PREPEND
    rule_list = LISTS.get(listnr)
    if rule_list is None:
        raise RenderError(f"unknown filter list {listnr}")
    action = ACTIONS.get(rule.action)
    if action is None:
        raise RenderError(f"unknown action {rule.action}")
    arches: list[str] = []
    others: list[str] = []
    keys: list[str] = []
    for field in rule.fields:
        name = FIELD_NAMES.get(field.type)
        if name is None:
            raise RenderError(f"unknown field number {field.type}")
        op = OPERATORS.get(field.op)
        if op is None:
            raise RenderError(f"field {name}: unknown operator {field.op:#x}")
        if field.type == AUDIT_ARCH:
            word = ARCH_WORDS.get(machine or "", {}).get(field.value)
            if word is None:
                raise RenderError(f"arch {field.value:#x} is neither b64 nor b32 of this {machine or 'unknown'} host")
            arches.append(f"-F arch{op}{word}")
        elif field.type == AUDIT_FILTERKEY:
            if op != "=":
                raise RenderError(f"key with operator {op}")
            parts = [p for p in (field.text or b"").split(AUDIT_KEY_SEPARATOR.encode()) if p]
            if not parts:
                raise RenderError("key is empty")
            keys += [f"-F key={_word(part, 'key')}" for part in parts]
        elif field.type == AUDIT_FIELD_COMPARE:
            pair = COMPARISONS.get(field.value)
            if pair is None:
                raise RenderError(f"unknown field comparison {field.value}")
            others.append(f"-C {pair[0]}{op}{pair[1]}")
        else:
            others.append(f"-F {name}{op}{_value(field, name)}")
    parts = [f"-a {action},{rule_list}", *arches, *_syscalls(rule, rule_list), *others, *keys]
    return " ".join(parts)


def line_broken_strings(rules: list[KernelRule]) -> list[tuple[int, str, bytes]]:
    """(rule number from 1, field name, the string) of each string field of ``rules`` that holds a
    line break.  auditctl takes one in a key (``-k``), exe, path or dir value and ``auditctl -l``
    prints it as it is, so the listing goes on with lines that read as rules the kernel does not
    hold: the listing can no longer be read a rule a line."""
    found = []
    for number, rule in enumerate(rules, start=1):
        for item in rule.fields:
            if item.text is not None and b"\n" in item.text:
                found.append((number, FIELD_NAMES.get(item.type, str(item.type)), item.text))
    return found


# ---------------------------------------------------------------- I/O


def describe_error(exc: OSError) -> str:
    """A short reason for a Gap, in the words the auditctl path uses where they mean the same."""
    code = exc.errno
    if code in (errno.EPERM, errno.EACCES):
        return "must be root (the kernel answers audit requests only with CAP_AUDIT_CONTROL)"
    if code == errno.ECONNREFUSED:
        return "refused by the kernel (audit requests are answered only in the initial user and PID namespace)"
    if code in (errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT):
        return "not supported by the running kernel (no CONFIG_AUDIT)"
    if isinstance(exc, TimeoutError):
        return "no answer from the kernel in time"
    return exc.strerror or (os.strerror(code) if code else str(exc))


def get_status(timeout: float) -> dict[str, int]:
    """``auditctl -s`` without auditctl.  Raises OSError (PermissionError-like errno EPERM as non-root)."""
    seq = next_seq()
    found: list[dict[str, int]] = []

    def take(datagram: bytes) -> bool:
        status = parse_status_datagram(datagram, seq)
        if status is not None:
            found.append(status)
        return bool(found)

    exchange(NETLINK_AUDIT, build_request(AUDIT_GET, seq), take, timeout, 16, REQUEST_NAMES[AUDIT_GET])
    return found[0]


def get_features(timeout: float) -> dict[str, int | None]:
    """The features ``auditctl -s`` prints (AUDIT_GET_FEATURE, Linux 3.13 and later).  Raises OSError."""
    seq = next_seq()
    found: list[dict[str, int | None]] = []

    def take(datagram: bytes) -> bool:
        for message in _reply_messages(datagram, seq):
            if message.type != AUDIT_GET_FEATURE:
                raise NetlinkError(errno.EBADMSG, f"unexpected netlink message type {message.type} in an "
                                                  "AUDIT_GET_FEATURE reply")
            found.append(parse_features(message.payload))
        return bool(found)

    exchange(NETLINK_AUDIT, build_request(AUDIT_GET_FEATURE, seq, bytes(FEATURES.size)), take, timeout, 16,
             REQUEST_NAMES[AUDIT_GET_FEATURE])
    return found[0]


def list_rules(timeout: float, max_datagrams: int = MAX_RULE_DATAGRAMS) -> list[KernelRule]:
    """``auditctl -l`` without auditctl: every loaded rule, in the kernel's order.  Raises OSError."""
    seq = next_seq()
    rules: list[KernelRule] = []

    def take(datagram: bytes) -> bool:
        found, done = parse_rules_datagram(datagram, seq)
        rules.extend(found)
        return done

    exchange(NETLINK_AUDIT, build_request(AUDIT_LIST_RULES, seq), take, timeout, max_datagrams,
             REQUEST_NAMES[AUDIT_LIST_RULES])
    return rules
