"""One audit rule statement: its fields, how auditctl reads one line, and the key that makes the file
form and the ``auditctl -l`` form of the same rule compare equal (``semantic_key``).

Part of :mod:`auditor.domain.audit_rules` (which re-exports every name here); the grammar tables
themselves are :mod:`auditor.domain.auditctl_grammar`.
"""

from __future__ import annotations

from dataclasses import field

from auditor.domain import auditctl_grammar as grammar
from auditor.errors import Problem
from auditor.model.facts import AuditField, AuditRule
from auditor.model.records import mutable_record, record

AUDITCTL_LIST = "auditctl -l"
RULES_D_LABEL = "/etc/audit/rules.d"
AUDITCTL_STATUS = "auditctl -s"

OPERATORS = ("!=", "<=", ">=", "&=", "=", "<", ">", "&")  # two-character operators first
ACTIONS = grammar.ACTIONS
LISTS = grammar.LISTS
FIELD_NAMES = frozenset(grammar.FIELD_KIND)
FIELD_ALIASES = grammar.FIELD_ALIASES
ID_FIELDS = grammar.ID_FIELDS
UNSET = "unset"
WATCH_PERMISSIONS = grammar.PERMISSIONS  # the order auditctl -l prints them in
CONTROL_SETTINGS = {  # option -> the setting it changes, named as ``auditctl -s`` names it
    "-b": "backlog_limit", "-f": "failure", "-e": "enabled", "-r": "rate_limit",
    "--backlog_wait_time": "backlog_wait_time", "-c": "continue_on_error", "-i": "ignore_errors",
    "--loginuid-immutable": "loginuid_immutable",
}
CLIENT_FLAGS = frozenset({"continue_on_error", "ignore_errors"})  # auditctl's own, never sent to the kernel
FEATURE_SETTINGS = frozenset({"loginuid_immutable"})  # sent as AUDIT_SET_FEATURE, not AUDIT_SET


class RuleError(ValueError):
    """A line auditctl would refuse; the message says why."""

    def __init__(self, message: str, keep_going: bool = False) -> None:
        super().__init__(message)
        self.keep_going = keep_going


@record
class RuleLine:
    """One line of rules text and where it came from."""

    file: str
    line: int
    text: str

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}"


@mutable_record
class ParsedRules:
    rules: list[AuditRule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Why the reading was abandoned part way (then ``rules`` are not what the kernel would hold)
    unread: str | None = None


# ---------------------------------------------------------------- fields


def split_field(expression: str) -> tuple[str, str, str]:
    """``"auid>=1000"`` -> ``("auid", ">=", "1000")`` as auditctl splits it; raises RuleError."""
    try:
        return grammar._split_field(expression)
    except grammar.Refused as exc:
        raise RuleError(str(exc)) from None


def parse_field(expression: str, *, compare: bool = False) -> AuditField:
    """Parse and normalise one filter of an exit rule (``-F``, or with ``compare`` ``-C``), as
    auditctl reads it.  Raises RuleError for what auditctl refuses, and for values it would look
    up on the host it runs on (user and group names other than root)."""
    state = grammar.RuleState(machine=None, add="exit", action="always", syscall_added=True)
    try:
        if compare:
            grammar._add_compare(state, expression)
        else:
            grammar.add_field(state, expression)
    except grammar.Refused as exc:
        raise RuleError(str(exc)) from None
    if state.doubts:
        raise RuleError("; ".join(state.doubts))
    if state.key_fields:
        return AuditField(name="key", op="=", value=state.key_fields[0])
    if not state.fields:  # arch
        name, op, value = split_field(expression)
        return AuditField(name=name.lower(), op=op, value=value.lower())
    name, op, value = state.fields[0]
    return AuditField(name=name, op=op, value=value)


def format_field(item: AuditField) -> str:
    return f"{item.name}{item.op}{item.value}"


def _field_sort_key(item: AuditField) -> tuple[str, str, str]:
    return (item.name, item.op, item.value)


# ---------------------------------------------------------------- one line


@record
class Statement:
    """What one line does: ``add``/``prepend``/``delete`` a rule, ``clear`` (-D), a ``control``
    (settings, -c/-i) or ``skip`` (accepted, changes no rule); ``doubts`` say what lbaudit cannot
    tell about it."""

    op: str
    rule: AuditRule
    doubts: tuple[str, ...] = ()
    identity: tuple = ()  # what the kernel compares to find the same rule (fields in sent order)
    settings: AuditRule | None = None  # a rule line's -e/-b/-f/... , which auditctl applies before sending the rule


def _rule_from_line(line: grammar.Line, text: str, origin: str) -> AuditRule:
    if line.op in ("control", "skip", "clear"):
        settings = [
            AuditField(name=CONTROL_SETTINGS[name], op="=", value=value or "1")
            for name, value in line.settings.items() if name in CONTROL_SETTINGS
        ]
        return AuditRule(text=text, origin=origin, kind="control", fields=settings, keys=sorted(set(line.keys)))
    fields = [AuditField(name=n, op=o, value=v) for n, o, v in line.fields]
    arch: str | None = None
    # The last -F arch= gives the rule its ABI (and the table its -S names were looked up in);
    # any other arch field is kept as a filter: the kernel requires every one of them to match.
    primary = max((i for i, (op, _, _) in enumerate(line.arch_fields) if op == "="), default=None)
    arch_machine: str | None = None
    for index, (op, elf, word) in enumerate(line.arch_fields):
        name = grammar.ELF_MACHINE.get(elf) or word or "unknown"
        if index == primary:
            arch = grammar.word_size(name) if elf in grammar.ELF_MACHINE else word
            arch_machine = grammar.ELF_MACHINE.get(elf)
        else:
            fields.append(AuditField(name="arch", op=op, value=name))
    numbers = None if line.all_syscalls or line.syscall_numbers is None else sorted(line.syscall_numbers)
    if line.all_syscalls:
        syscalls = ["all"]
    elif numbers is not None and line.table:
        names = grammar.syscall_names_by_number(line.table)
        syscalls = sorted({names.get(n, str(n)) for n in numbers})
    else:
        syscalls = sorted(set(line.syscall_names))
    keys = sorted(set(line.keys))
    if line.watch is not None:  # -w /path is -F path=/path -F perm=rwxa (or dir=, for a directory)
        fields.append(AuditField(name="path", op="=", value=line.watch))
    if _is_watch(line, fields):  # auditctl -l prints such a rule as -w path -p perms
        path = next(f.value for f in fields if f.name in ("path", "dir"))
        perm = next((f.value for f in fields if f.name == "perm"), WATCH_PERMISSIONS)
        return AuditRule(text=text, origin=origin, kind="watch", action="always", rule_list="exit",
                         keys=keys, watch=path, permissions=perm)
    return AuditRule(
        text=text, origin=origin, kind="syscall", action=line.action, rule_list=line.rule_list, arch=arch,
        arch_machine=arch_machine,
        syscalls=syscalls, syscall_table=line.table if numbers is not None else None, syscall_numbers=numbers,
        fields=sorted(fields, key=_field_sort_key), keys=keys,
    )


def _is_watch(line: grammar.Line, fields: list[AuditField]) -> bool:
    names = sorted(f.name for f in fields)
    return (
        line.rule_list == "exit" and line.action == "always" and line.all_syscalls and not line.arch_fields
        and names in (["path"], ["dir"], ["path", "perm"], ["dir", "perm"]) and all(f.op == "=" for f in fields)
    )


def parse_statement(text: str, origin: str, machine: str | None = None, *, listing: bool = False) -> Statement | None:
    """Parse one line as ``auditctl -R`` reads it on a host whose ``uname -m`` is ``machine``
    (None: not known).  None for a blank or comment line; raises RuleError when auditctl (or the
    kernel) refuses it."""
    tokens = grammar.split_line(text.encode("utf-8", "surrogateescape"))
    if tokens is None:
        return None
    try:
        line = grammar.read_line(tokens, grammar.host_machine(machine), listing)
    except grammar.Refused as exc:
        raise RuleError(str(exc), exc.keep_going) from None
    op = {"prepend": "prepend", "add": "add", "delete": "delete"}.get(line.op, line.op)
    settings = None
    if op in ("add", "prepend", "delete") and line.settings:
        settings = _rule_from_line(grammar.Line("control", settings=line.settings), text, origin)
    return Statement(op, _rule_from_line(line, text, origin), tuple(line.doubts), line.identity, settings)


def semantic_key(rule: AuditRule) -> tuple:
    """What makes two rules the same rule, whichever form they were written in."""
    syscalls = tuple(rule.syscall_numbers) if rule.syscall_numbers is not None else tuple(rule.syscalls)
    return (
        rule.kind, rule.action, rule.rule_list, rule.arch, rule.arch_machine, syscalls,
        tuple(_field_sort_key(f) for f in rule.fields), tuple(rule.keys), rule.watch, rule.permissions,
    )
