"""Does an audit rule list record a given syscall?  Pure logic behind ``audit.socket_logging``.

It follows the kernel:

* A ``never`` rule on the **task** list stops syscall auditing for the tasks it matches, whatever
  the exit rules say.
* On the **exit** list the first rule that matches decides: ``always`` records, ``never`` drops.
  A rule with filters matches only some calls; the others fall through to later rules.  So an
  unfiltered ``always`` rule covers the syscall, unless a filtered ``never`` rule before it takes
  some calls away; an unfiltered ``never`` rule first shadows it; and filtered ``always`` rules
  alone record only some calls.
* A rule on the **exclude** list that matches the SYSCALL (or SOCKADDR) record drops it.
* A rule without ``-F arch`` uses the native syscall table of the host: it counts for b64 on a
  64-bit host and for b32 on a 32-bit one.
* On b32, a socket call may also go through ``socketcall(2)``, whose first argument (``a0``) is
  the call number; a ``socketcall`` rule with an ``a0`` filter is judged on that number.

Filters the organisation accepts as not narrowing (``auid>=1000``) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from auditor.collect.parsers.audit_rules import format_field
from auditor.model.facts import AuditField, AuditRule

SOCKET_SYSCALLS = (
    "socket", "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "setsockopt", "getsockopt",
)
# socketcall(2) call numbers (linux/net.h)
SOCKETCALL_NUMBERS = {
    "socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5, "getsockname": 6, "getpeername": 7,
    "socketpair": 8, "sendto": 11, "recvfrom": 12, "shutdown": 13, "setsockopt": 14, "getsockopt": 15,
    "sendmsg": 16, "recvmsg": 17, "accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
}
# Syscall numbers of the socket calls, to read rules written with numbers (-S 49).  Every socket
# syscall of the ABI is listed, so a number missing here is not a socket call.
X86_64 = {
    41: "socket", 42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
    48: "shutdown", 49: "bind", 50: "listen", 51: "getsockname", 52: "getpeername", 53: "socketpair",
    54: "setsockopt", 55: "getsockopt", 288: "accept4", 299: "recvmmsg", 307: "sendmmsg",
}
I386 = {
    102: "socketcall", 337: "recvmmsg", 345: "sendmmsg", 359: "socket", 360: "socketpair", 361: "bind",
    362: "connect", 363: "listen", 364: "accept4", 365: "getsockopt", 366: "setsockopt", 367: "getsockname",
    368: "getpeername", 369: "sendto", 370: "sendmsg", 371: "recvfrom", 372: "recvmsg", 373: "shutdown",
}
I386_ONLY_VIA_SOCKETCALL = frozenset({"accept"})  # i386 has no accept syscall
MACHINES_64 = frozenset("x86_64 aarch64 arm64 ppc64 ppc64le s390x riscv64 mips64 loongarch64 sparc64".split())
MACHINES_32 = frozenset("i386 i486 i586 i686 x86 arm armv6l armv7l armv8l ppc s390 mips riscv32".split())
RECORD_TYPES = {"SYSCALL": 1300, "SOCKETCALL": 1304, "SOCKADDR": 1306}  # the records a socket event needs
SOCKET_RECORDS = {"SYSCALL": 1300, "SOCKADDR": 1306}

TASK_NEVER_NOTE = "a never rule on the task list turns syscall auditing off for the tasks it matches"

Status = Literal["covered", "shadowed", "narrowed", "missing"]


@dataclass(frozen=True)
class Host:
    """What the rules' meaning depends on: the host's machine name (``uname -m``)."""

    machine: str | None

    @property
    def native(self) -> str | None:
        if self.machine in MACHINES_64:
            return "b64"
        if self.machine in MACHINES_32:
            return "b32"
        return None

    @property
    def is_x86(self) -> bool:
        return self.machine in ("x86_64", "i386", "i486", "i586", "i686", "x86")

    def number_table(self, arch: str) -> dict[int, str] | None:
        if not self.is_x86:
            return None
        return X86_64 if arch == "b64" else I386

    def paths(self, arch: str, syscall: str) -> list["Path"]:
        """The ways a program of this arch makes the call: the syscall itself and, on b32, socketcall."""
        paths = []
        if not (arch == "b32" and self.is_x86 and syscall in I386_ONLY_VIA_SOCKETCALL):
            paths.append(Path(syscall, syscall, None))
        arm = (self.machine or "").startswith(("arm", "aarch64"))  # ARM EABI has no socketcall
        if arch == "b32" and not arm and syscall in SOCKETCALL_NUMBERS:
            paths.append(Path(syscall, "socketcall", SOCKETCALL_NUMBERS[syscall]))
        return paths


@dataclass(frozen=True)
class Path:
    syscall: str
    name: str  # the syscall the rule must select: the call itself or "socketcall"
    call: int | None  # socketcall call number

    @property
    def label(self) -> str:
        return f"socketcall a0={self.call} ({self.syscall})" if self.call is not None else self.syscall


@dataclass(frozen=True)
class Hit:
    """A rule that decides or affects a path."""

    index: int
    rule: AuditRule
    filters: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class PathVerdict:
    path: Path
    status: Status
    decided_by: Hit | None = None  # the covering or shadowing rule
    against: tuple[Hit, ...] = field(default=())  # rules that take some calls away (or record only some)


def compare(left: int, op: str, right: int) -> bool:
    """audit_comparator() of the kernel."""
    return {
        "=": left == right, "!=": left != right, "<": left < right, ">": left > right,
        "<=": left <= right, ">=": left >= right, "&": bool(left & right), "&=": (left & right) == right,
    }[op]


def _key(item: AuditField) -> tuple[str, str, str]:
    return (item.name, item.op, item.value)


def _narrowing(fields: list[AuditField], accepted: frozenset[tuple[str, str, str]]) -> tuple[str, ...]:
    return tuple(format_field(f) for f in fields if _key(f) not in accepted)


def _is_number(text: str) -> bool:
    # str.isdigit() is also true for "²" and for 5000 digits, on which int() raises.
    return text.isascii() and text.isdigit() and len(text) <= 18


def _selects(rule: AuditRule, name: str, arch: str, host: Host) -> bool | None:
    """Does the rule's -S list include ``name``?  None when it names numbers we cannot read."""
    if "all" in rule.syscalls or name in rule.syscalls:
        return True
    numbers = [int(s) for s in rule.syscalls if _is_number(s)]
    if not numbers:
        return False
    table = host.number_table(arch)
    if table is None:
        return None
    return any(table.get(n) == name for n in numbers)


def _call_matches(fields: list[AuditField], call: int) -> tuple[bool, list[AuditField]]:
    """Judge the a0 filters of a socketcall rule on the call number; return the other fields."""
    rest = []
    for item in fields:
        if item.name == "a0":
            try:
                value = int(item.value, 0)
            except ValueError:
                rest.append(item)
                continue
            if not compare(call, item.op, value):
                return False, []
        else:
            rest.append(item)
    return True, rest


def _record_matches(fields: list[AuditField], record: int) -> bool | None:
    """Do the msgtype filters of an exclude rule match this record type?  None when unknowable."""
    for item in fields:
        if item.name != "msgtype":
            continue
        value = RECORD_TYPES.get(item.value)
        if value is None and _is_number(item.value):
            value = int(item.value)
        if value is None:  # a record name we do not know is some other record type
            if item.op == "=":
                return False
            if item.op == "!=":
                continue
            return None
        if not compare(record, item.op, value):
            return False
    return True


def _task_and_exclude(rules: list[AuditRule], accepted: frozenset) -> tuple[Hit | None, list[Hit]]:
    """Rules outside the exit list that stop socket events: (one that stops them all, partial ones)."""
    against: list[Hit] = []
    task_decided = False
    for index, rule in enumerate(rules):
        if rule.kind != "syscall":
            continue
        if rule.rule_list == "task" and rule.action == "always":
            # first match on the task list: after an unfiltered always rule no task rule is reached
            task_decided = task_decided or not _narrowing(rule.fields, accepted)
        elif rule.rule_list == "task" and rule.action == "never" and not task_decided:
            filters = _narrowing(rule.fields, accepted)
            hit = Hit(index, rule, filters, TASK_NEVER_NOTE)
            if not filters:
                return hit, against
            against.append(hit)
        elif rule.rule_list == "exclude" and rule.fields:  # an exclude rule without fields matches nothing
            matches = {name: _record_matches(rule.fields, number) for name, number in SOCKET_RECORDS.items()}
            if not any(m is not False for m in matches.values()):
                continue
            others = _narrowing([f for f in rule.fields if f.name != "msgtype"], accepted)
            note = "the exclude list drops the records it matches"
            if matches["SYSCALL"] is True and not others:
                return Hit(index, rule, (), note + ": every SYSCALL record"), against
            shown = others or tuple(format_field(f) for f in rule.fields if f.name == "msgtype")
            against.append(Hit(index, rule, shown, note))
    return None, against


def judge_path(rules: list[AuditRule], arch: str, path: Path, host: Host, accepted: frozenset) -> PathVerdict:
    stopper, against = _task_and_exclude(rules, accepted)
    if stopper is not None:
        return PathVerdict(path, "shadowed", stopper, tuple(against))
    partial: list[Hit] = []
    for index, rule in enumerate(rules):
        if rule.kind != "syscall" or rule.rule_list != "exit":
            continue
        rule_arch = rule.arch or host.native
        if rule_arch is None:
            if rule.action == "never" and _selects(rule, path.name, arch, host) is not False:
                against.append(Hit(index, rule, ("no -F arch, on a host of unknown word size",)))
            continue
        if rule_arch != arch:
            continue
        selected = _selects(rule, path.name, arch, host)
        if selected is False:
            continue
        fields = rule.fields
        if path.call is not None:
            applies, fields = _call_matches(fields, path.call)
            if not applies:
                continue
        filters = _narrowing(fields, accepted)
        if selected is None:
            filters = (f"-S {','.join(rule.syscalls)} (syscall numbers that cannot be read for this host)",) + filters
            if rule.action == "never":
                against.append(Hit(index, rule, filters))
            continue
        if not filters:
            if rule.action == "never":
                return PathVerdict(path, "shadowed", Hit(index, rule), _in_order(partial + against))
            status: Status = "narrowed" if against else "covered"
            return PathVerdict(path, status, Hit(index, rule), _in_order(against))
        (partial if rule.action == "always" else against).append(Hit(index, rule, filters))
    hits = _in_order(partial + against)
    return PathVerdict(path, "narrowed" if hits else "missing", None, hits)


def _in_order(hits: list[Hit]) -> tuple[Hit, ...]:
    return tuple(sorted(hits, key=lambda h: h.index))


@dataclass(frozen=True)
class SyscallVerdict:
    syscall: str
    covered: bool
    paths: tuple[PathVerdict, ...]


def refused_by_auditctl(rule: AuditRule, host: Host) -> str | None:
    """Why ``auditctl`` on this host refuses ``rule``, when it names a socket call that the syscall
    table of its ABI does not have (``-F arch=b32 -S accept`` on x86: i386 has no accept); None
    otherwise, and whenever the host's tables are not known."""
    if rule.kind != "syscall":
        return None
    arch = rule.arch or host.native
    table = host.number_table(arch) if arch else None
    if table is None:
        return None
    known = set(table.values())
    absent = [s for s in rule.syscalls if s in SOCKET_SYSCALLS + ("socketcall",) and s not in known]
    if not absent:
        return None
    return f"{arch} on {host.machine} has no {', '.join(absent)} syscall, so auditctl refuses this rule"


def judge_syscall(rules: list[AuditRule], arch: str, syscall: str, host: Host, accepted: frozenset) -> SyscallVerdict:
    """Covered when any way of making the call is covered (on b32: the syscall or socketcall)."""
    verdicts = tuple(judge_path(rules, arch, p, host, accepted) for p in host.paths(arch, syscall))
    return SyscallVerdict(syscall, any(v.status == "covered" for v in verdicts), verdicts)
