"""``verify --pdf``: a compressed cross-reference stream in the update after the rendering may
decode to no more than an update's xref can hold.

The defect: the update's byte limit bounds what is read, not what it decompresses to, and pyHanko
decodes an xref stream up to 256 MiB (the size its /W and /Index announce) and reads every entry
into memory.  A 62 KB update, one Flate xref stream of 16,000,000 entries, took verify 208 s and
1.5 GB before it was killed.  The xref stream of an update that signs the rendering lists a few
objects; pyHanko is now told to decode at most MAX_XREF_STREAM_BYTES of one (and an object stream at
most MAX_OBJECT_STREAM_BYTES), and more is exit 13 at once.
"""

from __future__ import annotations

import re
import time
import zlib

from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared


def _with_xref_stream_of(pdf: bytes, entries: int) -> bytes:
    """``pdf``, then an update that is one Flate-compressed xref stream of ``entries`` entries."""
    previous = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    root = re.search(rb"/Root (\d+ 0 R)", pdf).group(1)
    data = zlib.compress(b"\x01\x00\x00\x00" * entries, 9)
    stream = (b"\n99999999 0 obj\n<< /Type /XRef /Size %d /W [1 2 1] /Index [0 %d] /Prev %d /Root %s "
              b"/Filter /FlateDecode /Length %d >>\nstream\n" % (entries, entries, previous, root, len(data))
              + data + b"\nendstream\nendobj\n")
    return pdf + stream + b"startxref\n%d\n%%%%EOF\n" % (len(pdf) + 1)


def test_an_xref_stream_decompressing_to_millions_of_entries_fails_13_at_once(attested):  # noqa: F811
    pdf = _with_xref_stream_of(attested["pdf"], 4_000_000)
    assert len(pdf) - len(attested["pdf"]) < 64 * 1024  # a small file: the cost was in what it decodes to
    started = time.monotonic()
    result = _verify(attested, pdf)
    elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH, result.output
    assert "not a readable signed revision" in result.output, result.output
    assert elapsed < 15, f"verify took {elapsed:.1f} s"
