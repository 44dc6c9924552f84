"""What the PDF layout remembers to render faster (issue 16) must never make it draw something else.

The paragraphs of the attestation remember their lines per width (``_pdf_sections.Paragraph``):
a remembered layout is only reused for the same paragraph at the same width, and the pages are
those of reportlab's own paragraph (the golden digests in test_pdf_golden pin the whole document).
"""

from __future__ import annotations

import io

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph as ReportlabParagraph

from auditor.report._pdf_sections import Paragraph

STYLE = ParagraphStyle("t", fontName="Helvetica", fontSize=8, leading=10)
LONG = "A rather long sentence that wraps over several lines of a narrow table cell, " * 4


def _lines(paragraph) -> list[str]:
    blpara = paragraph.blPara
    return [" ".join(words) for _, words in blpara.lines] if blpara.kind == 0 else [
        " ".join(getattr(w, "text", "") for w in line.words) for line in blpara.lines]


def _drawn(paragraph, width: float) -> bytes:
    canvas = Canvas(io.BytesIO(), invariant=1)
    paragraph.wrapOn(canvas, width, 1000)
    paragraph.drawOn(canvas, 10, 10)
    return canvas.getpdfdata()


def test_a_paragraph_wrapped_again_at_another_width_is_laid_out_for_that_width():
    paragraph, fresh = Paragraph(LONG, STYLE), ReportlabParagraph(LONG, STYLE)
    for width in (300, 120, 300, 300, 60, 120):
        assert paragraph.wrap(width, 1000) == fresh.wrap(width, 1000)
        assert _lines(paragraph) == _lines(fresh)


def test_two_paragraphs_with_different_texts_keep_their_own_lines():
    first, second = Paragraph(LONG, STYLE), Paragraph(LONG.upper() + " end", STYLE)
    assert first.wrap(120, 1000) != second.wrap(120, 1000)
    assert first.wrap(120, 1000) == ReportlabParagraph(LONG, STYLE).wrap(120, 1000)
    assert _lines(second)[-1].endswith("end")
    assert _lines(first) != _lines(second)


def test_a_paragraph_draws_the_same_as_reportlabs_whether_wrapped_once_or_again():
    for text in (LONG, "<b>bold</b> and <font color='#b42318'>red</font> " * 6, "short"):
        reference = _drawn(ReportlabParagraph(text, STYLE), 150)
        paragraph = Paragraph(text, STYLE)
        paragraph.wrap(150, 1000)
        paragraph.wrap(90, 1000)
        assert _drawn(paragraph, 150) == reference


def test_a_split_that_drops_the_lines_makes_the_next_wrap_lay_them_out_again():
    paragraph = Paragraph(LONG, STYLE)
    height = paragraph.wrap(120, 1000)[1]
    assert paragraph.split(120, 5) == []  # no room for two lines: reportlab deletes the layout
    assert not hasattr(paragraph, "blPara")
    assert paragraph.wrap(120, 1000)[1] == height and paragraph.blPara.lines
    fresh = ReportlabParagraph(LONG, STYLE)
    fresh.wrap(120, 1000)
    parts, fresh_parts = paragraph.split(120, height / 2), fresh.split(120, height / 2)
    assert len(parts) == 2 and all(isinstance(p, Paragraph) for p in parts)
    for part, fresh_part in zip(parts, fresh_parts):
        assert part.wrap(120, 1000) == fresh_part.wrap(120, 1000)
        assert _lines(part) == _lines(fresh_part)


def test_paragraph_text_is_escaped_as_the_xml_library_escapes_it():
    from xml.sax.saxutils import escape

    from auditor.report._pdf_sections import escape as pdf_escape
    from auditor.report._pdf_sections import text

    for value in ("a < b && c > d", "&amp;<br/>", "<<>>&&", "plain", "", "\u00e9 & \u2014 <x>"):
        assert pdf_escape(value) == escape(value)
        assert text(value + "\nnext") == escape(value) + "<br/>next"
