"""The evidence of one assessment, assembled from what the engine used and produced.

Writing it is storage's part (:mod:`auditor.storage.evidence`); rendering it, the reporters'.
"""

from __future__ import annotations

from datetime import date, datetime

from auditor import __version__
from auditor.engine.registry import Registry
from auditor.model.base import digest_of
from auditor.model.evidence import CheckRecord, Evidence, ReporterPluginRecord, RunInfo, ToolInfo
from auditor.model.facts import HostSnapshot
from auditor.model.policy import Policy, WaiverSource
from auditor.model.result import RunResult


def policy_digest(policy: Policy) -> str:
    return digest_of(policy)


def build_evidence(
    *,
    policy: Policy,
    snapshot: HostSnapshot,
    registry: Registry,
    result: RunResult,
    started_at: datetime,
    finished_at: datetime,
    evaluated_on: date,
    timings_ms: dict[str, int] | None = None,
    waiver_file: WaiverSource | None = None,
    reporter_plugins: list[ReporterPluginRecord] | None = None,
) -> Evidence:
    used = sorted({rule.check for rule in policy.rules if rule.enabled})
    checks = [
        CheckRecord(
            name=spec.name,
            title=spec.title,
            version=spec.version,
            origin=spec.origin,
            needs=list(spec.needs),
            controls=list(spec.controls),
            rationale=spec.rationale,
            remediation=spec.remediation,
        )
        for spec in (registry.checks[name] for name in used)
    ]
    return Evidence(
        tool=ToolInfo(version=__version__),
        run=RunInfo(started_at=started_at, finished_at=finished_at, evaluated_on=evaluated_on, timings_ms=timings_ms or {}),
        policy=policy,
        policy_sha256=policy_digest(policy),
        waiver_file=waiver_file,
        snapshot=snapshot,
        facts_sha256=snapshot.facts_digest(),
        checks=checks,
        reporter_plugins=list(reporter_plugins or []),
        result=result,
    )
