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
    "full-signed": "ff4e9ec5fe6596e8f78e5a2731ffb921f98fc4447ef6c6ccf03af49f5a6a9131",
    "unsigned-assessor": "1708589e230d83f3337aef302524816adf9d7ca3487d325658a157618c61c389",
    "incomplete": "4b82ea76042c5b2d88757b6dad7c472212eeb773a37c9bf71e8b18626fbf8670",
    "unicode-owner": "cd829b73a0de0f7c3a9c5dac9ea8b4447309a0f5483ea8088b955135d6129b96",
    "many-findings": "2b44355387365b1abf8e9568bb8fa3719d0fc6fd62d8be64c874ae5f2b9871ec",
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
