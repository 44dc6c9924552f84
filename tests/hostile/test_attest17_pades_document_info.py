"""``verify --pdf``: a PAdES update may add its signature and nothing a PDF viewer shows.

The defect: after the rendering, verify accepted any update that pyHanko's difference analysis
accepts, and pyHanko lets an update rewrite the document information dictionary (``/Info``) and
add XMP metadata freely (its DocInfoRule and MetadataUpdateRule).  Those are what a viewer shows as
the document's title (the title bar, the browser tab: pdf.js prefers XMP ``dc:title``), author and
subject, and lbaudit writes the host, the assessor and the verdict there.  A PAdES update signed
with any self-signed certificate that retitled NOT COMPLIANT evidence of web01 "other-host --
COMPLIANT", author "Mallory", verified (exit 0, "verified: ... and attestation.pdf").

Now the signed revision's ``/Info`` must be the rendering's but for the two entries signing
itself sets (``/ModDate``, and ``/Producer`` extended, as pyHanko does), and XMP metadata it adds
may hold only the modification date and producer: anything else is exit 13.
"""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model as xmp
from pyhanko.sign import fields, signers

from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared


def _signed_update(attested, change) -> bytes:  # noqa: F811
    """The rendering, then one real PAdES update (pyHanko, a self-signed certificate) that also
    makes ``change`` to its writer."""
    writer = IncrementalPdfFileWriter(io.BytesIO(attested["pdf"]))
    change(writer)
    signer = signers.SimpleSigner.load(str(attested["cert_key"]), str(attested["cert"]))
    metadata = signers.PdfSignatureMetadata(field_name="lbaudit-attestation", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def _retitle(writer) -> None:
    writer.document_meta.title = "Compliance attestation: other-host.example.test -- COMPLIANT"
    writer.document_meta.subject = "attestation of other-host.example.test: COMPLIANT"
    writer.document_meta.author = "Mallory"


def _info_entry(key: str, value: str):
    def change(writer) -> None:
        info = writer.trailer["/Info"]
        info[generic.NameObject(key)] = generic.TextStringObject(value)
        writer.update_container(info)
    return change


def _replace_producer(writer) -> None:
    _info_entry("/Producer", "lbaudit COMPLIANT")(writer)


def _xmp_title_only(writer) -> None:
    # The /Info dictionary left alone (xmp_unmanaged), only an XMP dc:title added: what pdf.js shows.
    title = xmp.XmpValue(xmp.XmpArray.alternative([xmp.XmpValue(
        "other-host.example.test: COMPLIANT", xmp.Qualifiers.of((xmp.XML_LANG, xmp.XmpValue("x-default"))))]))
    writer.document_meta.xmp_unmanaged = True
    writer.document_meta.xmp_extra = [xmp.XmpStructure.of((xmp.DC_TITLE, title))]


@pytest.mark.parametrize("change", [
    _retitle,
    _info_entry("/Title", "Compliance attestation: other-host.example.test"),
    _info_entry("/LbauditEvidenceSHA256", "0" * 64),
    _info_entry("/Keywords", "COMPLIANT"),
    _replace_producer,
    _xmp_title_only,
], ids=["title-subject-author", "info-title", "info-lbaudit-digest", "info-new-keywords", "producer-replaced",
        "xmp-dc-title"])
def test_a_pades_update_that_changes_what_a_viewer_shows_fails_13(attested, change):  # noqa: F811
    result = _verify(attested, _signed_update(attested, change))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "pdf        FAIL" in result.output
    assert "document information" in result.output or "XMP metadata" in result.output, result.output


def test_a_plain_pades_update_by_pyhanko_still_verifies(attested):  # noqa: F811
    """pyHanko's own signing sets /ModDate, extends /Producer and adds XMP with both: still verified."""
    result = _verify(attested, _signed_update(attested, lambda writer: None))
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert "followed by a valid PAdES signature" in result.output
