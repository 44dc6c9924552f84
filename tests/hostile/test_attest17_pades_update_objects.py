"""``verify --pdf``: pyHanko's difference analysis runs only on an update that writes as few
objects as a PAdES signature's does, and what it says is quoted in a line one can read.

The defect: the difference analysis costs about 0.6 ms an object written by the update; a PAdES
update signed with a self-signed certificate that also wrote 70,000 small objects (4 MB, under
the update's byte limit) took verify 42 s and 290 MB, and its verdict quoted pyHanko's list of
the objects it could not explain: 16 KB on one line.  A signature's update writes about seven
objects (lbaudit's: page, form, catalog, info, field, signature, metadata); more than
MAX_PADES_UPDATE_OBJECTS is exit 13 before the analysis, and a message of pyHanko's is cut.
"""

from __future__ import annotations

import io
import time

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from auditor.attest.pades import MAX_PADES_UPDATE_OBJECTS
from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared


def _signed_with_objects(attested, count: int) -> bytes:  # noqa: F811
    """The rendering, then one PAdES update that also writes ``count`` small arrays, hung off /Info."""
    writer = IncrementalPdfFileWriter(io.BytesIO(attested["pdf"]))
    hung = generic.ArrayObject(writer.add_object(generic.ArrayObject([generic.NumberObject(i)])) for i in range(count))
    info = writer.trailer["/Info"]
    info[generic.NameObject("/X")] = writer.add_object(hung)
    writer.update_container(info)
    signer = signers.SimpleSigner.load(str(attested["cert_key"]), str(attested["cert"]))
    metadata = signers.PdfSignatureMetadata(field_name="lbaudit-attestation", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def test_an_update_writing_many_objects_fails_13_before_the_analysis(attested):  # noqa: F811
    pdf = _signed_with_objects(attested, 20_000)
    started = time.monotonic()
    result = _verify(attested, pdf)
    elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert f"at most {MAX_PADES_UPDATE_OBJECTS}" in result.output, result.output
    assert elapsed < 10, f"verify took {elapsed:.1f} s"


def test_what_pyhanko_finds_is_quoted_in_a_readable_line(attested):  # noqa: F811
    result = _verify(attested, _signed_with_objects(attested, MAX_PADES_UPDATE_OBJECTS - 20))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("pdf ")]
    assert "changes the document" in line, line
    assert len(line) < 1500, len(line)
