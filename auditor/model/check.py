"""The check side of a rule: ``CheckSpec`` (metadata + function) and ``Outcome`` (what a check returns).

A check is a pure function ``(HostSnapshot, Params) -> list[Outcome]``.  Its metadata is declared
next to it with :func:`check`; the decorator only *describes* the function and registers nothing,
so importing a module has no side effects (checkov's import-time registration is what we avoid).
The registry finds ``CheckSpec`` objects by walking ``auditor.checks`` and the ``lbaudit.checks``
entry points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pydantic import ConfigDict, Field, JsonValue, model_validator

from auditor.model.base import StrictModel, construct_valid, empty_dict, empty_list
from auditor.model.facts import PLATFORM_NAMES, HostSnapshot, Platform, Section
from auditor.model.result import Severity, Status, json_ready


class CheckParams(StrictModel):
    """Base of every check's params model: unknown params are policy errors, and so is a float
    that is not finite (a plugin's ``gt=0`` would let ``inf`` through into its arithmetic)."""

    model_config = ConfigDict(**StrictModel.model_config, allow_inf_nan=False)


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
    :class:`_NotPlain` for anything else, which :func:`json_ready` and validation then handle."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if kind is dict:
        # Scalars are taken here, not through a call each: most of a finding's values are.
        return {k if type(k) is str else str(k): v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    raise _NotPlain


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _valid_as_is(status: Status, subject: Any, message: Any, kw: dict[str, Any]) -> bool:
    """Would ``Outcome(status=..., subject=..., message=..., **kw)``, its JSON values plain, validate
    and keep every value as given?  Then validating it adds nothing; anything else (a wrong type, an
    unknown field, a waived status, a missing reason) goes through validation, which refuses it with
    its own error."""
    if (type(status) is not Status or type(subject) is not str or type(message) is not str
            or not kw.keys() <= _OUTCOME_FIELDS or type(kw.get("subject_detail", {})) is not dict):
        return False
    if any(kw.get(name) is not None and type(kw[name]) is not str for name in ("reason", "key")):
        return False
    evidence = kw.get("evidence", [])
    if type(evidence) is not list or any(type(p) is not str for p in evidence):
        return False
    # The invariants of Outcome._reason_where_required, checked here the same way.
    return status in (Status.PASS, Status.FAIL) or (
        status in (Status.NOT_REVIEWED, Status.NOT_APPLICABLE, Status.ERROR) and bool(kw.get("reason")))


def _outcome(status: Status, subject: str, message: str, **kw: Any) -> Outcome:
    if _valid_as_is(status, subject, message, kw):
        # Judging one listener builds one or two outcomes: validating values just made plain JSON
        # and checked to be text was most of its cost (pydantic calls back into Python for each).
        # The outcome is then built from them as model_construct would, without its walk of
        # aliases and defaults.
        try:
            plain = {name: _plain(kw[name]) for name in _JSON_VALUES if name in kw}
        except _NotPlain:
            pass
        else:
            kw.update(plain)
            kw["status"], kw["subject"], kw["message"] = status, subject, message
            return construct_valid(Outcome, kw)
    for key in _JSON_VALUES:
        if key in kw:
            kw[key] = json_ready(kw[key])
    return Outcome(status=status, subject=subject, message=message, **kw)


def passed(subject: str, message: str, **kw: Any) -> Outcome:
    return _outcome(Status.PASS, subject, message, **kw)


def failed(subject: str, message: str, **kw: Any) -> Outcome:
    return _outcome(Status.FAIL, subject, message, **kw)


def not_reviewed(subject: str, reason: str, **kw: Any) -> Outcome:
    kw.setdefault("message", f"not reviewed: {reason}")
    return _outcome(Status.NOT_REVIEWED, subject, reason=reason, **kw)


def not_applicable(subject: str, reason: str, **kw: Any) -> Outcome:
    kw.setdefault("message", f"not applicable: {reason}")
    return _outcome(Status.NOT_APPLICABLE, subject, reason=reason, **kw)


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


@dataclass(frozen=True)
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
        return list(self.func(snapshot, params))


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
