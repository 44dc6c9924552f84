"""Bytes of a captured probe output as text, whatever the capture saved them as.

A bundle captured by hand may be UTF-8 (with or without a byte-order mark), UTF-16 with a BOM
(what Windows PowerShell 5.1's ``>`` writes), UTF-16 without one (``Out-File -Encoding Unicode``
of an older tool), or the console's OEM code page (cp437 in the US, cp850 in Western Europe),
with CRLF line ends.  Only ASCII matters to the parsers (numbers, addresses, GUIDs, keys), and
cp437 and cp850 agree on ASCII, so the OEM fallback is read as cp850: a label may come out with a
wrong accent, a number never does.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


class UndecodableOutput(ValueError):
    """The bytes are not text in any encoding a capture produces (binary, or garbled), or more
    lines of it than any probe prints of a host."""


# Twice the rows a parser reads of a listing (windows.MAX_ROWS, 200,000), and far above the lines
# of any other probe's output.  Counted before any parser splits the text: a bundle file of 32 MiB
# is eleven million short lines, and split whole it held about 900 MiB of strings and took seconds
# to skip line by line, for every file of a bundle.
MAX_LINES = 400_000
# What str.splitlines, which every parser uses, ends a line at ("\r" is made "\n" first).
_LINE_ENDS = ("\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
# Control characters no command's text output holds, each counted by str.count in C: counted in
# Python a character at a time they took 4 s over 32 MiB (str.translate is as slow on non-ASCII text,
# and a regular expression's list of matches as large as the text).
_CONTROLS = tuple(chr(code) for code in range(32) if chr(code) not in "\r\n\t\f\x1a")


@dataclass(frozen=True)
class DecodedText:
    text: str  # newlines normalised to "\n"
    encoding: str  # what it was read as, for the provenance: "utf-16-le (BOM)", "cp850 (OEM code page)"


def _utf16_without_bom(data: bytes) -> str | None:
    """Little- or big-endian UTF-16 told by where the NULs of ASCII text fall."""
    if len(data) < 4 or len(data) % 2:
        return None
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    half = len(data) // 2
    if odd_nuls > half * 0.6 and even_nuls < half * 0.1:
        return "utf-16-le"
    if even_nuls > half * 0.6 and odd_nuls < half * 0.1:
        return "utf-16-be"
    return None


def decode_output(data: bytes) -> DecodedText:
    """The text of a probe output; :class:`UndecodableOutput` when it is not text."""
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _strict(data[3:], "utf-8"), "utf-8 (BOM)"
    elif data.startswith(codecs.BOM_UTF16_LE):
        text, encoding = _strict(data[2:], "utf-16-le"), "utf-16-le (BOM)"
    elif data.startswith(codecs.BOM_UTF16_BE):
        text, encoding = _strict(data[2:], "utf-16-be"), "utf-16-be (BOM)"
    elif (utf16 := _utf16_without_bom(data)) is not None:
        text, encoding = _strict(data, utf16), f"{utf16} (no BOM)"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("cp850"), "cp850 (OEM code page)"
    if "\x00" in text:
        raise UndecodableOutput("holds NUL characters: binary or garbled, not a command's text output")
    controls = sum(text.count(control) for control in _CONTROLS)
    if controls > max(8, len(text) // 100):
        raise UndecodableOutput(f"holds {controls} control characters: binary or garbled, not a command's text output")
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\x1a")  # \x1a: DOS end-of-file mark
    refuse_too_many_lines(text)
    return DecodedText(text, encoding)


def refuse_too_many_lines(text: str, ends: tuple[str, ...] = _LINE_ENDS) -> None:
    """:class:`UndecodableOutput` when ``text`` holds more than :data:`MAX_LINES` lines, each ended
    by one of ``ends`` (a file read as bytes, as libbsm reads audit_control, ends them at a line feed alone)."""
    lines = sum(text.count(end) for end in ends) + (not text.endswith(ends))
    if lines > MAX_LINES:
        raise UndecodableOutput(f"holds {lines:,} lines, more than the {MAX_LINES:,} any probe prints of a host: "
                                "not read")


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UndecodableOutput(f"not valid {encoding} after its byte-order mark: {exc.reason} at byte {exc.start}") from None
