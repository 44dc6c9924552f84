"""The PDF attestation: what an auditor files, reads and can check against the signed evidence.

Rendered from the evidence alone (reportlab platypus).  Deterministic: reportlab's invariant mode,
dates taken from the evidence (never "now"), no randomness, so the same evidence and context give
the same bytes.  The evidence file is embedded byte for byte as a PDF attachment and its SHA-256 is
printed on the cover and stored in the document information (``/LbauditEvidenceSHA256``), which is
what ``lbaudit verify --pdf`` compares.  The look (colours, logo, fonts, statement) comes from
``reports/attestation.yaml``.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, NextPageTemplate, PageBreak, PageTemplate

from auditor.errors import InputError
from auditor.model.base import canonical_json, sha256_hex
from auditor.model.evidence import Evidence
from auditor.report import Reporter, ReportContext
from auditor.report import _pdf_sections as sections
from auditor.report._pdf_canvas import INFO_EVIDENCE_FILE, INFO_EVIDENCE_SHA256, AttestationCanvas, PageDecor
from auditor.report._pdf_theme import FONT_NAMES, load_theme, make_styles

MARGIN = 18 * mm
DEFAULT_EVIDENCE_NAME = "evidence.json"


class _AttestationTemplate(BaseDocTemplate):
    def afterFlowable(self, flowable) -> None:  # noqa: N802, ANN001 - reportlab's hook
        outline = getattr(flowable, "outline", None)
        if outline:
            title, key, level = outline
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(title, key, level=level)


def _content_sha256(data: bytes) -> str:
    """SHA-256 of the canonical JSON of the evidence: the digest ``lbaudit`` signatures cover."""
    return sha256_hex(canonical_json(json.loads(data.decode("utf-8"))))


def _evidence_name(evidence_path: str | None) -> str:
    name = Path(evidence_path).name if evidence_path else ""
    return name or DEFAULT_EVIDENCE_NAME


def render_pdf(evidence: Evidence, context: ReportContext) -> bytes:
    theme = load_theme()
    styles = make_styles(theme)
    prov = evidence.snapshot.provenance
    evidence_sha256 = sha256_hex(context.evidence_bytes)
    name = _evidence_name(context.evidence_path)
    width, height = theme.page_size
    doc = sections.Doc(
        evidence=evidence, theme=theme, styles=styles, width=width - 2 * MARGIN, evidence_name=name,
        evidence_sha256=evidence_sha256, content_sha256=_content_sha256(context.evidence_bytes),
        fingerprint=context.signature_fingerprint, assessor=context.assessor or evidence.policy.owner,
    )
    verdict = sections.VERDICT_WORDS[evidence.result.verdict]
    date = evidence.run.finished_at.date().isoformat()
    decor = PageDecor(
        theme=theme,
        header_left=" \u00b7 ".join(p for p in (theme.organisation, prov.hostname,
                                                 f"{evidence.policy.id} {evidence.policy.version}") if p),
        header_right=f"assessed {date} \u00b7 {verdict}",
        footer_left=f"lbaudit attestation \u00b7 evidence SHA-256 {evidence_sha256[:16]}\u2026",
        created=evidence.run.finished_at,
        attachment_name=name,
        attachment=context.evidence_bytes,
        attachment_description=f"lbaudit evidence (SHA-256 {evidence_sha256}): the source of this attestation",
        extra_info={INFO_EVIDENCE_SHA256: evidence_sha256, INFO_EVIDENCE_FILE: name},
    )
    out = io.BytesIO()
    template = _AttestationTemplate(
        out,
        pagesize=theme.page_size,
        leftMargin=MARGIN, rightMargin=MARGIN, topMargin=20 * mm, bottomMargin=20 * mm,
        title=f"Compliance attestation: {prov.hostname}, {evidence.policy.id} {evidence.policy.version}",
        author=doc.assessor,
        subject=(f"NIST SP 800-53 Rev. 5 network-socket compliance attestation of {prov.hostname}: {verdict} "
                 f"(evidence SHA-256 {evidence_sha256})"),
        keywords=["lbaudit", "attestation", "NIST SP 800-53 Rev. 5", evidence.policy.id, prov.hostname,
                  *[c.id for c in evidence.result.controls]],
        creator=f"lbaudit {evidence.tool.version}",
        invariant=1,
        lang="en",
        initialFontName=FONT_NAMES["regular"],  # else every page would reference an unembedded Helvetica
    )
    frame = Frame(MARGIN, 20 * mm, width - 2 * MARGIN, height - 40 * mm, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    template.addPageTemplates([PageTemplate(id="cover", frames=[frame]), PageTemplate(id="body", frames=[frame])])
    story = sections.cover(doc) + [NextPageTemplate("body"), PageBreak()]
    for part in (sections.summary, sections.controls, sections.findings, sections.waivers, sections.method,
                 sections.attestation):
        story += part(doc)
    template.build(story, canvasmaker=partial(AttestationCanvas, decor=decor))
    for font in theme.fonts.values():
        # reportlab keeps per-document subsetting state on the font object; drop it with the document.
        font.state.pop(template.canv._doc, None)
    return out.getvalue()


REPORTER = Reporter(name="pdf", extension=".pdf",
                    description="PDF attestation for auditors (evidence embedded, deterministic)",
                    render=render_pdf)


# ------------------------------------------------------------------ reading one back (lbaudit verify --pdf)

@dataclass(frozen=True)
class PdfEvidence:
    attachment: bytes | None  # the embedded evidence file, exactly
    name: str | None
    recorded_sha256: str | None  # /LbauditEvidenceSHA256 of the document information
    printed: bool  # that digest appears in the text of the cover page


def read_pdf_evidence(path: Path) -> PdfEvidence:
    """The evidence a PDF attestation embeds, and the digest it records and prints."""
    from pypdf import PdfReader

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read PDF: {exc.strerror or exc}") from exc
    if not data.startswith(b"%PDF-"):
        raise InputError(f"{path}: not a PDF (it does not start with %PDF-)")
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
    except Exception as exc:  # noqa: BLE001 - any parser failure on an untrusted file is bad input
        raise InputError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
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
