"""The PDF as a stand-alone assessment report (issue 12): cover scope box, document id, organisation
name and logo, NIST control text with SP 800-53A words, findings as sentences and grouped at scale,
the attestation page with the assessor and the signatures, bookmarks that land on their sections.

Everything is read back from real PDFs with pypdf (an independent reader)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from auditor.attest.signing import generate_keypair, load_public_key, public_key_fingerprint, sign_evidence_file
from auditor.attest.verify import verify
from auditor.model.result import ExitCode
from auditor.report import ReportContext
from auditor.report import _pdf_sections as sections
from auditor.report.pdf import RenderInputs, find_render_inputs, render_pdf
from auditor.report.view import CLUSTER_ABOVE, attestation_view, document_id, value_sentence
from auditor.storage.evidence import evidence_bytes
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

ASSESSOR = "Ada Example (QSA)"
# One pytest-xdist worker runs this module (--dist loadgroup): otherwise both render ``small``
# and read its pages back, each for its own share of the tests.
pytestmark = pytest.mark.xdist_group("pdf_assessment_report")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def small():
    evidence = make_evidence()
    raw = evidence_bytes(evidence)
    pdf = render_pdf(evidence, ReportContext(evidence_bytes=raw, evidence_path="web01.evidence.json",
                                             assessor=ASSESSOR, org_name="Example Corp"))
    return evidence, raw, PdfReader(io.BytesIO(pdf))


@pytest.fixture(scope="module")
def small_pages(small):
    """The text of each page of ``small``, read back once: pypdf's extraction is ~25 ms a page, and
    the tests below read the same pages (a tuple: no test can change what the next one reads)."""
    _, _, reader = small
    return tuple(page.extract_text() for page in reader.pages)


@pytest.mark.slow  # renders and reads back a PDF
def test_cover_has_the_scope_box_document_id_organisation_and_one_evidence_digest(small, small_pages):
    evidence, raw, reader = small
    cover = _flat(small_pages[0])
    assert "Scope of this assessment" in cover
    assert "Target live host web01.example.test" in cover
    assert "Ran with root (uid 0), with administrative privileges" in cover
    assert "Could not be seen" in cover and "audit: auditctl -l: permission denied" in cover
    assert "1 finding not reviewed as a result" in cover
    from auditor.model.base import sha256_hex
    digest = sha256_hex(raw)
    assert document_id(digest) in cover and document_id(digest).startswith("LBA-" + digest[:4].upper())
    assert "Example Corp" in cover
    from auditor.report.view import content_sha256
    assert digest in cover.replace(" ", "") and content_sha256(raw) not in cover.replace(" ", "")
    pages = [_flat(text) for text in small_pages]
    start = next(i for i, text in enumerate(pages) if "5 Method and scope" in text)
    method = " ".join(pages[start:])
    assert "Two digests of the evidence" in method and content_sha256(raw) in method.replace(" ", "")


def test_attestation_page_names_the_assessor_in_the_signature_block_and_states_the_signatures(small_pages):
    last = _flat(small_pages[-1])
    pages = [_flat(text) for text in small_pages]
    attestation = next(i for i, text in enumerate(pages) if "6 Attestation" in text)
    block = " ".join(pages[attestation:])
    assert re.search(r"Assessor Name " + re.escape(ASSESSOR) + r" Role Assessor", block), last
    assert "Evidence signature: the evidence was not signed" in block
    assert "PDF signature (PAdES)" in block


def test_controls_carry_nist_statement_and_sp800_53a_objective_methods_and_determination(small_pages):
    text = " ".join(_flat(page) for page in small_pages)
    assert "CM-7 Least Functionality: other than satisfied" in text
    assert "Control. a. Configure the system to provide only [Assignment: mission-essential capabilities]" in text
    assert "CM-07b.[02] the use of [Assignment: ports] is prohibited or restricted;" in text
    assert "Examine. Configuration management policy;" in text and "Interview." in text and "Test." in text
    assert "AC-4 Information Flow Enforcement: satisfied" in text
    assert "not satisfied" not in text.replace("other than satisfied", "")


def test_findings_read_as_sentences_with_one_header_per_rule_and_the_subject_once(small_pages):
    text = " ".join(_flat(page) for page in small_pages)
    assert "Observed: 28232 Expected: at least 30000" in text
    rule = text[text.index("wildcard-listeners: No service listens"):text.index("port-range: The ephemeral")]
    assert rule.count("Status Subject What was found") == 1
    assert rule.count("tcp 0.0.0.0:5432 postgres pid 812") == 1


def test_value_sentences_are_words_not_field_dumps():
    assert value_sentence({"address": "0.0.0.0", "port": 22, "wildcard": True}) == "address 0.0.0.0, port 22, wildcard yes"
    assert value_sentence({"at_least": 4096}) == "at least 4096"
    assert value_sentence({"one_of": [0, 1]}) == "one of 0, 1"
    assert value_sentence([{"address": "127.0.0.1"}, {"port": 80}]) == "address 127.0.0.1; or port 80"


def test_long_tokens_break_after_separators_not_mid_word():
    from auditor.report._pdf_theme import load_theme

    load_theme()  # registers the fonts the widths are measured in
    path = "/usr/lib/very-long-directory-name/another-long-directory-name/and-a-binary-called-something"
    lines = sections.wrap_plain(f"process {path} listens", 120.0).split("\n")
    assert len(lines) > 2
    assert "".join(lines).replace(" ", "") == f"process{path}listens"
    for line in lines[:-1]:  # every break is between words or right after a separator
        assert line.endswith(("/", "-", "process")), lines
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    wrapped = sections.wrap_plain(" ".join(words), 60.0).split("\n")
    assert len(wrapped) > 1 and [w for line in wrapped for w in line.split()] == words


@pytest.mark.slow  # renders many findings
def test_many_findings_are_grouped_by_workload_with_counts():
    evidence = make_evidence(extra_listeners=1500)
    view = attestation_view(evidence, evidence_name="e.json", evidence_sha256="ab" * 32, content_sha256="cd" * 32,
                            fingerprint=None, assessor=ASSESSOR)
    group = next(g for g in view.findings if g.rule_id == "wildcard-listeners")
    assert len(group.rows) > CLUSTER_ABOVE
    worker = next(c for c in group.clusters if c.workload == "worker-#")
    assert worker.count == 1500 and worker.more == 1500 - len(worker.subjects)
    assert sum(c.count for c in group.clusters) == len(group.rows)
    pdf = render_pdf(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence)))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) < 15
    text = " ".join(_flat(p.extract_text()) for p in reader.pages)
    assert "worker-#: 1500 findings" in text and f"and {worker.more} more (in the evidence)" in text


def test_bookmarks_land_on_the_page_and_height_of_their_heading(small, small_pages):
    _, _, reader = small
    for item in reader.outline:
        page = reader.get_destination_page_number(item)
        text = small_pages[page]
        assert item.title in text, (item.title, page)
        assert item["/Type"] == "/XYZ" and item["/Top"] > 0
    pages = [reader.get_destination_page_number(i) for i in reader.outline]
    assert pages == sorted(pages) and pages[0] == 1 and pages[-1] > pages[0]


def _logo(path: Path) -> Path:
    Image.new("RGB", (60, 30), (20, 80, 160)).save(path)
    return path


@pytest.mark.slow  # renders and verifies a PDF
def test_report_with_org_name_logo_and_assessor_verifies_against_its_evidence(tmp_path):
    evidence_path, _ = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(evidence_path, private)
    pdf = tmp_path / "report.pdf"
    result = run_cli("report", evidence_path, "--pdf", pdf, "--assessor", ASSESSOR, "--org-name", "Example Corp",
                     "--org-logo", _logo(tmp_path / "logo.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = pdf.read_bytes()
    [inputs] = find_render_inputs(data)
    assert inputs.org_name == "Example Corp" and inputs.org_logo and inputs.assessor == ASSESSOR
    reader = PdfReader(io.BytesIO(data))
    assert any("/Image" in str(x) for x in reader.pages[0]["/Resources"]["/XObject"].values()) or \
        reader.pages[0].images
    assert "Example Corp" in reader.pages[0].extract_text()
    checked = verify(evidence_path, public, pdf)
    assert checked.exit_code == ExitCode.COMPLIANT and checked.get("pdf").ok is True
    fingerprint = public_key_fingerprint(load_public_key(public))
    assert fingerprint in _flat(" ".join(p.extract_text() for p in reader.pages[-2:])).replace(" ", "")


def test_a_record_without_organisation_reads_as_before():
    inputs = RenderInputs(evidence_name="e.json", assessor="A", signature_key=None, renderer="r")
    assert b"org_" not in inputs.record()
    assert RenderInputs.from_record(inputs.record()) == inputs


@pytest.mark.parametrize(("content", "message"), [
    (b"GIF89a....", "must be a PNG or JPEG image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a readable PNG or JPEG image"),
])
def test_a_bad_logo_is_exit_2_naming_the_file(tmp_path, content, message):
    evidence_path, _ = write_evidence_file(tmp_path, make_evidence())
    logo = tmp_path / "logo.png"
    logo.write_bytes(content)
    result = run_cli("report", evidence_path, "--pdf", tmp_path / "r.pdf", "--org-logo", logo, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "logo.png" in result.stderr
    assert not (tmp_path / "r.pdf").exists()
