"""The PDF attestation: what an auditor files, reads and can check against the signed evidence.

Rendered from the evidence alone (reportlab platypus).  Deterministic: reportlab's invariant mode,
dates taken from the evidence (never "now"), no randomness, so the same evidence and context give
the same bytes.  The evidence file is embedded byte for byte as a PDF attachment and its SHA-256 is
printed on the cover and stored in the document information (``/LbauditEvidenceSHA256``).  The look
(colours, logo, fonts, statement) comes from ``reports/attestation.yaml``.

Besides the evidence, a rendering depends on a few inputs: the evidence file name, the assessor, the
key fingerprint of the detached signature, and the renderer itself (lbaudit and reportlab versions).
They are recorded in the document information as ``/LbauditRender <hex of JSON>``
(:class:`RenderInputs`), so that ``lbaudit verify --pdf`` can render the evidence again and require
the PDF to begin with exactly those bytes: what the pages show is then proven, not just the
attachment.
"""

from __future__ import annotations

# isort: off
from auditor.model.records import record
from auditor.report import _pdf_start  # noqa: F401 - first: imports reportlab.platypus (see there)
# isort: on
import base64
import binascii
import hashlib
import io
import re
from dataclasses import asdict
from functools import lru_cache, partial
from pathlib import Path

import reportlab
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, NextPageTemplate, PageBreak, PageTemplate

from auditor import __version__
from auditor.errors import InputError
from auditor.model.base import canonical_json, sha256_hex
from auditor.model.evidence import Evidence
from auditor.report import ReportContext, Reporter
from auditor.report import _pdf_sections as sections
from auditor.report._pdf_canvas import (
    INFO_CONTENT_SHA256,
    INFO_EVIDENCE_FILE,
    INFO_EVIDENCE_SHA256,
    INFO_RENDER_RECORD,
    AttestationCanvas,
    PageDecor,
)
from auditor.report._pdf_theme import FONT_NAMES, PARSED_THEME_FILE, load_theme, make_styles
from auditor.report.view import attestation_view, content_sha256, evidence_name
from auditor.resources import data_dir
from auditor.text import line_text, plain_text

MARGIN = 18 * mm
MAX_LOGO_BYTES = 512 * 1024  # --org-logo: a mark for the cover, not a photograph


class _AttestationTemplate(BaseDocTemplate):
    def afterFlowable(self, flowable) -> None:  # noqa: N802, ANN001 - reportlab's hook
        outline = getattr(flowable, "outline", None)
        if outline:
            title, key, level = outline
            # Land on the heading itself: the frame's cursor is now below it (and its space after).
            top = self.frame._y + flowable.getSpaceAfter() + flowable.height + 4
            self.canv.bookmarkPage(key, fit="XYZ", left=0, top=round(top, 2), zoom=0)
            self.canv.addOutlineEntry(title, key, level=level)


PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
MAX_LOGO_PIXELS = 4096  # on either side


def read_org_logo(path: Path) -> bytes:
    """The bytes of ``--org-logo``, read bounded and checked to be one PNG or JPEG image an image
    library decodes (InputError otherwise, naming the file and what is wrong)."""
    from auditor.safeio import FileTooLarge, NotRegularFile, read_regular

    try:
        data = read_regular(path, MAX_LOGO_BYTES, document="logo")
    except FileTooLarge:
        raise InputError(f"{path}: logo larger than {MAX_LOGO_BYTES // 1024} KiB; use a smaller image") from None
    except NotRegularFile as exc:
        raise InputError(f"{path}: the logo {exc.strerror or 'is not a regular file'}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the logo: {exc.strerror or exc}") from None
    problem = logo_problem(data)
    if problem is not None:
        raise InputError(f"{path}: {problem}")
    return data


def logo_problem(data: bytes) -> str | None:
    """What makes ``data`` no logo a rendering may draw, in plain words, or None.  The one check of
    every logo that reaches the renderer: ``--org-logo`` as read, and the logo a PDF's render record
    carries (``verify --pdf`` renders with it, and that PDF is whoever's file): the image library
    decodes every pixel the header declares, so a 200-byte PNG that says 60000x60000 is gigabytes
    of memory, and bytes it cannot decode at all are its exception in the middle of the rendering."""
    import warnings

    from PIL import Image as PILImage

    if len(data) > MAX_LOGO_BYTES:
        return f"logo larger than {MAX_LOGO_BYTES // 1024} KiB; use a smaller image"
    if not data.startswith((PNG_MAGIC, JPEG_MAGIC)):
        return "the logo must be a PNG or JPEG image (the file starts with neither signature)"
    try:
        with warnings.catch_warnings():
            # PIL warns (on stderr) about a size the check below refuses anyway
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                width, height = image.size
                if not (0 < width <= MAX_LOGO_PIXELS and 0 < height <= MAX_LOGO_PIXELS):  # before decoding any pixel
                    return f"logo is {width}x{height} pixels; at most {MAX_LOGO_PIXELS} a side"
                image.load()  # decodes every pixel: a truncated or corrupt image fails here, not in the renderer
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for a bad image; all mean the same here
        return f"not a readable PNG or JPEG image ({type(exc).__name__}: {exc})"
    return None


@lru_cache(maxsize=1)
def _theme_digest() -> str:
    """SHA-256 (first 16 hex) of every file of the look (reports/: template, fonts, logo).  The HTML
    report's templates (reports/html/) are not the PDF's look: changing them must not make earlier
    PDFs irreproducible for ``verify --pdf``.  Nor is the parsed theme (PARSED_THEME_FILE): it is
    derived from the template, whose bytes are digested, and read only while it matches them."""
    folder = data_dir("reports")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] != "html"
                       and p.relative_to(folder).as_posix() != PARSED_THEME_FILE):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


HEADER_PART_CHARACTERS = 48  # each of organisation, host and policy in the running header


def _header_part(value: str) -> str:
    value = line_text(value)  # drawn as it is, on one line (a line feed as \\n), as the cover shows it
    return value if len(value) <= HEADER_PART_CHARACTERS else value[:HEADER_PART_CHARACTERS - 1] + "\u2026"

# Raised whenever the renderer's code gives other bytes for the same evidence and inputs (a
# layout change, another compression level, another /ID seed), as lbaudit's version does not change
# between such builds: ``verify --pdf`` then tells a PDF of an earlier rendering ("rendered by ...,
# verify with that version") from one altered or rendered from other evidence.  Renderings made
# before the revision was recorded read as "lbaudit VERSION, reportlab ..." and so differ from all.
# 3: the verdict sentence of a run that judged nothing (every finding not applicable); 4: host text as
# plain text (control and bidi characters as their escapes) on the pages, the header and the information;
# 5: the embedded evidence's name (the attachment a viewer lists) likewise; 6: characters drawn as
# nothing (zero-width, soft hyphen, tags) as their escapes, and host text on one line (a line feed as \n);
# 7: the Unicode noncharacters (U+FFFE, U+FDD0, ...) as their escapes; the --waivers file and its digest
# among the inputs; a waiver an earlier one always overrides shown as superseded; 8: the method section's
# snapshot text (collecting user, tool version, source detail, each section's methods) on one line each,
# and a check's remediation cut to the part of the evidence's platform (On Linux: / On Windows: / On macOS:)
RENDERING_REVISION = 8


def renderer_id() -> str:
    """What else decides the bytes of a rendering: this lbaudit and its rendering revision, the
    reportlab it drives, the theme."""
    return (f"lbaudit {__version__} (rendering {RENDERING_REVISION}), reportlab {reportlab.Version}, "
            f"theme {_theme_digest()}")


@record
class RenderInputs:
    """Everything a PDF attestation is rendered from besides the evidence bytes."""

    evidence_name: str  # the file name the PDF gives the evidence (attachment, cover)
    assessor: str  # as printed: --assessor, or the policy owner
    signature_key: str | None  # fingerprint printed as the signing key; None: "unsigned"
    renderer: str  # renderer_id() of the rendering: lbaudit and reportlab versions, theme digest
    # --org-name and --org-logo (base64 of the image bytes); left out of the record when not given,
    # so a record without them reads as before.
    org_name: str | None = None
    org_logo: str | None = None
    pdf_signer: str | None = None  # the certificate named as the PDF's PAdES signer (--pdf-cert)

    @classmethod
    def of(cls, evidence: Evidence, context: ReportContext) -> "RenderInputs":
        logo = base64.b64encode(context.org_logo).decode("ascii") if context.org_logo is not None else None
        return cls(evidence_name=evidence_name(context.evidence_path),
                   assessor=context.assessor or evidence.policy.owner,
                   signature_key=context.signature_fingerprint, renderer=renderer_id(),
                   org_name=context.org_name or None, org_logo=logo, pdf_signer=context.pdf_signer or None)

    def record(self) -> bytes:
        return canonical_json({k: v for k, v in asdict(self).items() if k not in _OPTIONAL or v is not None})

    @classmethod
    def from_record(cls, raw: bytes) -> "RenderInputs":
        """ValueError unless ``raw`` is exactly a record :meth:`record` writes."""
        from auditor.storage.jsonfile import loads_strict

        # The PDF is whoever's file: parsed as every JSON input is, its nesting bounded (json.loads
        # of a record of 200,000 "[" was a RecursionError, exit 70)
        data = loads_strict(raw)
        required = {"evidence_name", "assessor", "signature_key", "renderer"}
        if not isinstance(data, dict) or not required <= set(data) <= required | _OPTIONAL:
            raise ValueError("not an lbaudit render record")
        if not all(isinstance(data[k], str) for k in ("evidence_name", "assessor", "renderer")) or not (
                data["signature_key"] is None or isinstance(data["signature_key"], str)) or not all(
                isinstance(data[k], str) for k in _OPTIONAL if k in data):
            raise ValueError("not an lbaudit render record")
        inputs = cls(**data)
        if inputs.record() != raw:
            raise ValueError("not an lbaudit render record (not in canonical form)")
        if inputs.org_logo is not None:
            try:
                logo = base64.b64decode(inputs.org_logo, validate=True)
            except binascii.Error as exc:
                raise ValueError("not an lbaudit render record (bad logo)") from exc
            # lbaudit records only a logo read_org_logo accepted; any other would be drawn by the
            # renderer (see logo_problem), not just compared
            if (problem := logo_problem(logo)) is not None:
                raise ValueError(f"not an lbaudit render record ({problem})")
        return inputs

    def context(self, evidence_bytes: bytes) -> ReportContext:
        logo = base64.b64decode(self.org_logo) if self.org_logo is not None else None
        return ReportContext(evidence_bytes=evidence_bytes, evidence_path=self.evidence_name,
                             signature_fingerprint=self.signature_key, assessor=self.assessor,
                             org_name=self.org_name, org_logo=logo, pdf_signer=self.pdf_signer)


_OPTIONAL = frozenset({"org_name", "org_logo", "pdf_signer"})
MAX_RECORD_HEX = 2 * (4 * MAX_LOGO_BYTES // 3 + 64 * 1024)  # the record, logo included, as hex digits
_RENDER_RECORD = re.compile(rb"/" + INFO_RENDER_RECORD.encode("ascii") + rb"\s*<([0-9a-f]{2,%d})>" % MAX_RECORD_HEX)
MAX_RENDER_RECORDS = 4  # candidates tried; each costs a rendering


def find_render_inputs(pdf: bytes) -> list[RenderInputs]:
    """The render records a PDF holds, in file order (at most a few, duplicates dropped).

    Found by a byte search, not by parsing: whichever record is used, the bytes rendered from it
    must then equal the start of the PDF, and that rendering contains the record itself, so a
    record planted in an appended revision can only ever reproduce the original one.
    """
    found: list[RenderInputs] = []
    for match in _RENDER_RECORD.finditer(pdf):
        if len(match.group(1)) % 2:
            continue
        try:
            inputs = RenderInputs.from_record(bytes.fromhex(match.group(1).decode("ascii")))
        except (ValueError, UnicodeDecodeError, TypeError):
            continue
        if inputs not in found:
            found.append(inputs)
        if len(found) == MAX_RENDER_RECORDS:
            break
    return found


def render_pdf(evidence: Evidence, context: ReportContext) -> bytes:
    inputs = RenderInputs.of(evidence, context)
    theme = load_theme()
    styles = make_styles(theme)
    prov = evidence.snapshot.provenance
    evidence_sha256 = sha256_hex(context.evidence_bytes)
    name = inputs.evidence_name
    width, height = theme.page_size
    content_digest = content_sha256(context.evidence_bytes, evidence_sha256)  # the bytes hashed once here
    view = attestation_view(evidence, evidence_name=name, evidence_sha256=evidence_sha256,
                            content_sha256=content_digest, fingerprint=inputs.signature_key, assessor=inputs.assessor,
                            organisation=inputs.org_name or "", pdf_signer=inputs.pdf_signer or "")
    doc = sections.Doc(evidence=evidence, view=view, theme=theme, styles=styles, width=width - 2 * MARGIN,
                       org_logo=context.org_logo)
    verdict = view.cover.verdict_word
    date = evidence.run.finished_at.date().isoformat()
    decor = PageDecor(
        theme=theme,
        # one line at the top of every page: each part clipped (drawn whole on each page, a host
        # name of 100,000 characters cost seconds and ran off the page)
        header_left=" \u00b7 ".join(_header_part(p) for p in (
            inputs.org_name or theme.organisation, prov.hostname, f"{evidence.policy.id} {evidence.policy.version}") if p),
        header_right=f"assessed {date} \u00b7 {verdict}",
        footer_left=f"lbaudit attestation {view.cover.document_id} \u00b7 evidence SHA-256 {evidence_sha256[:16]}\u2026",
        created=evidence.run.finished_at,
        # a viewer lists and saves the attachment by this name: "evidence<RLO>nosj.exe" read "evidenceexe.json"
        attachment_name=plain_text(name),
        attachment=context.evidence_bytes,
        attachment_description=f"lbaudit evidence (SHA-256 {evidence_sha256}): the source of this attestation",
        extra_info={INFO_EVIDENCE_SHA256: evidence_sha256, INFO_EVIDENCE_FILE: plain_text(name),
                    INFO_CONTENT_SHA256: content_digest},
        render_record=inputs.record(),
    )
    out = io.BytesIO()
    template = _AttestationTemplate(
        out,
        pagesize=theme.page_size,
        leftMargin=MARGIN, rightMargin=MARGIN, topMargin=20 * mm, bottomMargin=20 * mm,
        # the document information a viewer shows (its title bar): plain text, as the pages
        title=line_text(f"Compliance attestation: {prov.hostname}, {evidence.policy.id} {evidence.policy.version}"),
        author=inputs.assessor,
        subject=line_text(f"NIST SP 800-53 Rev. 5 network-socket compliance attestation of {prov.hostname}: "
                          f"{verdict} (evidence SHA-256 {evidence_sha256})"),
        keywords=["lbaudit", "attestation", "NIST SP 800-53 Rev. 5", evidence.policy.id, line_text(prov.hostname),
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


# ------------------------------------------------------------------ reading one back (tests, inspection)
