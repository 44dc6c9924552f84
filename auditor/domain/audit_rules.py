"""Parse Linux audit rules, in the file form and in the ``auditctl -l`` form, into ``AuditRule`` facts.

Pure functions: text in, rules and problems out; nothing here raises for bad input.

Both forms are normalised so that the same rule compares equal whichever way it was written
(``semantic_key``): ``auditctl -l`` reorders syscalls by number, prints ``-F key=x`` where the file
said ``-k x``, ``a0=0x2`` where it said ``a0=2``, ``-1`` where it said ``unset`` or ``4294967295``,
``-EACCES`` for ``-13``, ``-C uid!=auid`` for ``-C auid!=uid``, and a watch for
``-a always,exit -F path=... -F perm=...``.  All of these were observed with auditctl 3.0.9.

A rules file is read with the semantics of ``auditctl -R``, which is what loads it at boot: lines
apply in order (``-A`` prepends, ``-d`` deletes a matching earlier rule, ``-D`` clears), a rule that
already exists is refused, nothing changes after ``-e 2``, and the first bad line stops loading
unless ``-c`` or ``-i`` came before it.  What is returned is the rule list the kernel would hold.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from auditor.domain import auditctl_grammar as grammar
from auditor.errors import Problem
from auditor.model.facts import AuditField, AuditRule

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


class RuleError(ValueError):
    """A line auditctl would refuse; the message says why."""

    def __init__(self, message: str, keep_going: bool = False) -> None:
        super().__init__(message)
        self.keep_going = keep_going


@dataclass(frozen=True)
class RuleLine:
    """One line of rules text and where it came from."""

    file: str
    line: int
    text: str

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class ParsedRules:
    rules: list[AuditRule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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


@dataclass(frozen=True)
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


# ---------------------------------------------------------------- rule files (auditctl -R)


def rule_lines(text: str, file: str) -> list[RuleLine]:
    """Lines as auditctl's fgets reads them: split at newline only (a carriage return stays in the line)."""
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()
    return [RuleLine(file, number, line) for number, line in enumerate(pieces, start=1)]


def _is_comment_or_blank(text: str) -> bool:
    return grammar.split_line(text.encode("utf-8", "surrogateescape")) is None


def _fgets_pieces(text: str) -> list[str]:
    """auditctl reads a line longer than its buffer as several lines."""
    raw = text.encode("utf-8", "surrogateescape") + b"\n"
    size = grammar.LINE_SIZE - 1
    pieces = []
    while len(raw) > size:
        pieces.append(raw[:size])
        raw = raw[size:]
    pieces.append(raw[:-1])
    return [p.decode("utf-8", "surrogateescape") for p in pieces]


class _Loader:
    """The kernel's rule list as ``auditctl -R`` builds it, line by line."""

    def __init__(self, machine: str | None) -> None:
        self.machine = machine
        self.rules: list[AuditRule] = []
        self.identities: dict[int, tuple] = {}  # id(rule) -> Statement.identity
        self.problems: list[Problem] = []
        self.keep_going = False  # -c or -i seen
        self.locked_by: str | None = None  # origin of -e 2
        self.stopped = False

    def refuse(self, line: RuleLine, reason: str) -> None:
        if self.keep_going:
            self.problems.append(Problem(line.file, line.line, None, f"{reason} (skipped: -c/-i is in effect)"))
            return
        self.problems.append(
            Problem(line.file, line.line, None, f"{reason}; auditctl -R stops here, so no later line is loaded")
        )
        self.stopped = True

    def apply(self, line: RuleLine) -> None:
        pieces = _fgets_pieces(line.text)
        if len(pieces) > 1:
            self.problems.append(Problem(line.file, line.line, None,
                                         f"line longer than auditctl's {grammar.LINE_SIZE - 1}-byte buffer: read as "
                                         f"{len(pieces)} lines"))
        for piece in pieces:
            if self.stopped:
                return
            self._apply(RuleLine(line.file, line.line, piece))

    def _control(self, line: RuleLine, rule: AuditRule) -> None:
        client_only = all(f.name in CLIENT_FLAGS for f in rule.fields)
        if self.locked_by and not client_only:  # the kernel refuses every change once locked
            self.refuse(line, f"the audit configuration is locked by -e 2 at {self.locked_by}")
            return
        self.rules.append(rule)
        settings = {f.name: f.value for f in rule.fields}
        if settings.get("continue_on_error") or settings.get("ignore_errors"):
            self.keep_going = True
        if settings.get("enabled") == "2":
            self.locked_by = line.origin

    def _apply(self, line: RuleLine) -> None:
        try:
            statement = parse_statement(line.text, line.origin, self.machine)
        except RuleError as exc:
            self.keep_going = self.keep_going or exc.keep_going
            self.refuse(line, str(exc))
            return
        if statement is None:
            return
        for doubt in statement.doubts:
            self.problems.append(Problem(line.file, line.line, None,
                                         f"lbaudit cannot tell whether auditctl loads this line ({doubt}); "
                                         "if it does not, no later line is loaded"))
        if statement.settings is not None:  # e.g. "-a ... -e 0": the setting is made first
            self._control(line, statement.settings)
            if self.stopped:
                return
        rule, op = statement.rule, statement.op
        if op == "skip":
            return
        if self.locked_by and op != "control":  # the kernel refuses every change once locked
            self.refuse(line, f"the audit configuration is locked by -e 2 at {self.locked_by}")
            return
        if op == "control":
            self._control(line, rule)
        elif op == "clear":
            def survives(old: AuditRule) -> bool:  # -D -k key deletes only the rules with that key
                return old.kind == "control" or bool(rule.keys and not set(rule.keys) & set(old.keys))

            self.rules = [r for r in self.rules if survives(r)]
            self.rules.append(rule)
        elif op == "delete":  # the kernel deletes the first rule that is the same, field for field
            match = next((i for i, r in enumerate(self.rules)
                          if r.kind != "control" and self.identities.get(id(r)) == statement.identity), None)
            if match is None:
                self.refuse(line, "no loaded rule matches this deletion")
            else:
                del self.rules[match]
        else:
            twin = next((r for r in self.rules
                         if r.kind != "control" and self.identities.get(id(r)) == statement.identity), None)
            if twin is not None and op == "add":  # -A does not check (auditctl 3.0.9 on Linux 6.x)
                self.refuse(line, f"rule exists (same as {twin.origin})")
                return
            self.identities[id(rule)] = statement.identity
            if op == "prepend":  # the head of its own list: before the first rule of that list
                heads = [i for i, r in enumerate(self.rules) if r.kind != "control" and r.rule_list == rule.rule_list]
                self.rules.insert(heads[0] if heads else len(self.rules), rule)
            else:
                self.rules.append(rule)


def parse_rules_file(lines: Iterable[RuleLine], machine: str | None = None) -> ParsedRules:
    """Rules as ``auditctl -R`` would leave them after reading these lines on a host whose
    ``uname -m`` is ``machine`` (see the module doc)."""
    loader = _Loader(machine)
    for line in lines:
        if loader.stopped:
            break
        loader.apply(line)
    return ParsedRules(rules=loader.rules, problems=loader.problems)


def parse_rules_text(text: str, file: str, machine: str | None = None) -> ParsedRules:
    return parse_rules_file(rule_lines(text, file), machine)


# ---------------------------------------------------------------- rules.d (augenrules)


def _isdigit(char: str) -> bool:
    return "0" <= char <= "9"


def _order(char: str) -> int:
    """Character weight in GNU version sort (dpkg's verrevcmp)."""
    if _isdigit(char):
        return 0
    if char.isascii() and char.isalpha():
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not _isdigit(a[i])) or (j < len(b) and not _isdigit(b[j])):
            ca = _order(a[i]) if i < len(a) else 0
            cb = _order(b[j]) if j < len(b) else 0
            if ca != cb:
                return ca - cb
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and j < len(b) and _isdigit(a[i]) and _isdigit(b[j]):
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and _isdigit(a[i]):
            return 1
        if j < len(b) and _isdigit(b[j]):
            return -1
        if first_diff:
            return first_diff
    return 0


_SUFFIX = re.compile(r"(?:\.[A-Za-z~][A-Za-z0-9~]*)*$")


def _without_suffix(name: str) -> str:
    match = _SUFFIX.search(name, 1)  # the first character always belongs to the name
    return name[: match.start()] if match else name


def version_compare(a: str, b: str) -> int:
    """GNU ``ls -v`` (filevercmp) order of two names that do not start with a dot."""
    result = _verrevcmp(_without_suffix(a), _without_suffix(b))
    if result or (_without_suffix(a) == a and _without_suffix(b) == b):
        return result
    return _verrevcmp(a, b)


def augenrules_files(names: Iterable[str]) -> list[str]:
    """The files augenrules reads: ``ls -1v rules.d | grep '\\.rules$'`` (no hidden names, version order)."""
    # augenrules word-splits the ls output, so a name with white space in it is never read.
    chosen = [n for n in names if n.endswith(".rules") and not n.startswith(".") and not re.search(r"\s", n)]
    return sorted(chosen, key=functools.cmp_to_key(version_compare))


def _join_files(files: Sequence[tuple[str, str]]) -> list[RuleLine]:
    """``cat`` of the files: one without a final newline runs into the next file's first line."""
    lines: list[RuleLine] = []
    carry: RuleLine | None = None  # an unterminated last line, continued by the next file
    for path, text in files:
        pieces = text.split("\n")
        for number, piece in enumerate(pieces[:-1], start=1):
            if carry is not None:
                lines.append(RuleLine(carry.file, carry.line, carry.text + piece))
                carry = None
            else:
                lines.append(RuleLine(path, number, piece))
        if pieces[-1]:
            tail = pieces[-1]
            carry = RuleLine(carry.file, carry.line, carry.text + tail) if carry else RuleLine(path, len(pieces), tail)
    if carry is not None:
        lines.append(carry)
    return lines


# augenrules' awk patterns.  "\s" is white space to gawk and busybox awk but a plain "s" to mawk
# (Debian's default awk), so the two read indented comments and control lines differently.
_AWK_SPACE = {"gawk": r"[ \t\n\r\f\v]", "mawk": "s"}


def _awk_compile(lines: list[RuleLine], awk: str) -> list[RuleLine]:
    space = _AWK_SPACE[awk]
    patterns = {name: re.compile(pattern.replace("\\s", space)) for name, pattern in (
        ("#", r"^\s*#"), ("-e", r"^\s*-e"), ("-D", r"^\s*-D\s*$"), ("-f", r"^\s*-f"), ("-b", r"^\s*-b"))}
    first: dict[str, RuleLine] = {}
    last_e: RuleLine | None = None
    rest: list[RuleLine] = []
    for line in lines:
        text = line.text
        if not text or patterns["#"].search(text):
            continue
        if patterns["-e"].search(text):
            last_e = line
        elif patterns["-D"].search(text):
            first["-D"] = line
        elif patterns["-f"].search(text):
            first["-f"] = line
        elif patterns["-b"].search(text):
            first["-b"] = line
        else:
            rest.append(line)
    head = [first[k] for k in ("-D", "-b", "-f") if k in first]
    return head + rest + ([last_e] if last_e else [])


def compile_rules_d(files: Sequence[tuple[str, str]], awk: str = "gawk") -> list[RuleLine]:
    """Concatenate rules.d files as augenrules does.

    ``files`` are (path, text) in augenrules order.  The files are joined as ``cat`` joins them (a
    file without a final newline runs into the next file's first line); blank and comment lines are
    dropped; the last bare ``-D``, ``-b`` and ``-f`` lines go first, in that order, and the last
    ``-e`` line goes last, each as ``awk`` (gawk or mawk) matches augenrules' patterns.  Every line
    keeps its ``file:line`` origin.
    """
    return _awk_compile(_join_files(files), awk)


def parse_rules_d(files: Sequence[tuple[str, str]], machine: str | None = None, awk: str | None = None) -> ParsedRules:
    """What ``augenrules --load`` leaves loaded from these rules.d files, compiled by the target's
    ``awk`` ("gawk" or "mawk").  With ``awk`` None (not known) and files that gawk and mawk compile
    into different rule sets, that is reported as a problem (lbaudit cannot tell which the boot
    gets), and the gawk reading is returned."""
    joined = _join_files(files)
    if awk is not None:
        return parse_rules_file(_awk_compile(joined, awk), machine)
    parsed = parse_rules_file(_awk_compile(joined, "gawk"), machine)
    other = parse_rules_file(_awk_compile(joined, "mawk"), machine)

    def controls(rules: list[AuditRule]) -> list:
        return [r.fields for r in rules if r.kind == "control"]

    if [semantic_key(r) for r in parsed.rules] != [semantic_key(r) for r in other.rules] or \
            controls(parsed.rules) != controls(other.rules):
        gawk_lines = {(r.origin, r.text) for r in parsed.rules}
        mawk_lines = {(r.origin, r.text) for r in other.rules}
        where = ", ".join(sorted({origin for origin, _ in gawk_lines ^ mawk_lines})) or "the order of control lines"
        parsed.problems.append(Problem(
            RULES_D_LABEL, None, None,
            f"augenrules compiles these files differently with gawk and with mawk ({where}): "
            "an indented comment, -e, -D, -b or -f line is matched by gawk's \\s but not by mawk's; "
            "lbaudit cannot tell which awk the target runs",
        ))
    return parsed


# ---------------------------------------------------------------- auditctl -l and -s


def parse_auditctl_list(text: str, machine: str | None = None) -> ParsedRules:
    """Parse ``auditctl -l`` output (one rule per line, or ``No rules``) of a host whose ``uname
    -m`` is ``machine``.  Values are read as auditctl reads them, so the signed forms it prints
    (``auid=-294967296`` for 4000000000, ``auid!=-1`` for unset) normalise to the uint32 the
    kernel holds."""
    result = ParsedRules()
    last_arch: str | None = None
    for line in rule_lines(text, AUDITCTL_LIST):
        stripped = line.text.strip()
        if not stripped or stripped == "No rules":
            continue
        try:
            statement = parse_statement(stripped, line.origin, machine, listing=True)
        except RuleError as exc:
            result.problems.append(Problem(line.file, line.line, None, str(exc)))
            continue
        if statement is None:
            continue
        for doubt in statement.doubts:
            result.problems.append(Problem(line.file, line.line, None, f"lbaudit cannot read this rule exactly: {doubt}"))
        rule = statement.rule
        if statement.op != "add" or rule.kind == "control":
            result.problems.append(Problem(line.file, line.line, None, f"not a listed rule: {stripped!r}"))
            continue
        if rule.kind == "syscall" and rule.rule_list == "exit":
            if rule.arch is None and last_arch == "b32":
                # auditctl 3.0.9 keeps the arch of the previous rule when it names the syscalls of a
                # rule without one, so these names may be the 32-bit ones for the same numbers.
                result.problems.append(Problem(
                    line.file, line.line, None,
                    "rule without -F arch listed after a b32 rule: auditctl may print its syscalls with "
                    "the b32 names of their numbers; add -F arch= to the rule",
                ))
            if rule.arch is not None:
                last_arch = rule.arch
        result.rules.append(rule)
    if not text.strip():
        message = "empty output (auditctl prints 'No rules' when there are none)"
        result.problems.append(Problem(AUDITCTL_LIST, None, None, message))
    return result


def parse_auditctl_status(text: str) -> tuple[dict[str, str], list[Problem]]:
    """Parse ``auditctl -s``: ``enabled 1`` lines (audit 2.4 and later) or one
    ``AUDIT_STATUS: enabled=1 flag=1 ...`` line (older releases)."""
    status: dict[str, str] = {}
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("AUDIT_STATUS:"):
            for pair in line[len("AUDIT_STATUS:"):].split():
                key, eq, value = pair.partition("=")
                if eq:
                    status[key] = value
            continue
        key, _, value = line.partition(" ")
        if re.fullmatch(r"[a-z_]+", key) and value.strip():
            status[key] = value.strip()
        else:
            problems.append(Problem(AUDITCTL_STATUS, number, None, f"unexpected line {line!r}"))
    return status, problems


def enabled_from_status(status: dict[str, str]) -> int | None:
    """0 off, 1 on, 2 on and locked; None when absent or not one of those."""
    value = status.get("enabled", "").split(" ")[0]
    return int(value) if value in ("0", "1", "2") else None
