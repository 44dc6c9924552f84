"""Findings, the per-control rollup, the verdict and the exit codes it maps to."""

from __future__ import annotations

import hashlib
from datetime import date
from enum import Enum
from typing import Any, Literal

from pydantic import Field, JsonValue

from auditor.model.base import StrictModel, empty_dict, empty_list
from auditor.model.codes import ExitCode as ExitCode  # re-exported: defined without pydantic
from auditor.model.codes import Severity as Severity
from auditor.model.controls import ControlId


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the check raised
    NOT_REVIEWED = "not_reviewed"  # its evidence could not be collected (reason mandatory)
    NOT_APPLICABLE = "not_applicable"  # reason mandatory
    WAIVED = "waived"


class Verdict(str, Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    INCOMPLETE = "incomplete"


# Statuses that block a verdict of "compliant": they never count as a pass.
INCOMPLETE_STATUSES = (Status.ERROR, Status.NOT_REVIEWED)
# Statuses that mean a rule actually judged something on this host.
JUDGED_STATUSES = (Status.PASS, Status.FAIL, Status.WAIVED)
STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED, Status.PASS, Status.WAIVED, Status.NOT_APPLICABLE)
# The rolled-up control statuses under which a control counts as satisfied: every finding passed, or
# its failures were waived (a deviation the policy approved).  Every report reads this one rule
# through ``ControlResult.satisfied``; none judges a control from the findings on its own.
SATISFYING_STATUSES = (Status.PASS, Status.WAIVED)


class AppliedWaiver(StrictModel):
    reason: str
    approver: str
    expires: date
    subject: str | None = None  # the glob it matched with, if any


class Finding(StrictModel):
    id: str  # stable across runs: derived from rule id and subject
    rule_id: str
    check: str
    status: Status
    severity: Severity
    controls: list[ControlId]
    subject: str
    subject_detail: dict[str, JsonValue] = Field(default_factory=empty_dict)
    observed: JsonValue = None
    expected: JsonValue = None
    message: str
    reason: str | None = None
    evidence: list[str] = Field(default_factory=empty_list)  # JSON pointers into the snapshot
    waiver: AppliedWaiver | None = None

    @staticmethod
    def make_id(rule_id: str, subject: str) -> str:
        return hashlib.sha256(f"{rule_id}\0{subject}".encode()).hexdigest()[:16]


class ControlResult(StrictModel):
    """The engine's judgement of one control, which every report renders as it stands."""

    id: ControlId
    title: str
    family: str
    family_title: str = ""  # recorded so that no report needs the control catalog
    status: Status  # rollup_status of its findings; not_reviewed when an enabled rule maps to it but found nothing
    rules: list[str]
    counts: dict[str, int]

    @property
    def satisfied(self) -> bool:
        return self.status in SATISFYING_STATUSES


class WaiverState(StrictModel):
    rule_id: str
    subject: str | None
    reason: str
    approver: str
    expires: date
    state: Literal["applied", "expired", "unused"]
    findings: list[str] = Field(default_factory=empty_list)  # ids of findings it waived (or would have)


class Summary(StrictModel):
    by_status: dict[str, int]
    failing_by_severity: dict[str, int]
    rules: int
    findings: int


class RunResult(StrictModel):
    findings: list[Finding]
    controls: list[ControlResult]
    waivers: list[WaiverState]
    summary: Summary
    fail_on: Severity
    verdict: Verdict
    exit_code: int
    complete: bool
    incomplete_reasons: list[str] = Field(default_factory=empty_list)


def rollup_status(statuses: list[Status]) -> Status:
    """Worst status first: a control is failed if any finding fails, not reviewed if any evidence is
    missing, and satisfied only if every finding passed (or was waived / not applicable with a pass)."""
    present = set(statuses)
    for status in STATUS_ORDER:
        if status in present:
            return status
    return Status.NOT_REVIEWED


def json_ready(value: Any) -> Any:
    """Reduce observed/expected values to plain JSON types (tuples and sets become sorted lists)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value  # the common case first: a finding's values are mostly these
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(json_ready(v) for v in value)
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    return value
