"""The policy side: what a security team writes in YAML."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool

from auditor.model.base import OneLine, StrictModel, Written, empty_dict, empty_list
from auditor.model.controls import ControlId
from auditor.model.facts import Platform
from auditor.model.result import Severity
from auditor.patterns import first_use

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_DAY = first_use(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_day(value: Any) -> Any:
    """A waiver's ``expires`` as written: a calendar day (``2027-03-31``, or that text quoted), never a
    moment or a number.  pydantic took ``2027-03-31T00:00:00+14:00`` as the day 2027-03-31 and the
    integer 1790035200 as the day it counts in seconds since 1970: the first was honoured 38 hours
    past the moment written (expiry is the end of the UTC day), the second a day nobody wrote."""
    if isinstance(value, datetime):
        raise ValueError(f"expected a calendar day such as 2027-03-31; found the date and time "
                         f"{value.isoformat(sep=' ')} (a waiver is honoured through the end of its expiry day "
                         "in UTC; write the day alone)")
    if isinstance(value, date) or (isinstance(value, str) and _DAY().fullmatch(value)):
        return value
    raise ValueError(f"expected a calendar day such as 2027-03-31; found {value!r}")


CalendarDay = Annotated[date, BeforeValidator(_calendar_day)]
"""A day as a policy writes it: YYYY-MM-DD and nothing else."""

FileSha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""The SHA-256 of a file lbaudit read, as ``sha256_hex`` writes it: every report prints it as the
digest to check the file against, and evidence read back (anyone may edit it) must hold no other
text there (an empty one made the OSCAL document fail its schema)."""


class RuleSpec(StrictModel):
    """One rule of a policy: which check, with which params.

    In a policy that ``extends`` another, a rule with an inherited id may leave out ``check``: its
    fields then override the inherited rule (``params`` merged key by key), so ``{id: x, enabled: false}``
    switches an inherited rule off.
    """

    id: str = Field(pattern=ID_PATTERN)
    check: str | None = None
    title: OneLine | None = None
    params: dict[str, Any] = Field(default_factory=empty_dict)
    severity: Severity | None = None
    controls: list[str] = Field(default_factory=empty_list)
    enabled: StrictBool = True  # "yes" is refused, not read as true
    # Limit the rule to hosts of these operating systems; on others it is not_applicable.
    platforms: list[Platform] | None = Field(None, min_length=1)


MAX_WAIVER_GLOB = 1024


class Waiver(StrictModel):
    rule: str = Field(pattern=ID_PATTERN)
    # glob over the finding subject (* and ? only); absent = every finding of the rule.  A finding
    # in another network namespace only when it says "in netns" (model/waiving.py).  At most
    # MAX_WAIVER_GLOB characters: matching costs up to its length times the subject's (model/waiving.py).
    subject: str | None = Field(None, max_length=MAX_WAIVER_GLOB)
    reason: Written
    approver: OneLine
    expires: CalendarDay


class WaiverFileDocument(StrictModel):
    """A waivers file as written (``--waivers FILE``): waivers kept apart from the policy, so that
    renewing one changes this file's digest and not the policy's."""

    waivers: list[Waiver]


class WaiverSource(StrictModel):
    """The waivers file of a run, as the evidence records it: its path, digest and waivers."""

    path: str
    sha256: FileSha256
    waivers: list[Waiver]


class PolicyDocument(StrictModel):
    """A policy file as written (before ``extends`` is resolved)."""

    id: str = Field(pattern=ID_PATTERN)
    version: OneLine
    owner: OneLine
    description: str = ""
    extends: str | None = None
    # false: the waivers of the files this one extends do not apply, only its own (and --waivers'):
    # a stricter child (a workstation baseline) would otherwise carry the servers' approved deviations
    inherit_waivers: StrictBool = True
    rules: list[RuleSpec] = Field(default_factory=empty_list)
    waivers: list[Waiver] = Field(default_factory=empty_list)


class ResolvedRule(StrictModel):
    """A rule after inheritance, with params validated against its check (stored as plain JSON)."""

    # The pattern of the policy file's rule ids, held again here: this model is also read back
    # from evidence, which anyone may have edited.
    id: str = Field(pattern=ID_PATTERN)
    check: str
    title: OneLine | None = None
    params: dict[str, Any]
    severity: Severity
    controls: list[ControlId]
    enabled: bool
    source: str  # "corp.yaml:14"
    platforms: list[Platform] | None = None  # None: every platform its check supports


class PolicySource(StrictModel):
    path: str
    sha256: FileSha256


class Policy(StrictModel):
    """The policy as loaded: inheritance resolved, every rule's params validated."""

    # The policy file's id pattern, held again for the policy read back from evidence: reports are
    # named after it (<out-dir>/<policy id>.sarif), and an id edited to "../../x" or "/abs/x" put
    # them outside --out-dir.
    id: str = Field(pattern=ID_PATTERN)
    version: OneLine
    owner: OneLine
    description: str
    rules: list[ResolvedRule]
    waivers: list[Waiver]
    sources: list[PolicySource]  # the file and every file it extends, child first
