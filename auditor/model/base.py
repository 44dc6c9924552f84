"""Shared pydantic base and the canonical JSON form used for every digest and signature."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Callable, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticUndefined

from auditor.sha256 import sha256
from auditor.sha256 import sha256_hex as sha256_hex  # re-exported: every digest of lbaudit's
from auditor.text import ascii_decimal, plain_text


class StrictModel(BaseModel):
    """Unknown fields are rejected everywhere: a typo in a policy or a snapshot is an error, not a no-op.

    Each model's validator is built on its first use (``defer_build``), not when its module is
    imported: ``lbaudit validate`` imports the facts and result models (the checks are typed with
    them) but builds only the policy and params models it validates (issue 16)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    def model_post_init(self, context: Any, /) -> None:
        # pydantic gives every instance its own set of the fields it was given (about 700 bytes for
        # a finding): 20,000 findings and as many listeners held 42 MiB of identical sets.  These
        # models are frozen, so nothing adds to the set in place (model_copy copies it first): equal
        # sets are shared.
        if not self.model_config.get("frozen"):
            return
        fields_set = self.__pydantic_fields_set__
        shared = shared_fields_set(fields_set)
        if shared is not fields_set:
            object.__setattr__(self, "__pydantic_fields_set__", shared)


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def shared_fields_set(fields_set: set[str]) -> set[str]:
    """The one set equal to ``fields_set`` that frozen models share (see StrictModel.model_post_init)."""
    return _FIELDS_SETS.setdefault(frozenset(fields_set), fields_set)

def empty_list() -> list[Any]:
    """A field's ``default_factory`` for an empty list, in place of ``list``: pydantic asks every
    factory's signature (does it take the validated data?), and ``inspect.signature(list)`` parses
    the type's text signature, about 0.2 ms each; a function's is read directly.  ``list`` and
    ``dict`` as factories cost 15-20 ms of every process that builds the models (issue 16)."""
    return []


def empty_dict() -> dict[str, Any]:
    """A field's ``default_factory`` for an empty dict, in place of ``dict`` (see :func:`empty_list`)."""
    return {}


M = TypeVar("M", bound=BaseModel)

# Per model class: (name, default, default factory) of each field in declaration order, or None
# when the class needs pydantic's own model_construct (a default factory that takes the validated
# data, or a model_post_init of its own).
_CONSTRUCT_PLANS: dict[type[BaseModel], tuple[tuple[str, Any, Any], ...] | None] = {}


def _construct_plan(cls: type[BaseModel]) -> tuple[tuple[str, Any, Any], ...] | None:
    fields = cls.model_fields
    if (not issubclass(cls, StrictModel) or cls.model_post_init is not StrictModel.model_post_init
            or cls.__pydantic_root_model__ or cls.model_config.get("extra") == "allow"
            or any(f.alias is not None or f.validation_alias is not None or f.default_factory_takes_validated_data
                   for f in fields.values())):
        return None
    return tuple((name, f.default, f.default_factory) for name, f in fields.items())


def construct_valid(cls: type[M], values: dict[str, Any]) -> M:
    """``cls.model_construct(**values)`` (same field values, same fields set, defaults filled in), for
    values that are already valid, without pydantic's walk of aliases and defaults.  A finding and
    an outcome per listener were built through model_construct, a third of judging one (issue 16).
    VALUES is taken by its field names; names that are not fields are ignored, as model_construct
    ignores them."""
    try:
        plan = _CONSTRUCT_PLANS[cls]
    except KeyError:
        plan = _CONSTRUCT_PLANS[cls] = _construct_plan(cls)
    if plan is None:
        return cls.model_construct(**values)
    fields: dict[str, Any] = {}
    given = []
    for name, default, factory in plan:
        if name in values:
            fields[name] = values[name]
            given.append(name)
        elif factory is not None:
            fields[name] = factory()
        elif default is not PydanticUndefined:
            fields[name] = default
    fields_set = set(given)
    return construct_complete(cls, fields, shared_fields_set(fields_set) if cls.model_config.get("frozen") else fields_set)


def copy_with(model: M, update: dict[str, Any], *, held: bool = False) -> M:
    """``model.model_copy(update=update)`` (same field values, same fields set), for a frozen
    StrictModel and UPDATE values that are already valid, without pydantic's copies of the fields
    set and the private attributes: the collector copies each listener once to add its owners, and
    pydantic's copy was a third of that (issue 16).  Any other model goes through model_copy.
    ``held``: as :func:`construct_complete`'s (a copy kept to the end of the run)."""
    cls = type(model)
    if (not isinstance(model, StrictModel) or not cls.model_config.get("frozen")
            or cls.model_config.get("extra") == "allow" or model.__pydantic_private__ is not None):
        return model.model_copy(update=update)
    fields_set = model.__pydantic_fields_set__  # shared: frozen models never add to it
    if not update.keys() <= fields_set:
        fields_set = shared_fields_set(fields_set | update.keys())
    return construct_complete(cls, {**model.__dict__, **update}, fields_set, held=held)


def construct_complete(cls: type[M], fields: dict[str, Any], fields_set: set[str], *, held: bool = False) -> M:
    """A model of ``cls`` holding FIELDS as they are: every field of ``cls`` given, each value valid
    for it, and ``fields_set`` the names that model_construct would record as set.  For records
    built in bulk from values that are already validated (a finding from its outcome): no walk of
    the fields at all.  Models without extra fields or private attributes (StrictModels); for a
    frozen one, ``fields_set`` is one :func:`shared_fields_set` gave, shared by every such model.

    ``held``: a record kept to the end of the run (a finding, a listener, a gap), whose fields are
    then stored in a dict that shares its keys with every such record of the class (CPython's
    key-sharing instance dicts, :func:`_filler`), instead of FIELDS itself, a dict of its own keys:
    about 270 bytes instead of 540 for a listener or a finding, about 1 KiB a listener for its two
    findings, the listener and its gap (issue 16).  FIELDS is not kept.  The same field values,
    order and model either way."""
    model = cls.__new__(cls)
    _set = object.__setattr__
    if held:
        try:
            fill = _FILLERS[cls]
        except KeyError:
            fill = _FILLERS[cls] = _filler(tuple(cls.model_fields))
        fill(model, fields)
    else:
        _set(model, "__dict__", fields)
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


# Per model class: the function storing a held record's fields (construct_complete).
_FILLERS: dict[type[BaseModel], Callable[[BaseModel, dict[str, Any]], None]] = {}


def _filler(names: tuple[str, ...]) -> Callable[[BaseModel, dict[str, Any]], None]:
    """A function storing ``fields[name]`` for each of NAMES, in order, in a dict it gives the model
    as its ``__dict__``: one item assignment each, written out (as dataclasses writes an __init__),
    about as fast as giving the model FIELDS itself; stored through a loop of calls it was three
    times slower.

    The dict is the instance dict of a plain class made for these names, which shares its keys
    with every other (CPython's key-sharing instance dicts: only the values are the record's
    own).  A model's own ``__dict__`` shares none: pydantic's BaseModel holds it in a slot, and a
    class that inherits its dict from a slot gets no shared keys, so each record held a whole
    table of its own, about 500 bytes for a listener or a finding instead of about 260 (issue 16)."""
    holder = type("HeldFields", (), {})  # a plain class: its instances' dicts share their keys
    source = "def fill(model, fields):\n    held = Holder().__dict__\n" + "".join(
        f"    held[{name!r}] = fields[{name!r}]\n" for name in names) + "    set_dict(model, '__dict__', held)\n"
    namespace: dict[str, Any] = {}
    exec(source, {"Holder": holder, "set_dict": object.__setattr__}, namespace)  # noqa: S102  (field names only, as dataclasses does)
    return namespace["fill"]  # type: ignore[no-any-return]


def _convertible_to_utc(moment: datetime) -> datetime:
    # Reports print every time in UTC; 0001-01-01T00:00:00+01:00 has no UTC form (OverflowError).
    try:
        moment.astimezone(timezone.utc) if moment.tzinfo else moment
    except (OverflowError, ValueError):
        raise ValueError("the time has no UTC equivalent (out of range)") from None
    return moment


Moment = Annotated[datetime, AfterValidator(_convertible_to_utc)]
"""A datetime every report can print in UTC (a naive one is read as UTC)."""

# Line breaks (CR, LF, NEL, the Unicode line and paragraph separators) and the bidirectional
# overrides and isolates that make text display in another order than it is stored.
LINE_BREAK_OR_BIDI = re.compile("[\r\n\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _one_line(text: str) -> str:
    # A policy's owner or a rule title is printed as one line of a report, beside the verdict: a
    # line break in it printed a line of the policy author's choosing ("verdict: COMPLIANT") there.
    found = LINE_BREAK_OR_BIDI.search(text)
    if found:
        raise ValueError(f"must be one line of plain text (found {found.group()!r})")
    return text


# Half of a UTF-16 pair: no character.  Python hands the bytes of a name that are not UTF-8 (a file
# name, a process name, exe path or user from psutil, a host name) over as such halves
# ("surrogateescape"); no UTF-8 writer can write them (the snapshot, the evidence, every report).
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible_escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    # a byte that was not UTF-8 as \xNN, as Python's "backslashreplace" and systemd's escaping show it
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def text_of_host(text: str) -> str:
    """``text`` with each lone surrogate (a byte of a name that was not UTF-8) written as a visible
    escape (``\\xff``), so that it can be written as UTF-8 and read as what it was."""
    return LONE_SURROGATE.sub(_visible_escape, text) if LONE_SURROGATE.search(text) else text


def with_text_of_host(model: M) -> M:
    """``model`` with :func:`text_of_host` applied to every string in it (keys too), the same
    object when there was none to change.  Looked for by pydantic's serializer (at Rust speed:
    35 ms for 5,000 listeners), walked only when it finds one."""
    try:
        model.__pydantic_serializer__.to_json(model)
        return model
    except ValueError:  # PydanticSerializationError: "surrogates not allowed", or another reason
        pass
    return _with_text(model)  # type: ignore[no-any-return]


def text_of_plugin(text: str) -> str:
    """``text`` a plugin gave (its outcome's subject, message, reason, ... or what it raised) as the
    evidence may hold it: each lone surrogate as :func:`text_of_host` writes it, and each control
    character but tab and line feed, and each bidi control, as :func:`auditor.text.plain_text`
    shows it (``\\x1b``, ``\\u202e``), so that no renderer has to be trusted to escape it."""
    return plain_text(text_of_host(text))


def with_text_of_plugin(model: M) -> M:
    """``model`` with :func:`text_of_plugin` applied to every string in it (keys too), the same
    object when there was none to change.  Walked whole: a control character, unlike a lone
    surrogate, is no error of the serializer's to look for it by."""
    return _with_text(model, text_of_plugin)  # type: ignore[no-any-return]


def _with_text(value: Any, fix: Callable[[str], str] = text_of_host) -> Any:
    if type(value) is str:
        return fix(value)
    if isinstance(value, BaseModel):
        changed = {}
        for name, item in value.__dict__.items():
            new = _with_text(item, fix)
            if new is not item:
                changed[name] = new
        return value.model_copy(update=changed) if changed else value
    if isinstance(value, (list, tuple)):
        items = [_with_text(item, fix) for item in value]
        return type(value)(items) if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, dict):
        pairs = [(_with_text(k, fix), _with_text(v, fix)) for k, v in value.items()]
        return dict(pairs) if any(a is not k or b is not v for (a, b), (k, v) in zip(pairs, value.items())) else value
    return value


def _not_blank(text: str) -> str:
    # A waiver approved by " " for the reason " " waived failures with nobody accountable and no
    # reason given: required text must say something.
    if not text.strip():
        raise ValueError("must not be blank (it holds only white space)")
    return text


Written = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
"""Text a person must write (a waiver's or an exception's reason): not empty, not only white space."""

OneLine = Annotated[str, Field(min_length=1), AfterValidator(_not_blank), AfterValidator(_one_line)]
"""A name printed on one line of a report (owner, version, rule title, approver, assessor)."""

# Kernel identifiers and counters as the checks and reports use them: never negative, and small
# enough that every arithmetic on them stays an exact int or a finite float.
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]
Uid = Annotated[int, Field(ge=0, le=2**32 - 1)]
PID_MAX = 2**31 - 1  # a C int: pid_t, and what a parser of another OS's listing may accept
Pid = Annotated[int, Field(ge=0, le=PID_MAX)]
Inode = Annotated[int, Field(ge=0, le=2**64 - 1)]


def path_and_line(origin: str) -> tuple[str, int | None]:
    """Split an origin ``path:line`` (``corp.yaml:14``, ``/etc/sysctl.d/99-net.conf:3``) into its
    path and line number; the path may hold colons.  ``(origin, None)`` when it ends in no line
    number lbaudit writes (a positive ASCII decimal), whatever a hand edit left there."""
    path, separator, line = origin.rpartition(":")
    number = ascii_decimal(line) if separator else None
    return (path, number) if number is not None and number >= 1 else (origin, None)


def canonical_json(value: Any) -> bytes:
    """The one canonical byte form of a JSON value: sorted keys, no insignificant whitespace, UTF-8.

    Every digest (policy, facts, evidence) and every signature is taken over these bytes, so two
    runs over the same inputs can be compared byte for byte.
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return canonical_text(value).encode("utf-8")


def canonical_text(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """:func:`canonical_json` of a plain JSON value, as text: the one definition of the canonical
    form, which the piece-by-piece digest (:func:`canonical_sha256`) writes too.  ``default``: as
    json.dumps's, the plain JSON of an object that is not."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=default)


# Items of a list on the way written per canonical_text call: one call per item was most of the
# digest's time (a JSON encoder set up 10,000 times), a whole list one 20 MB string.
CANONICAL_CHUNK_ITEMS = 256


def canonical_sha256(value: Any, default: Callable[[Any], Any] | None = None,
                     float_free: tuple[type, ...] = ()) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of a JSON value (str keys),
    fed to the hash piece by piece, each piece written by ``canonical_text``: the dicts on the way
    from the root are written key by key and the items of a list on the way CANONICAL_CHUNK_ITEMS
    at a time (the canonical text of a list slice without its brackets is exactly those items
    joined by commas), so a 20,000-finding evidence is never one 20 MB string (nor its UTF-8 copy).
    The bytes hashed are those of ``canonical_json``.  ``default`` gives the plain JSON of any other
    object in VALUE (json.dumps's hook): the listeners of a snapshot's facts digest are left as
    models and made plain 256 at a time, never all at once (issue 16).

    ``float_free``: types whose plain JSON (``default``'s) holds no float, of text, integers,
    booleans, None, lists and dicts with text keys only: a piece of a list of only these is
    written by orjson (sorted keys, compact), whose bytes are then the standard library's (floats
    are what it writes otherwise); anything orjson refuses (a lone surrogate, an integer beyond
    64 bits, a key that is not text) is written by the standard library, as before.  The
    listeners and gaps of a facts digest, about three times faster (issue 16)."""
    digest = sha256()
    pieces: list[str] = []
    fast = _orjson_list_text(default) if float_free else None

    def flush() -> None:
        digest.update("".join(pieces).encode("utf-8"))
        pieces.clear()

    def feed(item: Any) -> None:
        if type(item) is dict and item:
            pieces.append("{")
            for number, key in enumerate(sorted(item)):
                pieces.append(("," if number else "") + canonical_text(key) + ":")
                feed(item[key])
            pieces.append("}")
        elif type(item) is list and item:
            pieces.append("[")
            for start in range(0, len(item), CANONICAL_CHUNK_ITEMS):
                chunk = item[start:start + CANONICAL_CHUNK_ITEMS]
                written = fast(chunk) if fast is not None and all(isinstance(v, float_free) for v in chunk) else None
                if written is not None:
                    pieces.append("," if start else "")
                    flush()
                    digest.update(written[1:-1])
                    continue
                pieces.append(("," if start else "") + canonical_text(chunk, default)[1:-1])
                flush()
            pieces.append("]")
        else:
            pieces.append(canonical_text(item, default))

    feed(value)
    flush()
    return digest.hexdigest()


def _orjson_list_text(default: Callable[[Any], Any] | None) -> Callable[[list[Any]], bytes | None] | None:
    """A function writing a list of float-free values as canonical JSON bytes by orjson, or None
    when orjson refuses it (or is not installed): see :func:`canonical_sha256`."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; the digest does not depend on it
        return None

    def written(values: list[Any]) -> bytes | None:
        try:
            return orjson.dumps(values, default=default, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            return None
    return written


def json_pointer(*parts: str | int) -> str:
    """The JSON pointer (RFC 6901) of a location given as its parts: ``json_pointer("facts",
    "sysctl", "runtime", "net.ipv4.x")`` is ``/facts/sysctl/runtime/net.ipv4.x``; each part is one
    reference token, with ``~`` and ``/`` escaped, so a key holding a slash stays one token.  No
    parts is ``""``, the whole document.  The one place pointers are built from parts."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def digest_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON form of ``value``."""
    return sha256_hex(canonical_json(value))
