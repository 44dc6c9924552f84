"""Rules files read with the semantics of ``auditctl -R``: lines apply in order, and what is returned
is the rule list the kernel would hold.  Part of :mod:`auditor.domain.audit_rules`.
"""

from __future__ import annotations

from typing import Iterable

from auditor.domain import auditctl_grammar as grammar
from auditor.domain.audit_statement import (
    CLIENT_FLAGS,
    FEATURE_SETTINGS,
    ParsedRules,
    RuleError,
    RuleLine,
    Statement,
    parse_statement,
)
from auditor.errors import Problem
from auditor.model.facts import AuditRule

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


# Deletions (-d, -D -k) and insertions at the head of a list (-A) look at the loaded rules one by
# one, as auditctl and the kernel do: a file of thousands of them after thousands of rules is
# quadratic in any reading.  The looks one reading may take; past them it is abandoned
# (ParsedRules.unread), never judged on the part read.
MAX_RULE_VISITS = 2_000_000
# The rule lines (neither blank nor comments) one reading parses, a few tenths of a millisecond
# each: 50,000 (ten times a large rule set) take seconds, while the 32 MiB of configuration a
# collection reads could hold 800,000 and took minutes.  Past them the reading is abandoned too.
MAX_RULE_LINES = 50_000
_UNSEEN = object()


class _Loader:
    """The kernel's rule list as ``auditctl -R`` builds it, line by line."""

    def __init__(self, machine: str | None, parsed: dict | None = None) -> None:
        self.machine = machine
        # (text, origin) -> its Statement, None or RuleError: readings of the same lines (rules.d
        # compiled by gawk and by mawk, with and without carriage returns) parse each once
        self.parsed: dict[tuple[str, str], Statement | RuleError | None] = {} if parsed is None else parsed
        self.lines = 0
        self.rules: list[AuditRule] = []
        self.identities: dict[int, tuple] = {}  # id(rule) -> Statement.identity
        # Statement.identity -> how many loaded rules have it: whether a rule exists is asked for
        # every rule added, and asking the loaded rules one by one made loading quadratic
        self.loaded: dict[tuple, int] = {}
        self.problems: list[Problem] = []
        self.keep_going = False  # -c or -i seen
        self.locked_by: str | None = None  # origin of -e 2
        self.stopped = False
        self.visits = 0
        self.unread: str | None = None

    def spend(self, line: RuleLine) -> bool:
        """Count a look at every loaded rule; False (and the reading abandoned) past the budget."""
        self.visits += len(self.rules)
        if self.visits <= MAX_RULE_VISITS:
            return True
        self.unread = (f"{line.origin}: lbaudit stops reading here: the deletions and insertions up to this line look "
                       f"at the loaded rules more than {MAX_RULE_VISITS:,} times, more than it spends on one reading, "
                       "so the rules the boot loads are not known")
        self.stopped = True
        return False

    def _count(self, rule: AuditRule, change: int) -> None:
        identity = self.identities[id(rule)]
        left = self.loaded.get(identity, 0) + change
        if left:
            self.loaded[identity] = left
        else:
            self.loaded.pop(identity, None)

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
        # auditctl's own flags never reach the kernel, and a feature (AUDIT_SET_FEATURE: only
        # --loginuid-immutable) is not refused by -e 2 (kernel/audit.c audit_set_feature checks only
        # the feature's own lock)
        unlocked = all(f.name in CLIENT_FLAGS or f.name in FEATURE_SETTINGS for f in rule.fields)
        if self.locked_by and not unlocked:  # the kernel refuses every other change once locked
            self.refuse(line, f"the audit configuration is locked by -e 2 at {self.locked_by}")
            return
        self.rules.append(rule)
        settings = {f.name: f.value for f in rule.fields}
        if settings.get("continue_on_error") or settings.get("ignore_errors"):
            self.keep_going = True
        if settings.get("enabled") == "2":
            self.locked_by = line.origin

    def _apply(self, line: RuleLine) -> None:
        found = self.parsed.get((line.text, line.origin), _UNSEEN)
        if found is _UNSEEN:
            try:
                found = parse_statement(line.text, line.origin, self.machine)
            except RuleError as exc:
                found = exc
            self.parsed[(line.text, line.origin)] = found
        if found is None:
            return
        self.lines += 1
        if self.lines > MAX_RULE_LINES:
            self.unread = (f"{line.origin}: lbaudit stops reading here: more than {MAX_RULE_LINES:,} rule lines, more "
                           "than it reads, so the rules the boot loads are not known")
            self.stopped = True
            return
        if isinstance(found, RuleError):
            self.keep_going = self.keep_going or found.keep_going
            self.refuse(line, str(found))
            return
        statement = found
        assert isinstance(statement, Statement)
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
            if not self.spend(line):
                return

            def survives(old: AuditRule) -> bool:
                # -D -k key deletes every rule whose key contains it (auditctl's key_match: strstr
                # in 3.x, key_contains in 4.x), not only the rules with that very key
                if old.kind == "control":
                    return True
                return bool(rule.keys) and not any(wanted in key for wanted in rule.keys for key in old.keys)

            kept = []
            for old in self.rules:
                if survives(old):
                    kept.append(old)
                elif old.kind != "control":
                    self._count(old, -1)
            self.rules = kept
            self.rules.append(rule)
        elif op == "delete":  # the kernel deletes the first rule that is the same, field for field
            if statement.identity not in self.loaded:
                self.refuse(line, "no loaded rule matches this deletion")
                return
            if not self.spend(line):
                return
            match = next(i for i, r in enumerate(self.rules)
                         if r.kind != "control" and self.identities.get(id(r)) == statement.identity)
            self._count(self.rules[match], -1)
            del self.rules[match]
        else:
            if statement.identity in self.loaded and op == "add":  # -A does not check (auditctl 3.0.9 on Linux 6.x)
                if not self.spend(line):  # with -c, one refusal after another
                    return
                twin = next(r for r in self.rules
                            if r.kind != "control" and self.identities.get(id(r)) == statement.identity)
                self.refuse(line, f"rule exists (same as {twin.origin})")
                return
            if op == "prepend" and not self.spend(line):
                return
            self.identities[id(rule)] = statement.identity
            self._count(rule, +1)
            if op == "prepend":  # the head of its own list: before the first rule of that list
                head = next((i for i, r in enumerate(self.rules)
                             if r.kind != "control" and r.rule_list == rule.rule_list), len(self.rules))
                self.rules.insert(head, rule)
            else:
                self.rules.append(rule)


def parse_rules_file(lines: Iterable[RuleLine], machine: str | None = None, parsed: dict | None = None) -> ParsedRules:
    """Rules as ``auditctl -R`` would leave them after reading these lines on a host whose
    ``uname -m`` is ``machine`` (see the module doc).  ``parsed``: the lines other readings of the
    same file parsed, shared (filled in here)."""
    loader = _Loader(machine, parsed)
    for line in lines:
        if loader.stopped:
            break
        loader.apply(line)
    return ParsedRules(rules=loader.rules, problems=loader.problems, unread=loader.unread)


def parse_rules_text(text: str, file: str, machine: str | None = None) -> ParsedRules:
    return parse_rules_file(rule_lines(text, file), machine)
