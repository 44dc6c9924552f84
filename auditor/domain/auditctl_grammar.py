"""What ``auditctl`` 3.x accepts on one rules-file line, and what the kernel then accepts.

A table-driven copy of auditctl's own rules, from audit-userspace v3.0.9: ``src/auditctl.c``
(``fileopt`` splits lines, ``setopt`` reads options with getopt_long, ``audit_rule_setup`` reads
list and action, ``handle_request`` sends the rule), ``lib/libaudit.c``
(``audit_rule_fieldpair_data`` checks each ``-F`` field and parses its value,
``audit_rule_syscallbyname_data`` looks syscalls up, ``audit_determine_machine`` reads ``-F arch``),
``lib/fieldtab.h`` and the other ``lib/*tab.h`` name tables, and the kernel's checks of what it is
sent (``kernel/auditfilter.c``: ``audit_field_valid``, ``audit_to_watch``, ``audit_data_to_entry``),
confirmed one by one against auditctl 3.0.9 on Linux 6.x (tests/collect/test_audit_grammar_live.py).

Everything here is pure.  :func:`read_line` returns a :class:`Line` (what the line does) or raises
:class:`Refused` with auditctl's reason.  Where the answer depends on something lbaudit does not
know (a user name resolved by getpwnam on the target, the syscall table of a host of unknown
machine), the line is read as accepted and the reason is in :attr:`Line.doubts`.
"""

from __future__ import annotations

import errno
import functools
import json
from dataclasses import field
from pathlib import Path

from auditor.model.records import mutable_record

LINE_SIZE = 6144  # auditctl's fgets buffer: a longer line is read as several lines
AUDIT_MAX_FIELDS = 64
AUDIT_MAX_KEY_LEN = 256
PATH_MAX = 4096
NAME_MAX = 255
AF_MAX = 46  # glibc's and the kernel's AF_MAX when audit 3.0.9 was current (AF_MCTP is 45)
UINT32 = 2**32
UNSET_ID = UINT32 - 1  # 4294967295, the "unset" uid/auid
BACKLOG_WAIT_MAX_HZ_100 = 10 * 60 * 100  # the kernel's limit, 10 * AUDIT_BACKLOG_WAIT_TIME, in jiffies
BACKLOG_WAIT_MAX_HZ_1000 = 10 * 60 * 1000

# ---------------------------------------------------------------- shipped tables


@functools.lru_cache(maxsize=1)
def tables() -> dict:
    """The tables scripts/gen_audit_tables.py generated from ausyscall and libaudit's headers."""
    return json.loads((Path(__file__).parent / "audit_tables.json").read_text())


def syscall_table(table: str) -> dict[str, int]:
    return tables()["syscalls"][table]


@functools.lru_cache(maxsize=None)
def syscall_names_by_number(table: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for name, number in syscall_table(table).items():
        found.setdefault(number, name)
    return found


# Machines as libaudit names them (lib/machinetab.h, all lowercase; looked up case-insensitively)
# -> libaudit machine; each machine's syscall table (lib/lookup_table.c) and ELF arch value.
MACHINE_NAMES = {
    "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "x86_64": "x86_64",
    "ppc64": "ppc64", "ppc64le": "ppc64le", "ppc": "ppc", "s390x": "s390x", "s390": "s390",
    "armeb": "arm", "arm": "arm", "armv5tejl": "arm", "armv5tel": "arm", "armv6l": "arm", "armv7l": "arm",
    "aarch64": "aarch64", "armv8l": "aarch64",
}
MACHINE_TABLE = {
    "x86": "i386", "x86_64": "x86_64", "ppc64": "ppc", "ppc64le": "ppc", "ppc": "ppc",
    "s390x": "s390x", "s390": "s390", "arm": "arm", "aarch64": "aarch64",
}
MACHINE_ELF = {
    "x86": 0x40000003, "x86_64": 0xC000003E, "ppc64": 0x80000015, "ppc64le": 0xC0000015, "ppc": 0x14,
    "s390x": 0x80000016, "s390": 0x16, "arm": 0x40000028, "aarch64": 0xC00000B7,
}
ELF_MACHINE = {elf: machine for machine, elf in MACHINE_ELF.items()}
MACHINE_64 = frozenset({"x86_64", "ppc64", "ppc64le", "s390x", "aarch64"})
# audit_determine_machine: b32 on these 64-bit machines means their 32-bit ABI
MACHINE_32_OF = {"x86_64": "x86", "ppc64": "ppc", "s390x": "s390", "aarch64": "arm"}


def host_machine(uname_machine: str | None) -> str | None:
    """libaudit's machine for ``uname -m``; None when unknown (auditctl then refuses -S)."""
    if uname_machine is None:
        return None
    return MACHINE_NAMES.get(uname_machine.lower())


def abi_machines(machine: str | None) -> dict[str, str]:
    """The syscall ABIs a host of this machine runs: {"b64": machine, "b32": machine}."""
    if machine is None:
        return {}
    if machine in MACHINE_32_OF:
        return {"b64": machine, "b32": MACHINE_32_OF[machine]}
    if machine == "ppc64le":
        return {"b64": machine}
    return {"b32": machine}


def word_size(machine: str) -> str:
    return "b64" if machine in MACHINE_64 else "b32"


# ---------------------------------------------------------------- -F fields (lib/fieldtab.h)

# Value parser of each field, as in audit_rule_fieldpair_data's switch.
FIELD_KIND = {
    **dict.fromkeys(("uid", "euid", "suid", "fsuid", "auid", "loginuid", "obj_uid"), "uid"),
    **dict.fromkeys(("gid", "egid", "sgid", "fsgid", "obj_gid"), "gid"),
    **dict.fromkeys(("pid", "ppid", "pers", "devmajor", "devminor", "inode", "success", "field_compare"), "number"),
    "exit": "exit", "msgtype": "msgtype", "arch": "arch", "perm": "perm", "filetype": "filetype",
    "fstype": "fstype", "sessionid": "sessionid", "saddr_fam": "saddr_fam",
    **dict.fromkeys(("a0", "a1", "a2", "a3"), "arg"),
    **dict.fromkeys(("obj_user", "obj_role", "obj_type", "obj_lev_low", "obj_lev_high", "path", "dir",
                     "subj_user", "subj_role", "subj_type", "subj_sen", "subj_clr", "key", "exe"), "string"),
}
FIELD_ALIASES = {"loginuid": "auid"}  # both names are AUDIT_LOGINUID
EXIT_LIST_ONLY = frozenset(
    "exit obj_user obj_role obj_type obj_lev_low obj_lev_high path dir perm filetype devmajor devminor inode success ppid".split()
)
# With the kernel's AUDIT_FEATURE_BITMAP_EXCLUDE_EXTEND (Linux 4.17+), the fields of an exclude rule.
EXCLUDE_FIELDS = frozenset("pid uid gid auid msgtype subj_user subj_role subj_type subj_sen subj_clr exe".split())
FILESYSTEM_FIELDS = frozenset({"fstype", "key"})  # the kernel's audit_field_valid for AUDIT_FILTER_FS
# Operators the kernel allows per field (audit_field_valid); auditctl checks some of them itself.
ALL_OPS = frozenset({"=", "!=", "<", ">", "<=", ">=", "&", "&="})
EQ_OPS = frozenset({"=", "!="})
KERNEL_OPS = {
    **dict.fromkeys(("a0", "a1", "a2", "a3", "pers", "devminor"), ALL_OPS),
    **dict.fromkeys(("subj_user", "subj_role", "subj_type", "obj_user", "obj_role", "obj_type", "path", "dir",
                     "key", "arch", "fstype", "perm", "filetype", "field_compare", "exe"), EQ_OPS),
}
NO_BIT_OPS = ALL_OPS - {"&", "&="}
# -F splits name and value at the first of these found anywhere in the text, in this order.
OPERATOR_SEARCH = ("!=", ">=", "<=", "&=", "=", ">", "<", "&")
ID_FIELDS = frozenset(n for n, k in FIELD_KIND.items() if k in ("uid", "gid")) - {"loginuid"}

# -C pairs (audit_rule_interfield_comp_data): each uid field with the others, each gid field likewise.
COMPARE_UIDS = frozenset({"uid", "euid", "suid", "fsuid", "auid", "obj_uid"})
COMPARE_GIDS = frozenset({"gid", "egid", "sgid", "fsgid", "obj_gid"})
COMPARE_PAIRS = frozenset(
    {frozenset((a, b)) for group in (COMPARE_UIDS, COMPARE_GIDS) for a in group for b in group if a != b}
)

FILE_TYPES = {"socket": 0o140000, "link": 0o120000, "file": 0o100000, "block": 0o60000, "dir": 0o40000,
              "character": 0o20000, "fifo": 0o10000}
FS_TYPES = {"tracefs": 0x74726163, "debugfs": 0x64626720}
LISTS = ("task", "exit", "user", "exclude", "filesystem", "io_uring")  # auditctl's lookup_filter (case-sensitive)
# io_uring operations auditctl names on the io_uring list (lib/uringop_table.h of audit 4.2; the
# kernel's include/uapi/linux/io_uring.h numbers); other numbers are written as numbers
URING_OP_NUMBERS = {
    "sendmsg": 9, "recvmsg": 10, "accept": 13, "connect": 16, "fallocate": 17, "openat": 18, "close": 19,
    "openat2": 28, "shutdown": 34, "renameat": 35, "unlinkat": 36, "mkdirat": 37, "symlinkat": 38, "linkat": 39,
    "msg_ring": 40, "fsetxattr": 41, "setxattr": 42, "fgetxattr": 43, "getxattr": 44, "uring_cmd": 46,
    "sendmsg_zc": 48, "waitid": 50, "futex_wait": 51, "futex_wake": 52, "futex_waitv": 53, "fixed_fd_install": 54,
    "ftruncate": 55, "bind": 56, "listen": 57, "uring_cmd128": 64,
}
URING_LIST_DOUBT = ("the io_uring list: auditctl before 3.1 refuses it ('bad keyword'), 3.1 and later load it "
                    "(and a kernel before 5.16 refuses the rule)")
ACTIONS = ("always", "never")
PERMISSIONS = "rwxa"

# ---------------------------------------------------------------- getopt (setopt's option string)

SHORT_WITH_VALUE = frozenset("CefrbaAdSFmRwWkpq")
SHORT_FLAGS = frozenset("hicslDvt")
LONG_OPTIONS = {  # name -> takes a value
    "loginuid-immutable": False, "backlog_wait_time": True, "reset-lost": False,
    "reset_backlog_wait_time_actual": False, "signal": True,
}


class Refused(ValueError):
    """auditctl (or the kernel it sends the rule to) refuses the line; the message says why.
    ``keep_going``: the line turned on -c/-i before failing, so the failure does not stop loading."""

    def __init__(self, message: str, keep_going: bool = False) -> None:
        super().__init__(message)
        self.keep_going = keep_going


@mutable_record
class Line:
    """What one accepted line does.

    ``op``: "add", "prepend", "delete" (a rule), "clear" (-D, maybe with keys), "control"
    (settings such as -e/-b/-f, flags -c/-i), "skip" (accepted and changes no rule: -l, -s, -v,
    -m, -t, a deprecated "possible" action).
    """

    op: str
    rule_list: str | None = None
    action: str | None = None
    # -F arch fields in order, as (op, ELF value the kernel compares, "b64"/"b32" when a word size
    # was named); the ELF value is 0 for b64/b32 on a host of unknown machine
    arch_fields: list[tuple[str, int, str | None]] = field(default_factory=list)
    table: str | None = None  # the syscall table -S names were looked up in
    all_syscalls: bool = False
    syscall_names: list[str] = field(default_factory=list)  # as written, lower case
    syscall_numbers: set[int] | None = field(default_factory=set)  # None: names not resolvable here
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, op, normalised value)
    keys: list[str] = field(default_factory=list)
    watch: str | None = None  # -w/-W path
    settings: dict[str, str] = field(default_factory=dict)  # control lines: "-e" -> "1", "-c" -> ""
    doubts: list[str] = field(default_factory=list)
    # What the kernel compares to find a rule that exists (-a) or is deleted (-d): list, action,
    # the fields in the order they were sent (so -F a -F b and -F b -F a are two rules), syscalls.
    identity: tuple = ()


# ---------------------------------------------------------------- C number parsing


def c_strtoul(text: str) -> int:
    """strtoul(text, NULL, 0) as the value lands in a uint32 (leading digits only, overflow saturates)."""
    value, _ = _c_number(text)
    return value % UINT32


def c_strtol(text: str) -> int:
    """strtol(text, NULL, 0) stored in a uint32 field (saturating at LONG_MIN / LONG_MAX first)."""
    value, _ = _c_number(text)
    return max(-(2**63), min(value, 2**63 - 1)) % UINT32


def _c_number(text: str) -> tuple[int, bool]:
    """Parse the longest C integer prefix (base 0).  Returns (value, any digits); saturates at 64 bits."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    base = 10
    if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
        base, s = 16, s[2:]
    elif s[:1] == "0":
        base = 8
    digits = ""
    for char in s:
        if char.lower() in "0123456789abcdef"[:base]:
            digits += char
        else:
            break
    if not digits:
        return 0, False
    limit = 2**63 if sign < 0 else 2**64 - 1  # strtol saturates to LONG_MIN, strtoul to ULONG_MAX
    # More than 22 significant digits is past 64 bits in every base (8, 10, 16): saturated without
    # int(), which refuses more than 4,300 digits with a message about sys.set_int_max_str_digits.
    significant = digits.lstrip("0")
    value = limit if len(significant) > 22 else min(int(significant or "0", base), limit)
    return sign * value, True


def _decimal(text: str) -> int:
    """strtol(text, NULL, 10) of a short text."""
    digits = text.lstrip(" \t\n\v\f\r")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits[1:] if digits[:1] in "+-" and digits else digits
    prefix = ""
    for char in digits:
        if not char.isdigit():
            break
        prefix += char
    return sign * int(prefix) if prefix else 0


def _signed(value: int) -> int:
    return value - UINT32 if value >= 2**31 else value


# ---------------------------------------------------------------- one field


@mutable_record
class RuleState:
    """setopt's variables for one line (reset_vars)."""

    machine: str | None  # the host's libaudit machine (uname -m); None when unknown
    listing: bool = False  # reading auditctl -l output, which prints some values in its own forms
    add: str | None = None
    prepend: bool = False
    delete: str | None = None
    action: str | None = None
    multiple: int = 0
    exclude: bool = False
    syscall_added: bool = False
    perm_added: bool = False
    exe_added: bool = False
    fs_added: bool = False
    elf: int | None = None
    arch_given: bool = False
    arch_word: str | None = None
    arch_list: list[tuple[str, int, str | None]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    order: list[tuple] = field(default_factory=list)  # the fields as auditctl sends them, in order
    all_syscalls: bool = False
    syscall_names: list[str] = field(default_factory=list)
    syscall_numbers: set[int] | None = field(default_factory=set)
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    key: str = ""
    key_fields: list[str] = field(default_factory=list)  # key written as -F KEY= (not merged by auditctl)
    watch: str | None = None
    list_requested: bool = False
    doubts: list[str] = field(default_factory=list)

    @property
    def rule_list(self) -> str | None:
        return self.add if self.add is not None else self.delete

    def field_count(self) -> int:
        return len(self.fields) + len(self.key_fields) + len(self.arch_list)


def _split_field(expression: str) -> tuple[str, str, str]:
    for op in OPERATOR_SEARCH:
        at = expression.find(op)
        if at >= 0:
            name, value = expression[:at], expression[at + len(op):]
            if not name:
                raise Refused(f"-F missing field name before operator for {expression}")
            if not value:
                raise Refused(f"-F missing value after operation for {name}")
            return name, op, value
    raise Refused(f"-F missing operation for {expression}")


def _table_for(state: RuleState) -> tuple[str | None, str | None]:
    """The syscall table -S names are looked up in, or (None, why not)."""
    if state.elf is not None:
        machine = ELF_MACHINE.get(state.elf)
        return (MACHINE_TABLE[machine], None) if machine else (None, f"elf type unknown: {state.elf:#x}")
    if state.machine is None:
        return None, "the machine of the target host is not known"
    return MACHINE_TABLE[state.machine], None


def _id_number(value: str) -> int | None:
    """An id as auditctl reads uid and sessionid values: unsigned digits, a signed number (how
    ``auditctl -l`` prints values above INT_MAX), or ``unset``; None for any other text."""
    if value[0].isdigit():
        return c_strtoul(value)
    if len(value) >= 2 and value[0] == "-" and value[1].isdigit():
        return c_strtol(value)
    if value == "unset":
        return UNSET_ID
    return None


def _uid_value(name: str, value: str, state: RuleState) -> str:
    number = _id_number(value)
    if number is None and value == "root":
        number = 0
    if number is None:
        state.doubts.append(f"{name}={value}: auditctl looks the user up on the host it runs on (getpwnam)")
        return value
    if number == UNSET_ID and name != "auid":
        raise Refused(f"{name}={value}: the kernel refuses the invalid uid 4294967295 (only auid may be unset)")
    return "unset" if number == UNSET_ID else str(number)


def _gid_value(name: str, value: str, state: RuleState) -> str:
    if value[0].isdigit() or (state.listing and len(value) >= 2 and value[0] == "-" and value[1].isdigit()):
        # auditctl -l prints a gid above INT_MAX signed; a rules file with that form would be a group name
        number = c_strtol(value)
    elif value == "root":
        number = 0
    else:
        state.doubts.append(f"{name}={value}: auditctl looks the group up on the host it runs on (getgrnam)")
        return value
    if number == UNSET_ID:
        raise Refused(f"{name}={value}: the kernel refuses the invalid gid 4294967295")
    return str(number)


def _exit_value(value: str) -> str:
    if value[0].isdigit() or (len(value) >= 2 and value[0] == "-" and value[1].isdigit()):
        number = _signed(c_strtol(value))
    else:
        sign, name = (-1, value[1:]) if value.startswith("-") else (1, value)
        if name.upper() not in tables()["errnos"]:
            raise Refused(f"-F unknown errno - {value}")
        number = sign * getattr(errno, name.upper(), 0)
        if not number:
            return ("-" if sign < 0 else "") + name.upper()
    if number < 0 and -number in errno.errorcode:
        return "-" + errno.errorcode[-number]
    return str(number)


@functools.lru_cache(maxsize=1)
def msg_type_names() -> dict[int, str]:
    """Record type number -> the name auditctl -l prints for it."""
    every = {**tables()["msg_types_if_built_with"], **tables()["msg_types"]}
    return {number: name for name, number in sorted(every.items(), key=lambda item: item[0], reverse=True)}


def _msgtype_value(value: str, state: RuleState) -> str:
    """A record type, normalised to the name auditctl -l prints (the number when it has none)."""
    if value[0].isdigit():
        number = c_strtol(value)
    elif value.upper() in tables()["msg_types"]:  # msg_typetab is looked up case-insensitively
        number = tables()["msg_types"][value.upper()]
    elif value.upper() in tables()["msg_types_if_built_with"]:
        state.doubts.append(f"msgtype={value}: known to auditctl only when built with AppArmor support")
        number = tables()["msg_types_if_built_with"][value.upper()]
    elif value.startswith("UNKNOWN[") and "]" in value[8:] and _decimal(value[8:value.index("]", 8)][:7]) > 0:
        number = _decimal(value[8:value.index("]", 8)][:7])  # strtol(buf, NULL, 10)
    else:
        raise Refused(f"-F unknown message type - {value}")
    return msg_type_names().get(number, str(number))


def add_field(state: RuleState, expression: str) -> None:
    """audit_rule_fieldpair_data, then the kernel's checks of the same field."""
    flags = state.rule_list
    if state.field_count() >= AUDIT_MAX_FIELDS - 1:
        raise Refused(f"Too many fields in rule: {expression}")
    raw_name, op, value = _split_field(expression)
    name = raw_name.lower()  # fieldtab is looked up case-insensitively
    if name not in FIELD_KIND:
        raise Refused(f"-F unknown field: {raw_name}")
    name = FIELD_ALIASES.get(name, name)
    kind = FIELD_KIND[name]
    if flags == "exclude" and name not in EXCLUDE_FIELDS:
        raise Refused("Only msgtype, *uid, *gid, pid, and subj* fields can be used with exclude filter")
    if name in EXIT_LIST_ONLY and flags != "exit":
        raise Refused(f"{name} can only be used with exit filter list")
    if kind == "uid":
        normal = _uid_value(name, value, state)
    elif kind == "gid":
        normal = _gid_value(name, value, state)
    elif kind == "exit":
        normal = _exit_value(value)
    elif kind == "msgtype":
        if flags not in ("exclude", "user"):
            raise Refused("msgtype field can only be used with exclude or user filter list")
        normal = _msgtype_value(value, state)
    elif kind == "string":
        if name == "exe":
            if op not in EQ_OPS:
                raise Refused("exe only takes = or != operators")
            state.exe_added = True
        if name in ("path", "dir"):
            state.perm_added = True
        if name == "key" and not state.listing and not (
            state.syscall_added or state.perm_added or state.exe_added or state.fs_added
        ):
            raise Refused("Key field needs a watch, syscall or exe path given prior to it")
        limit = AUDIT_MAX_KEY_LEN if name == "key" else PATH_MAX
        if len(value.encode("utf-8", "surrogateescape")) > limit:
            raise Refused("String value too long")
        normal = value
        if name in ("path", "exe") and (not value.startswith("/") or value.endswith("/")):
            raise Refused(f"{name}={value}: the kernel takes only an absolute path not ending in /")
        if name == "dir" and not value.startswith("/"):
            raise Refused(f"dir={value}: the kernel takes only an absolute path")
        if name in ("path", "dir"):
            if op != "=":
                raise Refused(f"{name} takes only = in the kernel")
            if any(f[0] in ("path", "dir", "inode") for f in state.fields) or state.watch:
                raise Refused(f"{name}: the kernel takes one path, dir or inode per rule")
    elif kind == "arch":
        if state.syscall_added:
            raise Refused("arch must be before -S")
        if op not in EQ_OPS:
            raise Refused("arch only takes = or != operators")
        state.arch_word = None
        state.elf, normal = _arch_value(value, state)
        state.arch_given = True
        state.arch_list.append((op, state.elf, state.arch_word))
        state.order.append(("arch", op, state.elf if state.elf else value.lower()))
        return
    elif kind == "perm":
        if op != "=":
            raise Refused("perm only takes = operator")
        if len(value) > 4:
            raise Refused("String value too long")
        if set(value.lower()) - set(PERMISSIONS):
            raise Refused("Permission can only contain 'rwxa'")
        normal = "".join(p for p in PERMISSIONS if p in value.lower())
        state.perm_added = True
    elif kind == "filetype":
        by_mode = {mode: name for name, mode in FILE_TYPES.items()}
        if state.listing and value.isdigit() and int(value) in by_mode:
            normal = by_mode[int(value)]  # auditctl -l prints the mode number
        elif value.lower() not in FILE_TYPES:
            raise Refused(f"-F unknown file type - {value}")
        else:
            normal = value.lower()
    elif kind == "fstype":
        if flags != "filesystem":
            raise Refused("fstype field is not valid for the filter")
        if op not in EQ_OPS:
            raise Refused("fstype only takes = or != operators")
        if value[0].isdigit():
            number = c_strtoul(value)
            if number == UINT32 - 1:
                raise Refused(f"file system type is unknown for field: {value}")
            normal = str(number)
        elif value.lower() in FS_TYPES:
            normal = str(FS_TYPES[value.lower()])
        else:
            raise Refused(f"file system type is unknown for field: {value}")
        state.fs_added = True
    elif kind == "arg":
        if value[0].isdigit():
            number = c_strtoul(value)
        elif len(value) >= 2 and value[0] == "-" and value[1].isdigit():
            number = c_strtol(value)
        else:
            raise Refused(f"-F value should be number for {name}")
        normal = hex(number)
    elif kind == "sessionid":
        if flags not in ("exclude", "user", "exit"):
            raise Refused("sessionid must be used with exclude, user, or exit filter")
        number = _id_number(value)
        if number is None:
            number = 0  # auditctl leaves the value at 0 for any other text
        normal = "unset" if number == UNSET_ID else str(number)
    elif kind == "saddr_fam":
        number = c_strtoul(value)
        if number >= AF_MAX:
            raise Refused(f"value is too large for field: {name}")
        normal = str(number)
    else:  # "number": the default case
        if name == "inode" and op not in EQ_OPS:
            raise Refused("inode only takes = or != operators")
        if not value[0].isdigit():
            raise Refused(f"-F value should be number for {name}")
        if name == "inode":
            if any(f[0] in ("path", "dir", "inode") for f in state.fields) or state.watch:
                raise Refused("inode: the kernel takes one path, dir or inode per rule")
            normal = str(c_strtoul(value))
        else:
            normal = str(_signed(c_strtol(value)) if name in ("success",) else c_strtol(value))
    allowed = KERNEL_OPS.get(name, NO_BIT_OPS)
    if op not in allowed:
        raise Refused(f"{name}{op}: the kernel allows only {' '.join(sorted(allowed))} for {name}")
    if flags == "filesystem" and name not in FILESYSTEM_FIELDS:
        raise Refused(f"{name}: the kernel allows only fstype and key on the filesystem list")
    pair = tables()["field_compare"].get(normal) if name == "field_compare" else None
    if pair is not None:  # -F field_compare=10 is -C uid=auid
        a, b = sorted(pair)
        state.fields.append((a, op, b))
        state.order.append((name, op, int(normal)))
        return
    if name == "key":
        state.key_fields.append(value)
        state.order.append(("key", op, value))
        return
    state.fields.append((name, op, normal))
    state.order.append((name, op, normal))


def _arch_value(value: str, state: RuleState) -> tuple[int, str]:
    if value[0].isdigit():
        elf = c_strtoul(value)
        if elf not in ELF_MACHINE:
            raise Refused(f"arch={value}: elf mapping not found")
        return elf, value
    lower = value.lower()
    if lower in ("b64", "b32"):
        state.arch_word = lower
        machine = state.machine
        if machine is None:
            state.doubts.append(f"arch={value}: depends on the machine of the target host, which is not known")
            return (0, value)
        if lower == "b32":
            machine = MACHINE_32_OF.get(machine, machine)
        if (lower == "b64") != (machine in MACHINE_64):
            raise Refused(f"arch={value}: requested bit level not supported by machine")
        return MACHINE_ELF[machine], value
    machine = MACHINE_NAMES.get(lower)
    if machine is None:
        elf = int(_c_hex(value))
        if elf not in ELF_MACHINE:
            raise Refused(f"arch={value}: machine type not found")
        return elf, value
    return MACHINE_ELF[machine], value


def _c_hex(text: str) -> int:
    digits = ""
    s = text.lstrip()
    if s[:2].lower() == "0x":
        s = s[2:]
    for char in s:
        if char.lower() in "0123456789abcdef":
            digits += char
        else:
            break
    return int(digits, 16) % 2**64 if digits else 0


# ---------------------------------------------------------------- -S


def add_syscalls(state: RuleState, value: str) -> None:
    listed = state.rule_list
    if listed in ("task", "user", "filesystem"):
        raise Refused(f"Error: syscall auditing being added to {listed} list")
    if state.exclude:
        raise Refused("Error: syscall auditing cannot be put on exclude list")
    if listed == "io_uring":
        _add_uring_ops(state, value)
        return
    if state.elf is None and state.machine is not None:
        state.elf = MACHINE_ELF[state.machine]  # -S without -F arch: the host's own table
    names = [n for n in value.split(",") if n] if "," in value else [value]
    table, why = _table_for(state) if state.elf != 0 else (None, "the machine of the target host is not known")
    for name in names:
        if name == "all":
            state.all_syscalls = True
            continue
        number = _syscall_number(name, table, why, state)
        if number is None:
            continue
        if number >= 64 * 32:  # AUDIT_BITMASK_SIZE words of 32 bits
            raise Refused(f"Syscall name unknown: {name}")
        if state.syscall_numbers is not None:
            state.syscall_numbers.add(number)
        state.syscall_names.append(name.lower())
    state.syscall_added = True


def _add_uring_ops(state: RuleState, value: str) -> None:
    """-S on the io_uring list (parse_io_uring): operation names (case-sensitive) or numbers, "all"
    for every named one; the kernel's mask has room for the same 2048 numbers as for syscalls."""
    for name in [n for n in value.split(",") if n] if "," in value else [value]:
        if name == "all":
            state.all_syscalls = True
            continue
        number = URING_OP_NUMBERS.get(name)
        if number is None:
            if not name[:1].isdigit():
                raise Refused(f"io_uring op unknown: {value}")
            number = _syscall_int(name)
            if number >= 64 * 32:
                raise Refused(f"io_uring op unknown: {value}")
        if state.syscall_numbers is not None:
            state.syscall_numbers.add(number)
        state.syscall_names.append(name)
    state.syscall_added = True


def _syscall_int(text: str) -> int:
    """strtol into libaudit's ``int nr``: truncated to 32 bits; a negative result is no syscall."""
    number = _signed(max(-(2**63), min(_c_number(text)[0], 2**63 - 1)) % UINT32)
    if number < 0:
        raise Refused(f"Syscall name unknown: {text}")
    return number


def _syscall_number(name: str, table: str | None, why: str | None, state: RuleState) -> int | None:
    """audit_name_to_syscall (case-insensitive), else a number if the text starts with a digit."""
    if table is not None:
        number = syscall_table(table).get(name.lower())
        if number is not None:
            return number
        if name[0].isdigit():
            return _syscall_int(name)
        raise Refused(f"Syscall name unknown: {name!r}")
    if name[0].isdigit():
        number = _syscall_int(name)
        if number >= 64 * 32:
            raise Refused(f"Syscall name unknown: {name}")
        state.syscall_numbers = None  # which syscall the number is depends on the table
        state.syscall_names.append(str(number))
        return None
    known = [t for t, entries in tables()["syscalls"].items() if name.lower() in entries]
    if not known:
        raise Refused(f"Syscall name unknown: {name} (in every syscall table auditctl has)")
    state.syscall_numbers = None
    state.syscall_names.append(name.lower())
    if len(known) < len(tables()["syscalls"]):
        state.doubts.append(f"-S {name}: only the {', '.join(known)} syscall tables have it, and {why}")
    return None


# ---------------------------------------------------------------- list,action


def _list_and_action(value: str, state: RuleState, verb: str) -> str:
    """audit_rule_setup: returns "ok" or "deprecated"; raises Refused."""
    state.multiple += 1
    if state.multiple != 1:
        raise Refused("Multiple rule insert/delete operations are not allowed")
    bad = f"{'Delete' if verb == '-d' else 'Append' if verb == '-a' else 'Add'} rule - bad keyword {value}"
    first, comma, second = value.partition(",")
    if not comma or "," in second:
        raise Refused(bad)
    current = state.delete if verb == "-d" else state.add
    action = state.action

    def lookup_action(text: str) -> int:
        nonlocal action
        if text in ACTIONS:
            action = text
            return 0
        return 1 if text == "possible" else 2

    rc = lookup_action(first)
    if rc == 2:
        if first not in LISTS:
            raise Refused(bad)
        current = first
    if current is None:
        if second in LISTS:
            current = second
    else:
        rc = lookup_action(second)
        if rc == 1:
            return "deprecated"
        if rc == 2:
            raise Refused(bad)
    if current is None or action is None:
        raise Refused(bad)
    if verb == "-d":
        state.delete = current
    else:
        state.add = current
    if current == "exclude":
        state.exclude = True
    if current == "io_uring" and not state.listing:
        state.doubts.append(URING_LIST_DOUBT)
    state.action = action
    return "ok"


# ---------------------------------------------------------------- tokens and options


def split_line(raw: bytes) -> list[str] | None:
    """fileopt: the arguments of one line, or None for a blank or comment line.

    Only the space character separates arguments ("\\ " is a space inside one, "\\\\" a
    backslash); tabs and carriage returns are part of the argument they touch.  Arguments beyond
    ``len(line) // 3 + 1`` are dropped, as auditctl's array has no room for them.
    """
    raw = raw.split(b"\0", 1)[0]  # C strings: a NUL byte ends the line for every later step
    if not raw.strip(b" "):
        return None
    text = raw.decode("latin-1")
    tokens: list[str] = []
    current, escaped, started = "", False, False
    for char in text:
        if escaped:
            current += char if char in " \\" else "\\" + char
            escaped = False
            started = True
        elif char == "\\":
            escaped = True
        elif char == " ":
            if started:
                tokens.append(current)
                current, started = "", False
        else:
            current += char
            started = True
    if escaped:
        current += "\\"
        started = True
    if started:
        tokens.append(current)
    if not tokens or tokens[0].startswith("#"):
        return None
    room = (len(raw) // 3 + 3) - 2
    tokens = tokens[:room]
    return [t.encode("latin-1").decode("utf-8", "surrogateescape") for t in tokens]


def getopt(tokens: list[str]) -> tuple[list[tuple[str, str | None]], list[str], str | None]:
    """GNU getopt_long over ``auditctl`` + tokens: (options in order, non-option arguments,
    the first bad option or None).  Non-options are permuted to the end, as GNU getopt does."""
    options: list[tuple[str, str | None]] = []
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            rest.extend(tokens[i:])
            break
        if token.startswith("--"):
            name, eq, attached = token[2:].partition("=")
            matches = [n for n in LONG_OPTIONS if n == name] or [n for n in LONG_OPTIONS if n.startswith(name)]
            if len(matches) != 1:
                return options, rest, token
            long_name = matches[0]
            if LONG_OPTIONS[long_name]:
                if eq:
                    value = attached
                elif i < len(tokens):
                    value = tokens[i]
                    i += 1
                else:
                    return options, rest, token
                options.append(("--" + long_name, value))
            else:
                if eq:
                    return options, rest, token
                options.append(("--" + long_name, None))
            continue
        if not token.startswith("-") or token == "-":
            rest.append(token)
            continue
        j = 1
        while j < len(token):
            char = token[j]
            j += 1
            if char in SHORT_WITH_VALUE:
                if j < len(token):
                    value = token[j:]
                elif i < len(tokens):
                    value = tokens[i]
                    i += 1
                else:
                    return options, rest, token
                options.append(("-" + char, value))
                break
            if char in SHORT_FLAGS:
                options.append(("-" + char, None))
                continue
            return options, rest, token
    return options, rest, None


# ---------------------------------------------------------------- setopt


def _check_path(path: str) -> None:
    if len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise Refused("The path passed for the watch is too big")
    if not path.startswith("/"):
        raise Refused("The path must start with '/'")
    base = path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else "/"
    if len(base.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise Refused("The base name of the path is too big")


STOPS_OPTIONS = frozenset({"-i", "-c", "-v", "-s", "-l", "-D"})  # set retval -2: setopt reads no further option


def read_line(tokens: list[str], machine: str | None, listing: bool = False) -> Line:
    """setopt + handle_request for one line's arguments; raises Refused.  ``listing``: the line is
    auditctl -l output (signed gids are read as the uint32 the kernel holds)."""
    state = RuleState(machine=machine, listing=listing)
    options, rest, bad = getopt(tokens)
    count = 1 + len(tokens)
    stopped_at: int | None = None
    for index, (option, value) in enumerate(options):
        if option == "-h":
            raise Refused("-h prints the usage and fails")
        if option in ("-i", "-c"):
            state.settings[option] = ""
        elif option == "-s":
            if count > 3 or (count == 3 and tokens[1] != "-i"):
                raise Refused("Too many options for status command")
            return Line("skip")
        elif option in ("-e", "-f"):
            if value not in ("0", "1", "2"):
                what = "Enable" if option == "-e" else "Failure"
                raise Refused(f"{what} must be 0, 1, or 2 was {value}")
            state.settings[option] = value
        elif option in ("-r", "-b", "--backlog_wait_time"):
            if not value or not value[0].isdigit():
                raise Refused(f"{option} must be a numeric value was {value}")
            number, _ = _c_number(value)
            if number >= 2**64 - 1:
                raise Refused(f"Error converting {option}")
            number %= UINT32
            if option == "--backlog_wait_time" and number > BACKLOG_WAIT_MAX_HZ_100:
                # the kernel takes at most 10 * 60 * HZ jiffies, and HZ is 100 to 1000
                if number > BACKLOG_WAIT_MAX_HZ_1000:
                    raise Refused(f"--backlog_wait_time {number} is more than the kernel takes (10 * 60 * HZ)")
                state.doubts.append(f"--backlog_wait_time {number}: the kernel takes at most 10 * 60 * HZ, "
                                    "and HZ of the target kernel is not known")
            state.settings[option] = str(number)
        elif option == "-l":
            if count > 4 or (count == 3 and tokens[1] != "-i") or (count == 4 and tokens[1] != "-k"):
                raise Refused("Only -k or -i options are allowed")
            return Line("skip")
        elif option in ("-a", "-A"):
            if "task" in (value or "") and state.syscall_added:
                raise Refused("Syscall auditing requested for task list")
            if _list_and_action(value or "", state, option) == "deprecated":
                return Line("skip")
            state.prepend = state.prepend or option == "-A"
        elif option == "-d":
            if _list_and_action(value or "", state, option) == "deprecated":
                return Line("skip")
        elif option == "-S":
            add_syscalls(state, value or "")
        elif option == "-F":
            if state.rule_list is None and not (
                "arch=" in (value or "") and options[index + 1:index + 2] == [("-t", None)]
            ):  # auditctl lets "-F arch=... -t" through without a list
                raise Refused("List must be given before field")
            if (value or "").startswith("key="):
                _add_key(state, value[4:])
            else:
                add_field(state, value or "")
        elif option == "-C":
            _add_compare(state, value or "")
        elif option == "-m":
            if count > 3:
                raise Refused("The -m option must be only the only option and takes 1 parameter")
            if any(ord(c) < 32 for c in value or ""):
                raise Refused("Illegal character in audit event")
            return Line("skip")
        elif option == "-R":
            raise Refused("Error - nested rule files not supported")
        elif option == "-D":
            if count > 4 or count == 3:
                raise Refused("Wrong number of options for Delete all request")
            if count == 4:
                if tokens[1] != "-k":
                    raise Refused("Only the -k option is allowed")
                return Line("clear", keys=[tokens[2]])
            return Line("clear")
        elif option in ("-w", "-W"):
            _watch(state, option, value or "")
        elif option == "-k":
            if not (state.syscall_added or state.perm_added or state.exe_added or state.fs_added or state.listing) or (
                state.add is None and state.delete is None
            ):
                raise Refused("key option needs a watch or syscall given prior to it")
            _add_key(state, value or "")
        elif option == "-p":
            _permissions(state, value or "")
        elif option == "-q":
            if state.syscall_added:
                raise Refused("Syscall auditing requested for make equivalent")
            mount, comma, sub = (value or "").partition(",")
            if not comma or not sub or "," in sub:
                raise Refused("Error parsing equivalent parts")
            return Line("skip", doubts=["-q asks the kernel to make two watched trees equivalent; "
                                        "whether it succeeds depends on the target's watches"])
        elif option in ("-t", "--reset-lost", "--reset_backlog_wait_time_actual"):
            return Line("skip")
        elif option == "--loginuid-immutable":
            return Line("control", settings={option: ""})
        elif option == "--signal":
            if (value or "").upper() not in ("TERM", "HUP", "USR1", "USR2", "CONT"):
                raise Refused(f"{value} is an unsupported signal")
            return Line("skip", doubts=["--signal succeeds only when auditd is running"])
        if option in STOPS_OPTIONS:
            stopped_at = index
            break
    keep_going = "-i" in state.settings or "-c" in state.settings
    if stopped_at is None and bad is not None:
        raise Refused(f"Option {bad} is invalid", keep_going)
    if not options:
        raise Refused("parameter passed without an option given")
    leftover = rest or (stopped_at is not None and (stopped_at + 1 < len(options) or bad is not None))
    if leftover:
        raise Refused("parameter passed without an option given", keep_going)
    if state.key and not state.list_requested:
        _key_field(state)
    if stopped_at is not None or (state.rule_list is None and not state.syscall_added and state.settings):
        # -i, -c or -v end setopt with "success, nothing to send": a rule built before them is dropped
        return Line("control" if state.settings else "skip", settings=dict(state.settings), doubts=state.doubts)
    line = _finish(state)
    line.settings = dict(state.settings)
    return line


def _watch(state: RuleState, option: str, value: str) -> None:
    if option == "-w" and (state.add is not None or state.delete is not None):
        raise Refused("watch option can't be given with a syscall")
    if state.field_count() or state.watch:
        raise Refused("Rule is not empty")
    _check_path(value)
    path = value
    if len(path) > 2:
        while path.endswith("/") and len(path) > 1:
            path = path[:-1]
    if option == "-w":
        state.add = "exit"
    else:
        state.delete = "exit"
    state.action = "always"
    state.syscall_added = True
    state.perm_added = True
    state.all_syscalls = True
    state.watch = path
    state.fields.append(("perm", "=", PERMISSIONS))
    state.order += [("path", "=", path), ("perm", "=", PERMISSIONS)]  # as -F path= -F perm= would send them


def _permissions(state: RuleState, text: str) -> None:
    if state.add is None and state.delete is None:
        raise Refused("permission option needs a watch given prior to it")
    if len(text) > 4:
        raise Refused(f"permission {text} is too long")
    if set(text.lower()) - set(PERMISSIONS):
        raise Refused(f"Permission {text} isn't supported")
    if state.field_count() < 1:  # any field, -F arch included
        raise Refused("Permissions should be preceeded by other fields")
    perms = "".join(p for p in PERMISSIONS if p in text.lower())
    if any(n == "perm" for n, _, _ in state.fields):
        state.fields = [(n, o, perms if n == "perm" else v) for n, o, v in state.fields]
        state.order = [(n, o, perms if n == "perm" else v) for n, o, v in state.order]
    else:
        if state.field_count() >= AUDIT_MAX_FIELDS - 1:
            raise Refused("Too many fields when adding permissions")
        state.fields.append(("perm", "=", perms))
        state.order.append(("perm", "=", perms))
    state.perm_added = True


def _add_key(state: RuleState, value: str) -> None:
    if len(value) + len(state.key) + (1 if state.key else 0) > AUDIT_MAX_KEY_LEN:
        raise Refused("key option exceeds size limit")
    state.key = f"{state.key}\x01{value}" if state.key else value


def _key_field(state: RuleState) -> None:
    flags = state.rule_list
    if state.field_count() >= AUDIT_MAX_FIELDS - 1:
        raise Refused("Too many fields in rule: key")
    if flags == "exclude":
        raise Refused("Only msgtype, *uid, *gid, pid, and subj* fields can be used with exclude filter")
    if not (state.syscall_added or state.perm_added or state.exe_added or state.fs_added or state.listing):
        raise Refused("Key field needs a watch, syscall or exe path given prior to it")
    state.key_fields.append(state.key)
    state.order.append(("key", "=", state.key))


def compare_number(a: str, b: str) -> int:
    """The kernel's AUDIT_COMPARE_* value for a pair of fields (either order)."""
    pair = {a, b}
    return next(int(n) for n, fields in tables()["field_compare"].items() if set(fields) == pair)


def _add_compare(state: RuleState, expression: str) -> None:
    if state.field_count() >= AUDIT_MAX_FIELDS - 1:
        raise Refused(f"Too many fields in rule: {expression}")
    if "!=" in expression:
        at, op = expression.find("!="), "!="
    elif "=" in expression:
        at, op = expression.find("="), "="
    else:
        raise Refused(f"{expression} only takes = or != operators")
    left, right = expression[:at], expression[at + len(op):]
    if not left:
        raise Refused(f"-C missing field name before operator for {expression}")
    if not right:
        raise Refused(f"-C missing value after operation for {left}")
    first, second = left.lower(), right.lower()
    if first not in FIELD_KIND:
        raise Refused(f"-C unknown field: {left}")
    if second not in FIELD_KIND:
        raise Refused(f"-C unknown right hand value for comparison with: {right}")
    if state.rule_list != "exit":
        raise Refused(f"{expression} can only be used with exit filter list")
    first, second = FIELD_ALIASES.get(first, first), FIELD_ALIASES.get(second, second)
    if first == second or frozenset((first, second)) not in COMPARE_PAIRS:
        raise Refused(f"-C incompatible comparison {expression}")
    a, b = sorted((first, second))
    state.fields.append((a, op, b))  # auditctl -l prints the pair in its own order, so sort it
    state.order.append(("field_compare", op, compare_number(a, b)))  # what the kernel holds


def _finish(state: RuleState) -> Line:
    """handle_request: the rule auditctl sends, and the kernel's checks of the whole rule."""
    if state.rule_list is None:
        if state.syscall_added:
            raise Refused("Error - no list specified")
        raise Refused("no rule, watch or setting on this line")
    if state.field_count() > AUDIT_MAX_FIELDS:
        raise Refused("too many fields")
    if len(state.key_fields) > 1:
        raise Refused("the kernel takes one key field per rule")
    table, _ = _table_for(state) if state.rule_list != "io_uring" else (None, None)  # op numbers, not syscalls
    all_syscalls = state.all_syscalls or (state.rule_list != "task" and not state.syscall_added)
    if state.listing and state.rule_list in ("exit", "io_uring") and not state.syscall_added:
        all_syscalls = False  # auditctl -l prints "-S all" for a full mask and nothing for an empty one
    if state.rule_list == "task":
        all_syscalls = False
    if state.watch is not None:
        all_syscalls = True
    keys = state.key_fields[0].split("\x01") if state.key_fields else []
    fields = list(state.fields)
    return Line(
        op="delete" if state.delete is not None else "prepend" if state.prepend else "add",
        rule_list=state.rule_list, action=state.action,
        arch_fields=list(state.arch_list), table=table,
        all_syscalls=all_syscalls, syscall_names=state.syscall_names,
        syscall_numbers=None if state.syscall_numbers is None else set(state.syscall_numbers),
        fields=fields, keys=keys, watch=state.watch, doubts=state.doubts,
        identity=(state.rule_list, state.action, tuple(state.order),
                  "all" if all_syscalls else frozenset(state.syscall_numbers if state.syscall_numbers is not None
                                                       else state.syscall_names)),
    )
