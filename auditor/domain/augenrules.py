"""The rules.d directory as ``augenrules`` compiles it: file order (version sort), concatenation, the
awk patterns that move control lines, then loading with ``auditctl -R`` semantics.  Part of
:mod:`auditor.domain.audit_rules`.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Sequence

from auditor.domain.audit_loader import parse_rules_file
from auditor.domain.audit_statement import RULES_D_LABEL, ParsedRules, RuleLine, semantic_key
from auditor.errors import Problem
from auditor.model.facts import AuditRule
from auditor.patterns import first_use

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


_SUFFIX = first_use(r"(?:\.[A-Za-z~][A-Za-z0-9~]*)*$")


def _without_suffix(name: str) -> str:
    match = _SUFFIX().search(name, 1)  # the first character always belongs to the name
    return name[: match.start()] if match else name


def _bytes_as_text(name: str) -> str:
    """``name`` as the bytes a directory holds, one character per byte (U+0000 to U+00FF):
    filevercmp weighs bytes, and a name's code points do not sort as its bytes do (a byte that is not
    UTF-8, 0x80, is read as U+DC80, which sorts after é, U+00E9, whose first byte is 0xC3)."""
    return name.encode("utf-8", "surrogateescape").decode("latin-1")


def version_compare(a: str, b: str) -> int:
    """GNU ``ls -v`` (filevercmp) order of two names that do not start with a dot, by their bytes."""
    a, b = _bytes_as_text(a), _bytes_as_text(b)
    result = _verrevcmp(_without_suffix(a), _without_suffix(b))
    if result or (_without_suffix(a) == a and _without_suffix(b) == b):
        return result
    return _verrevcmp(a, b)


_IFS = re.compile("[ \t\n]")  # sh's default IFS


# How augenrules lists rules.d: "ls" (``for rules in $(ls -1v rules.d | grep '\\.rules$')``, audit
# up to 4.1) or "glob" (``rules.d/*.rules`` as NUL-separated names through ``sort -zV``, audit 4.2
# and later, upstream fc08f19a "preserve rule filenames during sorting").
AUGENRULES_VARIANTS = ("ls", "glob")


def augenrules_variant(script: str) -> str | None:
    """Which way the augenrules script ``script`` lists rules.d; None when it is neither."""
    if "sort -zV" in script:
        return "glob"
    if "ls -1v" in script:
        return "ls"
    return None


def augenrules_files(names: Iterable[str], variant: str = "ls") -> list[str]:
    """The files augenrules reads, in version order, no hidden names: with "ls", ``ls -1v rules.d |
    grep '\\.rules$'``; with "glob", ``rules.d/*.rules``."""
    # The "ls" augenrules word-splits the ls output on the shell's IFS (space, tab, newline), so a
    # name with one of those in it is never read; any other white space (\r, \v, \f, a no-break
    # space) is part of the word, and that file is read like any other (Python's \s would have
    # dropped it).  The "glob" one reads every name as it is.
    chosen = [n for n in names if n.endswith(".rules") and not n.startswith(".")
              and (variant == "glob" or not _IFS.search(n))]
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


# augenrules' awk program from audit 3.1.1 (upstream 8971c152, for rules "copied from Windows")
# starts with this: a carriage return ending a line is gone before any pattern sees it, and from
# the line written to audit.rules.  3.0.9's has no such line, and auditctl never strips one.
CR_STRIP = 'sub(/\\r$/, "")'


def augenrules_strips_cr(script: str) -> bool:
    """Does the augenrules script ``script`` strip a carriage return ending a line (:data:`CR_STRIP`)?"""
    return CR_STRIP in script


def _awk_compile(lines: list[RuleLine], awk: str, strips_cr: bool = False) -> list[RuleLine]:
    space = _AWK_SPACE[awk]
    if strips_cr:
        lines = [RuleLine(line.file, line.line, line.text[:-1]) if line.text.endswith("\r") else line
                 for line in lines]
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


def compile_rules_d(files: Sequence[tuple[str, str]], awk: str = "gawk", strips_cr: bool = False) -> list[RuleLine]:
    """Concatenate rules.d files as augenrules does.

    ``files`` are (path, text) in augenrules order.  The files are joined as ``cat`` joins them (a
    file without a final newline runs into the next file's first line); blank and comment lines are
    dropped; the last bare ``-D``, ``-b`` and ``-f`` lines go first, in that order, and the last
    ``-e`` line goes last, each as ``awk`` (gawk or mawk) matches augenrules' patterns; with
    ``strips_cr`` (augenrules from audit 3.1.1) a carriage return ending a line is dropped first.
    Every line keeps its ``file:line`` origin.
    """
    return _awk_compile(_join_files(files), awk, strips_cr)


def parse_rules_d(files: Sequence[tuple[str, str]], machine: str | None = None, awk: str | None = None,
                  strips_cr: bool | None = False) -> ParsedRules:
    """What ``augenrules --load`` leaves loaded from these rules.d files, compiled by the target's
    ``awk`` ("gawk" or "mawk") and augenrules (``strips_cr``: whether it strips a carriage return
    ending a line, :func:`augenrules_strips_cr`).  Either None is not known: where the ways it may
    be compile the files into different rule sets, that is reported as a problem (lbaudit cannot
    tell which the boot gets), and the reading of gawk without stripping is returned."""
    joined = _join_files(files)
    awks = [awk] if awk is not None else ["gawk", "mawk"]
    strips = [strips_cr] if strips_cr is not None else [False, True]
    parsed_lines: dict = {}  # each line parsed once, whichever readings hold it
    readings = {(a, c): parse_rules_file(_awk_compile(joined, a, c), machine, parsed_lines) for a in awks for c in strips}
    parsed = readings[(awks[0], strips[0])]
    parsed.unread = next((reading.unread for reading in readings.values() if reading.unread), None)
    if parsed.unread is not None:
        return parsed  # one reading was abandoned: what the boot loads is not known, whichever it is

    def differ(one: ParsedRules, other: ParsedRules) -> str | None:
        """Where two readings disagree (the origins of the rules only one holds); None when they agree."""
        if [semantic_key(r) for r in one.rules] == [semantic_key(r) for r in other.rules] and \
                controls(one.rules) == controls(other.rules):
            return None
        lines = {(r.origin, r.text) for r in one.rules} ^ {(r.origin, r.text) for r in other.rules}
        return ", ".join(sorted({origin for origin, _ in lines})) or "the order of control lines"

    def controls(rules: list[AuditRule]) -> list:
        return [r.fields for r in rules if r.kind == "control"]

    by_awk = next(filter(None, (differ(readings[("gawk", c)], readings[("mawk", c)]) for c in strips
                                if len(awks) > 1)), None)
    if by_awk is not None:
        parsed.problems.append(Problem(
            RULES_D_LABEL, None, None,
            f"augenrules compiles these files differently with gawk and with mawk ({by_awk}): "
            "an indented comment, -e, -D, -b or -f line is matched by gawk's \\s but not by mawk's; "
            "lbaudit cannot tell which awk the target runs",
        ))
    by_cr = next(filter(None, (differ(readings[(a, False)], readings[(a, True)]) for a in awks
                               if len(strips) > 1)), None)
    if by_cr is not None:
        parsed.problems.append(Problem(
            RULES_D_LABEL, None, None,
            f"augenrules compiles these files differently as audit 3.1.1 and later and as earlier audit do "
            f"({by_cr}): from 3.1.1 it strips the carriage return ending a line (CRLF line ends), before "
            "it keeps it, and lbaudit cannot tell which augenrules the target runs",
        ))
    return parsed
