"""The canvas of the PDF attestation: "page N of M", running header and footer, dates taken from the
evidence, custom document metadata and the evidence JSON as an embedded file.

Pages are kept until :meth:`AttestationCanvas.save`, when their total is known, and only then
decorated and written (the usual reportlab recipe for "page N of M").
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import field
from datetime import datetime, timezone

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from auditor.model.records import record
from auditor.report._pdf_theme import FONT_NAMES, Theme

# Document-information keys lbaudit adds, read back by ``lbaudit verify --pdf``.
INFO_EVIDENCE_SHA256 = "LbauditEvidenceSHA256"
INFO_EVIDENCE_FILE = "LbauditEvidenceFile"
INFO_CONTENT_SHA256 = "LbauditEvidenceContentSHA256"  # of its canonical JSON: the digest signatures cover
# The inputs of the rendering besides the evidence (assessor, file name, signing key, renderer), as
# a hex string of JSON: ``lbaudit verify --pdf`` reads them back without a PDF parser and renders
# the evidence again to compare bytes.
INFO_RENDER_RECORD = "LbauditRender"


# The embedded evidence is most of what the PDF compresses (7 MB of JSON at 5,000 findings): zlib's
# level 3 takes a third of the time of its default (6), 60 -> 19 ms there, for a stream 7% larger
# (237 -> 253 KB); levels 1-2 were no faster and larger still (issue 16).
ATTACHMENT_ZLIB_LEVEL = 3


class _AttachmentFlate(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's FlateDecode filter, compressing at ATTACHMENT_ZLIB_LEVEL."""

    def encode(self, text: bytes) -> bytes:
        return zlib.compress(text, ATTACHMENT_ZLIB_LEVEL)


@record
class PageDecor:
    theme: Theme
    header_left: str
    header_right: str
    footer_left: str
    created: datetime  # CreationDate/ModDate: when the evidence was finished, never "now"
    attachment_name: str
    attachment: bytes
    attachment_description: str
    extra_info: dict[str, str] = field(default_factory=dict)
    render_record: bytes = b""  # written as the hex string /LbauditRender


class _HexString(pdfdoc.PDFObject):
    """A PDF hex string ``<...>``: one spelling only, so a plain byte search finds it again."""

    def __init__(self, data: bytes):
        self.data = data

    def format(self, document) -> bytes:  # noqa: ANN001 - reportlab's signature
        return b"<" + self.data.hex().encode("ascii") + b">"


class _Info(pdfdoc.PDFInfo):
    """The document information dictionary, plus lbaudit's own keys."""

    def __init__(self, extra: dict[str, str], render_record: bytes = b""):
        super().__init__()
        self.extra = dict(extra)
        self.render_record = render_record

    def format(self, document):  # noqa: ANN001 - reportlab's signature
        entries = {
            "Title": pdfdoc.PDFString(self.title),
            "Author": pdfdoc.PDFString(self.author),
            "Subject": pdfdoc.PDFString(self.subject),
            "Keywords": pdfdoc.PDFString(self.keywords),
            "Creator": pdfdoc.PDFString(self.creator),
            "Producer": pdfdoc.PDFString(self.producer),
            "CreationDate": pdfdoc.PDFDate(ts=document._timeStamp),
            "ModDate": pdfdoc.PDFDate(ts=document._timeStamp),
            "Trapped": pdfdoc.PDFName(self.trapped),
        }
        entries.update({key: pdfdoc.PDFString(value) for key, value in sorted(self.extra.items())})
        if self.render_record:
            entries[INFO_RENDER_RECORD] = _HexString(self.render_record)
        return pdfdoc.PDFDictionary(entries).format(document)


def _pin_timestamp(canvas: Canvas, moment: datetime) -> None:
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    stamp = canvas._doc._timeStamp
    stamp.t = moment.timestamp()
    stamp.lt = moment.timetuple()
    stamp.YMDhms = tuple(moment.timetuple())[:6]
    stamp.dhh = stamp.dmm = 0
    stamp.tzname = "UTC"


class AttestationCanvas(Canvas):
    def __init__(self, *args, decor: PageDecor, **kwargs):
        super().__init__(*args, **kwargs)
        self._decor = decor
        self._kept_pages: list[dict] = []
        # Bookmarks by page number, set when the page is written: reportlab binds a bookmark to the
        # page it is writing, and while pages are kept that is always the first one.
        self._bookmarks_by_page: dict[int, list[tuple[str, dict]]] = {}
        self._doc.info = _Info(decor.extra_info, decor.render_record)
        _pin_timestamp(self, decor.created)
        # The file identifier (/ID) is a digest reportlab seeds with its clock, or SOURCE_DATE_EPOCH;
        # seed it from the evidence instead, so the environment cannot change the bytes.
        # Seeded with the MD5 of the evidence, which the attachment's /CheckSum is anyway: hashing
        # the whole file a second time for the seed was 12 ms at 5,000 findings (issue 16).
        self._attachment_md5 = hashlib.md5(decor.attachment, usedforsecurity=False).digest()
        self._doc.signature = hashlib.md5(usedforsecurity=False)
        self._doc.signature.update(b"lbaudit attestation\0")
        self._doc.signature.update(self._attachment_md5)

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._kept_pages.append(dict(self.__dict__))
        self._startPage()

    def bookmarkPage(self, key, **kwargs):  # noqa: N802, ANN001, ANN201 - reportlab's name and signature
        self._bookmarks_by_page.setdefault(len(self._kept_pages) + 1, []).append((key, kwargs))

    def save(self) -> None:
        total = len(self._kept_pages)
        for number, state in enumerate(self._kept_pages, start=1):
            self.__dict__.update(state)
            self._decorate(total)
            for key, kwargs in self._bookmarks_by_page.get(number, []):
                super().bookmarkPage(key, **kwargs)
            super().showPage()
        self._embed_attachment()
        super().save()

    def _decorate(self, total: int) -> None:
        decor, theme = self._decor, self._decor.theme
        width, height = self._pagesize
        number = self._pageNumber
        self.saveState()
        self.setFillColor(theme.colour("muted"))
        self.setStrokeColor(theme.colour("rule"))
        self.setLineWidth(0.5)
        if number > 1:  # the cover carries this information in full
            self.setFont(FONT_NAMES["regular"], 7.5)
            self.drawString(18 * mm, height - 11 * mm, decor.header_left)
            self.drawRightString(width - 18 * mm, height - 11 * mm, decor.header_right)
            self.line(18 * mm, height - 13 * mm, width - 18 * mm, height - 13 * mm)
        self.line(18 * mm, 14 * mm, width - 18 * mm, 14 * mm)
        self.setFont(FONT_NAMES["regular"], 7.5)
        self.drawString(18 * mm, 10 * mm, decor.footer_left)
        self.setFont(FONT_NAMES["bold"], 7.5)
        self.drawRightString(width - 18 * mm, 10 * mm, f"page {number} of {total}")
        self.restoreState()

    def _embed_attachment(self) -> None:
        """The evidence JSON, byte for byte, as an embedded file (``/Names /EmbeddedFiles``), so the
        PDF alone carries its proof.  ``/AFRelationship /Source``: the PDF is rendered from it."""
        decor, doc = self._decor, self._doc
        stream = pdfdoc.PDFStream(
            dictionary=pdfdoc.PDFDictionary({
                "Type": pdfdoc.PDFName("EmbeddedFile"),
                "Subtype": b"/application#2Fjson",  # a name holding "/" must be written escaped
                "Params": pdfdoc.PDFDictionary({
                    "Size": len(decor.attachment),
                    "CheckSum": pdfdoc.PDFText(self._attachment_md5, enc="raw"),
                    "CreationDate": pdfdoc.PDFDate(ts=doc._timeStamp),
                    "ModDate": pdfdoc.PDFDate(ts=doc._timeStamp),
                }),
            }),
            content=decor.attachment,
            filters=[_AttachmentFlate()],
        )
        stream_ref = doc.Reference(stream)
        filespec = pdfdoc.PDFDictionary({
            "Type": pdfdoc.PDFName("Filespec"),
            "F": pdfdoc.PDFString(decor.attachment_name),
            "UF": pdfdoc.PDFString(decor.attachment_name),
            "Desc": pdfdoc.PDFString(decor.attachment_description),
            "EF": pdfdoc.PDFDictionary({"F": stream_ref, "UF": stream_ref}),
            "AFRelationship": pdfdoc.PDFName("Source"),
        })
        filespec_ref = doc.Reference(filespec)
        names = pdfdoc.PDFArray([pdfdoc.PDFString(decor.attachment_name), filespec_ref])
        doc.Catalog.Names = pdfdoc.PDFDictionary({"EmbeddedFiles": pdfdoc.PDFDictionary({"Names": names})})
        # An empty interactive form: a PAdES signature later adds its field to it, and pyHanko's
        # difference analysis (lbaudit verify --pdf) can only vet an update against a form that
        # exists in the rendered revision.
        doc.Catalog.AcroForm = doc.Reference(pdfdoc.PDFDictionary({"Fields": pdfdoc.PDFArray([])}))
