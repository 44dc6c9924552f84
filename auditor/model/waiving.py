"""Which waiver covers which failing finding, and each waiver's state: one judgement for the engine,
which applies it (:mod:`auditor.engine.waivers`), and for whoever reads evidence back, which checks
the recorded waivers against it (auditor/storage/evidence.py ``result_contradictions``), as
:func:`auditor.model.result.tally_run` is for the verdict.  Pure; in the model so that both layers
share it and cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, NamedTuple, Sequence

from auditor.model.policy import Waiver
from auditor.model.result import AppliedWaiver, Finding, Status, WaiverState


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


class WaiverJudgement(NamedTuple):
    applied: list[Waiver | None]  # per finding: the waiver that waives it (the first unexpired match)
    states: list[WaiverState]  # per waiver, in order: applied, expired or unused, and what it matched


def applied_waiver(waiver: Waiver) -> AppliedWaiver:
    """How a finding records the waiver that waived it."""
    return AppliedWaiver(reason=waiver.reason, approver=waiver.approver, expires=waiver.expires, subject=waiver.subject)


def judge_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], today: date,
                  failed: tuple[Status, ...] = (Status.FAIL,)) -> WaiverJudgement:
    """Which of ``waivers`` waives each finding whose status is one of ``failed`` (only a failure is
    ever waived), and each waiver's state on ``today``.  The engine judges its findings before
    waiving (``failed``: fail); a reader of evidence judges them as recorded (fail or waived)."""
    matched: list[list[str]] = [[] for _ in waivers]
    applied: list[Waiver | None] = []
    for finding in findings:
        chosen: Waiver | None = None
        if finding.status in failed:
            for index, waiver in enumerate(waivers):
                if waiver.rule != finding.rule_id:
                    continue
                if waiver.subject is not None and not subject_matches(waiver.subject, finding.subject):
                    continue
                matched[index].append(finding.id)
                if chosen is None and waiver.expires >= today:
                    chosen = waiver
        applied.append(chosen)
    states = []
    for index, waiver in enumerate(waivers):
        state: Literal["applied", "expired", "unused"]
        if waiver.expires < today:
            state = "expired"
        elif matched[index]:
            state = "applied"
        else:
            state = "unused"
        states.append(WaiverState(rule_id=waiver.rule, subject=waiver.subject, reason=waiver.reason,
                                  approver=waiver.approver, expires=waiver.expires, state=state,
                                  findings=matched[index]))
    return WaiverJudgement(applied, states)
