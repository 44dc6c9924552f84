"""The evidence document: the source of truth every report is rendered from.

Deterministic: the same policy, facts and evaluation date give the same bytes, apart from the
time fields (``run.started_at``, ``run.finished_at``, ``run.timings_ms`` and
``snapshot.provenance.collected_at``).
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import Field

from auditor.model.base import Moment, StrictModel, empty_dict, empty_list
from auditor.model.check import remediation_for
from auditor.model.controls import ControlId
from auditor.model.facts import HostSnapshot
from auditor.model.policy import Policy, WaiverSource
from auditor.model.result import RunResult

EVIDENCE_SCHEMA: Final = "lbaudit/evidence"
EVIDENCE_SCHEMA_VERSION: Final = "1.0"

# Fields that legitimately differ between two runs over the same inputs.
TIME_FIELDS = (
    ("run", "started_at"),
    ("run", "finished_at"),
    ("run", "timings_ms"),
    ("snapshot", "provenance", "collected_at"),
)


class ToolInfo(StrictModel):
    name: Literal["lbaudit"] = "lbaudit"
    version: str


class CheckRecord(StrictModel):
    """A loaded check: for an attestation, the code that judged is evidence too."""

    name: str
    title: str
    version: str
    origin: str
    needs: list[str]
    controls: list[ControlId]
    rationale: str
    remediation: str  # for every platform the check judges, each under its heading (model/check.py)

    def remediation_on(self, platform: str) -> str:
        """The remediation for a ``platform`` host: what every report of that host's evidence shows."""
        return remediation_for(self.remediation, platform)


class ReporterPluginRecord(StrictModel):
    """A reporter plugin loaded for the run: third-party code that turns this evidence into reports
    is recorded beside the checks that judged it (a check plugin's distribution is its ``origin``)."""

    entry_point: str  # the name in the distribution's ``lbaudit.reporters`` entry points
    format: str  # the --format value it renders
    distribution: str
    version: str


class RunInfo(StrictModel):
    started_at: Moment
    finished_at: Moment
    evaluated_on: date  # the date waivers were judged against
    timings_ms: dict[str, int] = Field(default_factory=empty_dict)


class Evidence(StrictModel):
    schema_: Literal["lbaudit/evidence"] = Field(EVIDENCE_SCHEMA, alias="schema")
    schema_version: Literal["1.0"] = EVIDENCE_SCHEMA_VERSION
    tool: ToolInfo
    run: RunInfo
    policy: Policy
    policy_sha256: str  # of the canonical JSON of ``policy`` (inheritance resolved)
    # The separate waivers file of the run (``--waivers``), with its SHA-256: kept out of ``policy``
    # so that renewing a waiver leaves ``policy_sha256`` alone.  Absent from the file without one
    # (storage/evidence.py), so evidence of a run without --waivers keeps the bytes it had before.
    waiver_file: WaiverSource | None = None

    snapshot: HostSnapshot
    facts_sha256: str  # HostSnapshot.facts_digest()
    checks: list[CheckRecord]
    # Omitted from the file when no reporter plugin was loaded (autoload off or none installed), so
    # evidence written without plugins keeps the bytes it always had.
    reporter_plugins: list[ReporterPluginRecord] = Field(default_factory=empty_list, exclude_if=lambda plugins: not plugins)
    result: RunResult
