"""The render record a PDF carries is read as every hostile input is, before ``verify --pdf`` renders from it.

``verify --pdf`` renders the evidence again from the inputs the PDF records (``/LbauditRender``),
the organisation's logo among them, and the PDF is whoever's file.  A logo lbaudit would never have
recorded was handed to the image library as it was: bytes that are no image were its exception
(exit 70), a 200-byte PNG that declares 60000x60000 pixels its DecompressionBombError (exit 70), and
one just under the library's own limit was decoded, a gigabyte of memory for a file of 300 KiB.
The record itself, JSON, was parsed by json.loads without the bound on nesting every other JSON
input has: 200,000 "[" were a RecursionError (exit 70).  Such a record is not one lbaudit writes:
the PDF fails (exit 13), as one with no record does.
"""

from __future__ import annotations

import base64
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from auditor.model.result import ExitCode
from auditor.report.pdf import MAX_LOGO_PIXELS, RenderInputs, renderer_id
from tests.cli import run_cli
from tests.hostile.test_verify import attested  # noqa: F401 - the module fixture, shared

pytestmark = pytest.mark.xdist_group("hostile_verify")

REPO = Path(__file__).resolve().parents[2]


def _png(width: int, height: int, *, rows: bool) -> bytes:
    """A PNG of ``width`` x ``height`` RGB pixels; ``rows``: all its (black) rows, else one byte of them."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    pixels = b"".join(packer.compress(row) for _ in range(height)) if rows else b""
    pixels += packer.flush() if rows else zlib.compress(b"\0")
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _pdf_recording(logo: bytes) -> bytes:
    """A file that starts as a PDF and records a rendering of ``attested``'s evidence with ``logo``:
    what anyone can write, the renderer's name being public."""
    record = RenderInputs(evidence_name="evidence.json", assessor="Assessor", signature_key=None,
                          renderer=renderer_id(), org_logo=base64.b64encode(logo).decode("ascii")).record()
    return b"%PDF-1.7\n1 0 obj\n<< /LbauditRender <" + record.hex().encode("ascii") + b"> >>\nendobj\n%%EOF\n"


NO_RECORD = "records no lbaudit render inputs (/LbauditRender)"


def _verify(attested, pdf_bytes: bytes):  # noqa: F811
    """``lbaudit verify --pdf`` as the command runs it: an exception that escapes is exit 70."""
    target = attested["dir"] / "attestation.pdf"
    target.write_bytes(pdf_bytes)
    return run_cli("verify", attested["evidence"], "--pubkey", attested["pubkey"], "--pdf", target)


@pytest.mark.parametrize("logo", [
    pytest.param(b"\x89PNG\r\n\x1a\nnot the rest of a PNG", id="png-signature-then-garbage"),
    pytest.param(b"\xff\xd8\xff\xe0 no JPEG follows", id="jpeg-signature-then-garbage"),
    pytest.param(b"GIF89a", id="no-image-signature"),
    pytest.param(_png(60_000, 60_000, rows=False), id="png-declaring-60000x60000"),
    pytest.param(_png(MAX_LOGO_PIXELS + 1, 1, rows=False), id="png-one-pixel-too-wide"),
])
def test_a_recorded_logo_lbaudit_would_not_accept_fails_13_not_70(attested, logo):  # noqa: F811
    result = _verify(attested, _pdf_recording(logo))
    assert result.returncode == ExitCode.VERIFY_PDF_MISMATCH == 13, (result.returncode, result.stderr)
    assert NO_RECORD in result.stdout + result.stderr, result.stdout


@pytest.mark.slow  # a process of its own, rendering nothing: ~5 s
def test_a_recorded_logo_of_100_million_pixels_is_not_decoded(attested, tmp_path):  # noqa: F811
    """Just under the image library's own refusal (178 million pixels) it decodes, with a warning on
    stderr: 300 MB of pixels, a gigabyte at its peak.  Run in a process of its own with its address
    space bounded, so decoding it is MemoryError rather than the test machine's memory."""
    logo = _png(10_000, 10_000, rows=True)
    assert len(logo) < 512 * 1024  # small enough for a record, as an --org-logo of this size would be
    pdf = tmp_path / "attestation.pdf"
    pdf.write_bytes(_pdf_recording(logo))
    bound = 700 * 1024 * 1024
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (%d, %d)); "
            "sys.argv = ['lbaudit'] + sys.argv[1:]; from auditor.entry import main; main()") % (bound, bound)
    result = subprocess.run([sys.executable, "-c", code, "verify", str(attested["evidence"]), "--pubkey",
                             str(attested["pubkey"]), "--pdf", str(pdf)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": ""})
    assert result.returncode == 13, (result.returncode, result.stdout, result.stderr[-2000:])
    assert NO_RECORD in result.stdout + result.stderr
    assert "DecompressionBomb" not in result.stderr


def test_a_recorded_logo_lbaudit_accepts_is_still_rendered_and_verified(attested, tmp_path):  # noqa: F811
    """Control: the check refuses only what read_org_logo refuses; a PDF rendered with a real logo
    verifies as before."""
    from auditor.report import ReportContext
    from auditor.report.pdf import render_pdf

    logo = _png(64, 32, rows=True)
    pdf = render_pdf(attested["model"], ReportContext(
        evidence_bytes=attested["raw"], evidence_path=attested["evidence"].name,
        signature_fingerprint=attested["fingerprint"], org_name="Example Org", org_logo=logo))
    result = _verify(attested, pdf)
    assert result.returncode == ExitCode.COMPLIANT, (result.stdout, result.stderr)
    assert "pdf        ok" in result.stdout


def _pdf_with_record(record: bytes) -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /LbauditRender <" + record.hex().encode("ascii") + b"> >>\nendobj\n%%EOF\n"


@pytest.mark.parametrize("record", [
    pytest.param(b"[" * 200_000, id="200000-arrays-deep"),
    pytest.param(b'{"a": ' * 100_000, id="100000-objects-deep"),
])
def test_a_record_nested_deeper_than_any_lbaudit_json_fails_13_not_70(attested, record):  # noqa: F811
    """The record is JSON and was parsed by json.loads as it was: a RecursionError (exit 70)."""
    result = _verify(attested, _pdf_with_record(record))
    assert result.returncode == ExitCode.VERIFY_PDF_MISMATCH == 13, (result.returncode, result.stderr)
    assert NO_RECORD in result.stdout + result.stderr, result.stdout
