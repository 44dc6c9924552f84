"""What the drift checks share: comparing runtime with configuration needs both sides."""

from __future__ import annotations

from auditor.model.check import Outcome, missing_fact, not_applicable
from auditor.model.facts import HostSnapshot


def missing_side(snapshot: HostSnapshot, section: str, field: str, subject: str, what: str) -> Outcome:
    """One side of the comparison is absent.  An offline root directory has no runtime side by
    construction, so even without the collector's gap the provenance says why; otherwise the
    collector's reason decides (not_reviewed, failing closed, when there is none)."""
    if not snapshot.gaps_for(section, field) and snapshot.provenance.source == "root":
        return not_applicable(subject, f"an offline root directory has no {what}")
    return missing_fact(snapshot, section, field, subject=subject, what=what)
