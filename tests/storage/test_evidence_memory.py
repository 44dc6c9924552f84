"""What a loaded evidence document holds per finding (issue 16: 20,000 findings in under 150 MiB)."""

from __future__ import annotations

from auditor.storage.evidence import evidence_bytes, parse_evidence
from tests.evidence_fixtures import make_evidence


def test_findings_and_listeners_share_one_set_of_given_fields():
    """pydantic keeps a set of the fields each instance was given: equal sets are one object, not
    one per finding (about 700 bytes each, 42 MiB at 20,000 findings and as many listeners)."""
    evidence = parse_evidence(evidence_bytes(make_evidence(extra_listeners=50)), "e.json")
    findings = evidence.result.findings
    listeners = evidence.snapshot.facts.sockets.listeners
    assert len(findings) > 50 and len(listeners) > 50
    assert len({id(f.model_fields_set) for f in findings}) < 5
    assert len({id(listener.model_fields_set) for listener in listeners}) < 5


def test_a_copy_with_changes_does_not_change_the_shared_set():
    evidence = parse_evidence(evidence_bytes(make_evidence(extra_listeners=5)), "e.json")
    first, second = evidence.result.findings[:2]
    shared = set(first.model_fields_set)
    assert first.model_fields_set is second.model_fields_set
    changed = first.model_copy(update={"subject": "changed"})
    assert changed.subject == "changed" and changed.model_fields_set is not first.model_fields_set
    assert first.model_fields_set == shared and second.model_fields_set == shared
