"""What the PDF layout shortcuts to render faster (issue 16) must never make it draw something else.

The paragraphs of the attestation (``_pdf_sections.Paragraph``) remember their lines per width, and
make plain text into the fragment reportlab's parser would make: a remembered layout is only reused
for the same paragraph at the same width, and the pages are those of reportlab's own paragraph
(the golden digests in test_pdf_golden pin the whole document).
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


PLAIN_TEXTS = ["plain", "two  words\n  on\tlines ", "a > b = c; d \u2014 \u00e9t\u00e9 (x) [y] 'q' \"q\"",
               "tcp 0.0.0.0:22 sshd pid 812", "x" * 400, "\u05e9\u05dc\u05d5\u05dd and \U0001f600", "]]> -->"]


def _styles():
    from auditor.report._pdf_theme import load_theme, make_styles

    styles = make_styles(load_theme())
    return [getattr(styles, name) for name in styles.__dataclass_fields__]


def test_plain_text_is_the_fragment_reportlabs_parser_makes_of_it_in_every_style():
    for index, style in enumerate(_styles()):
        for value in PLAIN_TEXTS:
            ours, theirs = Paragraph(value, style), ReportlabParagraph(value, style)
            assert ours.text == theirs.text
            assert [vars(f) for f in ours.frags] == [vars(f) for f in theirs.frags], (style.name, value)
            if index % 4 == 0:  # drawn too, in a few of the styles (the fragments decide the drawing)
                assert _drawn(ours, 120) == _drawn(theirs, 120)


def test_plain_paragraphs_share_no_fragment_and_markup_is_still_parsed():
    style = _styles()[0]
    first, second = Paragraph("first text", style), Paragraph("second text", style)
    assert first.frags[0] is not second.frags[0] and first.frags[0].text == "first text"
    assert first.frags[0].link is not second.frags[0].link
    assert first.frags[0].us_lines is not second.frags[0].us_lines
    assert second.frags[0].text == "second text"
    bold = Paragraph("<b>bold</b> and plain &amp; more", style)
    assert [vars(f) for f in bold.frags] == [vars(f) for f in ReportlabParagraph(
        "<b>bold</b> and plain &amp; more", style).frags] and len(bold.frags) > 1
    assert Paragraph("", style).frags == ReportlabParagraph("", style).frags == []
