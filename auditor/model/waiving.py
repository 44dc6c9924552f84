"""Which waiver covers which failing finding, and each waiver's state: one judgement for the engine,
which applies it (:mod:`auditor.engine.waivers`), and for whoever reads evidence back, which checks
the recorded waivers against it (auditor/storage/evidence.py ``result_contradictions``), as
:func:`auditor.model.result.tally_run` is for the verdict.  Pure; in the model so that both layers
share it and cannot drift apart.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Literal, NamedTuple, Sequence

from auditor.model.policy import Waiver
from auditor.model.result import AppliedWaiver, Finding, Status, WaiverState


def subject_matches(glob: str, subject: str) -> bool:
    """Whether ``subject`` is matched by ``glob`` as a whole.

    ``*`` and ``?`` are the only wildcards: subjects such as ``tcp [::]:22 sshd pid 1`` hold
    brackets, which fnmatch would read as a character class and so match nothing.  The glob is cut
    at its stars: the first piece must start the subject, the last end it, and each piece between
    is found leftmost after the one before (for star-only wildcards leftmost is never wrong), by
    ``str.find`` or, for a piece with ``?``, a regular expression without repetition, both at C
    speed.  A regular expression of ``.*`` runs backtracks exponentially on a glob such as
    ``*a*a*a*a*a*a*a*a*a*a*b``, so a waiver could hang the evaluation; the walk back to the last
    star this replaces took len(glob) x len(subject) steps of Python, which evidence read back
    (its waivers and subjects both written by whoever wrote the file) made a hang again."""
    if "*" not in glob:
        return len(glob) == len(subject) and _piece_at(glob, subject, 0)
    first, *middle, last = glob.split("*")
    end = len(subject) - len(last)
    if len(first) > end or not _piece_at(first, subject, 0) or not _piece_at(last, subject, end):
        return False
    position = len(first)
    for piece in middle:
        if piece:
            found = _find_piece(piece, subject, position, end)
            if found < 0:
                return False
            position = found + len(piece)
    return True


def _piece_at(piece: str, subject: str, at: int) -> bool:
    """Whether the star-free ``piece`` matches ``subject`` at ``at`` (``?``: any one character)."""
    if at + len(piece) > len(subject):
        return False
    if "?" not in piece:
        return subject.startswith(piece, at)
    return _piece_pattern(piece).match(subject, at, at + len(piece)) is not None


def _find_piece(piece: str, subject: str, start: int, end: int) -> int:
    """The leftmost position in [start, end - len(piece)] where ``piece`` matches, else -1."""
    if "?" not in piece:
        return subject.find(piece, start, end)
    found = _piece_pattern(piece).search(subject, start, end)
    return found.start() if found is not None else -1


@functools.lru_cache(maxsize=256)
def _piece_pattern(piece: str) -> re.Pattern[str]:
    return re.compile(".".join(re.escape(part) for part in piece.split("?")), re.DOTALL)


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
