"""Reading the JSON documents a user hands lbaudit: evidence, snapshots, signatures, OSCAL catalogs.

One reader for all of them, so that each is equally strict: a regular file (a device or FIFO is
refused), bounded in size on the read itself, UTF-8, and unambiguous JSON (a duplicate key, which
json.loads silently resolves to the last one, and NaN/Infinity, which are not JSON, are refused),
nested at most MAX_DEPTH levels, with numbers a float or int can hold.  Every problem is an
InputError (exit 2) that names the file and, where there is one, the line and column.

A problem never quotes the document: a key, a number or a key path is named by its line and column
(a key path also by its JSON pointer once the document names itself one of lbaudit's own, by its
``schema``).  These are read before anything checks what the file is, and a path given as evidence,
a snapshot, a signature or a catalog may name any file the run can read: ``lbaudit show
/root/.docker/config.json`` printed a duplicate key of it, and a lone surrogate's JSON pointer or an
out-of-range number was the file's own text.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from auditor.errors import InputError, Problem
from auditor.model.base import CANONICAL_CHUNK_ITEMS as CANONICAL_CHUNK_ITEMS  # re-exported
from auditor.model.base import canonical_sha256 as canonical_sha256  # re-exported: reporters' digest
from auditor.model.base import json_pointer
from auditor.patterns import first_use
from auditor.safeio import FileTooLarge, NotRegularFile, read_regular
from auditor.sha256 import sha256

# Deeper than any lbaudit document (evidence nests about 8 levels).  json.loads recurses once per
# level and raises RecursionError near 1000; a limit well below that is refused with its line.
MAX_DEPTH = 64

# The most JSON values one document read may hold, whatever it is (a snapshot has its own, lower,
# --max-snapshot-records).  Counted on the bytes before the parse (json_values_in_bytes): the parse
# is what costs memory, and short values cost far more than their bytes (a 64 MiB document of
# 22,000,000 empty objects would take about 1.8 GB as dicts, a 256 MiB evidence file 7 GB: the kernel's
# OOM killer, not an error).  lbaudit's own documents hold a value per 36 bytes or so (evidence of
# 5,000 listeners: 567,461 values in 20.8 MB), so a 256 MiB evidence file (MAX_EVIDENCE_BYTES)
# holds about 7,500,000: this bounds a hostile document at about 1.3 GB and refuses no real one.
MAX_JSON_VALUES = 16_000_000


class AmbiguousJson(ValueError):
    """Valid to json.loads, but not one unambiguous JSON value.  Its message quotes nothing of the
    document (see the module's docstring)."""


class _DuplicateKey(AmbiguousJson):
    """A key seen twice in one object: located in the text (:func:`_duplicate_key_at`) for the error."""


class _LoneSurrogate(ValueError):
    """A string holds half of a UTF-16 pair: located in the text (:func:`_lone_surrogate_at`) for the error."""


class UnreadableJson(ValueError):
    """Syntactically JSON, but not a value lbaudit will hold: nested too deep, a number too long
    or out of range.  ``lineno``/``colno`` say where, when known."""

    def __init__(self, message: str, lineno: int | None = None, colno: int | None = None):
        super().__init__(message if lineno is None else f"{message} (line {lineno}, column {colno})")
        self.lineno = lineno
        self.colno = colno


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # at C speed; fewer keys than pairs means a key came twice
    if len(result) != len(pairs):  # parsers disagree on which duplicate wins; a document must mean one thing
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey("duplicate key")
            seen.add(key)
    return result


def _objects_sharing_strings() -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` for one document: :func:`_object_without_duplicates`, whose string
    values (and those of a list of strings) equal to one seen before in the document are that one
    object.  json.loads shares equal keys but makes each value anew: in 20,000 findings the same
    rule id, check, status, controls, address and message were 360,000 strings (20 MiB of the
    parsed document, then of the models that keep them)."""
    strings: dict[str, str] = {}
    shared = strings.setdefault

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = _object_without_duplicates(pairs)
        for key, value in pairs:
            if type(value) is str:
                result[key] = shared(value, value)
            elif type(value) is list and value and type(value[0]) is str:
                result[key] = [shared(item, item) if type(item) is str else item for item in value]
        return result

    return hook


def _no_constant(name: str) -> Any:
    raise AmbiguousJson(f"{name} is not a JSON number")


class _OutOfRange(ValueError):
    def __init__(self, number: str):
        super().__init__(number)
        self.number = number


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf, which no JSON writer can write back
        raise _OutOfRange(text)
    return value


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


_TOKEN = first_use(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(text: str) -> UnreadableJson:
    """The error for ``text`` nested deeper than MAX_DEPTH, located at the first bracket too deep.
    Only run once a document is known to be too deep, so its cost never burdens a good file."""
    depth = 0
    for match in _TOKEN().finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return UnreadableJson(f"nested deeper than {MAX_DEPTH} levels", *_position(text, match.start()))
        elif token in "]}":
            depth -= 1
    return UnreadableJson(f"nested deeper than {MAX_DEPTH} levels")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` deep; level by level, looking only at containers
    (json.loads makes exact dicts and lists), so a large flat document costs little."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [child for item in level for child in (item.values() if type(item) is dict else item)
                 if type(child) is dict or type(child) is list]
        depth += 1
    return False


_NON_ASCII = first_use(rb"[\x80-\xff]+")
_ESCAPE_BEFORE_NON_ASCII = first_use(rb"\\[\x80-\xff]")
_ASCII_BYTES = bytes(range(128))
# Up to this many different non-ASCII characters are replaced one by one, each by a search of the
# bytes at C speed; beyond it, by one (slower) regular-expression pass.
MAX_CHARACTERS_REPLACED = 64


def _json_escape(character: str) -> bytes:
    # The JSON escapes of a character (an astral one as a surrogate pair, which json.loads joins).
    units = character.encode("utf-16-be")
    return b"".join(b"\\u%04x" % int.from_bytes(units[i:i + 2], "big") for i in range(0, len(units), 2))


def _json_escapes(match: re.Match[bytes]) -> bytes:
    return b"".join(_json_escape(character) for character in match.group().decode("utf-8"))


def _ascii_text(raw: bytes) -> str | None:
    """``raw`` as text of one byte a character, each non-ASCII character written as its JSON escape,
    or None when that could change what the document means (a backslash before one) or the bytes
    are not UTF-8.

    One em dash in a control title made the decoded text of a 29 MB evidence file two bytes a
    character (56 MiB, the peak of reading 20,000 findings).  Outside strings a non-ASCII character
    is invalid JSON either way; any error is reported from the text as it is (:func:`loads_strict`).

    A document has few different non-ASCII characters (an em dash, a name): each is replaced where
    it occurs by ``bytes.replace``, a search at C speed, where a regular expression over every byte
    of a 7 MB file took 0.2 s.  Replacing whole characters of valid UTF-8 leaves no non-ASCII byte
    behind; a byte left over means the file is not UTF-8 (None: the caller reads the text as it is,
    for the error and where it is)."""
    if raw.isascii():
        return raw.decode("ascii")
    try:
        characters = sorted(set(raw.translate(None, _ASCII_BYTES).decode("utf-8")))
    except UnicodeDecodeError:
        return None
    if len(characters) > MAX_CHARACTERS_REPLACED:
        if _ESCAPE_BEFORE_NON_ASCII().search(raw):
            return None
        return _NON_ASCII().sub(_json_escapes, raw).decode("ascii")
    encoded = [character.encode("utf-8") for character in characters]
    if any(b"\\" + sequence in raw for sequence in encoded):
        return None
    for character, sequence in zip(characters, encoded):
        raw = raw.replace(sequence, _json_escape(character))
    return raw.decode("ascii") if raw.isascii() else None


def loads_strict(raw: bytes, *, counted: bool = False) -> Any:
    """Parse UTF-8 JSON bytes; raise UnicodeDecodeError, json.JSONDecodeError, AmbiguousJson or
    UnreadableJson (all ValueErrors).  ``counted``: the caller has already refused ``raw`` for
    holding more than MAX_JSON_VALUES values (a snapshot's own bound, which is lower)."""
    if not counted:
        _refuse_too_many_values(raw)
    try:
        text = _ascii_text(raw)
        if text is not None:
            value = json.loads(text, object_pairs_hook=_objects_sharing_strings(), parse_constant=_no_constant,
                               parse_float=_finite_float)
            escapes = _SURROGATE_ESCAPE().search(text) is not None
            del text
            if not _deeper_than(value, MAX_DEPTH) and not (escapes and _lone_surrogate_in(value) is not None):
                return value
    except UnreadableJson:
        raise
    except (ValueError, RecursionError, MemoryError):
        pass  # not a good document: read once more as it is, for the error and where it is
    return _loads_strict_text(raw)


def _loads_strict_text(raw: bytes) -> Any:
    """:func:`loads_strict` on the text as it is: its errors say where, in the file's own lines and columns."""
    text = raw.decode("utf-8")
    try:
        value = json.loads(text, object_pairs_hook=_objects_sharing_strings(), parse_constant=_no_constant,
                           parse_float=_finite_float)
    except RecursionError:
        raise _too_deep(text) from None
    except json.JSONDecodeError:
        raise
    except _DuplicateKey:
        where = _duplicate_key_at(text)
        raise AmbiguousJson("duplicate key" + (f" (line {where[0]}, column {where[1]})" if where else "") +
                            "; each key may appear once") from None
    except AmbiguousJson:
        raise
    except _OutOfRange as exc:
        found = text.find(exc.number)
        where = _position(text, found) if found >= 0 else (None, None)
        raise UnreadableJson("a number is out of range", *where) from None
    except ValueError:
        # int() refuses more than sys.get_int_max_str_digits() digits (CVE-2020-10735).
        digits = sys.get_int_max_str_digits() or 4300
        long_number = re.search(r"[0-9]{%d,}" % (digits + 1), text)
        where = _position(text, long_number.start()) if long_number else (None, None)
        raise UnreadableJson(f"a number has more than {digits} digits", *where) from None
    except MemoryError:
        raise UnreadableJson("the document is too large to hold in memory") from None
    if _deeper_than(value, MAX_DEPTH):
        raise _too_deep(text)
    inside = _lone_surrogate_in(value) if _SURROGATE_ESCAPE().search(text) else None
    if inside is not None:
        code, where = _lone_surrogate_at(text)
        pointer = f"{_pointer(inside)}: " if _is_lbaudit_document(value) else ""
        raise UnreadableJson(f"{pointer}the escape \\u{code} is half of a UTF-16 pair, no character (a lone "
                             "surrogate): not text", *where)
    return value


# A \uD800-\uDFFF escape: half of a UTF-16 pair.  json.loads joins a high and a low half into
# one character and keeps a half alone as a lone surrogate, which is no character: no UTF-8
# writer can write it back (evidence, SARIF, XML, the PDF all failed on it with exit 70).
_SURROGATE_ESCAPE = first_use(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = first_use("[\ud800-\udfff]")


def _lone_surrogate_in(value: Any) -> tuple[Any, ...] | None:
    """Where in ``value`` a string (or key) holds a lone surrogate, or None.  Walked only when the
    text has a surrogate escape at all (a pair, for an emoji, is fine)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    surrogate = _SURROGATE()
    while stack:
        where, item = stack.pop()
        if type(item) is str:
            if surrogate.search(item):
                return where
        elif type(item) is dict:
            for key, child in reversed(item.items()):
                stack.append(((*where, key), key))  # a key is checked as a string at its own place
                stack.append(((*where, key), child))
        elif type(item) is list:
            stack.extend(((*where, index), child) for index, child in reversed(list(enumerate(item))))
    return None


def _is_lbaudit_document(value: Any) -> bool:
    """Whether ``value`` names itself one of lbaudit's own documents: only then may a problem name
    a place in it by its keys (a JSON pointer)."""
    return type(value) is dict and isinstance(value.get("schema"), str) and value["schema"].startswith("lbaudit/")


# A surrogate escape and the backslashes before it: after an even number of them it is an escape
# (after an odd number the backslash before the "u" is itself escaped: the text "\\ud800").  A
# match starts only where a run of backslashes does: from inside a run the pattern would read the
# rest of it again from every position, quadratic in the run's length.
_SURROGATE_ESCAPE_AFTER = first_use(r"(?<!\\)(\\*)\\u([dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_SURROGATE_ESCAPE = first_use(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _lone_surrogate_at(text: str) -> tuple[str, tuple[int | None, int | None]]:
    """The first lone surrogate escape of ``text`` (one that holds one, :func:`_lone_surrogate_in`):
    its four hex digits in lower case and (line, column)."""
    position = 0
    while True:
        match = _SURROGATE_ESCAPE_AFTER().search(text, position)
        if match is None:
            return "d800-\\udfff", (None, None)
        position = match.end()
        if len(match.group(1)) % 2:
            continue  # an escaped backslash, then the text "ud800"
        code = match.group(2).lower()
        if code[1] in "89ab" and _LOW_SURROGATE_ESCAPE().match(text, match.end()):
            position = match.end() + 6  # a high and a low half: one character
            continue
        return code, _position(text, match.start(2) - 2)


_KEY_OR_BRACKET = first_use(r'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{}]')


def _duplicate_key_at(text: str) -> tuple[int, int] | None:
    """(line, column) of the first key of ``text`` written twice in one object, or None.  Only run
    once a document is known to hold one."""
    objects: list[set[str] | None] = []  # per open bracket: the keys of an object, None for a list
    for match in _KEY_OR_BRACKET().finditer(text):
        token = match.group()
        if token in ("{", "["):
            objects.append(set() if token == "{" else None)
        elif token in ("}", "]"):
            if objects:
                objects.pop()
        elif match.group(1) and objects and objects[-1] is not None:
            key = json.loads(token[:token.rindex('"') + 1])
            if key in objects[-1]:
                return _position(text, match.start())
            objects[-1].add(key)
    return None


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refusing more than ``limit`` (counted on the read, not on what
    ``stat`` claims) and anything but a regular file; ``what`` names the expected document
    ("an lbaudit snapshot") in messages."""
    path = Path(path)
    try:
        return read_regular(path, limit, document=True)
    except NotRegularFile as exc:
        kind = (exc.strerror or "is not a regular file").split(",")[0]  # "is a FIFO", "is a directory"
        raise InputError(f"{path}: {kind}, not {what}") from exc
    except FileTooLarge as exc:
        raise InputError(f"{path}: larger than {limit} bytes; not {what}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


def _refuse_too_many_values(raw: bytes) -> None:
    count = json_values_in_bytes(raw, MAX_JSON_VALUES)
    if count > MAX_JSON_VALUES:
        raise UnreadableJson(f"holds {count:,} JSON values, more than the {MAX_JSON_VALUES:,} lbaudit reads in one "
                             "document (its own files hold about one per 36 bytes); not parsed")


# A JSON string (escapes included), or an empty array or object: what json_values_in_bytes takes out
# before counting.  Possessive and unrolled, so nothing is tried twice.
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_STRING_OR_EMPTY_CONTAINER = first_use(_STRING + rb'|\[\s*+\]|\{\s*+\}')
# Text outside strings and whole strings, as far as they go: where a piece of a document may end
# (never inside a string).
_WHOLE_TOKENS = first_use(rb'(?:[^"]++|' + _STRING + rb')*+')
_ONE_STRING = first_use(_STRING)
# The document is counted a piece at a time: re.sub makes two objects per string it takes out, so a
# whole 51 MB document of 17,000,000 of them took 3 GB.  A MiB's pieces take a few MB.
_COUNTED_PIECE = 1 << 20


def json_values_in_bytes(raw: bytes, at_most: int) -> int:
    """How many JSON values the document ``raw`` holds, itself included (what walking its parse
    would count: objects, arrays, strings, numbers, booleans, nulls; an object's keys are not values),
    when that is more than ``at_most``; otherwise a number no larger than ``at_most`` (an upper
    bound).  Counted on the bytes, before anything is parsed: parsing is what costs the memory (a
    62 MB document of 7,000,000 short strings peaked at 1 GB in json.loads, 5 s, only to be refused
    after).

    In valid JSON every value but the outermost is a member of an array or object, and a nonempty
    array or object has one member more than it has commas: so the count is one, plus the commas,
    plus the nonempty arrays and objects, none of them counted inside strings.  Exact for valid
    JSON (what is not valid is refused by its parse anyway).  Commas and brackets are counted on the
    bytes first (C speed, 20 ms for 20 MB): that is already at most ``at_most`` for every document
    lbaudit writes of that size, and the strings are taken out, a MiB at a time, only when it is not."""
    upper_bound = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
    if upper_bound <= at_most:
        return upper_bound
    count, start, end = 1, 0, len(raw)
    while start < end:
        stop = _WHOLE_TOKENS().match(raw, start, min(end, start + _COUNTED_PIECE)).end()
        if stop == start:  # a string longer than a piece
            string = _ONE_STRING().match(raw, start)
            if string is None:
                break  # a string never closed: the rest is inside it (and the parse refuses it)
            stop = string.end()
        else:
            # Not between the brackets of an empty array or object: those would be counted as one value.
            whole = stop
            while stop > start and raw[stop - 1] in b" \t\r\n[{":
                stop -= 1
            stop = stop if stop > start else whole  # a MiB of only brackets and blanks: at most one too many
        bare = _STRING_OR_EMPTY_CONTAINER().sub(b"0", raw[start:stop])
        count += bare.count(b",") + bare.count(b"[") + bare.count(b"{")
        start = stop
    return count


def parse_document(raw: bytes, name: str, what: str, *, counted: bool = False) -> Any:
    """Strict JSON of a file's bytes, or an InputError saying where it is broken (``counted``: as
    :func:`loads_strict`'s)."""
    try:
        return loads_strict(raw, counted=counted)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not {what}: not UTF-8 text (byte {exc.start})") from exc
    except (AmbiguousJson, UnreadableJson) as exc:
        raise InputError(f"{name}: not {what}: {exc}") from exc
    except json.JSONDecodeError as exc:
        stripped = exc.doc.rstrip()
        truncated = stripped.startswith(("{", "[")) and not stripped.endswith(("}", "]"))
        hint = " (the file looks truncated: it ends before its closing brace)" if truncated else ""
        raise InputError(f"{name}: not valid JSON (line {exc.lineno}) at column {exc.colno}: {exc.msg}{hint}; "
                         f"expected {what}") from exc


def _pointer(loc: tuple[Any, ...]) -> str:
    return json_pointer(*loc) or "/"


def validate_versioned(data: Any, name: str, what: str, noun: str, model: type[BaseModel], schema: str,
                       versions: tuple[str, ...]) -> Any:
    """Check ``schema`` / ``schema_version`` and validate ``data`` against ``model``; every invalid
    field is named by its JSON pointer.  ``what``: "an lbaudit snapshot"; ``noun``: "snapshot"."""
    known = {"lbaudit/evidence": "an lbaudit evidence file", "lbaudit/snapshot": "an lbaudit snapshot file"}
    if isinstance(data, dict) and data.get("schema") != schema and data.get("schema") in known:
        # The other kind of lbaudit file: name what it is rather than only what it is not.
        raise InputError(f"{name}: this is {known[data['schema']]}, not {what}")
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise InputError(f'{name}: not {what} (expected "schema": "{schema}")')
    version = data.get("schema_version")
    if version not in versions:
        raise InputError(f"{name}: {what} of schema version {version!r} is not supported by this lbaudit "
                         f"(supported: {', '.join(versions)})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [Problem(name, None, None, f"{_pointer(err['loc'])}: {err['msg']}") for err in errors[:20]]
        if len(errors) > len(problems):
            problems.append(Problem(name, None, None, f"... and {len(errors) - len(problems)} more"))
        raise InputError(f"{name}: invalid {noun} ({len(errors)} problem(s))", problems) from exc


# ------------------------------------------------------------------ documents as lbaudit writes them

# Dicts this deep or shallower are checked member by member, lists CANONICAL_CHUNK_ITEMS items at a
# time: the evidence's findings (depth 3) and listeners (depth 5) are never written out whole again.
_SPLIT_DICT_DEPTH = 4
# A line indented this far is a member of a container nested MAX_DEPTH deep (two spaces a level).
_TOO_DEEP_LINE = b"\n" + b" " * (2 * MAX_DEPTH)
# Digits, commas and signs removed, "." and "E" read as "e", every other letter as "x": a line that
# ends in a float then ends in " e" (1.5, 1e5, -1e-5) or "ee" (1.5e5), true and false in "xe".
_FLOAT_TAIL_TABLE = bytes.maketrans(b".EabcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ", b"ee" + b"x" * 50)
_FLOAT_TAIL_DROPPED = b"0123456789,+-"
_FLOAT_SCAN_BYTES = 1 << 20


class _NotAsWritten(Exception):
    """The bytes are not exactly those lbaudit's writer gives for the value they parse to."""


def read_as_written(raw: bytes) -> tuple[Any, str] | None:
    """(value, :func:`canonical_sha256` of it) of JSON bytes exactly as lbaudit writes its files
    (``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\\n"``, storage/jsontext.py),
    or None for any other bytes, which the caller reads with :func:`parse_document` as before.

    Parsed at Rust speed (pydantic-core's parser, equal strings shared as the strict reader shares
    them), then written again by orjson piece by piece and compared byte for byte with ``raw``: bytes
    equal to a writing of the value hold no duplicate key (the writing has each key once), no NaN,
    no number or escape written otherwise than the writer does, nothing the strict reader refuses
    but nesting, which the indentation bounds (no line indented 2 * MAX_DEPTH spaces: nothing nested
    deeper than MAX_DEPTH).  The value is then the one :func:`loads_strict` gives.  Its canonical
    form is orjson's compact writing when the document holds no float (orjson writes floats in
    another notation; found from the ends of the lines, :func:`_holds_float`), else
    :func:`canonical_sha256`'s own.  Evidence of 5,000 findings: 827 M instructions where the strict
    reader and the digest took 1,564 M (cachegrind; issue 16)."""
    if not (raw.startswith(b'{\n  "') and raw.endswith(b"\n}\n")) or _TOO_DEEP_LINE in raw:
        return None
    if json_values_in_bytes(raw, MAX_JSON_VALUES) > MAX_JSON_VALUES:
        return None  # refused by loads_strict, which the caller reads it with, before it is parsed
    try:
        from pydantic_core import from_json

        value = from_json(raw, allow_inf_nan=False)
        digest = sha256()
        end = _check_written(raw, 0, value, b"", 1, digest.update)
    except (ImportError, ValueError, TypeError, RecursionError, _NotAsWritten):
        return None
    if end != len(raw) - 1:  # the writer's final newline
        return None
    if _holds_float(raw):
        return value, canonical_sha256(value)
    return value, digest.hexdigest()


def _check_written(raw: bytes, pos: int, value: Any, pad: bytes, depth: int, feed: Callable[[bytes], Any]) -> int:
    """Check that ``raw`` holds at ``pos`` the indented writing of ``value`` (its lines after the first
    indented by ``pad``), feed its canonical (compact) writing to ``feed``; return the position after it."""
    import orjson

    def expect(piece: bytes, at: int) -> int:
        if not raw.startswith(piece, at):
            raise _NotAsWritten
        return at + len(piece)

    kind = type(value)
    if kind is dict and value and depth <= _SPLIT_DICT_DEPTH:
        inner = pad + b"  "
        pos = expect(b"{\n" + inner, pos)
        feed(b"{")
        for number, key in enumerate(sorted(value)):
            written_key = orjson.dumps(key)
            if number:
                pos = expect(b",\n" + inner, pos)
            pos = expect(written_key + b": ", pos)
            feed((b"," if number else b"") + written_key + b":")
            pos = _check_written(raw, pos, value[key], inner, depth + 1, feed)
        feed(b"}")
        return expect(b"\n" + pad + b"}", pos)
    if kind is list and len(value) > CANONICAL_CHUNK_ITEMS:
        pos = expect(b"[", pos)
        feed(b"[")
        for start in range(0, len(value), CANONICAL_CHUNK_ITEMS):
            chunk = value[start:start + CANONICAL_CHUNK_ITEMS]
            indented = orjson.dumps(chunk, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
            # "[\n  item,\n  item\n]": the items with their line breaks, between the brackets
            pos = expect((b"," if start else b"") + indented[1:-2].replace(b"\n", b"\n" + pad), pos)
            feed((b"," if start else b"") + orjson.dumps(chunk, option=orjson.OPT_SORT_KEYS)[1:-1])
        feed(b"]")
        return expect(b"\n" + pad + b"]", pos)
    indented = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    feed(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    return expect(indented.replace(b"\n", b"\n" + pad) if pad else indented, pos)


def _holds_float(raw: bytes) -> bool:
    """Whether bytes as lbaudit writes them (checked so by :func:`read_as_written`) hold a float.
    There every number ends its line (before a comma or not), after a space (": " or the indentation
    of a list's item); a float has a "." or an exponent.  Translated (_FLOAT_TAIL_TABLE), a line
    holding a float ends in " e" or "ee"; one holding an int ends in a space, true and false in
    "xe", a string, null or a bracket otherwise.  Read a megabyte of lines at a time."""
    start, size = 0, len(raw)
    while start < size:
        end = raw.find(b"\n", min(start + _FLOAT_SCAN_BYTES, size - 1)) + 1 or size
        tails = raw[start:end].translate(_FLOAT_TAIL_TABLE, _FLOAT_TAIL_DROPPED)
        if b" e\n" in tails or b"ee\n" in tails:
            return True
        start = end
    return False
