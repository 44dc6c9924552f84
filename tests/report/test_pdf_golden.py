"""The PDF bytes of the fixture evidence, pinned: refactoring the renderer must not change a byte.

The digests were taken at the commit before the PDF was split into a format-neutral view
(``auditor/report/view.py``) and its layout (``auditor/report/_pdf_sections.py``).  They depend on
the pinned reportlab and the bundled fonts as well as on lbaudit: after upgrading either on purpose,
render at the previous commit and with the upgrade, compare the documents, then take new digests.
Retaken when the netns fact section was added: the method's "Facts collected" table lists every
section, so it has one more row ("netns — not collected"); nothing else changed.
"""

from __future__ import annotations

import hashlib

import pytest

from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence

GOLDEN_SHA256 = {
    "full-signed": "1b49d7df9a755961e2a2172464031df881cc326ff6a5847176001bc4ae429df0",
    "unsigned-assessor": "78cccdbf67a79659571a9b48220cced429deaeeca6482e839fa6e9bbd555c284",
    "incomplete": "fd29e6b82dccc7014e4ff1a04effe4f3768a47bad244019b9dfa98d8b590b32b",
    "unicode-owner": "901c793f15ffabaf127a4a15e4a5ee6eec3b0131a00409ac6e3bfe00e132a306",
    "many-findings": "8e78369e5c6c27f0970921171dc5488f99a57ba09ba8315c51a413b549511b14",
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
