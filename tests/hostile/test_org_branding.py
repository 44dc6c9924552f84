"""Hostile --org-logo / --org-name and forged organisation render records: every case is exit 2 with
the file and the problem named (nothing written), or verify refusing the PDF (13); never a hang,
a traceback or a half-written PDF."""

from __future__ import annotations

import os
import struct
import zlib

import pytest
from PIL import Image

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.attest.verify import verify
from auditor.model.result import ExitCode
from auditor.report import ReportContext
from auditor.report.pdf import MAX_LOGO_BYTES, find_render_inputs, render_pdf
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.fixture
def evidence_file(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    return path


def _report(tmp_path, evidence_file, *extra):
    return run_cli("report", evidence_file, "--pdf", tmp_path / "r.pdf", *extra, cwd=tmp_path, timeout=60)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with one tiny (wrong) data chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_a_fifo_logo_is_refused_without_blocking(tmp_path, evidence_file):
    fifo = tmp_path / "logo.png"
    os.mkfifo(fifo)
    result = _report(tmp_path, evidence_file, "--org-logo", fifo)
    assert result.returncode == ExitCode.USAGE and "not a regular file" in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_a_directory_as_logo_is_refused(tmp_path, evidence_file):
    result = _report(tmp_path, evidence_file, "--org-logo", tmp_path)
    assert result.returncode == ExitCode.USAGE and "logo" in result.stderr


def test_an_oversized_logo_is_refused_by_a_bounded_read(tmp_path, evidence_file):
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_LOGO_BYTES)
    result = _report(tmp_path, evidence_file, "--org-logo", logo)
    assert result.returncode == ExitCode.USAGE and "larger than 512 KiB" in result.stderr


@pytest.mark.parametrize("side", [10_000, 100_000])  # under and over PIL's own bomb limit
def test_a_huge_image_header_is_refused_before_decoding(tmp_path, evidence_file, side):
    logo = tmp_path / "logo.png"
    logo.write_bytes(_png_header_claiming(side, side))
    result = _report(tmp_path, evidence_file, "--org-logo", logo)
    assert result.returncode == ExitCode.USAGE and "logo.png" in result.stderr
    assert "pixels; at most 4096 a side" in result.stderr or "DecompressionBomb" in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_a_truncated_png_is_refused(tmp_path, evidence_file):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(logo)
    logo.write_bytes(logo.read_bytes()[:60])
    result = _report(tmp_path, evidence_file, "--org-logo", logo)
    assert result.returncode == ExitCode.USAGE and "not a readable PNG or JPEG image" in result.stderr


@pytest.mark.parametrize("name", ["Example\nCorp", "Example \u202eCorp", ""])
def test_an_org_name_that_is_not_one_plain_line_is_refused(tmp_path, evidence_file, name):
    result = _report(tmp_path, evidence_file, "--org-name", name)
    assert result.returncode == ExitCode.USAGE and "--org-name" in result.stderr


def test_org_logo_without_a_pdf_is_a_usage_error(tmp_path, evidence_file):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (8, 8)).save(logo)
    result = run_cli("report", evidence_file, "--format", "text", "--org-logo", logo, cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE and "--org-logo goes on the PDF cover" in result.stderr


@pytest.mark.slow  # renders, edits and verifies a PDF
def test_a_pdf_whose_recorded_organisation_was_edited_does_not_verify(tmp_path, evidence_file):
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(evidence_file, private)
    raw = evidence_file.read_bytes()
    from auditor.storage.evidence import parse_evidence

    pdf = render_pdf(parse_evidence(raw, "e"), ReportContext(evidence_bytes=raw, evidence_path=evidence_file.name,
                                                             org_name="Example Corp"))
    [inputs] = find_render_inputs(pdf)
    forged_record = inputs.record().replace(b"Example Corp", b"Evil Corp!!!")
    forged = pdf.replace(inputs.record().hex().encode(), forged_record.hex().encode())
    assert forged != pdf and len(forged) == len(pdf)
    path = tmp_path / "forged.pdf"
    path.write_bytes(forged)
    result = verify(evidence_file, public, path)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH and [c.name for c in result.failed] == ["pdf"]
