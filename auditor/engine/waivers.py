"""Waivers: an approved, dated exception for failing findings of one rule.

Only ``fail`` findings can be waived: waiving missing evidence would turn "we could not look" into
a pass.  A waiver is honoured through its ``expires`` date; after that it is not honoured and is
reported as expired.
"""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase

from auditor.model.policy import Waiver
from auditor.model.result import AppliedWaiver, Finding, Status, WaiverState


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: date) -> tuple[list[Finding], list[WaiverState]]:
    matched: dict[int, list[str]] = {i: [] for i in range(len(waivers))}
    result: list[Finding] = []
    for finding in findings:
        applied: Waiver | None = None
        if finding.status == Status.FAIL:
            for index, waiver in enumerate(waivers):
                if waiver.rule != finding.rule_id:
                    continue
                if waiver.subject is not None and not fnmatchcase(finding.subject, waiver.subject):
                    continue
                matched[index].append(finding.id)
                if applied is None and waiver.expires >= today:
                    applied = waiver
        if applied is not None:
            finding = finding.model_copy(
                update={
                    "status": Status.WAIVED,
                    "waiver": AppliedWaiver(
                        reason=applied.reason, approver=applied.approver, expires=applied.expires, subject=applied.subject
                    ),
                }
            )
        result.append(finding)
    states = []
    for index, waiver in enumerate(waivers):
        if waiver.expires < today:
            state = "expired"
        elif matched[index]:
            state = "applied"
        else:
            state = "unused"
        states.append(
            WaiverState(
                rule_id=waiver.rule,
                subject=waiver.subject,
                reason=waiver.reason,
                approver=waiver.approver,
                expires=waiver.expires,
                state=state,
                findings=matched[index],
            )
        )
    return result, states
