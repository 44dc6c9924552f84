"""Hostile PDFs for ``lbaudit verify --pdf`` beyond tests/hostile/test_verify.py: each ends in its exact code.

13 (VERIFY_PDF_MISMATCH) for a PDF that is not exactly lbaudit's rendering of this evidence followed
by at most one PAdES signature: a second signature, an attachment swapped in an incremental update.
2 for a file that is no PDF at all, or no regular file (nothing could be verified).
"""

from __future__ import annotations

import io
import os

import pytest
from click.testing import CliRunner
from pypdf import PdfWriter

from auditor.attest.pades import sign_pdf
from auditor.cli import cli
from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared

pytestmark = pytest.mark.xdist_group("hostile_verify")


@pytest.mark.slow
def test_a_second_pades_signature_fails_13(attested):  # noqa: F811
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    once = sign_pdf(attested["pdf"], attested["cert"], attested["cert_key"])
    signer = signers.SimpleSigner.load(str(attested["cert_key"]), str(attested["cert"]))
    twice = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(once)), signers.PdfSignatureMetadata(
        field_name="second", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer).getvalue()
    assert twice.startswith(once)
    result = _verify(attested, twice)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH == 13, result.output
    assert "2 revisions follow the rendering (a PAdES signature is one)" in result.output


def test_an_evidence_attachment_added_in_an_update_fails_13(attested):  # noqa: F811
    """An incremental update attaching other evidence under the same name leaves the rendered bytes
    alone: only exactly the rendering (and one signature) after it is verified."""
    writer = PdfWriter(io.BytesIO(attested["pdf"]), incremental=True)
    writer.add_attachment(attested["evidence"].name, attested["raw"].replace(b"web01", b"web09"))
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(attested["pdf"])
    result = _verify(attested, out.getvalue())
    assert result.exit_code == 13, result.output
    assert f"from byte offset {len(attested['pdf'])} on is not verified" in result.output


@pytest.mark.parametrize("content", [b"", b"%PD", b"{}\n", b"\x89PNG\r\n\x1a\n"], ids=["empty", "short", "json", "png"])
def test_a_file_that_is_no_pdf_is_exit_2_naming_it(attested, content):  # noqa: F811
    result = _verify(attested, content, name="not.pdf")
    assert result.exit_code == 2, result.output
    assert "not.pdf: not a PDF (it does not start with %PDF-)" in result.output


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_pdf_path_that_is_no_regular_file_is_exit_2(attested, kind):  # noqa: F811
    target = attested["dir"] / f"special-{kind}.pdf"
    if os.path.lexists(target):
        os.unlink(target)
    if kind == "fifo":
        os.mkfifo(target)
    else:
        os.symlink("/dev/zero", target)
    result = CliRunner().invoke(cli, ["verify", str(attested["evidence"]), "--pubkey", str(attested["pubkey"]),
                                      "--pdf", str(target)])
    assert result.exit_code == 2, result.output
    assert str(target) in result.output
