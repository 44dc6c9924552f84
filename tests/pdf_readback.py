"""Reading an attestation PDF back with an independent reader (pypdf), for the tests.

lbaudit itself never parses its PDFs: ``verify --pdf`` renders the evidence again and compares
bytes.  This reader shows that another PDF library finds the embedded evidence and the digest
lbaudit records and prints.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.report.pdf import INFO_EVIDENCE_FILE, INFO_EVIDENCE_SHA256


@dataclass(frozen=True)
class PdfEvidence:
    attachment: bytes | None  # the embedded evidence file, exactly
    name: str | None
    recorded_sha256: str | None  # /LbauditEvidenceSHA256 of the document information
    printed: bool  # that digest appears in the text of the cover page


def read_pdf_evidence(path: Path) -> PdfEvidence:
    """The evidence a PDF attestation embeds, and the digest it records and prints.

    Reads the PDF with pypdf, an independent reader (a test dependency): the tests prove with it that
    what lbaudit writes is what another PDF reader sees.  ``lbaudit verify --pdf`` does not need it:
    it renders the evidence again and compares bytes, which proves the pages too.
    """
    from pypdf import PdfReader

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AssertionError(f"{path}: cannot read PDF: {exc.strerror or exc}") from exc
    if not data.startswith(b"%PDF-"):
        raise AssertionError(f"{path}: not a PDF (it does not start with %PDF-)")
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # the verdict below says what is wrong; pypdf's warnings would not
    try:
        reader = PdfReader(io.BytesIO(data))
        info = reader.metadata or {}
        attachments = reader.attachments
        recorded = info.get("/" + INFO_EVIDENCE_SHA256)
        name = info.get("/" + INFO_EVIDENCE_FILE)
        cover_text = reader.pages[0].extract_text() if len(reader.pages) else ""
    except Exception as exc:  # noqa: BLE001 - any parser failure fails the test that asked
        raise AssertionError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    finally:
        pypdf_log.setLevel(level)
    recorded = str(recorded) if recorded is not None else None
    name = str(name) if name is not None else None
    contents = attachments.get(name) if name else None
    if not contents:
        json_names = sorted(n for n in attachments if n.endswith(".json"))
        contents = attachments.get(json_names[0]) if len(json_names) == 1 else None
    printed = bool(recorded) and recorded in re.sub(r"\s+", "", cover_text)
    return PdfEvidence(attachment=contents[0] if contents else None, name=name, recorded_sha256=recorded,
                       printed=printed)
