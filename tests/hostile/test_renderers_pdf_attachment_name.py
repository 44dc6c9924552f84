"""The name of the evidence embedded in the PDF attestation, as a PDF viewer lists it.

The evidence file's name is whoever handed it over's choice: ``evidence<U+202E>nosj.exe`` reads as
``evidenceexe.json`` wherever the right-to-left override is obeyed (the "RLO extension spoof").  The
cover shows the name with its escapes (``evidence\\u202enosj.exe``), as every page and the
document information do, but the embedded file's name (``/F``, ``/UF``, the ``/EmbeddedFiles`` name
tree, which a viewer's attachment panel lists and saves under) and ``/LbauditEvidenceFile`` held the
override raw.  Now they hold the name as the cover shows it, and ``verify --pdf`` still proves the PDF.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

NAME = "evidence\u202enosj.exe"
SHOWN = "evidence\\u202enosj.exe"


def test_the_embedded_evidence_is_named_with_escapes_and_the_pdf_verifies(tmp_path: Path):
    from pypdf import PdfReader

    from auditor.attest.signing import generate_keypair, sign_evidence_file

    path, _ = write_evidence_file(tmp_path, make_evidence())
    hostile = tmp_path / NAME
    shutil.copyfile(path, hostile)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(hostile, private)
    run = run_cli("report", hostile, "--pdf", tmp_path / "a.pdf", "-q")
    assert run.returncode == 0, run.stderr
    reader = PdfReader(tmp_path / "a.pdf")
    # before: ['evidence\u202enosj.exe'] (the override raw, the name read backwards in the panel)
    assert list(reader.attachments) == [SHOWN]
    assert reader.attachments[SHOWN][0] == hostile.read_bytes()  # the evidence itself, byte for byte
    assert (reader.metadata or {})["/LbauditEvidenceFile"] == SHOWN
    verified = run_cli("verify", hostile, "--pubkey", public, "--pdf", tmp_path / "a.pdf")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_control_case_a_plain_name_is_the_attachment_name(tmp_path: Path):
    from pypdf import PdfReader

    path, _ = write_evidence_file(tmp_path, make_evidence(), "corp-baseline.json")
    run = run_cli("report", path, "--pdf", tmp_path / "a.pdf", "-q")
    assert run.returncode == 0, run.stderr
    assert list(PdfReader(tmp_path / "a.pdf").attachments) == ["corp-baseline.json"]
