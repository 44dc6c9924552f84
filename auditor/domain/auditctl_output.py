"""What ``auditctl -l`` and ``auditctl -s`` print, read back into rules and status settings.  Part of
:mod:`auditor.domain.audit_rules`.
"""

from __future__ import annotations

import re

from auditor.domain import auditctl_grammar as grammar
from auditor.domain.audit_loader import rule_lines
from auditor.domain.audit_statement import AUDITCTL_LIST, AUDITCTL_STATUS, ParsedRules, RuleError, parse_statement
from auditor.domain.kernel_cmdline import kernel_parameters
from auditor.errors import Problem

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
        printed_arch = _last_arch_printed(stripped) if rule.kind != "watch" else None
        if rule.kind == "syscall" and rule.rule_list == "exit" and printed_arch is None and last_arch == "b32":
            # auditctl 3.0.9 keeps the arch of the previous rule when it names the syscalls of a
            # rule without one, so these names may be the 32-bit ones for the same numbers.
            result.problems.append(Problem(
                line.file, line.line, None,
                "rule without -F arch listed after a b32 rule: auditctl may print its syscalls with "
                "the b32 names of their numbers; add -F arch= to the rule",
            ))
        if printed_arch is not None:
            last_arch = printed_arch
        result.rules.append(rule)
    if not text.strip():
        message = "empty output (auditctl prints 'No rules' when there are none)"
        result.problems.append(Problem(AUDITCTL_LIST, None, None, message))
    return result


def _last_arch_printed(text: str) -> str | None:
    """The value of the last ``-F arch`` field of a listed rule (``b64``, ``b32``, or the 0x ELF
    value of a machine auditctl does not know), lower case; None without one.  auditctl -l prints
    every arch field of a rule, whatever its list and operator, with print_arch(), which sets the
    ELF value (``_audit_elf``) it names the syscalls of later rules without an arch field with: it
    is reset once for the whole listing, not per rule."""
    tokens = grammar.split_line(text.encode("utf-8", "surrogateescape")) or []
    values = [token.partition("=")[2].lower() for before, token in zip(tokens, tokens[1:])
              if before == "-F" and re.match(r"arch!?=", token, re.IGNORECASE)]
    return values[-1] if values else None


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


def rate_limit_from_status(status: dict[str, str]) -> int | None:
    """The rate limit in records a second (0: none); None when absent or not a number."""
    return number_from_status(status, "rate_limit")


def number_from_status(status: dict[str, str], name: str) -> int | None:
    """A uint32 value of ``auditctl -s`` (``lost``, ``backlog_limit``, ``failure``); None when
    absent or not a number."""
    value = status.get(name, "").split(" ")[0]
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) < 2**32 else None


def enabled_from_status(status: dict[str, str]) -> int | None:
    """0 off, 1 on, 2 on and locked; None when absent or not one of those."""
    value = status.get("enabled", "").split(" ")[0]
    return int(value) if value in ("0", "1", "2") else None


def pid_from_status(status: dict[str, str]) -> int | None:
    """The pid of the audit daemon the kernel sends records to (0: none); None when absent or not a number."""
    return number_from_status(status, "pid")


def boot_backlog_limit_param(cmdline: str) -> int | None:
    """``audit_backlog_limit=`` of a kernel command line: the backlog limit the kernel starts with
    (kernel/audit.c audit_backlog_limit_set: kstrtouint base 0, so ``0x2000`` is 8192 and a leading
    ``+`` is taken; a value it cannot read leaves the one before), the last readable one deciding;
    None when there is none."""
    limit = None
    for param, value in kernel_parameters(cmdline):
        if param != "audit_backlog_limit" or value is None:
            continue
        text = value[1:] if value.startswith("+") else value
        match = re.fullmatch(r"0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*)", text)
        if match is None:
            continue
        number = int(match[1], 16) if match[1] else int(match[2], 8) if match[2] else int(match[3])
        if number < 2**32:
            limit = number
    return limit


# audit_enable() (kernel/audit.c) has read audit= two ways: up to Linux 4.15 "!!simple_strtol(str,
# NULL, 0)", a number (0x hex, 0 octal, a prefix of digits), so "on" and "yes" read 0 and turn auditing
# off; 4.16 kstrtol(), which panics on anything else (no such host runs); from 4.17 "0"/"off" off,
# "1"/"on" on (case-insensitive words), and anything else an error that turns auditing on.
AUDIT_WORDS_SINCE = (4, 17)
_RELEASE = re.compile(r"(\d{1,4})\.(\d{1,4})")


def _simple_strtol_nonzero(text: str) -> bool:
    """Whether the kernel's simple_strtol(text, NULL, 0) is not 0: an optional "-", then "0x" and hex
    digits, "0" and octal digits, or decimal digits, as far as they go (nothing else is skipped)."""
    digits = text[1:] if text.startswith("-") else text
    if digits[:2].lower() == "0x" and digits[2:3] and digits[2] in "0123456789abcdefABCDEF":
        run, base = re.match(r"[0-9a-fA-F]*", digits[2:])[0], 16  # type: ignore[index]
    elif digits.startswith("0"):
        run, base = re.match(r"[0-7]*", digits)[0], 8  # type: ignore[index]
    else:
        run, base = re.match(r"[0-9]*", digits)[0], 10  # type: ignore[index]
    return bool(run) and int(run, base) != 0


def _audit_value(value: str, words: bool | None) -> str:
    """"on", "off" or "invalid" for one audit= value read by a kernel that takes the words
    (``words`` True: 4.17 and later; "invalid" for what it reports as an error), that reads a
    number (False), or either (None: the release is not known; "invalid" where the two differ)."""
    modern = ("off" if value.lower() == "off" or value == "0" else
              "on" if value.lower() == "on" or value == "1" else "invalid")
    number = "on" if _simple_strtol_nonzero(value) else "off"
    if words is True:
        return modern
    if words is False:
        return number
    return modern if modern == number else "invalid"


def boot_audit_param(cmdline: str, release: str | None = None) -> str:
    """The kernel's reading of ``audit=`` on its command line (/proc/cmdline) for the running
    kernel ``release`` (``uname -r``; None: not known, see :func:`_audit_value`): "on", "off",
    "unset" (no audit= before "--", the arguments after it are init's), or "invalid" (a value not
    read as audit=1 for certain).  Each occurrence is applied in turn, so the last one decides, but
    for one read as off: audit_enable() then sets audit_initialized to AUDIT_DISABLED, which no later
    audit= undoes (audit_init() makes no audit socket at all: no rule loads until reboot), so
    ``audit=0 audit=1`` is off, and a value that may be off is not made on by one after it.  A 4.17+
    kernel turns auditing on for a value it rejects, so one after audit=1 leaves it on."""
    found = _RELEASE.match(release or "")
    words = None if found is None else (int(found[1]), int(found[2])) >= AUDIT_WORDS_SINCE
    state = "unset"
    for param, value in kernel_parameters(cmdline):
        if param == "audit" and value is not None:
            reading = _audit_value(value, words)
            if reading == "off":
                return "off"
            if state == "invalid" and words is not True:
                continue  # perhaps off (the number 0 to an older kernel): disabled then, whatever follows
            state = "on" if reading == "invalid" and words is True and state == "on" else reading
    return state
