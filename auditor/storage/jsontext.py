"""The bytes of the indented JSON files lbaudit writes (evidence, snapshot), at C speed.

The file form is, and stays, ``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) +
"\\n"`` in UTF-8: digests, signatures and golden files are taken over those bytes.  The standard
library writes that form with its pure-Python encoder (``indent`` turns its C encoder off), about
2 s for the evidence of 5,000 listeners; orjson writes the same layout, the same escapes and the
same key order about twenty times faster.  Two things it writes differently, handled here:

* floats: orjson's shortest form differs from Python's ``repr`` in notation (``0.00001`` for
  ``1e-05``, ``1e16`` for ``1e+16``), and it writes NaN and infinities as ``null``.  The caller
  names the parts of the value that may hold a float (:data:`FloatHolders`); each float there is
  written as the standard library writes it, as a pre-encoded fragment.  Which parts of a document
  can hold a float follows from its JSON Schema (tests/test_jsontext.py holds the two together);
* anything else orjson refuses (an integer beyond 64 bits, a lone surrogate, a non-string key):
  the whole value is written by the standard library, so the bytes are the same either way.

Without orjson installed, the standard library writes every file: slower, the same bytes.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Iterable, Iterator, Mapping

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the bytes do not depend on it
    orjson = None  # type: ignore[assignment]

FloatHolders = Callable[[Any], Iterable[tuple[Any, Iterable[Any]]]]
"""Given the value to write, the places in it that may hold a float: (container, keys) pairs, a
dict or list and the keys (indexes) of its members that may be floats or hold floats at any depth."""


class _NotOrjson(Exception):
    """A value orjson would write differently or not at all: the standard library writes it."""


def _part(parts: "Parts | None", obj: Any) -> tuple[dict[str, Any], Iterable[Any]]:
    """The plain dict of an object of a type in ``parts`` and its keys that may hold floats; the
    TypeError both encoders raise for any other object."""
    to_plain = parts.get(type(obj)) if parts is not None else None
    if to_plain is None:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
    return to_plain(obj)


def _stdlib_bytes(value: Any, allow_nan: bool, parts: "Parts | None" = None, sort_keys: bool = True) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=allow_nan,
                       default=lambda obj: _part(parts, obj)[0]) + "\n").encode("utf-8")


def _float_fragment(number: float) -> Any:
    if not math.isfinite(number):
        raise _NotOrjson  # NaN/Infinity, or json's error for them: the standard library's own
    return orjson.Fragment(float.__repr__(number).encode("ascii"))  # json's own float form


def _python_floats(container: Any, keys: Iterable[Any], replaced: list[tuple[Any, Any, float]]) -> None:
    """Replace, in place, each float at KEYS of CONTAINER (at any depth below) by its fragment;
    each replacement is appended to REPLACED (container, key, float), so it can be undone.
    A walk with a stack of (container, member) pairs, not a call per container: it visits every
    value of every finding (issue 16)."""
    members = [container[key] for key in keys]
    if not members:  # a listener's or a gap's part: none of its fields is a float
        return
    try:
        # Told at C speed first: a float, or anything holding one, pickles with a BINFLOAT opcode
        # ("G"), so a pickle without that byte holds none (the text, lengths and ints around it may
        # hold a "G" too: then the walk below, which finds none).  The walk was 33 K instructions a
        # finding of 5,000 listeners, the pickle and its test 22 K (issue 16).
        if b"G" not in _pickled(members, 2):
            return
    except Exception:  # noqa: BLE001 - anything pickle refuses (deep nesting, an odd type): the walk decides
        pass
    todo = [(container, key, member) for key, member in zip(keys, members)]
    pop, push = todo.pop, todo.append
    while todo:
        holder, key, member = pop()
        kind = type(member)
        if kind is str or kind is int or kind is bool or member is None:
            continue
        if kind is dict:
            # Only what can be or hold a float is visited: most members are text, ints, None.
            if not set(map(type, member.values())) <= _NO_FLOAT:
                for name, value in member.items():
                    if type(value) not in _NO_FLOAT:
                        push((member, name, value))
        elif kind is list:
            if not set(map(type, member)) <= _NO_FLOAT:
                for index, value in enumerate(member):
                    if type(value) not in _NO_FLOAT:
                        push((member, index, value))
        elif kind is float or isinstance(member, float):  # a subclass too: json writes float.__repr__
            holder[key] = _float_fragment(float(member))
            replaced.append((holder, key, member))


try:  # the C pickler alone: pickle.py's import costs 7 M instructions, _pickle's 2 M
    from _pickle import dumps as _pickled
except ImportError:  # pragma: no cover - CPython builds it; another interpreter has pickle's own
    from pickle import dumps as _pickled
# Types whose values neither are nor hold a float (any other type, a subclass of these too, is visited).
_NO_FLOAT = frozenset({str, int, bool, type(None)})


Parts = Mapping[type, Callable[[Any], tuple[dict[str, Any], Iterable[Any]]]]
"""Objects written one at a time, by type: a function giving an object's plain JSON dict and the keys
of it that may hold floats.  Each dict is made as the writer reaches the object and dropped once
written, so the plain form of every finding and listener is never held at once (issue 16)."""


def indented_json(value: Any, float_holders: FloatHolders | None = None, *, allow_nan: bool = True,
                  parts: Parts | None = None, sort_keys: bool = True) -> bytes:
    """``json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=allow_nan) + "\\n"``
    as UTF-8, byte for byte, written by orjson where it can (``sort_keys=False``: each dict's keys
    in their order, as both encoders keep it).

    VALUE must be plain JSON data (dicts, lists, str, int, float, bool, None) that the caller owns,
    but for objects of the types in ``parts``, each written as the plain dict its function gives:
    the floats in ``float_holders(value)`` and in each part's named keys are replaced while it is
    written.  A float anywhere else would be written in orjson's notation; ``float_holders`` and
    ``parts`` must name every place that can hold one."""
    if orjson is None:
        return _stdlib_bytes(value, allow_nan, parts, sort_keys)
    replaced: list[tuple[Any, Any, float]] = []

    def plain_part(obj: Any) -> dict[str, Any]:
        data, keys = _part(parts, obj)
        _python_floats(data, keys, replaced)
        return data

    try:
        for container, keys in float_holders(value) if float_holders is not None else ():
            _python_floats(container, keys, replaced)
        # The final newline written by orjson: `+ b"\n"` copied the whole file's bytes once more
        # (18 MB beside 18 MB for the evidence of 5,000 listeners, the peak of a run).
        order = orjson.OPT_SORT_KEYS if sort_keys else 0
        return orjson.dumps(value, default=plain_part,
                            option=orjson.OPT_INDENT_2 | order | orjson.OPT_APPEND_NEWLINE)
    except (orjson.JSONEncodeError, _NotOrjson):
        pass  # beyond what orjson writes alike (a 65-bit integer, a lone surrogate, NaN): see below
    finally:
        for container, key, number in reversed(replaced):
            container[key] = number
    # The standard library writes the same bytes (or raises what it always raised).
    return _stdlib_bytes(value, allow_nan, parts, sort_keys)


def every_member(value: Any) -> list[tuple[Any, Iterable[Any]]]:
    """:data:`FloatHolders` of a document whose floats may be anywhere (a report built from the
    evidence: observed values are a check's own): its whole top level, walked to every depth."""
    if type(value) is dict:
        return [(value, list(value))]
    if type(value) is list:
        return [(value, range(len(value)))]
    return []


def indented_json_chunks(value: Any, float_holders: FloatHolders | None = None, *, allow_nan: bool = True,
                         parts: Parts | None = None, batch: int = 32) -> Iterator[bytes]:
    """:func:`indented_json` of VALUE in pieces, whose concatenation is exactly its bytes: each list
    of objects of the types in ``parts`` (the findings, the listeners) is written item by item, BATCH
    items a piece, and the rest of the document around them as one piece.  So a file can be
    written without ever holding its bytes whole: for 5,000 listeners those were 18 MB beside the
    models they were made from, the peak of a run (issue 16).

    Each batch is written as :func:`indented_json` writes it as a list of its own (one call, not one
    per item), its lines indented to where the list stands: an indented JSON value nested at a depth
    is the same text with every line break followed by that depth's indent (a JSON string holds no
    raw line break).  The lists are cut out
    of VALUE while the rest is written, each replaced by a text no document holds (a NUL and a
    random nonce), and put back after.  32 items a piece: 256 findings' bytes, made, joined and
    copied once more, were 2 MiB at once, the peak of evaluating 5,000 listeners (issue 16)."""
    if orjson is None or not parts:
        yield indented_json(value, float_holders, allow_nan=allow_nan, parts=parts)
        return
    nonce = os.urandom(8).hex()
    cut: list[tuple[Any, Any, list[Any]]] = []  # (container, key, the list cut out)
    todo: list[Any] = [value]
    while todo:
        container = todo.pop()
        members = container.items() if type(container) is dict else enumerate(container)
        for key, member in members:
            kind = type(member)
            if kind is list and member and set(map(type, member)) <= parts.keys():
                cut.append((container, key, member))
            elif kind is dict or kind is list:
                todo.append(member)
    tokens = []
    for number, (container, key, _) in enumerate(cut):
        tokens.append(f"\x00lbaudit part {nonce} {number}")
        container[key] = tokens[-1]
    try:
        skeleton = indented_json(value, float_holders, allow_nan=allow_nan, parts=parts)
    finally:
        for container, key, items in cut:
            container[key] = items
    # Where each list stands in the skeleton, in the order of the file.
    places = sorted((skeleton.index(json.dumps(token).encode("ascii")), token, items)
                    for token, (_, _, items) in zip(tokens, cut))
    start = 0
    for position, token, items in places:
        line_start = skeleton.rfind(b"\n", 0, position) + 1
        outer = b" " * (len(skeleton[line_start:position]) - len(skeleton[line_start:position].lstrip(b" ")))
        yield skeleton[start:position] + b"[\n"
        newline = b"\n" + outer
        for first in range(0, len(items), batch):
            # The batch as a list of its own: "[\n" + its items, each line indented two spaces,
            # joined by ",\n" + "\n]\n"; its items are the list's own once indented to where it stands.
            written = indented_json(items[first:first + batch], None, allow_nan=allow_nan, parts=parts)[2:-3]
            if outer:
                written = outer + written.replace(b"\n", newline)
            yield b",\n" + written if first else written
        yield b"\n" + outer + b"]"
        start = position + len(json.dumps(token))
    yield skeleton[start:]
