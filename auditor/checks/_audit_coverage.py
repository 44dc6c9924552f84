"""Does an audit rule list record a given syscall?  Pure logic behind ``audit.socket_logging``.

It follows the kernel:

* A ``never`` rule on the **task** list stops syscall auditing for the tasks it matches, whatever
  the exit rules say.  Task rules are matched when a task is forked, with no syscall context
  (:data:`TASK_UNMATCHED_FIELDS`): a task rule with an arch, argument or address-family field
  matches no task at all, whichever its action.
* On the **exit** list the first rule that matches decides: ``always`` records, ``never`` drops.
  A rule with filters matches only some calls; the others fall through to later rules.  So an
  unfiltered ``always`` rule covers the syscall, unless a filtered ``never`` rule before it takes
  some calls away; an unfiltered ``never`` rule first shadows it; and filtered ``always`` rules
  alone record only some calls.
* A rule on the **exclude** list that matches the SYSCALL (or SOCKADDR) record drops it.
* A rule's ``-S`` names are syscall numbers to the kernel (looked up in the table of its ``-F arch``,
  or of the host's machine without one).  A rule without ``-F arch`` matches those numbers on every
  ABI of the host: on x86_64 a rule for ``getuid`` (102) also matches i386 ``socketcall`` (102).
* Where the ABI has ``socketcall(2)`` (i386, s390, ppc, arm), a socket call may also go through
  it, its first argument (``a0``) the call number; a ``socketcall`` rule with an ``a0`` filter is
  judged on that number.  The program chooses the way, so a call is audited only when *every* way
  of making it is: a 32-bit program on x86_64 binds with i386 ``bind`` (361) or with
  ``socketcall`` (102, a0=2), and a rule for one of them leaves the other unrecorded.
* A TCP connection is also opened without connect(2): sendto(2), sendmsg(2) or sendmmsg(2) with
  MSG_FASTOPEN on an unconnected TCP socket connects it (TCP Fast Open, :meth:`Host.fastopen_paths`),
  where the network namespace's net.ipv4.tcp_fastopen has the client bit.  A rule for those sends
  covers the connect only unfiltered, or filtered by a bit test of MSG_FASTOPEN on the flags
  argument, which every such send passes.

Filters the organisation accepts as not narrowing (``auid>=1000``) are ignored.
"""

from __future__ import annotations

from dataclasses import field
from typing import Literal

from auditor.domain import auditctl_grammar as grammar
from auditor.domain.audit_statement import format_field
from auditor.model.facts import AuditField, AuditRule
from auditor.model.records import record
from auditor.text import ascii_decimal

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
RECORD_TYPES = {"SYSCALL": 1300, "SOCKETCALL": 1304, "SOCKADDR": 1306}  # the records a socket event needs
SOCKET_RECORDS = {"SYSCALL": 1300, "SOCKADDR": 1306}

# TCP Fast Open, client side (net/ipv4/tcp.c): tcp_sendmsg_locked() hands a send with MSG_FASTOPEN
# to tcp_sendmsg_fastopen(), which connects the socket to the message's address
# (__inet_stream_connect) unless the namespace's sysctl_tcp_fastopen lacks TFO_CLIENT_ENABLE.  No
# connect(2) is made, so a connect rule does not see it.  The flags are the sends' own argument
# (____sys_sendmsg sets msg_flags from it): a3 of sendto(fd, buf, len, flags, addr, addrlen), a2
# of sendmsg(fd, msg, flags), a3 of sendmmsg(fd, vec, vlen, flags).  send(2) passes no address, so
# tcp_v4_pre_connect refuses it (EINVAL): not a way.  Through socketcall the arguments are behind a
# pointer, so a rule can select those calls only by the call number (a0).
MSG_FASTOPEN = 0x20000000  # include/linux/socket.h
TFO_CLIENT_ENABLE = 1  # include/net/tcp.h: the client bit of net.ipv4.tcp_fastopen
FASTOPEN_SENDS = {"sendto": "a3", "sendmsg": "a2", "sendmmsg": "a3"}  # the send -> its flags argument
FASTOPEN_CALL = "connect"  # the policy's call these sends make

# kernel/auditfilter.c audit_to_entry_common(): the last AUDIT_SYSCALL_CLASSES (16) bits of a rule's
# 2048-bit syscall mask are syscall classes, not syscalls.  The kernel clears each one set and adds
# every syscall of that class (the arch code's audit_register_class tables: AUDIT_CLASS_WRITE, bit
# 2047 - 6 = 2041, holds bind; its 32-bit twin is 2040).  auditctl sends such a number as it is
# (audit_rule_syscall_data takes any number below 2048), and auditctl -l lists the syscalls the
# kernel put in its place, so only a rule read from a rules file holds one.
AUDIT_SYSCALL_CLASSES = 16
SYSCALL_CLASS_NUMBERS = range(64 * 32 - AUDIT_SYSCALL_CLASSES, 64 * 32)

TASK_NEVER_NOTE = "a never rule on the task list turns syscall auditing off for the tasks it matches"
# audit_filter_task() matches the task list at fork with no syscall context (audit_filter_rules(tsk,
# rule, ctx=NULL, ...)), and these fields compare only "if (ctx)": with one of them, whatever its
# operator, a task rule matches no task.  (exit, success, ppid, perm, filetype and -C need a
# context too, but auditctl takes them on the exit list only.)
TASK_UNMATCHED_FIELDS = frozenset({"arch", "a0", "a1", "a2", "a3", "saddr_fam"})

Status = Literal["covered", "shadowed", "narrowed", "missing"]


@record
class Host:
    """What the rules' meaning depends on: the host's machine name (``uname -m``)."""

    machine: str | None

    @property
    def _machine(self) -> str | None:
        return grammar.host_machine(self.machine)

    @property
    def native(self) -> str | None:
        machine = self._machine
        return grammar.word_size(machine) if machine else None

    def table(self, arch: str) -> str | None:
        """The libaudit syscall table of this host's ``arch`` ABI; None when not known."""
        machine = grammar.abi_machines(self._machine).get(arch)
        return grammar.MACHINE_TABLE[machine] if machine else None

    def number(self, arch: str, syscall: str) -> int | None:
        table = self.table(arch)
        return grammar.syscall_table(table).get(syscall) if table else None

    def paths(self, arch: str, syscall: str) -> list["Path"]:
        """The ways a program of this arch makes the call: the syscall itself and socketcall(2)
        where the ABI has it.  On an unknown machine: the syscall, and socketcall on b32."""
        table = self.table(arch)
        entries = grammar.syscall_table(table) if table else None
        paths = []
        known = entries is not None  # else each way may not exist on this ABI
        if entries is None or syscall in entries:
            paths.append(Path(syscall, syscall, None, known))
        has_socketcall = entries is not None and "socketcall" in entries
        if (has_socketcall or (entries is None and arch == "b32")) and syscall in SOCKETCALL_NUMBERS:
            paths.append(Path(syscall, "socketcall", SOCKETCALL_NUMBERS[syscall], known))
        return paths

    def fastopen_paths(self, arch: str) -> list["Path"]:
        """The ways a program of this arch opens a TCP connection with TCP Fast Open instead of
        connect(2): each send that carries MSG_FASTOPEN, as the syscall and through socketcall."""
        return [Path(way.syscall, way.name, way.call, way.exists, flags_arg)
                for send, flags_arg in FASTOPEN_SENDS.items() for way in self.paths(arch, send)]


@record
class Path:
    syscall: str
    name: str  # the syscall the rule must select: the call itself or "socketcall"
    call: int | None  # socketcall call number
    exists: bool = True  # False: the ABI's table is unknown, so whether programs can take this way is too
    # The argument holding the send's flags when the way makes the policy's call only with
    # MSG_FASTOPEN set (TCP Fast Open); None for the call itself
    fastopen_flags: str | None = None

    @property
    def label(self) -> str:
        call = f"{self.syscall} with MSG_FASTOPEN" if self.fastopen_flags else self.syscall
        return f"socketcall a0={self.call} ({call})" if self.call is not None else call


@record
class Hit:
    """A rule that decides or affects a path."""

    index: int
    rule: AuditRule
    filters: tuple[str, ...] = ()
    note: str = ""


@record
class PathVerdict:
    path: Path
    status: Status
    decided_by: Hit | None = None  # the covering or shadowing rule
    against: tuple[Hit, ...] = field(default=())  # rules that take some calls away (or record only some)
    # rules whose accepted filters the verdict also rests on: an always rule on the task list that
    # matches first (and so keeps a later never rule from the tasks it matches) only for the tasks
    # its accepted filters let through; the others reach that never rule
    relied: tuple[Hit, ...] = field(default=())


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
    return ascii_decimal(text) is not None


def class_bits(rule: AuditRule) -> list[int]:
    """The syscall class numbers (:data:`SYSCALL_CLASS_NUMBERS`) a rule from a rules file holds."""
    return [n for n in rule.syscall_numbers or () if n in SYSCALL_CLASS_NUMBERS]


def _selects(rule: AuditRule, name: str, arch: str, host: Host) -> bool | None:
    """Does the rule's syscall bitmask hold the number ``name`` has on this ABI?  None when the
    numbers cannot be read (unknown machine), or when the rule holds a syscall class
    (:func:`class_bits`) and not the number itself: whether the class has it is the kernel's."""
    if "all" in rule.syscalls:
        return True
    if host.table(arch) is None and grammar.host_machine(host.machine) is not None:
        return False  # a host of known machine without this ABI (b64 on i686)
    number = host.number(arch, name)
    if rule.syscall_numbers is not None and rule.syscall_table is not None and host.table(arch) is not None:
        if number is not None and number in rule.syscall_numbers:
            return True
        return None if class_bits(rule) else False
    if name in rule.syscalls and rule.arch is not None:
        return True
    return None


def _applies(rule: AuditRule, arch: str, host: Host) -> tuple[bool | None, list[AuditField]]:
    """Does an exit rule apply to calls of this ABI, and its fields without the arch ones it was
    judged on.  A rule without ``-F arch`` applies to every ABI; more arch fields (``arch!=`` one
    machine, or a second ``arch=``) must all match too."""
    fields = []
    host_table = host.table(arch)
    for item in rule.fields:
        if item.name == "arch":  # an arch field besides the rule's own: every one must match
            if host_table is None:
                return None, rule.fields
            machine_table = grammar.MACHINE_TABLE.get(item.value)
            this_abi = machine_table == host_table and grammar.word_size(item.value) == arch
            if this_abi != (item.op == "="):
                return False, []
            continue
        fields.append(item)
    if rule.arch is None:
        return True, fields
    if rule.arch != arch:
        return False, []
    if rule.arch_machine and host_table and grammar.MACHINE_TABLE.get(rule.arch_machine) != host_table:
        return False, []  # another machine's ABI of the same word size (arch=aarch64 on x86_64)
    return True, fields


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


def _passes_every_fastopen_send(item: AuditField, flags_arg: str) -> bool:
    """Does the filter match every send whose flags argument has MSG_FASTOPEN, whatever its other
    bits?  ``a3&0x20000000`` (bit mask: any common bit) and ``a3&=0x20000000`` (bit test: all of the
    value's bits) do; a filter of another argument, or of other bits, selects by something else."""
    if item.name != flags_arg:
        return False
    try:
        value = int(item.value, 0)
    except ValueError:
        return False
    if item.op == "&":
        return bool(value & MSG_FASTOPEN)
    if item.op == "&=":
        return value & ~MSG_FASTOPEN == 0
    return False


def _record_matches(fields: list[AuditField], record: int) -> bool | None:
    """Do the msgtype filters of an exclude rule match this record type?  None when unknowable."""
    for item in fields:
        if item.name != "msgtype":
            continue
        tables = grammar.tables()
        value = RECORD_TYPES.get(item.value, tables["msg_types"].get(item.value,
                                                                      tables["msg_types_if_built_with"].get(item.value)))
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


def _matches_at_fork(rule: AuditRule) -> bool:
    """Can a task-list rule match any task?  Not with a field the kernel compares only in a
    syscall context (:data:`TASK_UNMATCHED_FIELDS`; the rule's own -F arch is kept apart)."""
    return rule.arch is None and rule.arch_machine is None and not any(
        f.name in TASK_UNMATCHED_FIELDS for f in rule.fields)


def _task_and_exclude(rules: list[AuditRule], accepted: frozenset, lists: tuple[str, ...] = ("task", "exclude")
                      ) -> tuple[Hit | None, list[Hit], tuple[Hit, ...]]:
    """Rules outside the exit list that stop socket events: (one that stops them all, partial ones,
    the always task rule whose accepted filters alone kept a never task rule after it away).  Only
    the rules of ``lists`` are read: a caller that judges the exclude list on another record type
    reads the task list alone, so that an exclude rule that stops every SYSCALL record does not end
    the pass before a never task rule written after it."""
    against: list[Hit] = []
    decider: Hit | None = None  # the first always task rule without narrowing filters
    relied: tuple[Hit, ...] = ()
    for index, rule in enumerate(rules):
        if rule.kind != "syscall" or rule.rule_list not in lists:
            continue
        if rule.rule_list == "task" and not _matches_at_fork(rule):
            continue  # neither an always rule that decides first nor a never rule that stops anything
        if rule.rule_list == "task" and rule.action == "always":
            # first match on the task list: after an unfiltered always rule no task rule is reached
            if decider is None and not _narrowing(rule.fields, accepted):
                decider = Hit(index, rule)
        elif rule.rule_list == "task" and rule.action == "never" and decider is not None:
            if any(_key(f) in accepted for f in decider.rule.fields) and not relied:
                relied = (decider,)  # the tasks its accepted filters leave out reach this never rule
        elif rule.rule_list == "task" and rule.action == "never":
            filters = _narrowing(rule.fields, accepted)
            hit = Hit(index, rule, filters, TASK_NEVER_NOTE)
            if not filters:
                return hit, against, relied
            against.append(hit)
        elif rule.rule_list == "exclude" and rule.fields:  # an exclude rule without fields matches nothing
            matches = {name: _record_matches(rule.fields, number) for name, number in SOCKET_RECORDS.items()}
            if not any(m is not False for m in matches.values()):
                continue
            others = _narrowing([f for f in rule.fields if f.name != "msgtype"], accepted)
            note = "the exclude list drops the records it matches"
            if matches["SYSCALL"] is True and not others:
                return Hit(index, rule, (), note + ": every SYSCALL record"), against, relied
            shown = others or tuple(format_field(f) for f in rule.fields if f.name == "msgtype")
            against.append(Hit(index, rule, shown, note))
    return None, against, relied


def judge_path(rules: list[AuditRule], arch: str, path: Path, host: Host, accepted: frozenset) -> PathVerdict:
    stopper, against, relied = _task_and_exclude(rules, accepted)
    if stopper is not None:
        return PathVerdict(path, "shadowed", stopper, tuple(against))
    partial: list[Hit] = []
    for index, rule in enumerate(rules):
        if rule.kind != "syscall" or rule.rule_list != "exit":
            continue
        applies, fields = _applies(rule, arch, host)
        if applies is False:
            continue
        if rule.arch is None and host.table(arch) is None and "all" not in rule.syscalls:
            if rule.action == "never" and _selects(rule, path.name, arch, host) is not False:
                against.append(Hit(index, rule, ("no -F arch, on a host of unknown word size",)))
            continue
        selected = _selects(rule, path.name, arch, host)
        if selected is False:
            continue
        if applies is None:
            if rule.action == "never":
                against.append(Hit(index, rule, ("arch!= on a host of unknown machine",)))
            continue
        if path.call is not None:
            applies, fields = _call_matches(fields, path.call)
            if not applies:
                continue
        elif path.fastopen_flags is not None:
            # the test of MSG_FASTOPEN selects exactly the sends that connect: not a narrowing
            fields = [f for f in fields if not _passes_every_fastopen_send(f, path.fastopen_flags)]
        filters = _narrowing(fields, accepted)
        if selected is None and class_bits(rule):
            # the kernel replaces each class number with the syscalls of that class: a never rule
            # may take the call away, an always rule is not known to record it
            shown = ",".join(str(n) for n in class_bits(rule))
            filters = (f"-S {shown} (a syscall class: the kernel adds every syscall of the class, bind among "
                       "the write class's, and lbaudit does not hold the classes)",) + filters
            (partial if rule.action == "always" else against).append(Hit(index, rule, filters))
            continue
        if selected is None:
            filters = (f"-S {','.join(rule.syscalls)} (syscall numbers that cannot be read for this host)",) + filters
            if rule.action == "never":
                against.append(Hit(index, rule, filters))
            continue
        if not filters:
            if rule.action == "never":
                return PathVerdict(path, "shadowed", Hit(index, rule), _in_order(partial + against))
            status: Status = "narrowed" if against else "covered"
            return PathVerdict(path, status, Hit(index, rule), _in_order(against), relied)
        (partial if rule.action == "always" else against).append(Hit(index, rule, filters))
    hits = _in_order(partial + against)
    return PathVerdict(path, "narrowed" if hits else "missing", None, hits)


def _in_order(hits: list[Hit]) -> tuple[Hit, ...]:
    return tuple(sorted(hits, key=lambda h: h.index))


@record
class SyscallVerdict:
    syscall: str
    covered: bool
    paths: tuple[PathVerdict, ...]
    # Not covered only by ways that may not exist (unknown machine), while another way is covered:
    # neither a pass nor a failure can be claimed.
    unsure: bool = False


def judge_syscall(rules: list[AuditRule], arch: str, syscall: str, host: Host, accepted: frozenset) -> SyscallVerdict:
    """Covered when every way of making the call is covered (the syscall itself, and socketcall
    where the ABI has it): the program, not the rules, picks the way, so one way left unaudited is
    a way to make the call unrecorded.  No way at all is not covered."""
    return _judge_ways(rules, arch, syscall, host.paths(arch, syscall), host, accepted)


def judge_fastopen(rules: list[AuditRule], arch: str, host: Host, accepted: frozenset) -> SyscallVerdict:
    """Are the connects made by TCP Fast Open sends (:meth:`Host.fastopen_paths`) all recorded?
    The verdict's syscall is :data:`FASTOPEN_CALL`, the call they make."""
    return _judge_ways(rules, arch, FASTOPEN_CALL, host.fastopen_paths(arch), host, accepted)


def _judge_ways(rules: list[AuditRule], arch: str, syscall: str, paths: list[Path], host: Host,
                accepted: frozenset) -> SyscallVerdict:
    verdicts = tuple(judge_path(rules, arch, p, host, accepted) for p in paths)
    covered = bool(verdicts) and all(v.status == "covered" for v in verdicts)
    open_ways = [v for v in verdicts if v.status != "covered"]
    unsure = (not covered and len(open_ways) < len(verdicts)
              and all(not v.path.exists for v in open_ways))
    return SyscallVerdict(syscall, covered, verdicts, unsure)


# ---------------------------------------------------------------- io_uring operations
#
# A process can bind, listen, connect and accept through io_uring operations instead of syscalls
# (IORING_OP_ACCEPT 13 and _CONNECT 16 since Linux 5.5, _BIND 56 and _LISTEN 57 since 6.11): no
# syscall rule sees them.  The kernel audits them on the io_uring filter list (Linux 5.16,
# audit_filter_uring: the first matching rule decides, as on the exit list) in URINGOP records,
# and only for a task with an audit context (a task never rule disables it, as for syscalls).

URING_OPS = {"accept": 13, "connect": 16, "bind": 56, "listen": 57, "sendmsg": 9}  # include/uapi/linux/io_uring.h
# the io_uring operation that makes each socket syscall, and the Linux release that added it
URING_OP_OF_SYSCALL = {"accept": "accept", "accept4": "accept", "connect": "connect", "bind": "bind",
                       "listen": "listen"}
URING_OP_SINCE = {"accept": (5, 5), "connect": (5, 5), "bind": (6, 11), "listen": (6, 11)}
URING_AUDIT_SINCE = (5, 16)  # AUDIT_FILTER_URING_EXIT
URINGOP_RECORD = 1336
# TCP Fast Open through io_uring (io_uring/net.c hands sqe->msg_flags, MSG_FASTOPEN included, and the
# address to sock_sendmsg): IORING_OP_SENDMSG since Linux 5.3, and IORING_OP_SEND_ZC (6.0) and
# IORING_OP_SEND (6.1) with a destination address.  io_uring/opdef.c marks SEND and SEND_ZC
# audit_skip, so audit_uring_entry() never runs for them: from 6.0 no rule records such a connect.
URING_FASTOPEN_OP = "sendmsg"
URING_SENDMSG_SINCE = (5, 3)
URING_UNAUDITED_SEND_SINCE = (6, 0)


def uring_ops(syscalls: list[str]) -> list[str]:
    """The io_uring operations that make the policy's socket calls, in URING_OPS order."""
    wanted = {URING_OP_OF_SYSCALL[s] for s in syscalls if s in URING_OP_OF_SYSCALL}
    return [op for op in URING_OPS if op in wanted]


def _selects_op(rule: AuditRule, op: str) -> bool:
    if "all" in rule.syscalls:
        return True
    if rule.syscall_numbers is not None:
        return URING_OPS[op] in rule.syscall_numbers
    return op in rule.syscalls or str(URING_OPS[op]) in rule.syscalls


def judge_uring_op(rules: list[AuditRule], op: str, accepted: frozenset) -> PathVerdict:
    """Is the io_uring operation ``op`` recorded by these rules?  The verdict's path is the op."""
    path = Path(op, op, None)
    stopper, against, relied = _task_and_exclude(rules, accepted, lists=("task",))  # exclude: below, on URINGOP
    if stopper is not None:
        return PathVerdict(path, "shadowed", stopper, tuple(against))
    for index, rule in enumerate(rules):
        if rule.kind == "syscall" and rule.rule_list == "exclude" and rule.fields:
            if _record_matches(rule.fields, URINGOP_RECORD) is False:
                continue
            others = _narrowing([f for f in rule.fields if f.name != "msgtype"], accepted)
            note = "the exclude list drops the records it matches"
            if _record_matches(rule.fields, URINGOP_RECORD) is True and not others:
                return PathVerdict(path, "shadowed", Hit(index, rule, (), note + ": every URINGOP record"),
                                   tuple(against))
            against.append(Hit(index, rule, others or tuple(format_field(f) for f in rule.fields), note))
    partial: list[Hit] = []
    for index, rule in enumerate(rules):
        if rule.kind != "syscall" or rule.rule_list != "io_uring" or not _selects_op(rule, op):
            continue
        filters = _narrowing(rule.fields, accepted)
        if not filters:
            if rule.action == "never":
                return PathVerdict(path, "shadowed", Hit(index, rule), _in_order(partial + against))
            return PathVerdict(path, "narrowed" if against else "covered", Hit(index, rule), _in_order(against),
                               relied)
        (partial if rule.action == "always" else against).append(Hit(index, rule, filters))
    hits = _in_order(partial + against)
    return PathVerdict(path, "narrowed" if hits else "missing", None, hits)


def last_control(rules: list[AuditRule], setting: str) -> tuple[int, AuditRule, str] | None:
    """The last control statement of ``rules`` that sets ``setting`` (``enabled`` for -e,
    ``rate_limit`` for -r, ``backlog_limit`` for -b, ``failure`` for -f, ``backlog_wait_time`` for
    --backlog_wait_time): its index, the rule and the
    value written.  Loaded in order, the last one is what the kernel holds after the rules load."""
    found = None
    for index, rule in enumerate(rules):
        if rule.kind == "control":
            for item in rule.fields:
                if item.name == setting:
                    found = (index, rule, item.value)
    return found
