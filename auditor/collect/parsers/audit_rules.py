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

import errno
import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from auditor.errors import Problem
from auditor.model.facts import AuditField, AuditRule

AUDITCTL_LIST = "auditctl -l"
AUDITCTL_STATUS = "auditctl -s"

OPERATORS = ("!=", "<=", ">=", "&=", "=", "<", ">", "&")  # two-character operators first
ACTIONS = ("always", "never")
LISTS = ("exit", "task", "user", "exclude", "filesystem", "io_uring")

# Field names auditctl accepts after -F (libaudit's field table); "loginuid" is an alias of auid.
FIELD_NAMES = frozenset(
    """pid uid euid suid fsuid gid egid sgid fsgid auid loginuid pers arch msgtype subj_user subj_role
    subj_type subj_sen subj_clr obj_user obj_role obj_type obj_lev_low obj_lev_high devmajor devminor
    inode exit success path perm dir filetype obj_uid obj_gid exe a0 a1 a2 a3 key ppid sessionid
    loginuid_set fstype saddr_fam""".split()
)
FIELD_ALIASES = {"loginuid": "auid"}
# Fields holding a user or group id; ``-1``, ``4294967295`` and ``unset`` are the same value.
ID_FIELDS = frozenset("auid uid euid suid fsuid obj_uid gid egid sgid fsgid obj_gid".split())
SYSCALL_ARGS = frozenset({"a0", "a1", "a2", "a3"})
DECIMAL_FIELDS = frozenset("pid ppid success sessionid loginuid_set devmajor devminor inode pers saddr_fam".split())
UNSET = "unset"

# ``-F arch=`` takes b64/b32 or a machine name; machines map to the word size of their syscall ABI.
ARCH_ALIASES = {
    "b64": "b64", "b32": "b32",
    "x86_64": "b64", "aarch64": "b64", "ppc64": "b64", "ppc64le": "b64", "s390x": "b64", "riscv64": "b64",
    "i386": "b32", "i486": "b32", "i586": "b32", "i686": "b32", "arm": "b32", "armeb": "b32", "armv7l": "b32",
    "ppc": "b32", "s390": "b32",
}
WATCH_PERMISSIONS = "rwxa"  # the order auditctl -l prints them in

# Control options: the setting each one changes, named as ``auditctl -s`` names it.
CONTROL_WITH_VALUE = {
    "-b": "backlog_limit", "-f": "failure", "-e": "enabled", "-r": "rate_limit",
    "--backlog_wait_time": "backlog_wait_time",
}
CONTROL_FLAGS = {
    "-c": "continue_on_error", "-i": "ignore_errors", "-t": "trim_subtrees",
    "--loginuid-immutable": "loginuid_immutable", "--reset-lost": "reset_lost",
    "--reset_backlog_wait_time_actual": "reset_backlog_wait_time_actual",
}
CLIENT_FLAGS = frozenset({"continue_on_error", "ignore_errors"})  # auditctl's own, never sent to the kernel
CONTROL_RANGES = {"failure": (0, 2), "enabled": (0, 2)}
RULE_OPTIONS_WITH_VALUE = ("-a", "-A", "-d", "-S", "-F", "-C", "-k", "-p", "-w", "-W")
OPTIONS_WITH_VALUE = frozenset(RULE_OPTIONS_WITH_VALUE) | frozenset(CONTROL_WITH_VALUE)
FLAG_OPTIONS = frozenset(CONTROL_FLAGS) | {"-D"}


class RuleError(ValueError):
    """A line auditctl would refuse; the message says why."""


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
    """``"auid>=1000"`` -> ``("auid", ">=", "1000")``; raises RuleError."""
    match = re.search(r"[=!<>&]", expression)
    if not match or match.start() == 0:
        raise RuleError(f"field {expression!r} is not name<op>value")
    name, rest = expression[: match.start()], expression[match.start():]
    for op in OPERATORS:
        if rest.startswith(op):
            value = rest[len(op):]
            if not value:
                raise RuleError(f"field {expression!r} has no value")
            return name, op, value
    raise RuleError(f"field {expression!r} has no valid operator (one of {' '.join(OPERATORS)})")


def _normal_value(name: str, value: str) -> str:
    if name in ID_FIELDS:
        if value in ("-1", "4294967295", UNSET):
            return UNSET
        if value == "root":  # the only account name whose id is the same everywhere
            return "0"
    if name in SYSCALL_ARGS:
        try:
            number = int(value, 0)
        except ValueError:
            return value
        return hex(number) if number >= 0 else value
    if name == "exit":
        try:
            number = int(value, 0)
        except ValueError:
            return value.upper() if value.startswith("-E") else value
        if number < 0 and -number in errno.errorcode:
            return "-" + errno.errorcode[-number]
        return str(number)
    if name in DECIMAL_FIELDS or name in ID_FIELDS:
        try:
            return str(int(value, 0))
        except ValueError:
            return value
    if name == "perm":
        return _permissions(value)
    return value


def _permissions(value: str) -> str:
    if not value or set(value) - set(WATCH_PERMISSIONS):
        raise RuleError(f"permissions {value!r} are not a combination of r, w, x, a")
    return "".join(p for p in WATCH_PERMISSIONS if p in value)


def parse_field(expression: str, *, compare: bool = False) -> AuditField:
    """Parse and normalise one filter (``-F`` or, with ``compare``, ``-C``).  Raises RuleError."""
    name, op, value = split_field(expression)
    name = FIELD_ALIASES.get(name, name)
    if compare or (name in ID_FIELDS and FIELD_ALIASES.get(value, value) in ID_FIELDS and op in ("=", "!=")):
        # -C compares two id fields; auditctl -l prints the pair in its own order, so sort it.
        other = FIELD_ALIASES.get(value, value)
        if name not in ID_FIELDS or other not in ID_FIELDS or op not in ("=", "!="):
            raise RuleError(f"-C {expression!r} must compare two id fields with = or !=")
        name, other = sorted((name, other))
        return AuditField(name=name, op=op, value=other)
    if name not in FIELD_NAMES:
        raise RuleError(f"unknown field {name!r}")
    return AuditField(name=name, op=op, value=_normal_value(name, value))


def format_field(item: AuditField) -> str:
    return f"{item.name}{item.op}{item.value}"


def _field_sort_key(item: AuditField) -> tuple[str, str, str]:
    return (item.name, item.op, item.value)


# ---------------------------------------------------------------- one line


def _tokens_to_options(tokens: list[str]) -> list[tuple[str, str | None]]:
    """getopt as auditctl uses it: ``-k x`` or ``-kx``, ``--backlog_wait_time=5`` or ``... 5``."""
    options: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            name, eq, attached = token.partition("=")
        elif token.startswith("-") and len(token) >= 2:
            name, attached = token[:2], token[2:]
            eq = "=" if attached else ""
        else:
            raise RuleError(f"unexpected argument {token!r}")
        if name in OPTIONS_WITH_VALUE:
            if eq:
                value = attached
            elif i + 1 < len(tokens):
                i += 1
                value = tokens[i]
            else:
                raise RuleError(f"option {name} needs a value")
            options.append((name, value))
        elif name in FLAG_OPTIONS:
            if eq:
                raise RuleError(f"option {name} takes no value")
            options.append((name, None))
        else:
            raise RuleError(f"unknown option {token!r}")
        i += 1
    return options


@dataclass(frozen=True)
class Statement:
    """What one line does: ``add``/``prepend``/``delete`` a rule, ``clear`` (-D) or a ``control``."""

    op: str
    rule: AuditRule


def _list_and_action(value: str) -> tuple[str, str]:
    parts = value.split(",")
    if len(parts) != 2:
        raise RuleError(f"{value!r} is not list,action")
    actions = [p for p in parts if p in ACTIONS]
    lists = [p for p in parts if p in LISTS]
    if len(actions) != 1 or len(lists) != 1:
        raise RuleError(f"bad keyword {value!r}: expected one of {'/'.join(ACTIONS)} and one of {'/'.join(LISTS)}")
    return lists[0], actions[0]


def _control(options: list[tuple[str, str | None]], text: str, origin: str) -> Statement:
    settings: list[AuditField] = []
    for name, value in options:
        if name in CONTROL_FLAGS:
            settings.append(AuditField(name=CONTROL_FLAGS[name], op="=", value="1"))
            continue
        setting = CONTROL_WITH_VALUE[name]
        try:
            number = int(value or "", 0)
        except ValueError:
            raise RuleError(f"{name} needs a number, not {value!r}") from None
        low, high = CONTROL_RANGES.get(setting, (0, 2**32 - 1))
        if not low <= number <= high:
            raise RuleError(f"{name} {number} is outside {low}..{high}")
        settings.append(AuditField(name=setting, op="=", value=str(number)))
    return Statement("control", AuditRule(text=text, origin=origin, kind="control", fields=settings))


def _clear(options: list[tuple[str, str | None]], text: str, origin: str) -> Statement:
    extra = [n for n, _ in options if n not in ("-D", "-k")]
    if extra:
        raise RuleError(f"-D cannot be combined with {' '.join(extra)}")
    keys = sorted({v for n, v in options if n == "-k" and v})
    return Statement("clear", AuditRule(text=text, origin=origin, kind="control", keys=keys))


def _watch(options: list[tuple[str, str | None]], text: str, origin: str) -> Statement:
    verbs = [(n, v) for n, v in options if n in ("-w", "-W")]
    extra = [n for n, _ in options if n not in ("-w", "-W", "-p", "-k")]
    if len(verbs) != 1 or extra:
        raise RuleError("a watch line takes one -w or -W path, -p and -k")
    verb, path = verbs[0]
    perms = [v for n, v in options if n == "-p"]
    if len(perms) > 1:
        raise RuleError("-p given twice")
    rule = AuditRule(
        text=text, origin=origin, kind="watch", action="always", rule_list="exit",
        keys=sorted({v for n, v in options if n == "-k" and v}),
        watch=path, permissions=_permissions(perms[0] if perms else WATCH_PERMISSIONS),
    )
    return Statement("delete" if verb == "-W" else "add", rule)


def _syscall_rule(options: list[tuple[str, str | None]], text: str, origin: str) -> Statement:
    verbs = [(n, v or "") for n, v in options if n in ("-a", "-A", "-d")]
    if len(verbs) != 1:
        raise RuleError("a rule needs exactly one of -a, -A or -d")
    verb, list_action = verbs[0]
    rule_list, action = _list_and_action(list_action)
    arch: str | None = None
    syscalls: set[str] = set()
    fields: list[AuditField] = []
    keys: set[str] = set()
    for name, value in options:
        value = value or ""
        if name == "-S":
            names = [s for s in value.split(",") if s]
            if not names:
                raise RuleError("-S needs a syscall name")
            syscalls.update(names)
        elif name == "-k":
            keys.add(value)
        elif name == "-C":
            fields.append(parse_field(value, compare=True))
        elif name == "-F":
            fname, op, fvalue = split_field(value)
            if fname == "key":
                if op != "=":
                    raise RuleError("key only takes =")
                keys.add(fvalue)
            elif fname == "arch":
                if syscalls:  # auditctl names syscalls with the arch's table, so it must come first
                    raise RuleError("arch must be before -S")
                if op != "=" or fvalue not in ARCH_ALIASES:
                    raise RuleError(f"bad arch {value!r}: use arch=b64 or arch=b32")
                arch = ARCH_ALIASES[fvalue]
            else:
                fields.append(parse_field(value))
        elif name not in ("-a", "-A", "-d"):
            raise RuleError(f"{name} cannot be used in a syscall rule")
    has_path = any(f.name in ("path", "dir") for f in fields)
    if syscalls and rule_list != "exit":
        raise RuleError(f"syscalls (-S) apply only to the exit list, not {rule_list}")
    if keys and rule_list != "exit":
        raise RuleError("key option needs a watch or syscall given prior to it")
    if keys and not syscalls and not has_path:
        raise RuleError("key option needs a watch or syscall given prior to it")
    if rule_list == "exit" and (not syscalls or "all" in syscalls):
        syscalls = {"all"}  # an exit rule without -S applies to every syscall
    if _is_watch(action, rule_list, arch, syscalls, fields):
        # auditctl -l prints such a rule as -w path -p perms
        path = next(f.value for f in fields if f.name in ("path", "dir"))
        perm = next((f.value for f in fields if f.name == "perm"), WATCH_PERMISSIONS)
        rule = AuditRule(text=text, origin=origin, kind="watch", action="always", rule_list="exit",
                         keys=sorted(keys), watch=path, permissions=perm)
    else:
        rule = AuditRule(
            text=text, origin=origin, kind="syscall", action=action, rule_list=rule_list, arch=arch,
            syscalls=sorted(syscalls), fields=sorted(fields, key=_field_sort_key), keys=sorted(keys),
        )
    return Statement({"-a": "add", "-A": "prepend", "-d": "delete"}[verb], rule)


def _is_watch(action: str, rule_list: str, arch: str | None, syscalls: set[str], fields: list[AuditField]) -> bool:
    names = sorted(f.name for f in fields)
    return (
        action == "always" and rule_list == "exit" and arch is None and syscalls == {"all"}
        and names in (["path"], ["dir"], ["path", "perm"], ["dir", "perm"])
        and all(f.op == "=" for f in fields)
    )


def parse_statement(text: str, origin: str) -> Statement:
    """Parse one non-comment line; raises RuleError with auditctl's reason for refusing it."""
    options = _tokens_to_options(text.split())
    names = {n for n, _ in options}
    if "-D" in names:
        return _clear(options, text, origin)
    if names & {"-w", "-W"}:
        return _watch(options, text, origin)
    if names & {"-a", "-A", "-d", "-S", "-F", "-C"}:
        return _syscall_rule(options, text, origin)
    if names & {"-k", "-p"}:
        raise RuleError("key option needs a watch or syscall given prior to it")
    return _control(options, text, origin)


def semantic_key(rule: AuditRule) -> tuple:
    """What makes two rules the same rule, whichever form they were written in."""
    return (
        rule.kind, rule.action, rule.rule_list, rule.arch, tuple(rule.syscalls),
        tuple(_field_sort_key(f) for f in rule.fields), tuple(rule.keys), rule.watch, rule.permissions,
    )


# ---------------------------------------------------------------- rule files (auditctl -R)


def rule_lines(text: str, file: str) -> list[RuleLine]:
    return [RuleLine(file, number, line) for number, line in enumerate(text.splitlines(), start=1)]


def _is_comment_or_blank(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


class _Loader:
    """The kernel's rule list as ``auditctl -R`` builds it, line by line."""

    def __init__(self) -> None:
        self.rules: list[AuditRule] = []
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
        try:
            statement = parse_statement(line.text.strip(), line.origin)
        except RuleError as exc:
            self.refuse(line, str(exc))
            return
        rule, op = statement.rule, statement.op
        client_only = op == "control" and all(f.name in CLIENT_FLAGS for f in rule.fields)
        if self.locked_by and not client_only:  # the kernel refuses every change once locked
            self.refuse(line, f"the audit configuration is locked by -e 2 at {self.locked_by}")
            return
        if op == "control":
            self.rules.append(rule)
            names = {f.name: f.value for f in rule.fields}
            if names.get("continue_on_error") or names.get("ignore_errors"):
                self.keep_going = True
            if names.get("enabled") == "2":
                self.locked_by = line.origin
        elif op == "clear":
            def survives(old: AuditRule) -> bool:  # -D -k key deletes only the rules with that key
                return old.kind == "control" or bool(rule.keys and not set(rule.keys) & set(old.keys))

            self.rules = [r for r in self.rules if survives(r)]
            self.rules.append(rule)
        elif op == "delete":
            key = semantic_key(rule)
            match = next((i for i, r in enumerate(self.rules) if r.kind != "control" and semantic_key(r) == key), None)
            if match is None:
                self.refuse(line, "no loaded rule matches this deletion")
            else:
                del self.rules[match]
        else:
            key = semantic_key(rule)
            twin = next((r for r in self.rules if r.kind != "control" and semantic_key(r) == key), None)
            if twin is not None:
                self.refuse(line, f"rule exists (same as {twin.origin})")
            elif op == "prepend":  # the head of its own list: before the first rule of that list
                heads = [i for i, r in enumerate(self.rules) if r.kind != "control" and r.rule_list == rule.rule_list]
                self.rules.insert(heads[0] if heads else len(self.rules), rule)
            else:
                self.rules.append(rule)


def parse_rules_file(lines: Iterable[RuleLine]) -> ParsedRules:
    """Rules as ``auditctl -R`` would leave them after reading these lines (see the module doc)."""
    loader = _Loader()
    for line in lines:
        if _is_comment_or_blank(line.text):
            continue
        if loader.stopped:
            break
        loader.apply(line)
    return ParsedRules(rules=loader.rules, problems=loader.problems)


def parse_rules_text(text: str, file: str) -> ParsedRules:
    return parse_rules_file(rule_lines(text, file))


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


def compile_rules_d(files: Sequence[tuple[str, str]]) -> list[RuleLine]:
    """Concatenate rules.d files as augenrules does.

    ``files`` are (path, text) in augenrules order.  The files are joined as ``cat`` joins them (a
    file without a final newline runs into the next file's first line); blank and comment lines are
    dropped; the last bare ``-D``, ``-b`` and ``-f`` lines go first, in that order, and the last
    ``-e`` line goes last.  Every line keeps its ``file:line`` origin.
    """
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

    first: dict[str, RuleLine] = {}
    last_e: RuleLine | None = None
    rest: list[RuleLine] = []
    for line in lines:
        text = line.text
        if not text or re.match(r"^\s*#", text):
            continue
        if re.match(r"^\s*-e", text):
            last_e = line
        elif re.match(r"^\s*-D\s*$", text):
            first["-D"] = line
        elif re.match(r"^\s*-f", text):
            first["-f"] = line
        elif re.match(r"^\s*-b", text):
            first["-b"] = line
        else:
            rest.append(line)
    head = [first[k] for k in ("-D", "-b", "-f") if k in first]
    return head + rest + ([last_e] if last_e else [])


# ---------------------------------------------------------------- auditctl -l and -s


def parse_auditctl_list(text: str) -> ParsedRules:
    """Parse ``auditctl -l`` output: one rule per line, or ``No rules``."""
    result = ParsedRules()
    last_arch: str | None = None
    for line in rule_lines(text, AUDITCTL_LIST):
        stripped = line.text.strip()
        if not stripped or stripped == "No rules":
            continue
        try:
            statement = parse_statement(stripped, line.origin)
        except RuleError as exc:
            result.problems.append(Problem(line.file, line.line, None, str(exc)))
            continue
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
