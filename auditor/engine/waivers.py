"""Waivers: an approved, dated exception for failing findings of one rule.

Only ``fail`` findings can be waived: waiving missing evidence would turn "we could not look" into
a pass.  A waiver is honoured through its ``expires`` date; after that it is not honoured and is
reported as expired.  A waiver's subject glob covers a finding in another network namespace only
when it says ``in netns`` (:func:`auditor.model.waiving.reaches_other_namespaces`).

``expires`` is a calendar day in UTC: honoured until 23:59:59 UTC on that day, expired from 00:00:00
UTC the next.  The host's time zone never moves the boundary (a run in UTC+14 must not get a day
more than one in UTC-12); :func:`evaluation_day` turns the moment of a run into that UTC day.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from auditor.model.policy import Waiver
from auditor.model.result import Finding, Status, WaiverState
from auditor.model.waiving import applied_waiver, judge_waivers
from auditor.model.waiving import subject_matches as subject_matches  # re-exported: where it was


def evaluation_day(moment: datetime) -> date:
    """The UTC calendar day waivers are judged against at ``moment``.  A naive time is refused: its
    zone is unknown, so the day could be off by one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the evaluation time must carry a time zone")
    return moment.astimezone(timezone.utc).date()


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: date) -> tuple[list[Finding], list[WaiverState]]:
    """The findings with each failure a waiver covers waived, and each waiver's state
    (:func:`auditor.model.waiving.judge_waivers`, which readers of the evidence check it against)."""
    judgement = judge_waivers(findings, waivers, today)
    result = [finding if waiver is None else finding.model_copy(
                  update={"status": Status.WAIVED, "waiver": applied_waiver(waiver)})
              for finding, waiver in zip(findings, judgement.applied)]
    return result, judgement.states
