"""The format-neutral attestation view: what each section says, from the evidence alone.

The PDF lays it out (its bytes are pinned in test_pdf_golden.py); an HTML report renders the same
view.  These tests read the view of the fixture evidence directly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from auditor.model.facts import SECTIONS
from auditor.model.result import STATUS_ORDER, Status
from auditor.report.view import ATTENTION, AttestationView, FindingRow, attestation_view
from tests.evidence_fixtures import make_evidence

REPO = Path(__file__).resolve().parents[2]


def _view(evidence=None, **kwargs) -> AttestationView:
    options = {"evidence_name": "web01.evidence.json", "evidence_sha256": "a" * 64, "content_sha256": "b" * 64,
               "fingerprint": None, "assessor": "Ada Example"}
    return attestation_view(evidence or make_evidence(), **(options | kwargs))


@pytest.fixture(scope="module")
def view() -> AttestationView:
    return _view()


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value):
        return [s for field in dataclasses.fields(value) for s in _strings(getattr(value, field.name))]
    if isinstance(value, FindingRow):  # a plain class (one per finding): what it says, as fields
        return [s for name in FindingRow.FIELDS for s in _strings(getattr(value, name))]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_cover_states_the_verdict_counts_and_where_the_facts_came_from(view):
    cover = view.cover
    assert cover.verdict_word == "NOT COMPLIANT"
    assert cover.verdict_sentence.startswith("The system does not meet policy ")
    assert [status for status, _ in cover.status_counts] == list(STATUS_ORDER)
    assert dict(cover.status_counts) == {Status.FAIL: 4, Status.ERROR: 1, Status.NOT_REVIEWED: 1, Status.PASS: 5,
                                         Status.WAIVED: 1, Status.NOT_APPLICABLE: 1}
    assert cover.trust.kind == "collected" and cover.fingerprint is None
    assert (cover.assessor, cover.evidence_name, cover.content_sha256) == ("Ada Example", "web01.evidence.json", "b" * 64)


def test_the_summary_counts_agree_with_the_cover(view):
    summary = view.summary
    assert summary.total_row.counts == tuple(n for _, n in view.cover.status_counts)
    assert summary.total_row.total == summary.findings == 13
    assert [sum(column) for column in zip(*(row.counts for row in summary.severity_rows))] == list(
        summary.total_row.counts)
    assert [row.rule for row in summary.attention] == ["wildcard-listeners", "port-range", "audit-socket-calls",
                                                       "broken-check"]
    assert summary.attention[2].findings == "1 not reviewed"


def test_findings_list_only_what_needs_attention_worst_first_and_passes_apart(view):
    assert [g.rule_id for g in view.findings] == [row.rule for row in view.summary.attention]
    for group in view.findings:
        statuses = [row.status for row in group.rows]
        assert set(statuses) <= set(ATTENTION)
        assert statuses == sorted(statuses, key=STATUS_ORDER.index)
    unreviewed = next(g for g in view.findings if g.rule_id == "audit-socket-calls").rows[0]
    assert unreviewed.observed == "not observed"
    assert {p.rule: (p.passing, p.not_applicable) for p in view.passes} == {
        "wildcard-listeners": (4, 0), "ipv6-only": (0, 1), "privileged-ports": (1, 0)}


def test_waivers_say_their_state_in_words(view):
    assert [(w.rule_id, w.state, w.findings) for w in view.waivers.rows] == [
        ("wildcard-listeners", "applied", 1), ("port-range", "expired", 1), ("wildcard-listeners", "unused", 0)]
    assert view.waivers.rows[1].subject is None  # every finding of the rule
    assert [(w.rule_id, w.subject) for w in view.waivers.waived] == [("wildcard-listeners", "tcp 0.0.0.0:8080 java pid 1500")]


def test_the_method_names_every_fact_section_and_each_gap(view):
    method = view.method
    assert [row.section for row in method.sections] == list(SECTIONS)
    assert [row.state for row in method.sections] == ["collected", "collected", "not collected", "not collected"]
    assert [(g.section, g.field) for g in method.gaps] == [("audit", "whole section")]
    assert [row.input for row in method.inputs][-2:] == ["Evidence file", "Evidence content"]
    assert method.timings.startswith("broken-check 12 ms, collect 1400 ms")


def test_a_signed_evidence_names_its_key_and_the_statement_its_verdict():
    view = _view(fingerprint="SHA256:" + "c" * 64)
    assert view.cover.fingerprint == "SHA256:" + "c" * 64
    assert view.statement_values["verdict"] == "NOT COMPLIANT"
    assert view.statement_values["evidence_name"] == "web01.evidence.json"


def test_the_view_is_plain_text_and_a_pure_function_of_its_inputs(view):
    assert _view() == view
    strings = _strings(view)
    assert strings and not [s for s in strings if "<b>" in s or "<br/>" in s or "<font" in s]


def test_the_view_needs_no_pdf_library_and_no_catalog():
    source = (REPO / "auditor" / "report" / "view.py").read_text(encoding="utf-8")
    assert "reportlab" not in source and "load_catalog" not in source


def test_a_reporter_gets_the_view_from_its_context():
    from auditor.model.base import sha256_hex
    from auditor.report import ReportContext
    from auditor.report.view import view_of
    from auditor.storage.evidence import evidence_bytes

    evidence = make_evidence(only_rules=["privileged-ports"])
    raw = evidence_bytes(evidence)
    view = view_of(evidence, ReportContext(evidence_bytes=raw))
    assert (view.cover.evidence_name, view.cover.assessor) == ("evidence.json", evidence.policy.owner)
    assert view.cover.evidence_sha256 == sha256_hex(raw) != view.cover.content_sha256
    named = view_of(evidence, ReportContext(evidence_bytes=raw, evidence_path="out/web01.evidence.json",
                                            assessor="Ada Example (QSA)", signature_fingerprint="SHA256:x"))
    assert (named.cover.evidence_name, named.cover.assessor, named.cover.fingerprint) == (
        "web01.evidence.json", "Ada Example (QSA)", "SHA256:x")
