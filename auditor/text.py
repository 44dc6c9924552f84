"""Text from evidence, a store or a host, shown on one line of a terminal, a log or a table.

Standard library only: ``lbaudit history list`` prints through it without loading pydantic."""

from __future__ import annotations

import re

# What one_line escapes: line breaks, the other control characters (Unicode category Cc: C0, DEL
# and C1), the line and paragraph separators (Zl, Zp) and the bidi embeddings, overrides and
# isolates.  One character class, so that a line with none of them (nearly every line) is one
# C-speed scan instead of a unicodedata lookup per character.
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def one_line(value: object) -> str:
    """``value`` as text on one line: line breaks, other control characters and bidi overrides
    are shown as escapes (``\\n``, ``\\x1b``, ``\\u202e``), so a hostile subject can neither break a
    finding over two lines nor send escape sequences to a terminal."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return _UNSAFE_CHARACTER.sub(_escape, text)


# What document_text escapes: the characters no HTML or XML document may hold as text (HTML:
# "control-character-in-input-stream"; XML 1.0: not a Char): the C0 controls but tab, line feed, form
# feed and carriage return, DEL and the C1 controls (an ESC in a process name went into the HTML
# report as it was); and the bidi embeddings, overrides and isolates, which a page obeys: a U+202E in
# a process name turned the rest of its table cell (the finding's message and sentence) around.
_NOT_DOCUMENT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def document_text(text: str) -> str:
    """``text`` with each character no HTML or XML document may hold, and each bidi control, shown as
    its escape (``\\x1b``, ``\\u202e``), as :func:`one_line` shows it; line breaks are the markup's to render."""
    return _NOT_DOCUMENT_TEXT.sub(_escape, text) if _NOT_DOCUMENT_TEXT.search(text) else text


# What plain_text escapes: every control character but tab and line feed (a carriage return or a
# form feed too: no XML 1.0 document may hold a form feed, and a carriage return rewrites a terminal
# line), the line and paragraph separators, and the bidi marks, embeddings, overrides and isolates.
_NOT_PLAIN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def plain_text(text: str) -> str:
    """``text`` with every character that is not plain text (but tab and line feed) shown as its
    escape (``\\x1b``, ``\\x0d``, ``\\u202e``), as :func:`one_line` shows it: text that every output
    (a terminal, JSON, XML, HTML, a PDF) can hold as it is."""
    return _NOT_PLAIN_TEXT.sub(_escape, text) if _NOT_PLAIN_TEXT.search(text) else text
