"""Build, write, read and describe the evidence JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.engine.registry import Registry
from auditor.jsonfile import parse_document, read_bounded, validate_versioned
from auditor.model.base import digest_of
from auditor.model.evidence import EVIDENCE_SCHEMA, EVIDENCE_SCHEMA_VERSION, CheckRecord, Evidence, RunInfo, ToolInfo
from auditor.model.facts import HostSnapshot
from auditor.model.policy import Policy
from auditor.model.result import RunResult
from auditor.outputs import write_atomic  # the one writer of every output; imported from here by older callers
from auditor.report import Reporter, ReportContext

MAX_EVIDENCE_BYTES = 256 * 1024 * 1024


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
        snapshot=snapshot,
        facts_sha256=snapshot.facts_digest(),
        checks=checks,
        result=result,
    )


def evidence_bytes(evidence: Evidence) -> bytes:
    """The file form: sorted keys and two-space indents, so that diffs between scans are readable."""
    data = evidence.model_dump(mode="json", by_alias=True)
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_evidence(evidence: Evidence, path: Path) -> bytes:
    data = evidence_bytes(evidence)
    write_atomic(path, data)
    return data


def evidence_schema() -> dict[str, Any]:
    schema = Evidence.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://lbaudit.invalid/schemas/evidence-1.0.json"
    return schema


EVIDENCE_WHAT = "an lbaudit evidence file"


def load_evidence(path: Path) -> tuple[Evidence, bytes]:
    """Read and validate an evidence file; any problem is an InputError (exit 2), never a traceback."""
    raw = read_bounded(Path(path), MAX_EVIDENCE_BYTES, EVIDENCE_WHAT)
    return parse_evidence(raw, str(path)), raw


def parse_evidence(raw: bytes, name: str) -> Evidence:
    """Validate the bytes of an evidence file (``name`` is used in messages); InputError if not."""
    data = parse_document(raw, name, EVIDENCE_WHAT)
    return validate_versioned(data, name, EVIDENCE_WHAT, "evidence", Evidence, EVIDENCE_SCHEMA,
                              (EVIDENCE_SCHEMA_VERSION,))


def _render_json(evidence: Evidence, context: ReportContext) -> bytes:
    return context.evidence_bytes

REPORTER = Reporter(name="json", extension=".json", description="lbaudit evidence JSON (the source of truth)",
                    render=_render_json)
