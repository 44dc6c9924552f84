"""Findings, the per-control rollup, the verdict and the exit codes it maps to."""

from __future__ import annotations

from collections import Counter
from datetime import date
from enum import Enum
from typing import Any, Iterable, Literal, NamedTuple, Protocol, Sequence

from pydantic import Field, JsonValue

from auditor.model.base import StrictModel, empty_dict, empty_list
from auditor.model.codes import ExitCode as ExitCode  # re-exported: defined without pydantic
from auditor.model.codes import Severity as Severity
from auditor.model.controls import ControlId
from auditor.sha256 import sha256_hex


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
# The rolled-up control statuses under which a control counts as satisfied: every finding passed (or
# was not applicable beside a pass).  Not ``waived``: a waived failure is a deviation the policy
# approved, still a failure; an auditor reads "satisfied" as tested and passing, so a control whose
# failures were all waived read as met in OSCAL, SARIF, JUnit, the PDF and the terminal alike.  Such a
# control is "not satisfied" (SP 800-53A: other than satisfied) and its status, ``waived``, says why.
# Every report reads this one rule through ``ControlResult.satisfied``; none judges a control from
# the findings on its own.
SATISFYING_STATUSES = (Status.PASS,)


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
        return sha256_hex(f"{rule_id}\0{subject}".encode())[:16]


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


# The order rollup_status takes statuses in, worst first.  Waived before pass: a control (or rule)
# with passing findings beside waived failures is "waived", an approved deviation, never "pass"; with
# pass first such a control read "pass" in OSCAL, SARIF, JUnit, the PDF and the terminal, and the
# failures the policy had accepted were nowhere in its judgement.
ROLLUP_ORDER = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED, Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE)


def rollup_status(statuses: list[Status]) -> Status:
    """Worst status first: a control is failed if any finding fails, not reviewed if any evidence is
    missing, waived if any failure was waived, and pass only if every finding passed (or was not
    applicable beside a pass)."""
    present = set(statuses)
    for status in ROLLUP_ORDER:
        if status in present:
            return status
    return Status.NOT_REVIEWED


class RuleScope(Protocol):
    """What judging a run needs of an enabled rule: its id and the controls it maps to (a policy's
    resolved rule, or the rule as the evidence records it)."""

    @property
    def id(self) -> str: ...

    @property
    def controls(self) -> Sequence[str]: ...


class ControlTally(NamedTuple):
    status: Status  # rollup_status of its findings; not_reviewed when no finding addresses it
    counts: dict[str, int]  # findings by status, every status present
    rules: list[str]  # sorted: the rules that map to it and those whose findings name it


class RunTally(NamedTuple):
    """What a run's findings give: the summary counts, the verdict, its exit code, completeness and
    each control's judgement.  The engine records it in the evidence; whoever reads evidence back
    compares the record with it.  One function computes it (:func:`tally_run`), so the two cannot
    drift apart: a contradiction is an edit or a faulty tool, never a second opinion."""

    by_status: dict[str, int]
    failing_by_severity: dict[str, int]
    rules: int
    findings: int
    verdict: Verdict
    exit_code: int
    complete: bool
    incomplete_reasons: list[str]
    controls: dict[str, ControlTally]
    silent_rules: list[str]  # enabled rules without a finding: the engine never leaves one


def tally_run(findings: Sequence[Finding], rules: Iterable[RuleScope], fail_on: Severity) -> RunTally:
    """Judge a run from its findings and its enabled ``rules``.  Pure; counted once per distinct
    (status, severity, controls, rule): 20,000 findings are a few kinds."""
    rules = list(rules)
    kinds: Counter[tuple[Status, Severity, tuple[str, ...], str]] = Counter()
    incomplete_reasons: list[str] = []
    for finding in findings:
        status = finding.status
        kinds[(status, finding.severity, tuple(finding.controls), finding.rule_id)] += 1
        if status in INCOMPLETE_STATUSES:
            incomplete_reasons.append(f"{finding.rule_id}: {finding.subject}: {finding.reason}")
    by_status = {s.value: 0 for s in Status}
    failing_by_severity = {s.value: 0 for s in Severity}
    blocking = False
    for (status, severity, _, _), count in kinds.items():
        by_status[status.value] += count
        if status == Status.FAIL:
            failing_by_severity[severity.value] += count
            blocking = blocking or severity.rank >= fail_on.rank
    # An enabled rule the engine judged always has a finding (a check that says nothing is
    # not_reviewed): one without any had its findings removed, and has shown nothing.
    judged_rules = {rule_id for _, _, _, rule_id in kinds}
    silent_rules = [rule.id for rule in rules if rule.id not in judged_rules]
    incomplete_reasons += [f"{rule_id}: no finding" for rule_id in silent_rules]
    # A run in which nothing could be judged (every finding not_applicable) has shown nothing: a
    # release gate must not turn green on it.
    if not any(status in JUDGED_STATUSES for status, _, _, _ in kinds):
        incomplete_reasons.append(_nothing_judged({status for status, _, _, _ in kinds}))
    complete = not incomplete_reasons
    if blocking:
        verdict, code = Verdict.NON_COMPLIANT, ExitCode.NON_COMPLIANT
    elif not complete:
        verdict, code = Verdict.INCOMPLETE, ExitCode.INCOMPLETE
    else:
        verdict, code = Verdict.COMPLIANT, ExitCode.COMPLIANT
    # Every control an enabled rule maps to is judged, even one no finding addresses.
    by_control: dict[str, Counter[Status]] = {}
    control_rules: dict[str, set[str]] = {}
    for rule in rules:
        for control_id in rule.controls:
            by_control.setdefault(control_id, Counter())
            control_rules.setdefault(control_id, set()).add(rule.id)
    for (status, _, named_controls, rule_id), count in kinds.items():
        for control_id in named_controls:
            by_control.setdefault(control_id, Counter())[status] += count
            control_rules.setdefault(control_id, set()).add(rule_id)
    controls = {control_id: ControlTally(rollup_status(list(statuses)), {s.value: statuses.get(s, 0) for s in Status},
                                         sorted(control_rules[control_id]))
                for control_id, statuses in by_control.items()}
    return RunTally(by_status, failing_by_severity, len(rules), len(findings), verdict, int(code), complete,
                    incomplete_reasons, controls, silent_rules)


def _nothing_judged(statuses: set[Status]) -> str:
    """Why a run without a pass, failure or waiver has shown nothing, in the words its findings allow."""
    if not statuses:
        return "nothing was judged: no enabled rule, no finding"
    if statuses == {Status.NOT_APPLICABLE}:
        return "nothing was judged: every finding is not_applicable"
    shown = ", ".join(s.value for s in STATUS_ORDER if s in statuses)
    return f"nothing was judged: no finding passed, failed or was waived (the findings are {shown})"


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
