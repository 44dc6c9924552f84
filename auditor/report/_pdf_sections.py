"""The layout of the PDF attestation: each section a list of platypus flowables.

What each section says (its words, rows, counts and verdict) is the format-neutral view,
:mod:`auditor.report.view`; this module only decides how it looks: headings, paragraphs, tables,
colours, the chart, page breaks.  Pure functions of the view and the theme: no clock, no host, no
randomness, so the same evidence always gives the same document.
"""

from __future__ import annotations

import copy
import io
import re
from functools import lru_cache
from typing import Any, Iterable

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import STATE_DEFAULTS, Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    LongTable,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import Paragraph as ReportlabParagraph
from reportlab.platypus.paragraph import cleanBlockQuotedText, textTransformFrags

from auditor.model.evidence import Evidence
from auditor.model.records import record
from auditor.model.result import STATUS_ORDER, Status
from auditor.report._pdf_theme import FONT_NAMES, Styles, Theme
from auditor.report.view import (  # noqa: F401 - value_text and the word tables are read through this module too
    NOTHING,
    STATUS_LABELS,
    VERDICT_WORDS,
    AttestationView,
    FactsTrust,
    FindingCluster,
    FindingRow,
    count_phrase,
    value_text,
)
from auditor.text import plain_text, shell_word

TABLE_CHUNK_ROWS = 1000


@record
class Doc:
    """Everything a section needs: the evidence, how to refer to it, and the look."""

    evidence: Evidence
    view: AttestationView  # what the sections say
    theme: Theme
    styles: Styles
    width: float  # of the text frame
    org_logo: bytes | None = None  # --org-logo (PNG or JPEG, checked when read); else the theme's logo


# ------------------------------------------------------------------ small helpers

# Per paragraph style: the style and the fragment reportlab's parser makes of a plain word in it.
_PLAIN_FRAGMENTS: dict[int, tuple[ParagraphStyle, Any]] = {}
MAX_PLAIN_FRAGMENT_STYLES = 64  # styles are made per rendering: forget older ones


def _plain_fragment(style: ParagraphStyle) -> Any:
    known = _PLAIN_FRAGMENTS.get(id(style))
    if known is None or known[0] is not style:
        if len(_PLAIN_FRAGMENTS) >= MAX_PLAIN_FRAGMENT_STYLES:
            _PLAIN_FRAGMENTS.clear()
        known = _PLAIN_FRAGMENTS[id(style)] = (style, ReportlabParagraph("x", style).frags[0])
    return known[1]


class Paragraph(ReportlabParagraph):
    """A reportlab paragraph that parses plain text without its markup parser and lays out its
    lines once per width.

    Plain text (no markup: neither "<" nor "&"; most table cells) is one fragment of the style with
    the text, whitespace collapsed, which is what reportlab's parser (``html.parser`` underneath)
    makes of it: the fragment it made of a plain word is copied and given the text.  Anything else
    is parsed as before.

    A table wraps every cell when it is measured, again for each page it is split across (the rows
    left over are a new table of the same cells) and again when it draws them: the attestation of a
    small host wrapped its 400 paragraphs about 980 times, most of ``verify --pdf``'s re-rendering.
    Wrapping depends on the width alone (the height available is not read), so a second wrap at
    the same width returns the lines of the first; they are laid out again if the width differs
    or a split dropped them (``Paragraph.split`` deletes ``blPara`` when the paragraph moves on)."""

    def __init__(self, text: Any, style: ParagraphStyle | None = None, *args: Any, **kwargs: Any) -> None:
        cleaned = cleanBlockQuotedText(text) if type(text) is str and style is not None and not (
            args or kwargs or "<" in text or "&" in text) else ""
        if not cleaned:  # markup, an empty text, or a split's parts (given as fragments)
            super().__init__(text, style, *args, **kwargs)
            return
        fragment = copy.copy(_plain_fragment(style))  # what the parser's handle_data does
        fragment.text = cleaned
        fragment.link, fragment.us_lines = [], []  # the parser's own lists of this paragraph
        fragments = [fragment]
        textTransformFrags(fragments, style)
        super().__init__(cleaned, style, frags=fragments)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's names
        wrapped = self.__dict__.get("_wrapped")
        if wrapped is not None and wrapped[0] == availWidth and self.__dict__.get("blPara") is wrapped[1]:
            return self.width, self.height
        size = super().wrap(availWidth, availHeight)
        blPara = self.__dict__.get("blPara")  # noqa: N806 - reportlab's name
        self._wrapped = (availWidth, blPara) if blPara is not None and self.width == availWidth else None
        return size


def escape(value: str) -> str:
    """``value`` as paragraph text: plain text (:func:`auditor.text.plain_text`: a control character but
    tab and line feed, and a bidi control, as its escape, ``\\x1b``, ``\\u202e``, as every other
    output shows it; a process name's U+202E turned its finding's subject around on the page), and
    ``xml.sax.saxutils.escape``: &, > and < as entities.  Written out because importing that module
    imports urllib.request, http.client and ssl (about 15 ms of every PDF's start-up)."""
    return plain_text(value).replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


# The most characters of one value a paragraph holds.  reportlab breaks a word wider than its line
# by trying ever longer prefixes, time quadratic in the word: a 600,000-character host name (a
# replayed snapshot's) in the summary and the statement took nearly four minutes to lay out.
# Values already clipped to a cell (MAX_CELL_CHARACTERS and the note saying how many more) fit.
MAX_PARAGRAPH_VALUE_CHARACTERS = 4000


def text(value: Any) -> str:
    """Escape for paragraph markup; line breaks are kept; a longer value is clipped, saying how many
    more characters the evidence holds."""
    return escape(clipped(value, MAX_PARAGRAPH_VALUE_CHARACTERS)).replace("\n", "<br/>")


def prose(doc: Doc, label: str, body: str) -> list[Paragraph]:
    """Check texts are written with source-code line breaks: join the lines of a paragraph, but keep
    the lines of a block whose every line is code or a list item (audit rules, commands, bullets)."""
    flow: list[Paragraph] = []
    for index, block in enumerate(b for b in re.split(r"\n\s*\n", body.strip()) if b.strip()):
        lines = block.splitlines()
        lead = f"<b>{text(label)}</b> " if index == 0 else ""
        if all(line.startswith(("- ", "* ")) for line in lines):
            flow.append(para(doc, lead + "<br/>".join("\u2022 " + text(line[2:].strip()) for line in lines),
                             "small"))
        elif all(line[:1] in ("-", "#", " ", "\t", "$") for line in lines):
            code = "<br/>".join(text(line).replace("  ", "&nbsp; ") for line in lines)
            flow.append(para(doc, f'{lead}<font name="{FONT_NAMES["mono"]}" size="7.2">{code}</font>', "small"))
        else:
            flow.append(para(doc, lead + text(" ".join(line.strip() for line in lines)), "small"))
    return flow


def hex_colour(colour: colors.Color) -> str:
    return colour.hexval().replace("0x", "#")


def status_markup(doc: Doc, status: Status | str) -> str:
    status = Status(status)
    return f'<font color="{hex_colour(doc.theme.status_colour(status.value))}"><b>{STATUS_LABELS[status]}</b></font>'


def heading(doc: Doc, title: str, level: int = 1, key: str | None = None) -> Paragraph:
    style = {1: doc.styles.h1, 2: doc.styles.h2, 3: doc.styles.h3}[level]
    para = Paragraph(text(title), style)
    para.keepWithNext = True
    if key is not None:
        para.outline = (title, key, level - 1)  # read by the document template: PDF bookmarks
    return para


def para(doc: Doc, markup: str, style: str = "body") -> Paragraph:
    return Paragraph(markup, getattr(doc.styles, style))


def table_style(commands: list[tuple]) -> TableStyle:
    """Every table style starts by naming an embedded font for all cells: reportlab otherwise sets
    Helvetica (a standard, unembedded font) for each cell it draws, even for paragraph cells."""
    return TableStyle([("FONT", (0, 0), (-1, -1), FONT_NAMES["regular"], 8), *commands])


def _fitted(item: Any, width: float) -> Any:
    """A cell of :func:`cell` clipped to what a column of ``width`` points holds in CELL_HEIGHT_POINTS,
    measured as reportlab wraps it (a narrow column of the method section held a 2000-character
    policy name on no page: LayoutError, exit 70); anything else as it is."""
    if not isinstance(item, _Cell) or len(item.plain) < MEASURED_CELL_CHARACTERS:
        return item
    inner = width - 8  # the table style's left and right padding

    def fits(paragraph: Paragraph) -> bool:
        return paragraph.wrap(inner, 1e9)[1] <= CELL_HEIGHT_POINTS

    if fits(item):
        return item
    low, high = 1, len(item.plain) - 1  # the longest clip that fits, by bisection (a dozen wraps)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(Paragraph(text(clipped(item.plain, middle)), item.style)):
            low = middle
        else:
            high = middle - 1
    return Paragraph(text(clipped(item.plain, low)), item.style)


def table(doc: Doc, header: list[str], rows: list[list[Any]], widths: list[float], *, long: bool = True,
          extra: Iterable[tuple] = ()) -> Table:
    """A table whose header row repeats on every page it spans, with zebra rows."""
    theme = doc.theme
    rows = [[_fitted(item, width) for item, width in zip(row, widths)] for row in rows]
    data = [[Paragraph(text(h), doc.styles.header_cell) for h in header]] + rows
    kind = LongTable if long else Table
    result = kind(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    result.setStyle(table_style([
        ("BACKGROUND", (0, 0), (-1, 0), theme.colour("primary")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, theme.colour("zebra")]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, theme.colour("rule")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 1), (-1, -1), FONT_NAMES["regular"], 8),
        ("LEADING", (0, 1), (-1, -1), 10),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        *extra,
    ]))
    return result


# A paragraph cell shows at most this many characters: 45 lines of the narrowest text column, inside
# the page (see MAX_CELL_LINES); the rest is in the evidence.
MAX_CELL_CHARACTERS = 2000


def clipped(value: Any, limit: int = MAX_CELL_CHARACTERS) -> str:
    """``value`` as text of at most ``limit`` characters, saying how many more the evidence holds:
    reportlab never splits a table row or a one-cell panel over pages, so a longer value (a policy
    owner or version, a host name, a gap reason of thousands of characters) stopped the whole PDF
    with its LayoutError (exit 70)."""
    value = str(value)
    if len(value) > limit:
        value = f"{value[:limit - 1]}\u2026 ({len(value) - limit + 1} more characters in the evidence)"
    return value


class _Cell(Paragraph):
    """A paragraph cell made of plain text by :func:`cell`: :func:`table` clips it again to what its
    column can hold on one page."""

    plain: str


def cell(doc: Doc, value: Any, style: str = "cell") -> Paragraph:
    plain = clipped(value)
    paragraph = _Cell(text(plain), getattr(doc.styles, style))
    paragraph.plain = plain
    return paragraph


# A cell is clipped to at most this many points of a page's height (the frame is ~728 pt: room for
# the repeated header row and the cell's padding).
CELL_HEIGHT_POINTS = 660
# Shorter cells are not measured: no column is narrow enough for them to fill a page.
MEASURED_CELL_CHARACTERS = 200


# ------------------------------------------------------------------ cover

def _digest(value: str) -> str:
    return f'<font name="{FONT_NAMES["mono"]}" size="7.6">{text(clipped(value))}</font>'


def _facts_trust(trust: FactsTrust) -> str:
    """Cover line: whether the facts came from a verified snapshot, and by which key."""
    if trust.kind == "collected":
        return text("yes: collected by this run, not read from a file")
    if trust.kind == "verified":
        return "<b>verified snapshot</b>: its Ed25519 signature holds for key<br/>" + _digest(trust.key or "?")
    if trust.kind == "bundle":
        return f"<b>UNVERIFIED captured bundle</b>: {text(clipped(trust.why))}; its outputs could have been edited"
    return f"<b>UNVERIFIED snapshot</b>: {text(clipped(trust.why))}; its facts could have been edited"


def _logo(doc: Doc) -> Image | None:
    if doc.org_logo is not None:
        reader = ImageReader(io.BytesIO(doc.org_logo))
        width, height = reader.getSize()
        scale = 15 * mm / max(width, height)
        return Image(io.BytesIO(doc.org_logo), width=width * scale, height=height * scale)
    if doc.theme.logo is not None:
        return Image(str(doc.theme.logo), width=15 * mm, height=15 * mm)
    return None


def _scope_box(doc: Doc) -> Table:
    """Target, privileges, what could not be seen: what the verdict covers, boxed on the cover."""
    scope = doc.view.cover.scope
    assert scope is not None  # the view always sets it; None only for views built by hand
    if scope.unseen:
        # each line and all of them together within a cell's bound
        shown, room = [], MAX_CELL_CHARACTERS
        for line in scope.unseen:
            if room <= 0:
                shown.append(f"\u2026 {len(scope.unseen) - len(shown)} more (in the evidence)")
                break
            shown.append(clipped(line)[:room])
            room -= len(shown[-1])
        unseen = "<br/>".join("\u2022 " + text(line) for line in shown)
        if scope.not_reviewed:
            unseen += f"<br/>{count_phrase(scope.not_reviewed, 'finding')} not reviewed as a result"
    else:
        unseen = "nothing: every fact the rules needed was collected"
    rows = [[Paragraph("<b>Scope of this assessment</b>", doc.styles.cell), ""],
            [cell(doc, "Target", "cell_bold"), cell(doc, scope.target)],
            [cell(doc, "Ran with", "cell_bold"), cell(doc, scope.privileges)],
            [cell(doc, "Could not be seen", "cell_bold"), Paragraph(unseen, doc.styles.cell)]]
    box = Table(rows, colWidths=[38 * mm, doc.width - 38 * mm], hAlign="LEFT")
    box.setStyle(table_style([
        ("SPAN", (0, 0), (-1, 0)),
        ("BOX", (0, 0), (-1, -1), 0.8, doc.theme.colour("primary")),
        ("BACKGROUND", (0, 0), (-1, 0), doc.theme.colour("zebra")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
    ]))
    return box


def cover(doc: Doc) -> list[Flowable]:
    view, theme, styles = doc.view.cover, doc.theme, doc.styles
    flow: list[Flowable] = []

    organisation = view.organisation or theme.organisation
    brand = [para(doc, f"<b>{text(clipped(organisation or 'lbaudit'))}</b>", "body"),
             para(doc, f"Policy-as-code compliance attestation \u00b7 document {text(view.document_id)}", "muted")]
    logo = _logo(doc)
    if logo is not None:
        band = Table([[logo, brand]], colWidths=[19 * mm, doc.width - 19 * mm], hAlign="LEFT")
        band.setStyle(table_style([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        flow.append(band)
    else:
        flow += brand
    flow += [Spacer(1, 6 * mm), Paragraph(text(theme.title), styles.title), Paragraph(text(theme.subtitle), styles.subtitle)]

    verdict_colour = theme.verdict_colours.get(view.verdict.value, theme.colour("primary"))
    panel = Table([[Paragraph(view.verdict_word, styles.verdict)],
                   [Paragraph(text(clipped(view.verdict_sentence)), _on_colour(styles.body))]],
                  colWidths=[doc.width], hAlign="LEFT")
    panel.setStyle(table_style([
        ("BACKGROUND", (0, 0), (-1, -1), verdict_colour),
        ("LEFTPADDING", (0, 0), (-1, -1), 9), ("RIGHTPADDING", (0, 0), (-1, -1), 9),
        ("TOPPADDING", (0, 0), (-1, 0), 9), ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
    ]))
    flow += [panel, Spacer(1, 3 * mm), _status_strip(doc), Spacer(1, 4 * mm)]
    if view.scope is not None:
        flow += [_scope_box(doc), Spacer(1, 4 * mm)]

    signed = (_digest(view.fingerprint) + "<br/>Ed25519 key fingerprint (SHA-256) named by the detached "
              f"signature {text(clipped(view.evidence_name))}.sig; <i>lbaudit verify</i> checks it"
              if view.fingerprint else "<b>unsigned</b>: no detached signature accompanied the evidence")
    rows = [
        ("System assessed", text(clipped(view.system))),
        ("Operating system", text(clipped(f"{view.os}, kernel {view.kernel}"))),
        ("Machine ID", _digest(clipped(view.machine_id))),
        ("Facts collected from", text(clipped(view.source))),
        ("Facts trusted", _facts_trust(view.trust)),
        ("Policy", text(clipped(view.policy)) + "<br/>SHA-256 " + _digest(view.policy_sha256)),
        ("Assessment ran", text(view.ran) + " with " + text(clipped(view.tool))),
        ("Assessor", text(clipped(view.assessor))),
        ("Document", text(view.document_id) + " (from the evidence SHA-256)"),
        ("Evidence", text(clipped(view.evidence_name)) + " (embedded in this PDF as an attachment)<br/>SHA-256 "
         + _digest(view.evidence_sha256)),
        ("Signing key", signed),
    ]
    details = Table([[cell(doc, label, "cell_bold"), Paragraph(value, styles.cell)] for label, value in rows],
                    colWidths=[38 * mm, doc.width - 38 * mm], hAlign="LEFT")
    details.setStyle(table_style([
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, theme.colour("rule")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    flow += [details, Spacer(1, 4 * mm)]
    flow.append(para(doc, "This document is rendered from the evidence file alone. Check it with "
                          f"<b>lbaudit verify {text(shell_word(view.evidence_name))} --pubkey KEY --pdf THIS.pdf</b>: "
                          "the evidence must be intact, signed by that key, and be the file embedded here. "
                          "Section 5 says what the second evidence digest (of its content) is.", "muted"))
    return flow


def _status_strip(doc: Doc) -> Table:
    """The findings count by status, at a glance, under the verdict."""
    number = ParagraphStyle("count", parent=doc.styles.body, fontName=FONT_NAMES["bold"], fontSize=15, leading=18,
                            spaceAfter=0)
    cells = []
    for status, count in doc.view.cover.status_counts:
        colour = hex_colour(doc.theme.status_colour(status.value))
        cells.append([Paragraph(f'<font color="{colour}">{count}</font>', number),
                      Paragraph(STATUS_LABELS[status], doc.styles.muted)])
    strip = Table([cells], colWidths=[doc.width / len(cells)] * len(cells), hAlign="LEFT")
    strip.setStyle(table_style([
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, doc.theme.colour("rule")),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return strip


def _on_colour(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle("on_colour", parent=style, textColor=colors.white, fontSize=10, leading=13.5, spaceAfter=0)


# ------------------------------------------------------------------ executive summary

class EmbeddedFontDrawing(Drawing):
    """A drawing whose renderer starts from an embedded font: reportlab.graphics otherwise sets its
    default, Helvetica (unembedded), on the canvas before drawing anything."""

    def draw(self) -> None:
        saved = STATE_DEFAULTS["fontName"]
        STATE_DEFAULTS["fontName"] = FONT_NAMES["regular"]
        try:
            super().draw()
        finally:
            STATE_DEFAULTS["fontName"] = saved


def family_chart(doc: Doc) -> Drawing:
    """Stacked horizontal bars: for each NIST control family, how many of its controls have each status."""
    families = [(f.family, f.title, f.counts) for f in doc.view.summary.family_counts]
    theme = doc.theme
    statuses = [s for s in STATUS_ORDER if any(counts[s.value] for _, _, counts in families)] or [Status.PASS]
    bar_height = 9 * mm
    plot_height = max(1, len(families)) * bar_height
    legend_height = 10 * mm
    drawing = EmbeddedFontDrawing(doc.width, plot_height + legend_height + 10 * mm)

    chart = HorizontalBarChart()
    chart.x, chart.y = 74 * mm, legend_height + 6 * mm
    chart.width, chart.height = doc.width - 80 * mm, plot_height
    chart.data = [[counts[s.value] for _, _, counts in reversed(families)] for s in statuses]
    chart.categoryAxis.categoryNames = [f"{fam} {title}" for fam, title, _ in reversed(families)]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontName = FONT_NAMES["regular"]
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.strokeColor = theme.colour("rule")
    chart.categoryAxis.tickLeft = 0
    chart.valueAxis.valueMin = 0
    total = max((sum(counts.values()) for _, _, counts in families), default=1)
    chart.valueAxis.valueMax = total
    chart.valueAxis.valueStep = max(1, (total + 4) // 5)
    chart.valueAxis.labels.fontName = FONT_NAMES["regular"]
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%d"
    chart.valueAxis.strokeColor = theme.colour("rule")
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = theme.colour("rule")
    chart.valueAxis.gridStrokeWidth = 0.3
    chart.barSpacing = 0
    chart.groupSpacing = 2.2 * mm
    chart.bars.strokeColor = colors.white
    chart.bars.strokeWidth = 0.6
    for index, status in enumerate(statuses):
        chart.bars[index].fillColor = theme.status_colour(status.value)
    drawing.add(chart)
    drawing.add(String(chart.x, chart.y + chart.height + 3 * mm, "Controls per family, by status",
                       fontName=FONT_NAMES["bold"], fontSize=8, fillColor=theme.colour("text")))

    x = chart.x
    for status in statuses:  # legend
        drawing.add(Rect(x, 2 * mm, 3 * mm, 3 * mm, fillColor=theme.status_colour(status.value), strokeColor=None))
        label = STATUS_LABELS[status]
        drawing.add(String(x + 4.2 * mm, 2.5 * mm, label, fontName=FONT_NAMES["regular"], fontSize=7.5,
                           fillColor=theme.colour("text")))
        x += 4.2 * mm + len(label) * 1.55 * mm + 5 * mm
    return drawing


def summary(doc: Doc) -> list[Flowable]:
    view = doc.view.summary
    flow: list[Flowable] = [heading(doc, "1 Executive summary", key="summary")]
    flow.append(para(doc, (
        f"lbaudit evaluated {count_phrase(view.rules, 'rule')} of policy <b>{text(view.policy_id)}</b> "
        f"{text(view.policy_version)} on <b>{text(view.hostname)}</b>, producing "
        f"{count_phrase(view.findings, 'finding')} over "
        f"{count_phrase(view.controls, 'NIST SP 800-53 control')} in "
        f"{view.families} control {'family' if view.families == 1 else 'families'}. "
        f"Failing findings of severity <b>{text(view.fail_on)}</b> or above make the system non-compliant; "
        "a finding that was not reviewed or errored never counts as a pass.")))
    flow.append(para(doc, f"Verdict: <b>{view.verdict_word}</b>. {text(view.verdict_sentence)}"))

    # Counts by severity (rows) and status (columns): both breakdowns in one table.
    statuses = list(STATUS_ORDER)
    rows = [[cell(doc, row.severity, "cell_bold")] + [str(n) if n else "\u00b7" for n in row.counts] + [str(row.total)]
            for row in view.severity_rows]
    total = view.total_row
    rows.append([cell(doc, total.severity, "cell_bold")] + [str(n) for n in total.counts] + [str(total.total)])
    header = ["Severity"] + [STATUS_LABELS[s] for s in statuses] + ["total"]
    widths = [32 * mm] + [(doc.width - 32 * mm - 18 * mm) / len(statuses)] * len(statuses) + [18 * mm]
    flow.append(heading(doc, "Findings by severity and status", 2))
    flow.append(table(doc, header, rows, widths, long=False, extra=[
        ("ALIGN", (1, 1), (-1, -1), "CENTER"),
        ("FONT", (0, -1), (-1, -1), FONT_NAMES["bold"], 8),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, doc.theme.colour("primary")),
        *[("TEXTCOLOR", (1 + i, 1), (1 + i, -1), doc.theme.status_colour(s.value)) for i, s in enumerate(statuses)],
    ]))

    flow.append(heading(doc, "NIST SP 800-53 control families by status", 2))
    if view.family_counts:
        flow.append(family_chart(doc))
    else:
        flow.append(para(doc, "No finding maps to a control."))

    if view.attention:
        flow.append(heading(doc, "Rules that need attention", 2))
        rows = [[cell(doc, row.rule, "cell_bold"), cell(doc, row.severity), cell(doc, row.findings),
                 cell(doc, row.controls)] for row in view.attention]
        flow.append(table(doc, ["Rule", "Severity", "Findings", "Controls"], rows,
                          [60 * mm, 20 * mm, 52 * mm, doc.width - 132 * mm]))
    return flow


# ------------------------------------------------------------------ controls

def controls(doc: Doc) -> list[Flowable]:
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "2 Controls", key="controls"),
                            para(doc, "One row per NIST SP 800-53 Rev. 5 control the policy evidences, with the "
                                      "determination in the words of SP 800-53A: <b>satisfied</b> when every finding "
                                      "mapped to the control passed, otherwise <b>other than "
                                      "satisfied</b> (a finding failed, was waived as an approved deviation, "
                                      "errored or could not be reviewed; the status above it says which). The control statement and the SP 800-53A assessment "
                                      "objective and methods follow the table.")]
    if not doc.view.controls:
        return flow + [para(doc, "No finding maps to a control.")]
    rows = []
    for control in doc.view.controls:
        state = status_markup(doc, control.status) + "<br/>" + text(control.determination)
        rows.append([cell(doc, control.id, "cell_bold"), cell(doc, control.title), Paragraph(state, doc.styles.cell),
                     cell(doc, control.rules), cell(doc, control.findings)])
    flow.append(table(doc, ["Control", "Title", "Determination", "Rules", "Findings"], rows,
                      [20 * mm, 46 * mm, 36 * mm, 40 * mm, doc.width - 142 * mm]))
    flow.append(heading(doc, "What each control requires and how SP 800-53A assesses it", 2))
    sources = sorted({c.text_source for c in doc.view.controls if c.text_source})
    if sources:
        flow.append(para(doc, "From NIST's OSCAL catalogs (" + "; ".join(text(x) for x in sources) + "), "
                              "copied into lbaudit's controls/ by scripts/build-controls. Bracketed parameters are "
                              "the organisation's to define.", "muted"))
    for control in doc.view.controls:
        block: list[Flowable] = [heading(doc, f"{control.id} {control.title}: {control.determination}", 3)]
        if control.statement:
            block.append(para(doc, "<b>Control.</b> " + "<br/>".join(text(line) for line in control.statement),
                              "small"))
        if control.objective:
            block.append(para(doc, "<b>Assessment objective.</b> Determine if: " + "<br/>".join(
                text(line) for line in control.objective), "small"))
        for method, objects in control.methods:
            block.append(para(doc, f"<b>{method.capitalize()}.</b> " + text("; ".join(objects)) + ".", "small"))
        if control.text_note:
            block.append(para(doc, text(f"Note: {control.id} is {control.text_note}."), "muted"))
        flow.append(KeepTogether(block[:2]))
        flow += block[2:]
    return flow


# ------------------------------------------------------------------ findings

CELL_SIZE = 8  # plain-string table cells: regular/bold at this size, pre-wrapped
CELL_LEADING = 10
# A table row is never split over pages: a cell taller than the page (a process name of thousands of
# characters) stopped the whole PDF (reportlab's LayoutError, exit 70).  A cell shows at most this
# many lines (50 x 10 pt, well inside the page's frame with the header row); the rest is in the evidence.
MAX_CELL_LINES = 50
_BREAK_AFTER = "/.-_:,=@)]"  # where a token too long for its column may break: after these, never mid-word


def _split_long(token: str, width: float, font: str, size: float) -> list[str]:
    """A token wider than the column, cut after separators (a path at its slashes); only a run with no
    separator that is itself wider than the column (a digest) is cut where the column ends."""
    pieces, piece = [], ""
    for char in token:
        piece += char
        if char in _BREAK_AFTER:
            pieces.append(piece)
            piece = ""
    if piece:
        pieces.append(piece)
    lines, line = [], ""
    for part in pieces:
        if line and stringWidth(line + part, font, size) > width:
            lines.append(line)
            line = ""
        # Cut at the column edge where there is no separator to break at, walking the run by its
        # offset: taking what was left of it as a new string at every cut copied the run once a
        # line, time quadratic in its length again (4 MB of one character: 3 s a cell).
        start = 0
        while True:
            cut = _fitting_prefix(part, width, font, size, start)
            if start + cut == len(part):
                break
            lines.append(part[start:start + cut])
            start += cut
        line += part[start:] if start else part
    return lines + ([line] if line else [])


def _fitting_prefix(part: str, width: float, font: str, size: float, start: int = 0) -> int:
    """How many characters of ``part`` from ``start`` fit ``width`` (at least one): found by measuring
    prefixes of doubling length, then halving, so that each cut costs about its own line's length.
    Measuring what was left of the token at every cut took time quadratic in it: a process name of
    100,000 characters without a separator kept a PDF busy for 40 seconds, one of 1,000,000 for hours."""
    left = len(part) - start
    reach = 64
    while reach < left and stringWidth(part[start:start + reach], font, size) <= width:
        reach *= 2
    if reach >= left and stringWidth(part[start:], font, size) <= width:
        return left
    fits, too_wide = 1, min(reach, left)  # the first character is taken even if it is too wide
    while too_wide - fits > 1:
        middle = (fits + too_wide) // 2
        if stringWidth(part[start:start + middle], font, size) <= width:
            fits = middle
        else:
            too_wide = middle
    return fits


# Characters of one value a findings cell wraps, at most; the rest is counted, not laid out.  Its
# MAX_CELL_LINES lines never show this many (a line holds a few hundred of the narrowest glyphs),
# and wrapping costs time in the length wrapped: a reason of 20 MB, which an evidence file (up to
# 256 MiB) can hold, kept --pdf busy for minutes, one of 200 MB for hours.
MAX_WRAPPED_CHARACTERS = 500_000


@lru_cache(maxsize=8192)
def wrap_plain(value: str, width: float, font: str = FONT_NAMES["regular"], size: float = CELL_SIZE) -> str:
    """Word-wrap text for a plain-string table cell (reportlab draws "\n"-separated lines as they are).
    Plain strings are far cheaper to lay out than paragraphs, which is what lets thousands of findings
    render in about a second.  Breaks between words; a word longer than the column breaks only after
    a separator (see :func:`_split_long`).  Plain text, as :func:`escape` makes a paragraph's."""
    space = stringWidth(" ", font, size)
    out: list[str] = []
    unwrapped = len(value) - MAX_WRAPPED_CHARACTERS
    if unwrapped > 0:
        value = value[:MAX_WRAPPED_CHARACTERS]
    for raw in plain_text(value).splitlines() or [""]:
        line, line_width = "", 0.0
        for word in raw.split():
            word_width = stringWidth(word, font, size)
            if line and line_width + space + word_width <= width:
                line += " " + word
                line_width += space + word_width
                continue
            if line:
                out.append(line)
            if word_width <= width:
                line, line_width = word, word_width
            else:
                parts = _split_long(word, width, font, size)
                out += parts[:-1]
                line, line_width = parts[-1], stringWidth(parts[-1], font, size)
        out.append(line)
    if unwrapped > 0:
        more = f"\u2026 {unwrapped} more characters"
        if len(out) >= MAX_CELL_LINES:
            out[MAX_CELL_LINES - 1:] = [f"{more} and {len(out) - MAX_CELL_LINES + 1} more lines (in the evidence)"]
        else:  # characters that take no room (zero-width), all on the lines shown
            out.append(f"{more} (in the evidence)")
    elif len(out) > MAX_CELL_LINES:
        out[MAX_CELL_LINES - 1:] = [f"\u2026 {len(out) - MAX_CELL_LINES + 1} more lines (in the evidence)"]
    return "\n".join(out)


def _found_text(message: str, reason: str | None, observed: str, expected: str) -> str:
    lines = [message[:1].upper() + message[1:]] if message else []
    if reason:
        lines.append(f"Reason: {reason}")
    lines.append(f"Observed: {observed}")
    if expected != NOTHING:
        lines.append(f"Expected: {expected}")
    return "\n".join(lines)


def _status_styles(statuses: list[Status], first_row: int, doc: Doc) -> list[tuple]:
    """TEXTCOLOR commands for the status column, one per run of equal statuses."""
    commands: list[tuple] = []
    for index, status in enumerate(statuses, start=first_row):
        if index == first_row or statuses[index - first_row - 1] != status:
            commands.append(("TEXTCOLOR", (0, index), (0, index), doc.theme.status_colour(status.value)))
        else:
            last = commands[-1]
            commands[-1] = (last[0], last[1], (0, index), last[3])
    return commands


def _plain_table(doc: Doc, header: list[str], rows: list[list[str]], widths: list[float],
                 statuses: list[Status]) -> Table:
    """A findings table of pre-wrapped plain strings: status (coloured) and subject in bold."""
    extra = [("FONT", (0, 1), (1, -1), FONT_NAMES["bold"], CELL_SIZE), ("LEADING", (0, 1), (-1, -1), CELL_LEADING),
             *_status_styles(statuses, 1, doc)]
    return table(doc, header, rows, widths, extra=extra)


def _finding_rows(doc: Doc, findings: tuple[FindingRow, ...], widths: list[float]) -> list[list[str]]:
    inner = [w - 8 for w in widths]  # less the cell padding
    return [[STATUS_LABELS[f.status].replace(" ", "\n"),
             wrap_plain(f.subject, inner[1], FONT_NAMES["bold"]),
             wrap_plain(_found_text(f.message, f.reason, f.observed_sentence or f.observed,
                                    f.expected_sentence or f.expected), inner[2])]
            for f in findings]


def _cluster_rows(doc: Doc, clusters: tuple[FindingCluster, ...], widths: list[float]) -> list[list[str]]:
    inner = [w - 8 for w in widths]
    rows = []
    for c in clusters:
        subjects = "\n".join(c.subjects) + (f"\nand {c.more} more (in the evidence)" if c.more else "")
        rows.append([STATUS_LABELS[c.status].replace(" ", "\n"),
                     wrap_plain(f"{c.workload}: {count_phrase(c.count, 'finding')}", inner[1], FONT_NAMES["bold"]),
                     wrap_plain(subjects, inner[2]),
                     wrap_plain(_found_text(c.message, None, c.observed, c.expected), inner[3])])
    return rows


def findings(doc: Doc) -> list[Flowable]:
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "3 Findings", key="findings"),
                            para(doc, "Every finding that failed, errored or could not be reviewed, grouped by "
                                      "rule, with what was observed against what the policy expects. A rule with "
                                      "more than a few dozen such findings is summarised by process or workload, "
                                      "with counts and the first subjects; the embedded evidence lists every one. "
                                      "Waived findings are listed in section 4; passing and not-applicable findings "
                                      "are summarised at the end of this section.")]
    detail_widths = [16 * mm, 62 * mm, doc.width - 78 * mm]
    cluster_widths = [16 * mm, 40 * mm, 62 * mm, doc.width - 118 * mm]
    for group in doc.view.findings:
        head: list[Flowable] = [CondPageBreak(45 * mm), heading(doc, group.title, 2)]
        version = " " + text(group.check_version) if group.check_version is not None else ""
        shown = (f"{count_phrase(len(group.rows), 'finding')}, by workload" if group.clusters
                 else count_phrase(len(group.rows), 'finding'))
        meta = (f"Check <b>{text(group.check)}</b>{version} \u00b7 severity "
                f"<b>{text(group.severity)}</b> \u00b7 controls {text(group.controls)} \u00b7 "
                f"defined at {text(group.source)} \u00b7 {shown}")
        head.append(para(doc, meta, "muted"))
        if group.rationale is not None:
            head += prose(doc, "Rationale.", group.rationale)
        if group.remediation is not None:
            head += prose(doc, "Remediation.", group.remediation)
        for item in head[1:-1]:
            item.keepWithNext = True  # the rule's heading and texts stay together; the page break above
        flow += head                  # keeps room for the start of its table
        if group.clusters:
            rows = _cluster_rows(doc, group.clusters, cluster_widths)
            statuses = [c.status for c in group.clusters]
            header, widths = ["Status", "Process or workload", "Subjects", "What was found"], cluster_widths
        else:
            rows = _finding_rows(doc, group.rows, detail_widths)
            statuses = [r.status for r in group.rows]
            header, widths = ["Status", "Subject", "What was found"], detail_widths
        # reportlab re-lays the rest of a table at every page break, so one huge table costs far more
        # than several of TABLE_CHUNK_ROWS rows; the header repeats on every page a chunk spans.
        for start in range(0, len(rows), TABLE_CHUNK_ROWS):
            flow.append(_plain_table(doc, header, rows[start:start + TABLE_CHUNK_ROWS], widths,
                                     statuses[start:start + TABLE_CHUNK_ROWS]))
    if not doc.view.findings:
        flow.append(para(doc, "No finding failed, errored or went unreviewed."))
    flow += _passes(doc)
    return flow


def _passes(doc: Doc) -> list[Flowable]:
    rows = [[cell(doc, row.rule, "cell_bold"), cell(doc, row.check), str(row.passing), str(row.not_applicable),
             cell(doc, row.subjects)] for row in doc.view.passes]
    flow: list[Flowable] = [heading(doc, "Passing and not-applicable findings", 2)]
    if not rows:
        return flow + [para(doc, "No finding passed.")]
    return flow + [table(doc, ["Rule", "Check", "Pass", "N/A", "Subjects"], rows,
                         [42 * mm, 46 * mm, 11 * mm, 11 * mm, doc.width - 110 * mm],
                         extra=[("ALIGN", (2, 1), (3, -1), "CENTER")])]


# ------------------------------------------------------------------ waivers

def waivers(doc: Doc) -> list[Flowable]:
    view = doc.view.waivers
    flow: list[Flowable] = [CondPageBreak(50 * mm), heading(doc, "4 Waivers", key="waivers"),
                            para(doc, f"Waivers were judged against {view.evaluated_on} (UTC). A waiver "
                                      "is honoured through its expiry date, to 23:59:59 UTC; an expired waiver is not honoured and "
                                      "the findings it covered count as failures. Only failing findings can be "
                                      "waived: missing evidence cannot.")]
    if not view.rows:
        return flow + [para(doc, "The policy declares no waivers.")]
    rows = []
    fail = hex_colour(doc.theme.status_colour("fail"))
    muted = hex_colour(doc.theme.colour("muted"))
    for waiver in view.rows:
        if waiver.state == "expired":
            state = f'<font color="{fail}"><b>EXPIRED</b></font>, not honoured'
            if waiver.findings:
                state += f"; {count_phrase(waiver.findings, 'finding')} still failing"
        elif waiver.state == "applied":
            state = f"<b>applied</b> to {count_phrase(waiver.findings, 'finding')}"
        elif waiver.state == "superseded":
            state = (f"superseded: the {count_phrase(waiver.findings, 'finding')} it matches "
                     f"{'is' if waiver.findings == 1 else 'are'} waived by an earlier waiver")
        else:
            state = "unused: matched no failing finding"
        subject = text(waiver.subject) if waiver.subject is not None else "every finding of the rule"
        rule = f'<b>{text(waiver.rule_id)}</b><br/><font color="{muted}">{subject}</font>'
        rows.append([Paragraph(rule, doc.styles.cell), cell(doc, waiver.approver), cell(doc, waiver.reason),
                     cell(doc, waiver.expires), Paragraph(state, doc.styles.cell)])
    flow.append(table(doc, ["Rule and subject", "Approved by", "Reason", "Expires", "State"], rows,
                      [47 * mm, 30 * mm, doc.width - 133 * mm, 22 * mm, 34 * mm]))
    if view.waived:
        flow.append(heading(doc, "Waived findings", 2))
        rows = [[cell(doc, w.rule_id, "cell_bold"), cell(doc, w.subject), cell(doc, w.severity),
                 cell(doc, w.approver), cell(doc, w.until)] for w in view.waived]
        flow.append(table(doc, ["Rule", "Subject", "Severity", "Approved by", "Until"], rows,
                          [44 * mm, doc.width - 130 * mm, 18 * mm, 46 * mm, 22 * mm]))
    return flow


# ------------------------------------------------------------------ method and scope

def method(doc: Doc) -> list[Flowable]:
    view = doc.view.method
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "5 Method and scope", key="method")]
    privileges = "with administrative privileges" if view.privileged else "without administrative privileges"
    flow.append(para(doc, (
        f"Facts were collected from the {text(clipped(view.source))}{' ' + text(clipped(view.source_detail)) if view.source_detail else ''} "
        f"at {view.collected_at} by lbaudit {text(clipped(view.tool_version))}, running as {text(clipped(view.who))} "
        f"{privileges}. Evaluation is a pure function of the policy and these facts; the checks below judged "
        "them. What could not be seen is listed as a gap and turned into not-reviewed findings, never passes.")))

    flow.append(heading(doc, "Facts collected", 2))
    rows = [[cell(doc, row.section, "cell_bold"), cell(doc, row.how), cell(doc, row.state)] for row in view.sections]
    flow.append(table(doc, ["Section", "How", "State"], rows, [28 * mm, doc.width - 68 * mm, 40 * mm], long=False))

    flow.append(heading(doc, "What could not be seen", 2))
    if view.gaps:
        rows = [[cell(doc, g.section, "cell_bold"), cell(doc, g.field), cell(doc, g.kind), cell(doc, g.reason)]
                for g in view.gaps]
        flow.append(table(doc, ["Section", "Field", "Kind", "Reason"], rows,
                          [24 * mm, 34 * mm, 26 * mm, doc.width - 84 * mm]))
    else:
        flow.append(para(doc, "Every fact section the rules needed was collected in full."))
    if view.incomplete_reasons:
        flow.append(para(doc, "<b>Not reviewed or errored:</b> " + "; ".join(
            text(clipped(r)) for r in view.incomplete_reasons) + (
            f"; and {view.more_incomplete} more" if view.more_incomplete else ""),
            "small"))

    flow.append(heading(doc, "Checks that judged", 2))
    rows = [[cell(doc, c.name, "cell_bold"), cell(doc, c.version), cell(doc, c.origin), cell(doc, c.needs),
             cell(doc, c.controls)] for c in view.checks]
    flow.append(table(doc, ["Check", "Version", "Origin", "Facts", "Controls"], rows,
                      [48 * mm, 16 * mm, 42 * mm, 28 * mm, doc.width - 134 * mm]))

    flow.append(heading(doc, "Inputs and digests", 2))
    rows = [[cell(doc, row.input, "cell_bold"), cell(doc, row.name), cell(doc, row.sha256, "cell_mono")]
            for row in view.inputs]
    flow.append(table(doc, ["Input", "Name", "SHA-256"], rows, [32 * mm, doc.width - 140 * mm, 108 * mm], long=False))
    cover = doc.view.cover
    flow.append(para(doc, (
        f"<b>Two digests of the evidence.</b> The cover prints the SHA-256 of the evidence <i>file</i> "
        f"{text(cover.evidence_name)} ({_digest(cover.evidence_sha256)}): the bytes embedded in this PDF. The "
        f"evidence <i>content</i> SHA-256 ({_digest(cover.content_sha256)}) is of the same document in canonical "
        "JSON (sorted keys, no spacing): it is what a detached Ed25519 signature covers, and it stays the same "
        "if the file is only re-formatted."), "small"))
    flow.append(para(doc, f"Evaluated on {view.evaluated_on} with fail-on severity "
                          f"{text(view.fail_on)}{'; timings: ' + text(view.timings) if view.timings else ''}.",
                     "muted"))
    return flow


# ------------------------------------------------------------------ attestation

class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def attestation(doc: Doc) -> list[Flowable]:
    values = _Placeholders(doc.view.statement_values)
    flow: list[Flowable] = [CondPageBreak(120 * mm), heading(doc, "6 Attestation", key="attestation")]
    for block in doc.theme.statement.split("\n\n"):
        flow.append(para(doc, text(" ".join(block.split()).format_map(values))))
    cover = doc.view.cover
    flow.append(Spacer(1, 6 * mm))
    blocks = [_signature_block(doc, role, (doc.width - 10 * mm) / 2,
                               name=cover.assessor if index == 0 else "")
              for index, role in enumerate(doc.theme.signatories)]
    pairs = [blocks[i:i + 2] for i in range(0, len(blocks), 2)]
    for pair in pairs:
        row = Table([pair + [""] * (2 - len(pair))], colWidths=[(doc.width - 10 * mm) / 2 + 10 * mm,
                                                                 (doc.width - 10 * mm) / 2], hAlign="LEFT")
        row.setStyle(table_style([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        flow += [KeepTogether([row]), Spacer(1, 4 * mm)]
    if cover.fingerprint:
        evidence_signature = (f"the evidence file {text(cover.evidence_name)} carries a detached Ed25519 signature "
                              f"({text(cover.evidence_name)}.sig) by the key with fingerprint "
                              f"{_digest(cover.fingerprint)}; it covers the evidence content SHA-256 "
                              f"{_digest(cover.content_sha256)}.")
    else:
        evidence_signature = ("the evidence was <b>not signed</b> when this document was rendered: nothing but its "
                              "digests ties it to the assessment run.")
    flow.append(heading(doc, "Digital signatures", 2))
    flow.append(para(doc, "<b>Evidence signature:</b> " + evidence_signature, "small"))
    if cover.pdf_signer:
        pades = (f"this PDF is signed (PAdES) with the certificate {text(cover.pdf_signer)}. The signature is an "
                 "incremental update after these pages; a PDF reader lists it in its signature panel, and "
                 "<i>lbaudit verify</i> fails if it is missing or made with another certificate.")
    else:
        pades = ("none was asked for when this document was rendered (<i>--pdf-cert</i>): the pages are "
                 "proven by re-rendering the evidence, not by a signature on the PDF.")
    flow.append(para(doc, "<b>PDF signature (PAdES):</b> " + pades, "small"))
    flow.append(para(doc, "<i>lbaudit verify EVIDENCE --pubkey KEY --pdf THIS.pdf</i> checks the evidence "
                          "signature, that these pages are exactly the rendering of the evidence, and the PDF "
                          "signature if there is one.", "small"))
    return flow


def _signature_block(doc: Doc, role: str, width: float, name: str = "") -> Table:
    """A signatory's block; the first (the assessor) has the name pre-filled (--assessor)."""
    lines = [[cell(doc, role, "cell_bold"), ""]]
    lines += [[cell(doc, label, "muted"), cell(doc, value) if value else ""]
              for label, value in (("Name", name), ("Role", role if name else ""), ("Signature", ""), ("Date", ""))]
    block = Table(lines, colWidths=[22 * mm, width - 22 * mm], rowHeights=[7 * mm] + [10 * mm] * 4, hAlign="LEFT")
    block.setStyle(table_style([
        ("SPAN", (0, 0), (-1, 0)),
        ("LINEBELOW", (1, 1), (1, -1), 0.6, doc.theme.colour("text")),
        ("LINEABOVE", (0, 0), (-1, 0), 1.2, doc.theme.colour("primary")),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return block
