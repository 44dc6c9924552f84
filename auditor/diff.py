"""Drift between two scans: what got worse, what got better, from two evidence files alone.

Findings are matched by their id, which is derived from rule id and a subject key without
volatile parts (pids), so a service restart is not a new finding.  A regression is a finding that
now fails, errors or is not reviewed and did not before (including one that is new); an
improvement is the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.model.evidence import Evidence
from auditor.model.result import Finding, Status

BAD = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED)


@dataclass(frozen=True)
class Change:
    finding_id: str
    rule_id: str
    subject: str
    before: str | None  # status, or None when the finding is new
    after: str | None  # status, or None when the finding is gone

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.finding_id, "rule": self.rule_id, "subject": self.subject,
                "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ScanDiff:
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)
    verdict_before: str = ""
    verdict_after: str = ""
    policy_changed: bool = False
    same_host: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": {"before": self.verdict_before, "after": self.verdict_after},
            "policy_changed": self.policy_changed,
            "same_host": self.same_host,
            "regressions": [c.as_dict() for c in self.regressions],
            "improvements": [c.as_dict() for c in self.improvements],
            "other_changes": [c.as_dict() for c in self.other_changes],
        }


def _is_bad(status: Status | None) -> bool:
    return status in BAD


def diff_scans(before: Evidence, after: Evidence) -> ScanDiff:
    old: dict[str, Finding] = {f.id: f for f in before.result.findings}
    new: dict[str, Finding] = {f.id: f for f in after.result.findings}
    regressions, improvements, others = [], [], []
    for finding_id in sorted(old.keys() | new.keys()):
        was, now = old.get(finding_id), new.get(finding_id)
        was_status = was.status if was else None
        now_status = now.status if now else None
        if was_status == now_status:
            continue
        source = now or was
        change = Change(finding_id, source.rule_id, source.subject,
                        was_status.value if was_status else None, now_status.value if now_status else None)
        if _is_bad(now_status) and not _is_bad(was_status):
            regressions.append(change)
        elif _is_bad(was_status) and not _is_bad(now_status):
            improvements.append(change)
        else:
            others.append(change)
    old_host, new_host = before.snapshot.provenance, after.snapshot.provenance
    return ScanDiff(
        regressions=regressions,
        improvements=improvements,
        other_changes=others,
        verdict_before=before.result.verdict.value,
        verdict_after=after.result.verdict.value,
        policy_changed=before.policy_sha256 != after.policy_sha256,
        same_host=(old_host.hostname, old_host.machine_id) == (new_host.hostname, new_host.machine_id),
    )
