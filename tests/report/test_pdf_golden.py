"""The PDF bytes of the fixture evidence, pinned: refactoring the renderer must not change a byte.

The digests were last regenerated on purpose (LBAUDIT_UPDATE_GOLDEN=1, twice) when the PDF became a
stand-alone assessment report (issue 12: scope box, control text, findings as sentences grouped by
workload, attestation page), after looking at the rendered pages.  They depend on
the pinned reportlab and the bundled fonts as well as on lbaudit: after upgrading either on purpose,
render at the previous commit and with the upgrade, compare the documents, then take new digests.
Retaken when the netns fact section was added: the method's "Facts collected" table lists every
section, so it has one more row ("netns — not collected"); nothing else changed.
Retaken for rendering revision 5 (the embedded evidence's name as plain text): the fixture's name
has no character to escape, so only the renderer id the PDF records changed.  Retaken for rendering
revision 7 (the Unicode noncharacters as escapes), likewise: only the renderer id changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence
from tests.report.conftest import UPDATE_GOLDEN_ENV

# The digests live in a golden file: LBAUDIT_UPDATE_GOLDEN=1 rewrites it (run twice: the second run,
# without the variable, must pass, proving the bytes are stable), then review the rendered pages.
GOLDEN_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "attestation-pdf.sha256.json"
VARIANTS = ("full-signed", "incomplete", "many-findings", "unicode-owner", "unsigned-assessor", "organisation")


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
    if name == "organisation":
        evidence = make_evidence(only_rules=["privileged-ports"])
        logo = (Path(__file__).resolve().parents[2] / "reports" / "logo.png").read_bytes()
        return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), assessor="Ada Example (QSA)",
                                       org_name="Example Corp", org_logo=logo)
    evidence = make_evidence(extra_listeners=300)
    return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="big.evidence.json")


@pytest.mark.parametrize("name", VARIANTS)
def test_pdf_bytes_are_unchanged_for_the_fixture_evidence(name):
    evidence, context = _variant(name)
    digest = hashlib.sha256(render_pdf(evidence, context)).hexdigest()
    golden = json.loads(GOLDEN_FILE.read_text(encoding="utf-8")) if GOLDEN_FILE.is_file() else {}
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        golden[name] = digest
        GOLDEN_FILE.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert name in golden, f"no golden digest for {name}; create it with {UPDATE_GOLDEN_ENV}=1 and look at the pages"
    assert digest == golden[name], f"{name}: PDF bytes changed; if intended, rerun with {UPDATE_GOLDEN_ENV}=1"
