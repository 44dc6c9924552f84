"""The ``json`` format: the evidence file itself, byte for byte (the source of truth)."""

from __future__ import annotations

from auditor.model.evidence import Evidence
from auditor.report import ReportContext, Reporter


def _render_json(evidence: Evidence, context: ReportContext) -> bytes:
    return context.evidence_bytes

REPORTER = Reporter(name="json", extension=".json", description="lbaudit evidence JSON (the source of truth)",
                    render=_render_json)
