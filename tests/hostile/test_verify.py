"""Hostile PDFs for ``lbaudit verify --pdf``: it must prove what the pages show, not just the attachment.

The defect: a PDF to which an incremental update was appended that paints "COMPLIANT" over
"NOT COMPLIANT" verified, because verify read the embedded evidence and the printed digest only.
Now verify renders the evidence again and requires the PDF to be exactly that rendering, followed
by nothing or by one valid PAdES signature (pyHanko) that adds nothing else; anything else is
exit 13 (VERIFY_PDF_MISMATCH), naming the byte offset where the unverified revision starts.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, NameObject

from auditor.attest.pades import sign_pdf
from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.cli import cli
from auditor.model.result import ExitCode, Verdict
from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from tests.attest.test_pades import _self_signed
from tests.evidence_fixtures import make_evidence, write_evidence_file

REPO_ROOT = Path(__file__).resolve().parents[2]
# One pytest-xdist worker runs this module (--dist loadgroup): otherwise both set up
# ``attested`` (evidence signed, a PDF rendered, a certificate made) and pyHanko's import, each for its own share of the tests.
pytestmark = pytest.mark.xdist_group("hostile_verify")

# Paints a white box over the cover's verdict panel and writes the opposite verdict in it.
PAINT_COMPLIANT = (b"q 1 1 1 rg 60 600 480 90 re f Q "
                   b"BT /F1 36 Tf 0 0.5 0 rg 80 630 Td (COMPLIANT) Tj ET")


@pytest.fixture(scope="module")
def attested(tmp_path_factory):
    """Signed NOT COMPLIANT evidence, its PDF attestation (as lbaudit renders it) and a certificate."""
    directory = tmp_path_factory.mktemp("attested")
    evidence = make_evidence()
    assert evidence.result.verdict == Verdict.NON_COMPLIANT
    path, raw = write_evidence_file(directory, evidence)
    private, public = generate_keypair(directory / "keys")
    fingerprint = sign_evidence_file(path, private)
    pdf = render_pdf(evidence, ReportContext(evidence_bytes=raw, evidence_path=path.name,
                                             signature_fingerprint=fingerprint))
    cert, cert_key, _ = _self_signed(directory)
    return {"dir": directory, "evidence": path, "raw": raw, "pubkey": public, "pdf": pdf, "cert": cert,
            "cert_key": cert_key, "fingerprint": fingerprint, "model": evidence}


def _verify(attested, pdf_bytes: bytes, name: str = "attestation.pdf"):
    target = attested["dir"] / name
    target.write_bytes(pdf_bytes)
    return CliRunner().invoke(cli, ["verify", str(attested["evidence"]), "--pubkey", str(attested["pubkey"]),
                                    "--pdf", str(target)])


def _paint_with_pypdf(pdf: bytes) -> bytes:
    """A real incremental update made by pypdf: a new content stream on page 1 painting COMPLIANT."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    page = writer.pages[0]
    overlay = DecodedStreamObject()
    overlay.set_data(PAINT_COMPLIANT)
    page[NameObject("/Contents")] = ArrayObject([page.raw_get("/Contents"), writer._add_object(overlay)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_plain_rendering_verifies(attested):
    result = _verify(attested, attested["pdf"])
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert "pdf        ok" in result.output


def test_pypdf_update_painting_compliant_fails_13_and_names_the_offset(attested):
    painted = _paint_with_pypdf(attested["pdf"])
    assert painted.startswith(attested["pdf"]) and len(painted) > len(attested["pdf"])
    # pypdf (what an attacker would use) now reads a page 1 that ends by painting COMPLIANT
    page = PdfReader(io.BytesIO(painted)).pages[0]
    assert b"(COMPLIANT) Tj" in page.get_contents().get_data()
    result = _verify(attested, painted)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"from byte offset {len(attested['pdf'])} on is not verified" in result.output


def test_pades_signed_pdf_verifies(attested):
    signed = sign_pdf(attested["pdf"], attested["cert"], attested["cert_key"])
    result = _verify(attested, signed)
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert "valid PAdES signature" in result.output


def test_pades_signed_then_an_unsigned_update_fails_13(attested):
    signed = sign_pdf(attested["pdf"], attested["cert"], attested["cert_key"])
    painted = _paint_with_pypdf(signed)
    assert painted.startswith(signed)
    result = _verify(attested, painted)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"from byte offset {len(attested['pdf'])} on is not verified" in result.output


def test_signed_revision_that_also_paints_the_page_fails_13(attested):
    """An attacker signs with their own certificate, in the same update that paints COMPLIANT."""
    # pyHanko is imported here, not at collection: ~0.6 s of CPU a pytest-xdist worker need not pay
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(attested["pdf"]))

    stream = writer.add_object(generic.StreamObject(stream_data=PAINT_COMPLIANT))
    writer.add_stream_to_page(0, stream)
    signer = signers.SimpleSigner.load(str(attested["cert_key"]), str(attested["cert"]))
    out = signers.sign_pdf(writer, signers.PdfSignatureMetadata(
        field_name="x", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES), signer=signer)
    result = _verify(attested, out.getvalue())
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "changes the document" in result.output


def test_visible_signature_stamping_compliant_fails_13(attested):
    """A signature whose widget appearance itself paints COMPLIANT on the cover."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    writer = IncrementalPdfFileWriter(io.BytesIO(attested["pdf"]))
    fields.append_signature_field(writer, fields.SigFieldSpec("stamp", on_page=0, box=(60, 600, 540, 690)))
    signer = signers.SimpleSigner.load(str(attested["cert_key"]), str(attested["cert"]))
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="stamp", md_algorithm="sha256",
                                     subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer, stamp_style=TextStampStyle(stamp_text="COMPLIANT"))
    out = pdf_signer.sign_pdf(writer)
    result = _verify(attested, out.getvalue())
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "visible appearance" in result.output


def test_truncated_pdf_fails_13(attested):
    result = _verify(attested, attested["pdf"][:-200])
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "truncated" in result.output


@pytest.mark.slow  # renders two PDFs
def test_pdf_of_other_evidence_fails_13(attested):
    other = make_evidence(hostname="db07.example.test")
    _, other_raw = write_evidence_file(attested["dir"] / "other", other)
    pdf = render_pdf(other, ReportContext(evidence_bytes=other_raw, evidence_path="evidence.json",
                                          signature_fingerprint=attested["fingerprint"]))
    result = _verify(attested, pdf)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_a_byte_flipped_inside_the_rendered_revision_fails_13(attested, where):
    pdf = attested["pdf"]
    at = int(len(pdf) * where)
    flipped = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]
    result = _verify(attested, flipped)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"byte offset {at} on" in result.output


def test_junk_after_the_end_of_file_fails_13(attested):
    result = _verify(attested, attested["pdf"] + b"% COMPLIANT\n")
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"from byte offset {len(attested['pdf'])} on is not verified" in result.output


@pytest.mark.slow  # renders and signs a second PDF
def test_pdf_naming_another_signing_key_fails_13(attested):
    """Rendered (with a forged .sig beside it) to print a key that never signed this evidence."""
    forged = "ab" * 32
    pdf = render_pdf(attested["model"], ReportContext(evidence_bytes=attested["raw"], evidence_path="evidence.json",
                                                      signature_fingerprint=forged))
    result = _verify(attested, pdf)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"prints signing key {forged}" in result.output


def _run_without(module: str, attested, pdf_bytes: bytes) -> subprocess.CompletedProcess:
    """The real entry point in a Python where ``module`` cannot be imported (a plain install)."""
    target = attested["dir"] / f"without-{module}.pdf"
    target.write_bytes(pdf_bytes)
    code = (f"import sys; sys.modules[{module!r}] = None; from auditor.cli import main; "
            f"sys.argv = ['lbaudit', 'verify', {str(attested['evidence'])!r}, '--pubkey', "
            f"{str(attested['pubkey'])!r}, '--pdf', {str(target)!r}]; main()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


@pytest.mark.slow  # a child interpreter without pypdf
def test_verify_pdf_needs_no_pypdf(attested):
    proc = _run_without("pypdf", attested, attested["pdf"])
    assert proc.returncode == ExitCode.COMPLIANT, proc.stdout + proc.stderr


@pytest.mark.slow  # a child interpreter without pyhanko
def test_signed_pdf_without_pyhanko_fails_13_saying_what_to_install(attested):
    signed = sign_pdf(attested["pdf"], attested["cert"], attested["cert_key"])
    proc = _run_without("pyhanko", attested, signed)
    assert proc.returncode == ExitCode.VERIFY_PDF_MISMATCH, proc.stdout + proc.stderr
    assert "cannot verify the PAdES revision: install lbaudit[pades]" in proc.stdout
    plain = _run_without("pyhanko", attested, attested["pdf"])  # nothing appended: pyHanko not needed
    assert plain.returncode == ExitCode.COMPLIANT, plain.stdout + plain.stderr


def test_pdf_of_another_renderer_fails_13_saying_so(attested, monkeypatch):
    """A PDF rendered by another lbaudit/reportlab/theme cannot be reproduced: 13, and the reason."""
    import auditor.report.pdf as pdf_module

    monkeypatch.setattr(pdf_module, "renderer_id", lambda: "lbaudit 0.0.1, reportlab 3.0, theme 0000000000000000")
    old = render_pdf(attested["model"], ReportContext(evidence_bytes=attested["raw"], evidence_path="evidence.json",
                                                      signature_fingerprint=attested["fingerprint"]))
    monkeypatch.undo()
    result = _verify(attested, old)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "was rendered by lbaudit 0.0.1, reportlab 3.0" in result.output


def test_a_record_planted_in_an_appended_update_is_not_believed(attested):
    """The update carries a render record with another assessor; the original's rendering still decides."""
    planted = attested["pdf"] + b"\n% /LbauditRender <" + (
        b'{"assessor":"Mallory","evidence_name":"evidence.json","renderer":"x","signature_key":null}'.hex().encode()
    ) + b">\n"
    result = _verify(attested, planted)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"from byte offset {len(attested['pdf'])} on is not verified" in result.output
