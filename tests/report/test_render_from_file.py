"""Every report is a function of the evidence file: rendered from the evidence a run holds in memory
(evaluate) or from the file read back (report, verify --pdf), the bytes are the same.  A report that
depended on anything the file does not keep (the order a check built a mapping in, before the file
sorted its keys) could not be verified against its evidence: verify --pdf failed on evaluate's PDF."""

from __future__ import annotations

import pytest

from auditor.report import BUILTIN_REPORTERS, ReportContext, select_reporters
from auditor.storage.evidence import evidence_bytes, parse_evidence
from tests.evidence_fixtures import make_evidence


@pytest.mark.slow  # renders every format twice
@pytest.mark.parametrize("name", sorted(BUILTIN_REPORTERS))
def test_a_report_from_memory_is_the_report_from_the_file(name):
    evidence = make_evidence(extra_listeners=3)
    # as net.bind_addresses builds them: keys in the check's own order, which the file sorts
    findings = [f.model_copy(update={"observed": {"wildcard": True, "port": 2024, "address": "0.0.0.0"},
                                     "expected": {"rule": "the default allow list", "allow": ["loopback"]}})
                for f in evidence.result.findings]
    evidence = evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": findings})})
    raw = evidence_bytes(evidence)
    reporter = select_reporters([name], plugins=False)[name]
    context = ReportContext(evidence_bytes=raw, evidence_path="e.evidence.json")
    assert reporter.render(evidence, context) == reporter.render(parse_evidence(raw, "the evidence"), context)
