"""Waivers: an approved, dated exception for failing findings of one rule.

Only ``fail`` findings can be waived: waiving missing evidence would turn "we could not look" into
a pass.  A waiver is honoured through its ``expires`` date; after that it is not honoured and is
reported as expired.

``expires`` is a calendar day in UTC: honoured until 23:59:59 UTC on that day, expired from 00:00:00
UTC the next.  The host's time zone never moves the boundary (a run in UTC+14 must not get a day
more than one in UTC-12); :func:`evaluation_day` turns the moment of a run into that UTC day.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Literal

from auditor.model.policy import Waiver
from auditor.model.result import AppliedWaiver, Finding, Status, WaiverState


def evaluation_day(moment: datetime) -> date:
    """The UTC calendar day waivers are judged against at ``moment``.  A naive time is refused: its
    zone is unknown, so the day could be off by one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the evaluation time must carry a time zone")
    return moment.astimezone(timezone.utc).date()


def subject_matches(glob: str, subject: str) -> bool:
    """Whether ``subject`` is matched by ``glob`` as a whole.

    ``*`` and ``?`` are the only wildcards: subjects such as ``tcp [::]:22 sshd pid 1`` hold
    brackets, which fnmatch would read as a character class and so match nothing.  Matched by the
    greedy two-pointer walk (back to the last ``*`` on a mismatch), at most len(glob) x len(subject)
    steps: a regular expression of ``.*`` runs backtracks exponentially on a glob such as
    ``*a*a*a*a*a*a*a*a*a*a*b``, so a waiver could hang the evaluation."""
    g = s = 0
    star, resume = -1, 0
    while s < len(subject):
        if g < len(glob) and glob[g] == "*":
            star, resume = g, s
            g += 1
        elif g < len(glob) and (glob[g] == "?" or glob[g] == subject[s]):
            g += 1
            s += 1
        elif star >= 0:
            g, resume = star + 1, resume + 1
            s = resume
        else:
            return False
    while g < len(glob) and glob[g] == "*":
        g += 1
    return g == len(glob)


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: date) -> tuple[list[Finding], list[WaiverState]]:
    matched: dict[int, list[str]] = {i: [] for i in range(len(waivers))}
    result: list[Finding] = []
    for finding in findings:
        applied: Waiver | None = None
        if finding.status == Status.FAIL:
            for index, waiver in enumerate(waivers):
                if waiver.rule != finding.rule_id:
                    continue
                if waiver.subject is not None and not subject_matches(waiver.subject, finding.subject):
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
        state: Literal["applied", "expired", "unused"]
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
