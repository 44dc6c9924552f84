"""The text report (``--format text``) says whether the evidence it was rendered from is signed, and its SHA-256.

The defect: the PDF, the HTML page and HDF say "signed by key X" or "unsigned", and every other
report names the evidence file with its SHA-256 (README: "every report names the evidence file and
its SHA-256"); the text report named the file alone and said nothing of a signature.  A text report
of evidence handed over without a ``.sig`` (or edited, its digest no longer the one a colleague
signed) read exactly as one of signed evidence, and no digest in it could be compared.  Now its last
lines name the evidence's SHA-256 and the signature state: the key's fingerprint and how to verify
it, or that no signature accompanied the evidence.
"""

from __future__ import annotations

import hashlib

from auditor.report import ReportContext
from auditor.report.console import _render_text
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence


def _text(fingerprint: str | None) -> list[str]:
    evidence = make_evidence()
    raw = evidence_bytes(evidence)
    context = ReportContext(evidence_bytes=raw, evidence_path="corp-baseline.json", signature_fingerprint=fingerprint)
    return _render_text(evidence, context).decode("utf-8").splitlines()


def test_an_unsigned_evidence_is_said_unsigned_with_its_digest():
    lines = _text(None)
    digest = hashlib.sha256(evidence_bytes(make_evidence())).hexdigest()
    assert f"evidence sha256: {digest}" in lines
    [state] = [line for line in lines if line.startswith("signature: ")]
    assert state.startswith("signature: none") and "corp-baseline.json.sig" in state


def test_a_signed_evidence_names_the_key_and_how_to_verify():
    lines = _text("ab" * 32)
    [state] = [line for line in lines if line.startswith("signature: ")]
    assert "ab" * 32 in state and "lbaudit verify" in state
