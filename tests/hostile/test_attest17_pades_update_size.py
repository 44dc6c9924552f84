"""``verify --pdf``: the update after the rendering is parsed by pyHanko only when it is no larger
than a PAdES signature's update can be.

The defect: whatever followed the rendering, up to the PDF size limit (256 MiB), was handed to
pyHanko whole, which reads every entry of a cross-reference table into memory before anything
is judged.  A 40 MB update holding one xref table of 2,000,000 entries took verify 49 s and
590 MB; one of 256 MiB would take minutes and gigabytes.  An update signing the rendering (an
invisible signature field, the CMS signature, an xref of a dozen entries) is a few kilobytes; a
larger one than MAX_PADES_UPDATE_BYTES is exit 13 at once, saying how large it is.
"""

from __future__ import annotations

import re
import time

from auditor.attest.pades import MAX_PADES_UPDATE_BYTES
from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared


def _with_xref_of(pdf: bytes, entries: int) -> bytes:
    """``pdf``, then an incremental update that is one cross-reference table of ``entries`` entries."""
    previous = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    root = re.search(rb"/Root (\d+ 0 R)", pdf).group(1)
    table = b"\nxref\n0 %d\n" % entries + b"0000000000 65535 f \n" + b"0000000001 00000 n \n" * (entries - 1)
    return (pdf + table + b"trailer\n<< /Size %d /Prev %d /Root %s >>\nstartxref\n%d\n%%%%EOF\n"
            % (entries, previous, root, len(pdf) + 1))


def test_an_update_larger_than_a_signature_fails_13_at_once(attested):  # noqa: F811
    pdf = _with_xref_of(attested["pdf"], 2_000_000)
    assert len(pdf) - len(attested["pdf"]) > MAX_PADES_UPDATE_BYTES
    started = time.monotonic()
    result = _verify(attested, pdf)
    elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "larger than a PAdES signature" in result.output, result.output
    assert elapsed < 15, f"verify took {elapsed:.1f} s"


def test_a_small_update_is_still_judged_by_what_it_holds(attested):  # noqa: F811
    result = _verify(attested, _with_xref_of(attested["pdf"], 20))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "larger than a PAdES signature" not in result.output
    assert "not a readable signed revision" in result.output, result.output
