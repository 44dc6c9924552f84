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
    "full-signed": "938eacd401e2759850ee5236973a1eb86b1a63d9495c803ced3e5c7bd612cf53",
    "unsigned-assessor": "d1ffb730692529aa4871820446e7dc608685567ebe9c8b6db14a008788dd1357",
    "incomplete": "743ded9a4f5922c2aabbdb4553637e17abbf677b4f7a9a208bfebbf330f58040",
    "unicode-owner": "a9200f2b3c6fbae2b4ee3044292f213cc362795ac52645c335530c4bdb52cceb",
    "many-findings": "a7d15c945c49dee870c63b5a07a04d8ae7db3c1d4b06e52f95e0c7928972fce7",
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
