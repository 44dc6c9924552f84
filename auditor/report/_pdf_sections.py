"""The layout of the PDF attestation: each section a list of platypus flowables.

What each section says (its words, rows, counts and verdict) is the format-neutral view,
:mod:`auditor.report.view`; this module only decides how it looks: headings, paragraphs, tables,
colours, the chart, page breaks.  Pure functions of the view and the theme: no clock, no host, no
randomness, so the same evidence always gives the same document.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import STATE_DEFAULTS, Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    LongTable,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from auditor.model.evidence import Evidence
from auditor.model.result import STATUS_ORDER, Status
from auditor.report._pdf_theme import FONT_NAMES, Styles, Theme
from auditor.report.view import (  # noqa: F401 - value_text and the word tables are read through this module too
    NOTHING,
    STATUS_LABELS,
    VERDICT_WORDS,
    AttestationView,
    FactsTrust,
    FindingRow,
    count_phrase,
    value_text,
)

TABLE_CHUNK_ROWS = 1000


@dataclass(frozen=True)
class Doc:
    """Everything a section needs: the evidence, how to refer to it, and the look."""

    evidence: Evidence
    view: AttestationView  # what the sections say
    theme: Theme
    styles: Styles
    width: float  # of the text frame


# ------------------------------------------------------------------ small helpers

def text(value: Any) -> str:
    """Escape for paragraph markup; line breaks are kept."""
    return escape(str(value)).replace("\n", "<br/>")


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


def table(doc: Doc, header: list[str], rows: list[list[Any]], widths: list[float], *, long: bool = True,
          extra: Iterable[tuple] = ()) -> Table:
    """A table whose header row repeats on every page it spans, with zebra rows."""
    theme = doc.theme
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


def cell(doc: Doc, value: Any, style: str = "cell") -> Paragraph:
    return Paragraph(text(value), getattr(doc.styles, style))


# ------------------------------------------------------------------ cover

def _digest(value: str) -> str:
    return f'<font name="{FONT_NAMES["mono"]}" size="7.6">{text(value)}</font>'


def _facts_trust(trust: FactsTrust) -> str:
    """Cover line: whether the facts came from a verified snapshot, and by which key."""
    if trust.kind == "collected":
        return text("yes: collected by this run, not read from a file")
    if trust.kind == "verified":
        return "<b>verified snapshot</b>: its Ed25519 signature holds for key<br/>" + _digest(trust.key or "?")
    if trust.kind == "bundle":
        return f"<b>UNVERIFIED captured bundle</b>: {text(trust.why)}; its outputs could have been edited"
    return f"<b>UNVERIFIED snapshot</b>: {text(trust.why)}; its facts could have been edited"


def cover(doc: Doc) -> list[Flowable]:
    view, theme, styles = doc.view.cover, doc.theme, doc.styles
    flow: list[Flowable] = []

    brand = [para(doc, f"<b>{text(theme.organisation or 'lbaudit')}</b>", "body"),
             para(doc, "Policy-as-code compliance attestation", "muted")]
    if theme.logo is not None:
        band = Table([[Image(str(theme.logo), width=15 * mm, height=15 * mm), brand]],
                     colWidths=[19 * mm, doc.width - 19 * mm], hAlign="LEFT")
        band.setStyle(table_style([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        flow.append(band)
    else:
        flow += brand
    flow += [Spacer(1, 10 * mm), Paragraph(text(theme.title), styles.title), Paragraph(text(theme.subtitle), styles.subtitle)]

    verdict_colour = theme.verdict_colours.get(view.verdict.value, theme.colour("primary"))
    panel = Table([[Paragraph(view.verdict_word, styles.verdict)],
                   [Paragraph(text(view.verdict_sentence), _on_colour(styles.body))]],
                  colWidths=[doc.width], hAlign="LEFT")
    panel.setStyle(table_style([
        ("BACKGROUND", (0, 0), (-1, -1), verdict_colour),
        ("LEFTPADDING", (0, 0), (-1, -1), 9), ("RIGHTPADDING", (0, 0), (-1, -1), 9),
        ("TOPPADDING", (0, 0), (-1, 0), 9), ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
    ]))
    flow += [panel, Spacer(1, 3 * mm), _status_strip(doc), Spacer(1, 6 * mm)]

    signed = (_digest(view.fingerprint) + "<br/>Ed25519 key fingerprint (SHA-256) named by the detached "
              f"signature {text(view.evidence_name)}.sig; <i>lbaudit verify</i> checks it"
              if view.fingerprint else "<b>unsigned</b>: no detached signature accompanied the evidence")
    rows = [
        ("System assessed", text(view.system)),
        ("Operating system", text(view.os)),
        ("Kernel", text(view.kernel)),
        ("Machine ID", _digest(view.machine_id)),
        ("Facts collected from", text(view.source)),
        ("Facts trusted", _facts_trust(view.trust)),
        ("Policy", text(view.policy)),
        ("Policy SHA-256", _digest(view.policy_sha256)),
        ("Assessment ran", text(view.ran)),
        ("Assessed with", text(view.tool)),
        ("Assessor", text(view.assessor)),
        ("Evidence file", text(view.evidence_name) + " (embedded in this PDF as an attachment)"),
        ("Evidence SHA-256", _digest(view.evidence_sha256)),
        ("Evidence content SHA-256", _digest(view.content_sha256)
         + "<br/>of its canonical JSON: the digest a signature covers"),
        ("Signing key", signed),
    ]
    details = Table([[cell(doc, label, "cell_bold"), Paragraph(value, styles.cell)] for label, value in rows],
                    colWidths=[42 * mm, doc.width - 42 * mm], hAlign="LEFT")
    details.setStyle(table_style([
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, theme.colour("rule")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    flow += [details, Spacer(1, 6 * mm)]
    flow.append(para(doc, "This document is rendered from the evidence file alone. Check it with "
                          f"<b>lbaudit verify {text(view.evidence_name)} --pubkey KEY --pdf THIS.pdf</b>: "
                          "the evidence must be intact, signed by that key, and be the file embedded here.", "muted"))
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
                            para(doc, "One row per NIST SP 800-53 Rev. 5 control the policy evidences. A control "
                                      "fails if any of its findings fails, is not reviewed if any evidence is "
                                      "missing, and is satisfied only when every finding passed or was waived.")]
    if not doc.view.controls:
        return flow + [para(doc, "No finding maps to a control.")]
    rows = [[cell(doc, control.id, "cell_bold"), cell(doc, control.title),
             Paragraph(status_markup(doc, control.status) + "<br/>"
                       + ("satisfied" if control.satisfied else "not satisfied"), doc.styles.cell),
             cell(doc, control.rules), cell(doc, control.findings)]
            for control in doc.view.controls]
    flow.append(table(doc, ["Control", "Title", "Status", "Rules", "Findings"], rows,
                      [20 * mm, 52 * mm, 24 * mm, 44 * mm, doc.width - 140 * mm]))
    return flow


# ------------------------------------------------------------------ findings

def _subject_cell(doc: Doc, row: FindingRow) -> Paragraph:
    markup = f"<b>{text(row.subject)}</b>"
    if row.message:
        markup += f'<br/><font color="{hex_colour(doc.theme.colour("muted"))}">{text(row.message)}</font>'
    if row.reason is not None:
        markup += f"<br/>Reason: {text(row.reason)}"
    return Paragraph(markup, doc.styles.cell)


MONO_SIZE = 7.5
MONO_ADVANCE = 0.602  # DejaVu Sans Mono: every glyph is 0.602 em wide


@lru_cache(maxsize=4096)
def mono_lines(value: str, width: float) -> str:
    """Hard-wrap text for a monospaced table cell.  Plain strings are several times cheaper than
    paragraphs to lay out, which is what lets 5,000 findings render in seconds."""
    per_line = max(8, int(width / (MONO_ADVANCE * MONO_SIZE)))
    lines: list[str] = []
    for raw in value.splitlines() or [""]:
        indent = " " * min(len(raw) - len(raw.lstrip(" ")) + 2, per_line // 2)  # hanging indent
        lines += textwrap.wrap(raw, per_line, subsequent_indent=indent, break_long_words=True,
                               break_on_hyphens=False, drop_whitespace=True) or [""]
    return "\n".join(lines)


def _finding_table(doc: Doc, findings: tuple[FindingRow, ...]) -> Table:
    widths = [18 * mm, 66 * mm, (doc.width - 84 * mm) / 2, (doc.width - 84 * mm) / 2]
    inner = widths[2] - 8  # less the cell padding
    rows, extra = [], [("FONT", (2, 1), (3, -1), FONT_NAMES["mono"], MONO_SIZE),
                       ("LEADING", (2, 1), (3, -1), MONO_SIZE * 1.25),
                       ("FONT", (0, 1), (0, -1), FONT_NAMES["bold"], 8)]
    for index, finding in enumerate(findings, start=1):
        rows.append([STATUS_LABELS[finding.status].replace(" ", "\n"), _subject_cell(doc, finding),
                     mono_lines(finding.observed, inner), mono_lines(finding.expected, inner)])
        if index == 1 or findings[index - 2].status != finding.status:
            extra.append(("TEXTCOLOR", (0, index), (0, index), doc.theme.status_colour(finding.status.value)))
        else:  # runs of one status share one style command
            last = extra[-1]
            extra[-1] = (last[0], last[1], (0, index), last[3])
    return table(doc, ["Status", "Subject", "Observed", "Expected"], rows, widths, extra=extra)


def findings(doc: Doc) -> list[Flowable]:
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "3 Findings", key="findings"),
                            para(doc, "Every finding that failed, errored or could not be reviewed, grouped by "
                                      "rule, with what was observed against what the policy expects. Waived "
                                      "findings are listed in section 4; passing and not-applicable findings "
                                      "are summarised at the end of this section.")]
    for group in doc.view.findings:
        head = [heading(doc, group.title, 2)]
        version = " " + text(group.check_version) if group.check_version is not None else ""
        meta = (f"Check <b>{text(group.check)}</b>{version} \u00b7 severity "
                f"<b>{text(group.severity)}</b> \u00b7 controls {text(group.controls)} \u00b7 "
                f"defined at {text(group.source)} \u00b7 {count_phrase(len(group.rows), 'finding')} shown")
        head.append(para(doc, meta, "muted"))
        if group.rationale is not None:
            head += prose(doc, "Rationale.", group.rationale)
        if group.remediation is not None:
            head += prose(doc, "Remediation.", group.remediation)
        # The rule's heading stays with the start of its table; the rest of a long table flows on.
        flow.append(KeepTogether(head + [_finding_table(doc, group.rows[:1])]))
        # reportlab re-lays the rest of a table at every page break, so one 5,000-row table costs
        # far more than five of 1,000 rows; each chunk repeats its header on every page it spans.
        for start in range(1, len(group.rows), TABLE_CHUNK_ROWS):
            flow.append(_finding_table(doc, group.rows[start:start + TABLE_CHUNK_ROWS]))
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
        f"Facts were collected from the {text(view.source)}{' ' + text(view.source_detail) if view.source_detail else ''} "
        f"at {view.collected_at} by lbaudit {text(view.tool_version)}, running as {text(view.who)} "
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
            text(r) for r in view.incomplete_reasons) + (
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
    flow.append(Spacer(1, 8 * mm))
    blocks = [_signature_block(doc, role, (doc.width - 10 * mm) / 2) for role in doc.theme.signatories]
    pairs = [blocks[i:i + 2] for i in range(0, len(blocks), 2)]
    for pair in pairs:
        row = Table([pair + [""] * (2 - len(pair))], colWidths=[(doc.width - 10 * mm) / 2 + 10 * mm,
                                                                 (doc.width - 10 * mm) / 2], hAlign="LEFT")
        row.setStyle(table_style([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        flow += [KeepTogether([row]), Spacer(1, 6 * mm)]
    return flow


def _signature_block(doc: Doc, role: str, width: float) -> Table:
    lines = [[cell(doc, role, "cell_bold"), ""]]
    lines += [[cell(doc, label, "muted"), ""] for label in ("Name", "Role", "Signature", "Date")]
    block = Table(lines, colWidths=[22 * mm, width - 22 * mm], rowHeights=[7 * mm] + [10 * mm] * 4, hAlign="LEFT")
    block.setStyle(table_style([
        ("SPAN", (0, 0), (-1, 0)),
        ("LINEBELOW", (1, 1), (1, -1), 0.6, doc.theme.colour("text")),
        ("LINEABOVE", (0, 0), (-1, 0), 1.2, doc.theme.colour("primary")),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return block
