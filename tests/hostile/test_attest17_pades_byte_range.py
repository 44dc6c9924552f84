"""``verify --pdf``: a PAdES signature's /ByteRange is checked for its one valid shape before any
byte of the file is hashed.

The defect: pyHanko hashes every (offset, length) pair the /ByteRange lists before it judges the
coverage, each pair up to the end of the file.  A 372 KB PDF whose appended signature listed
20,000 pairs ``0 1000000000`` took verify 50 s (7 GB hashed), and the time grows with the square of
the file's size: a 14 MB one would have run for days.  Now the range must be exactly
``[0 a b c]``, the gap ``a..b`` exactly the /Contents hex string and ``b + c`` the file's length (the
only shape that covers the whole file, which verify requires anyway); any other is exit 13 at once.
"""

from __future__ import annotations

import io
import time

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from auditor.attest.pades import sign_pdf
from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared


def _with_byte_range(attested, byte_range) -> bytes:  # noqa: F811
    """The rendering, then an update adding an invisible signature field whose signature holds a
    real CMS signature (made by sign_pdf) and the /ByteRange ``byte_range(length of the update
    without it)``."""
    cms = PdfFileReader(io.BytesIO(sign_pdf(attested["pdf"], attested["cert"], attested["cert_key"]))) \
        .embedded_signatures[0].pkcs7_content
    writer = IncrementalPdfFileWriter(io.BytesIO(attested["pdf"]))
    fields.append_signature_field(writer, fields.SigFieldSpec("lbaudit-attestation", on_page=0))
    signature = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Sig"),
        generic.NameObject("/Filter"): generic.NameObject("/Adobe.PPKLite"),
        generic.NameObject("/SubFilter"): generic.NameObject("/ETSI.CAdES.detached"),
        generic.NameObject("/ByteRange"): generic.ArrayObject([generic.NumberObject(v) for v in byte_range]),
        generic.NameObject("/Contents"): generic.ByteStringObject(cms),
    })
    reference = writer.add_object(signature)
    for field in writer.root["/AcroForm"]["/Fields"]:
        widget = field.get_object()
        if widget.get("/T") == "lbaudit-attestation":
            widget[generic.NameObject("/V")] = reference
            writer.update_container(widget)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_byte_range_of_many_whole_file_pairs_fails_13_at_once(attested):  # noqa: F811
    pdf = _with_byte_range(attested, [v for _ in range(20_000) for v in (0, 1_000_000_000)])
    started = time.monotonic()
    result = _verify(attested, pdf)
    elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "/ByteRange" in result.output, result.output
    assert elapsed < 15, f"verify took {elapsed:.1f} s"


@pytest.mark.parametrize("byte_range", [
    [0, 1000, 500, 200],        # overlapping
    [0, 1000, 2000, 10],        # a gap that is not the signature, not to the end
    [5, 1000, 2000, 10],        # not from the start
    [0, 1000, 2000, -5],        # negative
], ids=["overlap", "short", "not-from-0", "negative"])
def test_a_byte_range_of_another_shape_fails_13_naming_it(attested, byte_range):  # noqa: F811
    result = _verify(attested, _with_byte_range(attested, byte_range))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "/ByteRange" in result.output, result.output
