"""The check side of a rule: ``CheckSpec`` (metadata + function) and ``Outcome`` (what a check returns).

A check is a pure function ``(HostSnapshot, Params) -> list[Outcome]``.  Its metadata is declared
next to it with :func:`check`; the decorator only *describes* the function and registers nothing,
so importing a module has no side effects (checkov's import-time registration is what we avoid).
The registry finds ``CheckSpec`` objects by walking ``auditor.checks`` and the ``lbaudit.checks``
entry points.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import field
from itertools import compress, repeat
from types import GeneratorType
from typing import Any, Callable, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, model_validator
from pydantic_core import PydanticCustomError

from auditor.model.base import StrictModel, construct_complete, empty_dict, empty_list, shared_fields_set
from auditor.model.facts import PLATFORM_NAMES, HostSnapshot, Platform, Section
from auditor.model.records import record
from auditor.model.result import Severity, Status, json_ready


class CheckParams(StrictModel):
    """Base of every check's params model: unknown params are policy errors, and so is a float
    that is not finite (a plugin's ``gt=0`` would let ``inf`` through into its arithmetic)."""

    model_config = ConfigDict(**StrictModel.model_config, allow_inf_nan=False)

    def unused_params(self) -> dict[str, str]:
        """The params these params leave unused, each with why and what would use it ("it is judged
        with the audit daemon, and require_auditd is false; set that").  A check whose params depend
        on one another says so here; one of them set to other than its default is refused."""
        return {}

    def param_warnings(self) -> dict[str, str]:
        """What ``lbaudit validate`` and ``evaluate`` warn about in these params, by param: a value that
        may be meant but leaves part of what the check judges unable to fail (an allow list holding
        every IPv4 address).  A value that leaves all of it unable to fail is refused by a validator."""
        return {}

    # Params named otherwise than min_/max_/require_/refuse_/forbid_ that :meth:`laxer_than` reads
    # by how they loosen: "more", a list of what passes (allowed values, accepted filters), laxer by
    # each item the child adds (null: not judged, every value passes); "fewer", a list of what is
    # judged (protocols, syscalls, keys), laxer by each item the child leaves out (null: every one
    # is judged); "lower", a number a lower value of which passes more (a declared peak rate; null:
    # not judged).  A child widening any of them passed the hosts the parent fails with validate
    # saying "ok", where one lowering a min_ was warned about.
    laxer_when: ClassVar[Mapping[str, Literal["more", "fewer", "lower"]]] = {}

    def laxer_than(self, inherited: "CheckParams", parent: str) -> dict[str, str]:
        """The params these params (a child policy's rule) set laxer than ``inherited`` (the rule as
        the file ``parent`` left it), each with what it is and what it was: one named ``min_...``
        set lower, ``max_...`` higher or null (not judged), ``require_...``, ``refuse_...`` or
        ``forbid_...`` set false where it was true, and each of :attr:`laxer_when` widened.  A child
        lowering a threshold it inherits passes hosts the parent fails, as one lowering the severity
        does (which is warned about too).  A check whose params loosen otherwise still (an address
        list) says which of its own are laxer here, adding to what this finds."""
        found: dict[str, str] = {}
        for name in type(self).model_fields:
            mine, theirs = getattr(self, name), getattr(inherited, name)
            if mine == theirs:
                continue
            how = self.laxer_when.get(name)
            if how is not None:
                text = _widened(how, mine, theirs, parent)
                if text is not None:
                    found[name] = text
                continue
            if name.startswith(("require_", "refuse_", "forbid_")) and theirs is True and mine is False:
                found[name] = f"false where {parent} sets true"
            elif not name.startswith(("min_", "max_")) or isinstance(mine, bool) or isinstance(theirs, bool):
                continue
            elif mine is None and isinstance(theirs, (int, float)):
                found[name] = f"null (not judged) where {parent} sets {theirs}"
            elif isinstance(mine, (int, float)) and isinstance(theirs, (int, float)):
                if name.startswith("min_") and mine < theirs:
                    found[name] = f"{mine} is below the {theirs} inherited from {parent}"
                elif name.startswith("max_") and mine > theirs:
                    found[name] = f"{mine} is above the {theirs} inherited from {parent}"
        return found

    @model_validator(mode="after")
    def _every_param_set_is_used(self) -> "CheckParams":
        # A threshold the other params leave unused (max_pool_utilization without a peak rate) loaded
        # and judged nothing: the policy read stricter than it was.  Its default stays accepted, so
        # a policy extending one that sets it can give it back (params are merged key by key).
        for name, why in self.unused_params().items():
            default = type(self).model_fields[name].get_default(call_default_factory=True)
            if getattr(self, name) != default:
                raise ValueError(f"{name} is never used: {why}, or leave {name} out (its default is "
                                 f"{json.dumps(default)})")
        return self


def _widened(how: str, mine: Any, theirs: Any, parent: str) -> str | None:
    """How ``mine`` (a child's value of a :attr:`CheckParams.laxer_when` param) passes more than
    ``theirs`` (the value ``parent`` left), in words; None when it does not."""
    if how == "lower":
        if mine is None and theirs is not None:
            return f"null (not judged) where {parent} sets {_number(theirs)}"
        if mine is not None and theirs is not None and mine < theirs:
            return f"{_number(mine)} is below the {_number(theirs)} inherited from {parent}"
        return None
    if how == "more":
        if theirs is None:
            return None  # the parent judges nothing here: every value passes there already
        if mine is None:
            return f"null (not judged) where {parent} sets {_items(theirs) or 'none'}"
        added = _beyond(mine, theirs)
        return f"adds {_items(added)}, which {parent} does not allow" if added else None
    if mine is None:  # "fewer": null judges every one
        return None
    if theirs is None:
        return f"names only {_items(mine)}, where {parent} judges every one"
    left_out = _beyond(theirs, mine)
    return f"leaves out {_items(left_out)}, which {parent} judges" if left_out else None


def _number(value: float) -> str:
    """A number as a policy writes it: 300, not the 300.0 a float param holds."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _beyond(items: list[Any], others: list[Any]) -> list[Any]:
    """The items of ``items`` that ``others`` does not hold (compared as JSON: an item may be a mapping)."""
    held = {json.dumps(item, sort_keys=True, default=str) for item in others}
    return [item for item in items if json.dumps(item, sort_keys=True, default=str) not in held]


def _items(items: list[Any]) -> str:
    return ", ".join(item if isinstance(item, str) else json.dumps(item, sort_keys=True, default=str) for item in items)


# The validation context the policy loader validates a rule's params in (pydantic's ``context``):
# a check's validator may refuse what a policy must not write but the evidence records when the
# params are validated again from it (a selector null, which model_dump writes for each one left out).
AS_WRITTEN = {"params as written": True}


def as_written(context: object) -> bool:
    """Whether params are being validated as a policy wrote them (:data:`AS_WRITTEN`)."""
    return isinstance(context, dict) and context.get("params as written") is True


def integer_choice(*choices: int) -> BeforeValidator:
    """The validator a ``Literal`` of integers needs to take integers only: pydantic compares a value
    with the choices by Python equality, strict or not, and ``True == 1 == 1.0``, so ``[true]`` was
    read as ``[1]``, where the policy's JSON Schema (an ``enum`` of integers) refuses a boolean.  Use
    as ``Annotated[Literal[0, 1, 2], integer_choice(0, 1, 2)]``."""
    said = ", ".join(map(str, choices[:-1])) + (f" or {choices[-1]}" if len(choices) > 1 else str(choices[0]))

    def integer_only(value: Any) -> Any:
        if isinstance(value, (bool, float)):  # True == 1 and 1.0 == 1: only an int is one of the choices
            raise PydanticCustomError("integer_choice", "expected an integer ({choices})", {"choices": said})
        return value

    return BeforeValidator(integer_only)


class Outcome(StrictModel):
    """One judgement of a check about one subject.  The engine adds rule id, severity and controls."""

    status: Status
    subject: str
    message: str
    subject_detail: dict[str, JsonValue] = Field(default_factory=empty_dict)
    observed: JsonValue = None
    expected: JsonValue = None
    reason: str | None = None
    evidence: list[str] = Field(default_factory=empty_list)
    # What the finding is about, without volatile parts (pids): the finding id is derived from it,
    # so SARIF code scanning and scan-to-scan drift track one finding across service restarts.
    key: str | None = None

    @model_validator(mode="after")
    def _reason_where_required(self) -> "Outcome":
        if self.status == Status.WAIVED:
            raise ValueError("checks do not waive; waivers are applied by the engine")
        if self.status in (Status.NOT_REVIEWED, Status.NOT_APPLICABLE, Status.ERROR) and not self.reason:
            raise ValueError(f"an outcome with status {self.status.value} needs a reason")
        return self


# The fields an outcome helper may be given besides status, subject and message.
_OUTCOME_FIELDS = frozenset(Outcome.model_fields) - {"status", "subject", "message"}
_JSON_VALUES = ("subject_detail", "observed", "expected")


class _NotPlain(Exception):
    """A value that is not made of str, int, float, bool, None, lists, tuples and dicts."""


def _plain(value: Any) -> Any:
    """:func:`json_ready` for plain values (tuples become lists, keys text); raises
    :class:`_NotPlain` for anything else, which :func:`json_ready` and validation then handle.
    A value :func:`shared_json` gave is taken as it is."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if id(value) in _SHARED:
        return value
    if kind is list or kind is tuple:
        if set(map(type, value)) <= _SCALARS:  # the common case, told and copied at C speed
            return list(value)
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if kind is dict:
        if set(map(type, value)) <= _TEXT:
            # Copied at C speed, then each member that is no scalar (found at C speed: most of a
            # finding's are scalars, a listener's detail has one list) replaced by its plain copy.
            copied = _keys_shared(value)
            for key in compress(value, map(_NOT_SCALAR.get, map(type, value.values()), repeat(True))):
                copied[key] = _plain(value[key])
            return copied
        return {k if type(k) is str else str(k): v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    raise _NotPlain


def _keys_shared(value: dict[str, Any]) -> dict[str, Any]:
    """``dict(value)`` (the same items, in the same order, an exact dict), made as the instance dict
    of a plain class kept for that sequence of keys, so that it shares its keys with every other dict
    of them (CPython's key-sharing instance dicts): a listener's detail and observed values, the
    same keys for each, held a table of their own each, about 0.6 KiB of every finding (issue 16).
    Past a few hundred sequences of keys, or of more than a key-sharing dict holds, a dict of its own."""
    keys = tuple(value)
    holder = _KEY_HOLDERS.get(keys)
    if holder is None:
        if len(keys) > _SHARED_KEYS_AT_MOST or len(_KEY_HOLDERS) >= _KEY_HOLDERS_AT_MOST:
            return dict(value)
        holder = _KEY_HOLDERS[keys] = type("SharedKeys", (), {})
    copied: dict[str, Any] = holder().__dict__
    # Its items one at a time, at C speed: update() with the dict itself gives an empty dict the
    # other's whole table, its own keys and all.
    copied.update(value.items())
    return copied


_KEY_HOLDERS: dict[tuple[str, ...], type] = {}
_KEY_HOLDERS_AT_MOST = 256
_SHARED_KEYS_AT_MOST = 30  # CPython's SHARED_KEYS_MAX_SIZE: more keys than that make a dict of its own anyway


_SCALARS = frozenset({str, int, float, bool, type(None)})
# False for a scalar type, for compress(): any other type is not one (dict.get's default, True).
_NOT_SCALAR = dict.fromkeys(_SCALARS, False)
# The values shared_json gave, by id, each held here so that its id is not reused while it is listed.
_SHARED: dict[int, Any] = {}
_SHARED_AT_MOST = 4096


def shared_json(value: Any) -> Any:
    """VALUE as plain JSON (a copy, as an outcome helper makes it), which every outcome given it
    then holds as it is instead of copying it: for a value a check builds once and hands to many
    outcomes (a rule's expected value, the same for every listener it decides; issue 16: 5,000
    copies of one dict were 0.45 KiB a listener).  The check never changes it afterwards, and
    neither does anything else (findings are frozen).  Bounded: past a few thousand the list starts
    again, and a value no longer listed is copied as any other (the same finding either way)."""
    try:
        plain = _plain(json_ready(value))  # a copy, made of plain JSON only (what validation accepts)
    except _NotPlain:
        raise TypeError(f"shared_json: {type(value).__name__} {value!r:.80} is not plain JSON") from None
    if type(plain) is list or type(plain) is dict:
        if len(_SHARED) >= _SHARED_AT_MOST:
            _SHARED.clear()
        _SHARED[id(plain)] = plain
    return plain


_TEXT = frozenset({str})
_NEEDS_REASON = frozenset({Status.NOT_REVIEWED, Status.NOT_APPLICABLE, Status.ERROR})
# The fields set of an outcome helper's outcome, by the names it was given (in the order given):
# one shared set each, as construct_valid would record it.
_GIVEN_SETS: dict[tuple[str, ...], set[str]] = {}


def _outcome(status: Status, subject: Any, message: Any, kw: dict[str, Any]) -> Outcome:
    """``Outcome(status=..., subject=..., message=..., **kw)`` with its JSON values made plain.

    When every value is of the type the field holds and the JSON values are plain (tuples become
    lists), validating adds nothing: the outcome is then built from them directly, every field in
    Outcome's order, as model_construct would.  Judging one listener builds one or two outcomes, and
    validating values just made plain and checked to be text was most of its cost (pydantic calls
    back into Python for each).  Anything else (a wrong type, an unknown field, a waived status, a
    missing reason, a value that is not plain JSON) goes through validation, which refuses it with
    its own error, or accepts it as it always did."""
    get = kw.get
    reason, key = get("reason"), get("key")
    if (type(status) is Status and type(subject) is str and type(message) is str and kw.keys() <= _OUTCOME_FIELDS
            and (reason is None or type(reason) is str) and (key is None or type(key) is str)
            # The invariants of Outcome._reason_where_required, checked here the same way.
            and (status is Status.PASS or status is Status.FAIL or (status in _NEEDS_REASON and bool(reason)))):
        detail, evidence = get("subject_detail", _ABSENT), get("evidence", _ABSENT)
        if ((detail is _ABSENT or type(detail) is dict)
                and (evidence is _ABSENT or (type(evidence) is list and set(map(type, evidence)) <= _TEXT))):
            try:
                fields = {
                    "status": status, "subject": subject, "message": message,
                    "subject_detail": {} if detail is _ABSENT else _plain(detail),
                    "observed": _plain(kw["observed"]) if "observed" in kw else None,
                    "expected": _plain(kw["expected"]) if "expected" in kw else None,
                    "reason": reason, "evidence": [] if evidence is _ABSENT else evidence, "key": key,
                }
            except _NotPlain:
                pass
            else:
                given = tuple(kw)
                fields_set = _GIVEN_SETS.get(given)
                if fields_set is None:
                    fields_set = _GIVEN_SETS[given] = shared_fields_set({"status", "subject", "message", *given})
                return construct_complete(Outcome, fields, fields_set, held=True)
    for name in _JSON_VALUES:
        if name in kw:
            kw[name] = json_ready(kw[name])
    return Outcome(status=status, subject=subject, message=message, **kw)


_ABSENT: Any = object()


def passed(subject: str, message: str, **kw: Any) -> Outcome:
    return _outcome(Status.PASS, subject, message, kw)


def failed(subject: str, message: str, **kw: Any) -> Outcome:
    return _outcome(Status.FAIL, subject, message, kw)


def not_reviewed(subject: str, reason: str, **kw: Any) -> Outcome:
    message = kw.pop("message", f"not reviewed: {reason}")
    return _outcome(Status.NOT_REVIEWED, subject, message, {**kw, "reason": reason})


def not_applicable(subject: str, reason: str, **kw: Any) -> Outcome:
    message = kw.pop("message", f"not applicable: {reason}")
    return _outcome(Status.NOT_APPLICABLE, subject, message, {**kw, "reason": reason})


def missing_fact(snapshot: HostSnapshot, section: str, field: str, subject: str, what: str) -> Outcome:
    """The outcome for a fact that is absent: ``not_applicable`` when the source cannot have it,
    otherwise ``not_reviewed`` with the collector's reason (or, failing closed, a generic one)."""
    from auditor.model.facts import GapKind

    gaps = snapshot.gaps_for(section, field)
    reason = "; ".join(sorted({g.reason for g in gaps})) or f"{what} was not collected (no reason recorded)"
    if gaps and all(g.kind == GapKind.NOT_APPLICABLE for g in gaps):
        return not_applicable(subject, reason)
    return not_reviewed(subject, reason)


CheckFunction = Callable[[HostSnapshot, Any], Iterable[Outcome]]


class NotAList(TypeError):
    """A check returned what is not an iterable of outcomes; ``kind`` names its type."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"a {kind}, not a list of outcomes")
        self.kind = kind


class TooManyOutcomes(ValueError):
    """A check returned more than ``at_most`` outcomes; ``count`` says how many, as far as known
    ("1,000,000" of a list, "more than 20,000" of what is only iterated)."""

    def __init__(self, count: str, at_most: int) -> None:
        super().__init__(f"{count} outcomes, at most {at_most:,}")
        self.count = count
        self.at_most = at_most


class OutcomesTooLarge(ValueError):
    """What a check returned came to more than ``at_most`` bytes: its first ``count`` values were
    ``size`` bytes (the engine takes no further)."""

    def __init__(self, count: int, size: int, at_most: int) -> None:
        super().__init__(f"the first {count:,} outcomes are {size:,} bytes, at most {at_most:,}")
        self.count = count
        self.size = size
        self.at_most = at_most


def outcome_list(returned: Any, at_most: int | None = None, take: Callable[[Any], tuple[Any, int]] | None = None,
                 at_most_bytes: int | None = None) -> list[Any]:
    """What a check returned, as a list (its values are judged one by one after), of at most
    ``at_most`` values (:class:`TooManyOutcomes` when there are more).  Text, bytes, a mapping and a
    model iterate too, but as characters, keys or fields: a plugin's outcome returned bare was nine
    error findings "returned a tuple" (its fields), 10 MB of text ten million.

    ``take``, when given, makes each value what the list holds, with its size in bytes, as it is
    taken: past ``at_most_bytes`` together, :class:`OutcomesTooLarge`, and no value further is
    taken (a generator of distinct 1 MiB outcomes was held 20,000 at once before its size was seen)."""
    if isinstance(returned, (str, bytes, bytearray, Mapping, BaseModel)) or not isinstance(returned, Iterable):
        raise NotAList(type(returned).__name__)
    if at_most is None:
        return list(returned)
    # One past the limit and no further: a generator that yields forever was drained into a list
    # until the time limit stopped it, and each of a list of a million values was judged.
    if take is None:
        taken = list(itertools.islice(returned, at_most + 1))
    else:
        taken, total = [], 0
        for value in itertools.islice(returned, at_most + 1):
            value, size = take(value)
            total += size
            if at_most_bytes is not None and total > at_most_bytes:
                if isinstance(returned, GeneratorType):
                    returned.close()
                raise OutcomesTooLarge(len(taken) + 1, total, at_most_bytes)
            taken.append(value)
    if len(taken) <= at_most:
        return taken
    count = f"more than {at_most:,}"
    if isinstance(returned, (list, tuple)) and type(returned) in (list, tuple):  # not a subclass's own __len__
        count = f"{len(returned):,}"
    if isinstance(returned, GeneratorType):
        returned.close()  # its cleanup (finally, with) runs here, under the caller's time limit and handlers
    raise TooManyOutcomes(count, at_most)


@record
class CheckSpec:
    """Everything lbaudit knows about a check: `lbaudit explain` and the docs are rendered from this."""

    name: str
    title: str
    version: str
    needs: tuple[Section, ...]
    params: type[CheckParams]
    severity: Severity
    controls: tuple[str, ...]
    rationale: str
    remediation: str
    func: CheckFunction = field(compare=False, repr=False)
    notes: str = ""
    origin: str = "builtin"  # "builtin" or "plugin <distribution> <version>"; set by the registry
    # Sections collected whenever the check is enabled, but whose absence does not stop it: the check
    # judges what it has and says what it could not see (an older snapshot has no ``netns``).
    uses: tuple[Section, ...] = ()
    # The operating systems whose semantics the check knows; on any other it is not_applicable.
    # Linux only unless declared: a check (or plugin) written before platforms judged Linux facts.
    platforms: tuple[Platform, ...] = ("linux",)

    def unsupported_reason(self, platform: str) -> str | None:
        """Why this check does not judge a ``platform`` host, or None when it does."""
        if platform in self.platforms:
            return None
        names = ", ".join(PLATFORM_NAMES.get(p, p) for p in self.platforms)
        return (f"{self.name} judges {names} hosts only; these facts are from a "
                f"{PLATFORM_NAMES.get(platform, platform)} host, where what it checks has no equivalent")

    def run(self, snapshot: HostSnapshot, params: CheckParams) -> list[Outcome]:
        return outcome_list(self.func(snapshot, params))

    def returned(self, snapshot: HostSnapshot, params: CheckParams) -> object:
        """What the check returns, before it is made a list: its function's value (a generator
        not yet iterated, so that the engine can take a plugin's only up to its limit), or what a
        subclass's own ``run`` returns."""
        if type(self).run is CheckSpec.run:
            return self.func(snapshot, params)
        return self.run(snapshot, params)


# The headings that divide a check's remediation by platform: a line of exactly one of these, at the
# start of the text or after a blank line, starts the paragraphs for that platform (None: for every
# platform), which run to the next heading.  Text before the first heading is for every platform.
# The evidence records the whole text (its check record's ``remediation``, one string, the schema
# unchanged); each report shows the part for the platform the evidence judged
# (:func:`remediation_for`), so a Windows host's report is not told to edit /etc/sysctl.d.
REMEDIATION_HEADINGS: dict[str, str | None] = {
    **{f"On {name}:": platform for platform, name in PLATFORM_NAMES.items()},
    "On every platform:": None,
}


def remediation_for(text: str, platform: str) -> str:
    """The part of a remediation ``text`` for a ``platform`` host: the paragraphs for every platform
    and those under the platform's own heading (:data:`REMEDIATION_HEADINGS`), in the order written,
    without the headings.  The whole text, headings and all, when it has no heading for that platform
    (a check, or an older lbaudit's record, that does not divide its remediation: nothing is lost)."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    after_blank = True
    for line in text.split("\n"):
        if after_blank and line in REMEDIATION_HEADINGS:
            sections.append((REMEDIATION_HEADINGS[line], []))
        else:
            sections[-1][1].append(line)
        after_blank = not line.strip()
    if not any(key == platform for key, _ in sections[1:]):
        return text
    kept = []
    for key, lines in sections:
        if key is None or key == platform:
            # Without the blank lines around the section (not a code block's indent), found by index:
            # an edited evidence file's text of a million blank lines is walked once, not copied each.
            filled = [index for index, line in enumerate(lines) if line.strip()]
            if filled:
                kept.append("\n".join(lines[filled[0]:filled[-1] + 1]))
    return "\n\n".join(kept)


def check(
    *,
    name: str,
    title: str,
    version: str,
    needs: Iterable[Section],
    params: type[CheckParams],
    severity: Severity,
    controls: Iterable[str],
    rationale: str,
    remediation: str,
    notes: str = "",
    platforms: Iterable[Platform] = ("linux",),
    uses: Iterable[Section] = (),
) -> Callable[[CheckFunction], CheckSpec]:
    """Declare a check next to its function.  Returns a :class:`CheckSpec`, registers nothing."""

    def wrap(func: CheckFunction) -> CheckSpec:
        return CheckSpec(
            name=name,
            title=title,
            version=version,
            needs=tuple(needs),
            params=params,
            severity=severity,
            controls=tuple(controls),
            rationale=rationale.strip(),
            remediation=remediation.strip(),
            func=func,
            notes=notes.strip(),
            platforms=tuple(platforms),
            uses=tuple(uses),
        )

    return wrap
