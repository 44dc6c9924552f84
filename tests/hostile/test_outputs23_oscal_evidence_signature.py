"""The OSCAL assessment results say whether the evidence they were rendered from is signed, and by which key.

The defect: the PDF, the HTML page and HDF say "signed by key X" or "unsigned"; the OSCAL document,
which an assessor files as the attestation of record, named the evidence's SHA-256 alone, so one
rendered from evidence handed over without a ``.sig`` (or edited: its digest no longer the one a
colleague signed) read exactly as one of signed evidence.  Now its metadata carries the props
``evidence-signature`` (``signed`` or ``unsigned``) and, when signed, ``evidence-signature-key``:
the fingerprint of the key whose ``.sig`` signs these bytes, to compare with the key one trusts.
Both validate against the OSCAL 1.1.2 schema.
"""

from __future__ import annotations

import json

from auditor.report import ReportContext
from auditor.report.oscal import render_oscal
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence
from tests.report.conftest import oscal_validator as oscal_validator  # noqa: F401 - the fixture, used by name


def _props(fingerprint: str | None, validator) -> dict[str, str]:
    evidence = make_evidence()
    context = ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="corp-baseline.json",
                            signature_fingerprint=fingerprint)
    document = json.loads(render_oscal(evidence, context))
    assert [e.message[:200] for e in validator.iter_errors(document)] == []
    return {p["name"]: p["value"] for p in document["assessment-results"]["metadata"]["props"]}


def test_unsigned_evidence_is_said_unsigned(oscal_validator):
    props = _props(None, oscal_validator)
    assert props["evidence-signature"] == "unsigned"
    assert "evidence-signature-key" not in props


def test_signed_evidence_names_its_key(oscal_validator):
    props = _props("cd" * 32, oscal_validator)
    assert (props["evidence-signature"], props["evidence-signature-key"]) == ("signed", "cd" * 32)
