"""Text from evidence, a store or a host, shown on one line of a terminal, a log or a table.

Standard library only: ``lbaudit history list`` prints through it without loading pydantic."""

from __future__ import annotations

import json
import re
from typing import Callable

from auditor.patterns import first_use

# More decimal digits than this are no line number, port or count (2**63 has 19): int() of them is
# refused past 4,300 digits (a ValueError, exit 70 where it was not caught), and nothing lbaudit
# reads needs them.
MAX_DECIMAL_DIGITS = 18


def ascii_decimal(text: str, max_digits: int = MAX_DECIMAL_DIGITS) -> int | None:
    """``text`` as a non-negative integer when it is written in ASCII decimal digits alone (at most
    ``max_digits`` of them), else None.  ``str.isdigit()`` is also true for "\u00b2", which
    int() refuses, and for 5,000 digits, which it refuses too: the check every reader of a number
    in text it did not write (a line number ending an origin, an environment variable, a command
    line's cron field or time span) makes before int().  Here, with the standard library only, so
    that the configuration and the schedule read their numbers through it without pydantic."""
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None


# The bidi controls every set below escapes, one definition (Unicode's Bidi_Control property): the
# Arabic letter mark and the left-to-right and right-to-left marks (U+061C, U+200E, U+200F), the
# embeddings and overrides (U+202A-U+202E) and the isolates (U+2066-U+2069).  Each makes the text beside it display in another
# order than it is stored ("Trojan Source"): a process name holding U+202E turned a finding's subject
# around wherever it was shown.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"

# The characters drawn as nothing, which every set below escapes too (Unicode's
# Default_Ignorable_Code_Point, less the bidi controls above): the soft hyphen, the combining grapheme
# joiner, the Hangul fillers, the zero-width space, non-joiner and joiner, the word joiner and the
# invisible operators, the variation selectors, the byte order mark, the tag characters.  A listener
# of "ss\u200bhd" (owned by whoever named the process so) read "sshd" on every output, the real
# daemon's name to anyone who knows what listens on 22.  Scripts that join with U+200C and U+200D
# show them as escapes too: a name that looks like another must not read as it.
_INVISIBLE = ("\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2065\u206a-\u206f"
              "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
              "\U000e0000-\U000e0fff")

# The noncharacters (U+FDD0-U+FDEF and the last two code points of every plane: U+FFFE, U+FFFF,
# U+1FFFE, ...), which every set below escapes too: no text at all, but valid UTF-8 and valid JSON, so a
# snapshot's process name may hold them.  No XML document may hold U+FFFE or U+FFFF, an HTML parser
# flags each one ("noncharacter-in-input-stream"), and Unicode keeps them for a program's own use:
# the HTML, text, SARIF, OSCAL and HDF reports held them raw, and JUnit, which could not, showed
# "ss\ufffehd" and "ss\uffffhd" as one name.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}"
                                           for plane in range(17))

# One invisible character, wherever text is written for a reader to approve as it is (lbaudit init's
# exceptions, which write it as a YAML escape).
INVISIBLE_CHARACTER = first_use(f"[{_INVISIBLE}]")

# What one_line escapes: line breaks, the other control characters (Unicode category Cc: C0, DEL
# and C1), the line and paragraph separators (Zl, Zp), the bidi controls, the invisible characters and
# the noncharacters.  One character class,
# so that a line with none of them (nearly every line) is one C-speed scan instead of a unicodedata
# lookup per character.
_UNSAFE_CHARACTER = first_use(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}{_INVISIBLE}{_NONCHARACTERS}]")
_ESCAPES = {"\n": "\\n", "\t": "\\t"}


def _searching(escaped: Callable[[], re.Pattern[str]], ascii_part: str) -> Callable[[str], bool]:
    """Whether a text holds a character of the class ``escaped``, whose ASCII members are
    ``ascii_part`` (a class of its own): ASCII text (nearly all) is searched for those alone.  The
    whole class's astral ranges cost sre a test at every character: plain_text's search alone was
    2.2 s of the OSCAL document of 5,000 listeners, and a class of a few ASCII ranges is a fraction."""
    ascii_class = first_use(ascii_part)

    def holds(text: str) -> bool:
        return (ascii_class if text.isascii() else escaped)().search(text) is not None

    return holds


def _escape_one(char: str) -> str:
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                                  else f"\\U{code:08x}")


def _escape(match: re.Match[str]) -> str:
    return _escape_one(match.group())


def one_line(value: object) -> str:
    """``value`` as text on one line: line breaks, other control characters, bidi overrides and
    invisible characters are shown as escapes (``\\n``, ``\\x1b``, ``\\u202e``, ``\\u200b``), so a
    hostile subject can neither break a finding over two lines, send escape sequences to a terminal
    nor pass for another name."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return _UNSAFE_CHARACTER().sub(_escape, text) if _holds_unsafe(text) else text


_holds_unsafe = _searching(_UNSAFE_CHARACTER, "[\x00-\x1f\x7f]")


# The most of one text a report repeats (auditor.report._shared.bounded_evidence: a finding's
# message, reason, subject) and of one message lbaudit prints on a terminal or a CI log
# (:func:`terminal_lines`): far above any text a check or a message writes, far below what a host,
# a plugin or a hostile file can put there.
MAX_REPORT_TEXT_CHARS = 65_536
# The most of one line of such a message: four paths of PATH_MAX.  A line quoting a snapshot's key of
# a megabyte ("/kkk...: Extra inputs are not permitted") printed the whole megabyte.
MAX_MESSAGE_LINE_CHARS = 16_384


def bounded_text(text: str, limit: int = MAX_REPORT_TEXT_CHARS, kept: str = "in the evidence") -> str:
    """``text``, or its first ``limit`` characters and the marker saying how much more the evidence
    holds: ``… (N more characters and M more lines in the evidence)``, as the PDF says of a cell.
    ``kept`` says where the rest is, for a text that is not the evidence's (``not shown``: nowhere)."""
    if len(text) <= limit:
        return text
    rest = text[limit:]
    return f"{text[:limit]}\u2026 ({len(rest):,} more characters and {rest.count(chr(10)):,} more lines {kept})"


def terminal_lines(text: str) -> str:
    """``text`` (a message of one or more lines) with each line as :func:`one_line` shows it: the line
    feeds are the message's own, every other control character and each bidi control is an escape.
    What lbaudit prints as a command's message names files and quotes documents as they are, and a
    file name can hold any character but NUL and "/": a carriage return and an erase-line escape in
    an evidence file's name made "NOT verified: NAME" read "verified: host.json" on a terminal.

    And bounded, as a report bounds a text (:func:`bounded_text`): the message at most
    :data:`MAX_REPORT_TEXT_CHARS` characters, each of its lines at most
    :data:`MAX_MESSAGE_LINE_CHARS`, each cut with a marker saying how much was not shown (counted in
    the message's characters, before escaping).  A message quotes its input (a key, a value, a host
    name, a path): a snapshot's key of a megabyte was a megabyte on standard error.  Every message
    a command ends with, every warning and every problem ``validate`` lists is printed through here."""
    try:
        shown: list[str] = []
        start = kept = 0
        while start <= len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            line = text[start:end]
            kept += min(len(line), MAX_MESSAGE_LINE_CHARS) + (start > 0)  # and the line feed before it
            if kept > MAX_REPORT_TEXT_CHARS:  # this line and the rest: counted, not shown
                rest = text[start:]
                shown.append(f"\u2026 ({len(rest):,} more characters and {rest.count(chr(10)) + 1:,} more lines "
                             "not shown)")
                break
            shown.append(one_line(bounded_text(line, MAX_MESSAGE_LINE_CHARS, "not shown")))
            start = end + 1
        return "\n".join(shown)
    except MemoryError:
        # The message that ends a run out of memory (exit 71) comes through here, and compiling
        # one_line's pattern on first use may itself not fit: escape by hand, every character but
        # printable ASCII and the line feeds, so the message still gets out and is still safe.
        return "".join(char if char == "\n" or " " <= char <= "~" else _escape_one(char)
                       for char in text[:MAX_REPORT_TEXT_CHARS])


def shown_line(value: object, kept: str = "not shown", limit: int = MAX_MESSAGE_LINE_CHARS) -> str:
    """``value`` on one line of a terminal, as :func:`one_line` shows it, cut at ``limit`` characters
    (by default as :func:`terminal_lines` cuts a line of a message; ``kept`` says where the rest is):
    a value or a line a command prints from what a configuration file, a store or a fleet's hosts
    hold (a process name of a megabyte in a finding's subject was a megabyte, twice, in ``history
    show``)."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return one_line(bounded_text(text, limit, kept))


# What document_text escapes: the characters no HTML or XML document may hold as text (HTML:
# "control-character-in-input-stream"; XML 1.0: not a Char): the C0 controls but tab, line feed, form
# feed and carriage return, DEL and the C1 controls (an ESC in a process name went into the HTML
# report as it was); the bidi controls, which a page obeys: a U+202E in a process name turned
# the rest of its table cell (the finding's message and sentence) around; the invisible characters and
# the noncharacters.
_NOT_DOCUMENT_TEXT = first_use(f"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_INVISIBLE}{_NONCHARACTERS}]")


def document_text(text: str) -> str:
    """``text`` with each character no HTML or XML document may hold, and each bidi control, shown as
    its escape (``\\x1b``, ``\\u202e``), as :func:`one_line` shows it; line breaks are the markup's to render."""
    return _NOT_DOCUMENT_TEXT().sub(_escape, text) if _holds_not_document_text(text) else text


_holds_not_document_text = _searching(_NOT_DOCUMENT_TEXT, "[\x00-\x08\x0b\x0e-\x1f\x7f]")


# What plain_text escapes: every control character but tab and line feed (a carriage return or a
# form feed too: no XML 1.0 document may hold a form feed, and a carriage return rewrites a terminal
# line), the line and paragraph separators, the bidi controls, the invisible characters and the
# noncharacters.
_NOT_PLAIN_TEXT = first_use(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}{_INVISIBLE}{_NONCHARACTERS}]")


def plain_text(text: str) -> str:
    """``text`` with every character that is not plain text (but tab and line feed) shown as its
    escape (``\\x1b``, ``\\x0d``, ``\\u202e``), as :func:`one_line` shows it: text that every output
    (a terminal, JSON, XML, HTML, a PDF) can hold as it is."""
    return _NOT_PLAIN_TEXT().sub(_escape, text) if _holds_not_plain_text(text) else text


_holds_not_plain_text = _searching(_NOT_PLAIN_TEXT, "[\x00-\x08\x0b-\x1f\x7f]")


def line_text(value: object) -> str:
    """``value`` as one line of a document of plain text (:func:`plain_text`, a tab kept) that lays
    things out a line each (a JUnit failure's findings, a PDF cell's "Observed:" and "Expected:"
    lines): its line feeds shown as ``\\n`` too, as :func:`one_line` shows them on a terminal."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return plain_text(text).replace("\n", "\\n")


def plain_tree(value: object) -> object:
    """``value`` (a JSON value: dicts, lists, strings, numbers) with :func:`plain_text` applied to
    every string in it, keys too: what an interchange document (SARIF, OSCAL, HDF) holds, made plain
    text as a whole before it is written, so that no field of host text (a process name, a command
    line, a host name, an observed value) can be written raw, whichever field a renderer adds later.
    Escapes are printable ASCII, so the walk changes nothing a second time, and no digest or UUID
    (hex, computed before) is touched."""
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {plain_tree(key): plain_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_tree(item) for item in value]
    return value


# What json.dumps(..., ensure_ascii=False) writes for a character plain_text escapes: the C0 controls
# as escapes of their own (\b, \f, \r, \u001b; tab and line feed, which plain_text keeps, as \t
# and \n), every other one as it is.  An escaped backslash before "b" or "u001" matches too, which only
# costs the walk.
# Looked for in two passes over the UTF-8 bytes, each at C speed: one pattern of both took 8.8 s
# over the 32 MB SARIF log of 5,000 listeners (sre tests the class's astral ranges at every
# character), longer than writing the log.  The escapes start with a backslash, which JSON text holds
# rarely; the characters are all DEL or beyond ASCII, so the bytes of the rest are deleted
# (bytes.translate: what stays is whole UTF-8 sequences) and what is left is tested against the class.
_JSON_ESCAPE_NOT_PLAIN = first_use(rb"\\(?:[bfr]|u00[01])")
_NOT_PLAIN_CHARACTER = first_use(f"[\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}{_INVISIBLE}{_NONCHARACTERS}]")
_ASCII_BUT_DEL = bytes(range(0x7f))


def json_shows_not_plain(text: str | bytes) -> bool:
    """Whether JSON text (``json.dumps(..., ensure_ascii=False)``'s, or its UTF-8 bytes) shows a
    character that :func:`plain_text` escapes, raw or as the encoder's own escape."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if _JSON_ESCAPE_NOT_PLAIN().search(data):
        return True
    rest = data.translate(None, _ASCII_BUT_DEL)
    return bool(rest) and _NOT_PLAIN_CHARACTER().search(rest.decode("utf-8", "surrogatepass")) is not None


def plain_json(document: object, indent: int | None = None) -> str:
    """``json.dumps(plain_tree(document), ensure_ascii=False, indent=indent)``, walking the document
    only when its JSON text shows a character to escape (nearly never: the walk took a fifth of the
    time a SARIF log of 5,000 listeners did)."""
    text = json.dumps(document, ensure_ascii=False, indent=indent)
    if json_shows_not_plain(text):
        return json.dumps(plain_tree(document), ensure_ascii=False, indent=indent)
    return text


def cut_text(text: str, at_most: int) -> str:
    """``text``, or its first ``at_most`` characters and how many more there were."""
    return text if len(text) <= at_most else f"{text[:at_most]} ... ({len(text) - at_most:,} more characters)"


# The most of a name the user gave (a check, a control id, a key, a format, a rule) that a message
# quotes: far beyond any real name, short enough that a pasted file or a 900 KB name still gives a
# message one can read (it was quoted whole).
MAX_QUOTED_NAME = 100


def quoted_name(name: object, at_most: int = MAX_QUOTED_NAME) -> str:
    """``repr(name)``, as a message quotes a name the user gave, or for a longer one its first
    ``at_most`` characters, quoted, and how long it was: ``'aaa...' (a name of 900,000 characters)``."""
    if isinstance(name, str):
        if len(name) <= at_most:
            return repr(name)
        return f"{name[:at_most]!r}... (a name of {len(name):,} characters)"
    return cut_text(repr(name), at_most)


def with_article(noun: str) -> str:
    """``a NOUN`` or ``an NOUN``, as a message names what a plugin gave ("an int", "a generator")."""
    return f"{'an' if noun[:1].lower() in ('a', 'e', 'i', 'o', 'u') else 'a'} {noun}"


def shell_word(text: str) -> str:
    """``text`` as one word of a shell command a report tells its reader to run (``sha256sum NAME``,
    ``lbaudit verify NAME``): quoted when it holds anything a shell reads as syntax.  The evidence's
    file name is chosen by whoever hands it over: ``e$(curl x|sh).json`` pasted from the HTML, PDF or
    HDF ran that command on the auditor's machine.  A plain name stays as it is."""
    import shlex

    return shlex.quote(text)


def inventory_host(name: str) -> str:
    """The host an inventory name names, as two names of one host compare (a fleet's hosts, and
    the history store's runs of a fleet host): case does not count (RFC 4343), nor does the root's
    trailing dot of an absolute name (``web1.`` is ``web1``, RFC 1034 3.1).  Inventory names are
    ASCII (auditor.fleet's host name rule), so SQL's lower() agrees."""
    return name.lower().rstrip(".")
