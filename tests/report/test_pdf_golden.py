"""The PDF bytes of the fixture evidence, pinned: refactoring the renderer must not change a byte.

The digests were taken at the commit before the PDF was split into a format-neutral view
(``auditor/report/view.py``) and its layout (``auditor/report/_pdf_sections.py``).  They depend on
the pinned reportlab and the bundled fonts as well as on lbaudit: after upgrading either on purpose,
render at the previous commit and with the upgrade, compare the documents, then take new digests.
"""

from __future__ import annotations

import hashlib

import pytest

from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence

GOLDEN_SHA256 = {
    "full-signed": "1c33ec4a05bc705db7902c76467b2f5fbcbfce8e482ca21da7781c9d6639a85a",
    "unsigned-assessor": "0b73f5f60c276673ddc3e855e5e5980a1c4598b5e0abb73b8f97f8fa842ac3c5",
    "incomplete": "cb6306156cb4533f895173c99cd0c404db1754f6003536d0fb82fb1344742442",
    "unicode-owner": "119e5c1250207bbec938490389270fffee489484b72e21e7f4261777409cfc65",
    "many-findings": "62c7f29839a32f23028099fb87d5bd89076d40d3651dc5b0820e2bc174c0e7de",
}


def _variant(name: str):
    if name == "full-signed":
        evidence = make_evidence()
        return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="out/web01.evidence.json",
                                       signature_fingerprint="SHA256:" + "ab" * 32)
    if name == "unsigned-assessor":
        evidence = make_evidence(only_rules=["privileged-ports"])
        return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), assessor="Ada Example (QSA)")
    if name == "incomplete":
        evidence = make_evidence(only_rules=["privileged-ports", "audit-socket-calls"])
        return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence))
    if name == "unicode-owner":
        evidence = make_evidence(only_rules=["privileged-ports"])
        evidence = evidence.model_copy(update={"policy": evidence.policy.model_copy(
            update={"owner": "Zoë Ångström — Служба безопасности"})})
        return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence))
    evidence = make_evidence(extra_listeners=300)
    return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="big.evidence.json")


@pytest.mark.parametrize("name", sorted(GOLDEN_SHA256))
def test_pdf_bytes_are_unchanged_for_the_fixture_evidence(name):
    evidence, context = _variant(name)
    assert hashlib.sha256(render_pdf(evidence, context)).hexdigest() == GOLDEN_SHA256[name]
