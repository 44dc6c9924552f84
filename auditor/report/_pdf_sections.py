"""The sections of the PDF attestation, each a list of platypus flowables built from the evidence.

Pure functions of the evidence and the report context: no clock, no host, no randomness, so the
same evidence always gives the same document.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
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

from auditor.model.evidence import CheckRecord, Evidence
from auditor.model.result import STATUS_ORDER, Finding, Severity, Status, Verdict
from auditor.report._pdf_theme import FONT_NAMES, Styles, Theme

ATTENTION = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED)
STATUS_LABELS = {
    Status.FAIL: "fail",
    Status.ERROR: "error",
    Status.NOT_REVIEWED: "not reviewed",
    Status.PASS: "pass",
    Status.WAIVED: "waived",
    Status.NOT_APPLICABLE: "not applicable",
}
VERDICT_WORDS = {
    Verdict.COMPLIANT: "COMPLIANT",
    Verdict.NON_COMPLIANT: "NOT COMPLIANT",
    Verdict.INCOMPLETE: "INCOMPLETE",
}
SOURCE_WORDS = {"live": "live host", "root": "offline root directory", "snapshot": "saved snapshot"}
MAX_VALUE_CHARS = 600  # observed/expected longer than this are cut; the embedded evidence has them whole
MAX_PASS_SUBJECTS = 12
TABLE_CHUNK_ROWS = 1000


@dataclass(frozen=True)
class Doc:
    """Everything a section needs: the evidence, how to refer to it, and the look."""

    evidence: Evidence
    theme: Theme
    styles: Styles
    width: float  # of the text frame
    evidence_name: str
    evidence_sha256: str  # of the evidence file bytes
    content_sha256: str  # of the canonical JSON: what a detached signature signs
    fingerprint: str | None
    assessor: str

    def check(self, name: str) -> CheckRecord | None:
        return next((c for c in self.evidence.checks if c.name == name), None)


# ------------------------------------------------------------------ small helpers

def text(value: Any) -> str:
    """Escape for paragraph markup; line breaks are kept."""
    return escape(str(value)).replace("\n", "<br/>")


def utc_text(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _inline(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return ", ".join(_inline(v) for v in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _value_lines(value: Any, depth: int = 0) -> list[str]:
    """Observed/expected values as an auditor reads them: ``key: value`` lines, not raw JSON."""
    if isinstance(value, dict) and value and depth < 2:
        lines = []
        for key in sorted(value):
            inner = value[key]
            if isinstance(inner, (dict, list)) and inner and _inline(inner).startswith(("{", "[")) and depth < 1:
                lines.append(f"{key}:")
                lines += ["  " + line for line in _value_lines(inner, depth + 1)]
            else:
                lines.append(f"{key}: {_inline(inner)}")
        return lines
    if isinstance(value, list) and value and any(isinstance(v, dict) for v in value) and depth < 2:
        lines = []
        for item in value:
            item_lines = _value_lines(item, depth + 1)
            lines += ["- " + item_lines[0]] + ["  " + line for line in item_lines[1:]]
        return lines
    return [_inline(value)]


def value_text(value: Any) -> str:
    if value is None:
        return "\u2014"
    shown = "\n".join(_value_lines(value))
    if len(shown) > MAX_VALUE_CHARS:
        shown = shown[:MAX_VALUE_CHARS] + "\u2026 (cut; whole value in the embedded evidence)"
    return shown


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


def count_phrase(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


# ------------------------------------------------------------------ cover

def verdict_sentence(evidence: Evidence) -> str:
    result = evidence.result
    policy = f"policy {evidence.policy.id} {evidence.policy.version}"
    threshold = result.fail_on.value
    failing = [f for f in result.findings if f.status == Status.FAIL]
    blocking = [f for f in failing if f.severity.rank >= result.fail_on.rank]
    incomplete = [f for f in result.findings if f.status in (Status.ERROR, Status.NOT_REVIEWED)]
    if result.verdict == Verdict.NON_COMPLIANT:
        sentence = (f"The system does not meet {policy}: {count_phrase(len(blocking), 'finding')} "
                    f"failed at or above severity {threshold}.")
        if incomplete:
            sentence += (f" In addition, {count_phrase(len(incomplete), 'finding')} could not be reviewed "
                         "or errored, so the assessment is also incomplete.")
        return sentence
    if result.verdict == Verdict.INCOMPLETE:
        return (f"Compliance with {policy} could not be established: {count_phrase(len(incomplete), 'finding')} "
                f"could not be reviewed or errored. No finding failed at or above severity {threshold}.")
    below = len(failing)
    sentence = (f"The system meets {policy}: no finding failed at or above severity {threshold}, "
                "and every rule could be reviewed.")
    if below:
        sentence += f" {count_phrase(below, 'finding')} failed below that severity."
    return sentence


def _digest(value: str) -> str:
    return f'<font name="{FONT_NAMES["mono"]}" size="7.6">{text(value)}</font>'


def _facts_trust(prov: Any) -> str:
    """Cover line: whether the facts came from a verified snapshot, and by which key."""
    if prov.source != "snapshot":
        return text("yes: collected by this run, not read from a file")
    if prov.source_signature == "verified":
        return ("<b>verified snapshot</b>: its Ed25519 signature holds for key<br/>"
                + _digest(prov.source_signature_key or "?"))
    why = {"not_checked": "signed, but the signature was not checked (no --snapshot-pubkey)",
           "unsigned": "the snapshot is not signed"}.get(prov.source_signature or "", "signature state unknown")
    return f"<b>UNVERIFIED snapshot</b>: {text(why)}; its facts could have been edited"


def cover(doc: Doc) -> list[Flowable]:
    ev, theme, styles = doc.evidence, doc.theme, doc.styles
    prov = ev.snapshot.provenance
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

    verdict_colour = theme.verdict_colours.get(ev.result.verdict.value, theme.colour("primary"))
    panel = Table([[Paragraph(VERDICT_WORDS[ev.result.verdict], styles.verdict)],
                   [Paragraph(text(verdict_sentence(ev)), _on_colour(styles.body))]],
                  colWidths=[doc.width], hAlign="LEFT")
    panel.setStyle(table_style([
        ("BACKGROUND", (0, 0), (-1, -1), verdict_colour),
        ("LEFTPADDING", (0, 0), (-1, -1), 9), ("RIGHTPADDING", (0, 0), (-1, -1), 9),
        ("TOPPADDING", (0, 0), (-1, 0), 9), ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
    ]))
    flow += [panel, Spacer(1, 3 * mm), _status_strip(doc), Spacer(1, 6 * mm)]

    system = prov.hostname + (f" ({prov.arch})" if prov.arch else "")
    source = SOURCE_WORDS.get(prov.source, prov.source)
    if prov.source_detail:
        source += f" {prov.source_detail}"
    if prov.source_sha256:
        source += f" (SHA-256 {prov.source_sha256[:16]}\u2026)"
    signed = (_digest(doc.fingerprint) + "<br/>Ed25519 key fingerprint (SHA-256) named by the detached "
              f"signature {text(doc.evidence_name)}.sig; <i>lbaudit verify</i> checks it"
              if doc.fingerprint else "<b>unsigned</b>: no detached signature accompanied the evidence")
    rows = [
        ("System assessed", text(system)),
        ("Operating system", text(prov.os or "unknown")),
        ("Kernel", text(prov.kernel or "unknown")),
        ("Machine ID", _digest(prov.machine_id or "unknown")),
        ("Facts collected from", text(source)),
        ("Facts trusted", _facts_trust(prov)),
        ("Policy", text(f"{ev.policy.id}, version {ev.policy.version}, owner {ev.policy.owner}")),
        ("Policy SHA-256", _digest(ev.policy_sha256)),
        ("Assessment ran", text(f"{utc_text(ev.run.started_at)} to {utc_text(ev.run.finished_at)}")),
        ("Assessed with", text(f"lbaudit {ev.tool.version}")),
        ("Assessor", text(doc.assessor)),
        ("Evidence file", text(doc.evidence_name) + " (embedded in this PDF as an attachment)"),
        ("Evidence SHA-256", _digest(doc.evidence_sha256)),
        ("Evidence content SHA-256", _digest(doc.content_sha256)
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
                          f"<b>lbaudit verify {text(doc.evidence_name)} --pubkey KEY --pdf THIS.pdf</b>: "
                          "the evidence must be intact, signed by that key, and be the file embedded here.", "muted"))
    return flow


def _status_strip(doc: Doc) -> Table:
    """The findings count by status, at a glance, under the verdict."""
    by_status = doc.evidence.result.summary.by_status
    number = ParagraphStyle("count", parent=doc.styles.body, fontName=FONT_NAMES["bold"], fontSize=15, leading=18,
                            spaceAfter=0)
    cells = []
    for status in STATUS_ORDER:
        colour = hex_colour(doc.theme.status_colour(status.value))
        cells.append([Paragraph(f'<font color="{colour}">{by_status.get(status.value, 0)}</font>', number),
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

def _families(doc: Doc) -> list[tuple[str, str, Counter]]:
    """Each family with the statuses the engine gave its controls (the evidence records family titles,
    so the PDF needs no catalog of its own)."""
    by_family: dict[str, Counter] = {}
    titles: dict[str, str] = {}
    for control in doc.evidence.result.controls:
        by_family.setdefault(control.family, Counter())[control.status.value] += 1
        titles.setdefault(control.family, control.family_title)
    return [(family, titles[family], by_family[family]) for family in sorted(by_family)]


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
    families = _families(doc)
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
    ev = doc.evidence
    result = ev.result
    flow: list[Flowable] = [heading(doc, "1 Executive summary", key="summary")]
    families = {c.family for c in result.controls}
    flow.append(para(doc, (
        f"lbaudit evaluated {count_phrase(result.summary.rules, 'rule')} of policy <b>{text(ev.policy.id)}</b> "
        f"{text(ev.policy.version)} on <b>{text(ev.snapshot.provenance.hostname)}</b>, producing "
        f"{count_phrase(result.summary.findings, 'finding')} over "
        f"{count_phrase(len(result.controls), 'NIST SP 800-53 control')} in "
        f"{len(families)} control {'family' if len(families) == 1 else 'families'}. "
        f"Failing findings of severity <b>{text(result.fail_on.value)}</b> or above make the system non-compliant; "
        "a finding that was not reviewed or errored never counts as a pass.")))
    flow.append(para(doc, f"Verdict: <b>{VERDICT_WORDS[result.verdict]}</b>. {text(verdict_sentence(ev))}"))

    # Counts by severity (rows) and status (columns): both breakdowns in one table.
    statuses = list(STATUS_ORDER)
    grid = Counter((f.severity, f.status) for f in result.findings)
    rows = []
    for severity in sorted(Severity, key=lambda s: -s.rank):
        counts = [grid[(severity, s)] for s in statuses]
        rows.append([cell(doc, severity.value, "cell_bold")] + [str(n) if n else "\u00b7" for n in counts]
                    + [str(sum(counts))])
    totals = [result.summary.by_status.get(s.value, 0) for s in statuses]
    rows.append([cell(doc, "all severities", "cell_bold")] + [str(n) for n in totals] + [str(sum(totals))])
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
    if result.controls:
        flow.append(family_chart(doc))
    else:
        flow.append(para(doc, "No finding maps to a control."))

    failing_rules = Counter(f.rule_id for f in result.findings if f.status in ATTENTION)
    if failing_rules:
        flow.append(heading(doc, "Rules that need attention", 2))
        rows = []
        for rule in ev.policy.rules:
            if rule.id not in failing_rules:
                continue
            counts = Counter(f.status for f in result.findings if f.rule_id == rule.id)
            states = ", ".join(f"{counts[s]} {STATUS_LABELS[s]}" for s in ATTENTION if counts[s])
            rows.append([cell(doc, rule.id, "cell_bold"), cell(doc, rule.severity.value), cell(doc, states),
                         cell(doc, ", ".join(rule.controls))])
        flow.append(table(doc, ["Rule", "Severity", "Findings", "Controls"], rows,
                          [60 * mm, 20 * mm, 52 * mm, doc.width - 132 * mm]))
    return flow


# ------------------------------------------------------------------ controls

def controls(doc: Doc) -> list[Flowable]:
    result = doc.evidence.result
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "2 Controls", key="controls"),
                            para(doc, "One row per NIST SP 800-53 Rev. 5 control the policy evidences. A control "
                                      "fails if any of its findings fails, is not reviewed if any evidence is "
                                      "missing, and is satisfied only when every finding passed or was waived.")]
    if not result.controls:
        return flow + [para(doc, "No finding maps to a control.")]
    rows = []
    for control in result.controls:
        counts = ", ".join(f"{n} {STATUS_LABELS[Status(s)]}" for s, n in sorted(
            control.counts.items(), key=lambda kv: STATUS_ORDER.index(Status(kv[0]))) if n)
        rows.append([cell(doc, control.id, "cell_bold"), cell(doc, control.title or "\u2014"),
                     Paragraph(status_markup(doc, control.status) + "<br/>"
                               + ("satisfied" if control.satisfied else "not satisfied"), doc.styles.cell),
                     cell(doc, ", ".join(control.rules)), cell(doc, counts)])
    flow.append(table(doc, ["Control", "Title", "Status", "Rules", "Findings"], rows,
                      [20 * mm, 52 * mm, 24 * mm, 44 * mm, doc.width - 140 * mm]))
    return flow


# ------------------------------------------------------------------ findings

def _subject_cell(doc: Doc, finding: Finding) -> Paragraph:
    markup = f"<b>{text(finding.subject)}</b>"
    if finding.message:
        markup += f'<br/><font color="{hex_colour(doc.theme.colour("muted"))}">{text(finding.message)}</font>'
    if finding.reason and finding.reason != finding.message.removeprefix("not reviewed: "):
        markup += f"<br/>Reason: {text(finding.reason)}"
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


def _finding_table(doc: Doc, findings: list[Finding]) -> Table:
    widths = [18 * mm, 66 * mm, (doc.width - 84 * mm) / 2, (doc.width - 84 * mm) / 2]
    inner = widths[2] - 8  # less the cell padding
    rows, extra = [], [("FONT", (2, 1), (3, -1), FONT_NAMES["mono"], MONO_SIZE),
                       ("LEADING", (2, 1), (3, -1), MONO_SIZE * 1.25),
                       ("FONT", (0, 1), (0, -1), FONT_NAMES["bold"], 8)]
    for index, finding in enumerate(findings, start=1):
        observed = finding.observed
        if observed is None and finding.status in (Status.NOT_REVIEWED, Status.ERROR):
            observed_text = "not observed"
        else:
            observed_text = value_text(observed)
        rows.append([STATUS_LABELS[finding.status].replace(" ", "\n"), _subject_cell(doc, finding),
                     mono_lines(observed_text, inner), mono_lines(value_text(finding.expected), inner)])
        if index == 1 or findings[index - 2].status != finding.status:
            extra.append(("TEXTCOLOR", (0, index), (0, index), doc.theme.status_colour(finding.status.value)))
        else:  # runs of one status share one style command
            last = extra[-1]
            extra[-1] = (last[0], last[1], (0, index), last[3])
    return table(doc, ["Status", "Subject", "Observed", "Expected"], rows, widths, extra=extra)


def findings(doc: Doc) -> list[Flowable]:
    ev = doc.evidence
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "3 Findings", key="findings"),
                            para(doc, "Every finding that failed, errored or could not be reviewed, grouped by "
                                      "rule, with what was observed against what the policy expects. Waived "
                                      "findings are listed in section 4; passing and not-applicable findings "
                                      "are summarised at the end of this section.")]
    by_rule: dict[str, list[Finding]] = {}
    for finding in ev.result.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    shown = 0
    for rule in ev.policy.rules:
        attention = sorted((f for f in by_rule.get(rule.id, []) if f.status in ATTENTION),
                           key=lambda f: (order[f.status], f.subject, f.id))
        if not attention:
            continue
        shown += 1
        record = doc.check(rule.check)
        head = [heading(doc, f"{rule.id}: {rule.title or (record.title if record else rule.check)}", 2)]
        meta = (f"Check <b>{text(rule.check)}</b>{' ' + text(record.version) if record else ''} \u00b7 severity "
                f"<b>{text(rule.severity.value)}</b> \u00b7 controls {text(', '.join(rule.controls))} \u00b7 "
                f"defined at {text(rule.source)} \u00b7 {count_phrase(len(attention), 'finding')} shown")
        head.append(para(doc, meta, "muted"))
        if record is not None:
            head += prose(doc, "Rationale.", record.rationale)
            head += prose(doc, "Remediation.", record.remediation)
        # The rule's heading stays with the start of its table; the rest of a long table flows on.
        flow.append(KeepTogether(head + [_finding_table(doc, attention[:1])]))
        # reportlab re-lays the rest of a table at every page break, so one 5,000-row table costs
        # far more than five of 1,000 rows; each chunk repeats its header on every page it spans.
        for start in range(1, len(attention), TABLE_CHUNK_ROWS):
            flow.append(_finding_table(doc, attention[start:start + TABLE_CHUNK_ROWS]))
    if not shown:
        flow.append(para(doc, "No finding failed, errored or went unreviewed."))
    flow += _passes(doc, by_rule)
    return flow


def _passes(doc: Doc, by_rule: dict[str, list[Finding]]) -> list[Flowable]:
    rows = []
    for rule in doc.evidence.policy.rules:
        group = by_rule.get(rule.id, [])
        passing = sorted(f.subject for f in group if f.status == Status.PASS)
        not_applicable = [f for f in group if f.status == Status.NOT_APPLICABLE]
        if not passing and not not_applicable:
            continue
        subjects = "; ".join(passing[:MAX_PASS_SUBJECTS])
        if len(passing) > MAX_PASS_SUBJECTS:
            subjects += f"; and {len(passing) - MAX_PASS_SUBJECTS} more (in the evidence)"
        for finding in not_applicable[:MAX_PASS_SUBJECTS]:
            subjects += f"{'; ' if subjects else ''}n/a: {finding.subject} ({finding.reason})"
        rows.append([cell(doc, rule.id, "cell_bold"), cell(doc, rule.check), str(len(passing)),
                     str(len(not_applicable)), cell(doc, subjects or "\u2014")])
    flow: list[Flowable] = [heading(doc, "Passing and not-applicable findings", 2)]
    if not rows:
        return flow + [para(doc, "No finding passed.")]
    return flow + [table(doc, ["Rule", "Check", "Pass", "N/A", "Subjects"], rows,
                         [42 * mm, 46 * mm, 11 * mm, 11 * mm, doc.width - 110 * mm],
                         extra=[("ALIGN", (2, 1), (3, -1), "CENTER")])]


# ------------------------------------------------------------------ waivers

def waivers(doc: Doc) -> list[Flowable]:
    ev = doc.evidence
    result = ev.result
    flow: list[Flowable] = [CondPageBreak(50 * mm), heading(doc, "4 Waivers", key="waivers"),
                            para(doc, f"Waivers were judged against {ev.run.evaluated_on.isoformat()} (UTC). A waiver "
                                      "is honoured through its expiry date, to 23:59:59 UTC; an expired waiver is not honoured and "
                                      "the findings it covered count as failures. Only failing findings can be "
                                      "waived: missing evidence cannot.")]
    if not result.waivers:
        return flow + [para(doc, "The policy declares no waivers.")]
    rows = []
    fail = hex_colour(doc.theme.status_colour("fail"))
    muted = hex_colour(doc.theme.colour("muted"))
    for waiver in result.waivers:
        if waiver.state == "expired":
            state = f'<font color="{fail}"><b>EXPIRED</b></font>, not honoured'
            if waiver.findings:
                state += f"; {count_phrase(len(waiver.findings), 'finding')} still failing"
        elif waiver.state == "applied":
            state = f"<b>applied</b> to {count_phrase(len(waiver.findings), 'finding')}"
        else:
            state = "unused: matched no failing finding"
        subject = text(waiver.subject) if waiver.subject else "every finding of the rule"
        rule = f'<b>{text(waiver.rule_id)}</b><br/><font color="{muted}">{subject}</font>'
        rows.append([Paragraph(rule, doc.styles.cell), cell(doc, waiver.approver), cell(doc, waiver.reason),
                     cell(doc, waiver.expires.isoformat()), Paragraph(state, doc.styles.cell)])
    flow.append(table(doc, ["Rule and subject", "Approved by", "Reason", "Expires", "State"], rows,
                      [47 * mm, 30 * mm, doc.width - 133 * mm, 22 * mm, 34 * mm]))
    waived = [f for f in result.findings if f.status == Status.WAIVED]
    if waived:
        flow.append(heading(doc, "Waived findings", 2))
        rows = [[cell(doc, f.rule_id, "cell_bold"), cell(doc, f.subject), cell(doc, f.severity.value),
                 cell(doc, f.waiver.approver if f.waiver else "\u2014"),
                 cell(doc, f.waiver.expires.isoformat() if f.waiver else "\u2014")]
                for f in sorted(waived, key=lambda f: (f.rule_id, f.subject))]
        flow.append(table(doc, ["Rule", "Subject", "Severity", "Approved by", "Until"], rows,
                          [44 * mm, doc.width - 130 * mm, 18 * mm, 46 * mm, 22 * mm]))
    return flow


# ------------------------------------------------------------------ method and scope

def method(doc: Doc) -> list[Flowable]:
    ev = doc.evidence
    prov = ev.snapshot.provenance
    flow: list[Flowable] = [CondPageBreak(60 * mm), heading(doc, "5 Method and scope", key="method")]
    source = SOURCE_WORDS.get(prov.source, prov.source)
    privileges = "with administrative privileges" if prov.privileged else "without administrative privileges"
    who = prov.effective_user or "unknown user"
    if prov.effective_uid is not None:
        who += f" (uid {prov.effective_uid})"
    flow.append(para(doc, (
        f"Facts were collected from the {text(source)}{' ' + text(prov.source_detail) if prov.source_detail else ''} "
        f"at {utc_text(prov.collected_at)} by lbaudit {text(prov.tool_version)}, running as {text(who)} "
        f"{privileges}. Evaluation is a pure function of the policy and these facts; the checks below judged "
        "them. What could not be seen is listed as a gap and turned into not-reviewed findings, never passes.")))

    flow.append(heading(doc, "Facts collected", 2))
    facts = ev.snapshot.facts
    rows = []
    for section in ("sockets", "sysctl", "audit"):
        collected = getattr(facts, section) is not None
        gaps = ev.snapshot.gaps_for(section)
        state = "collected" if collected else "not collected"
        if collected and gaps:
            state = "collected, partly"
        rows.append([cell(doc, section, "cell_bold"), cell(doc, prov.methods.get(section, "\u2014")),
                     cell(doc, state)])
    flow.append(table(doc, ["Section", "How", "State"], rows, [28 * mm, doc.width - 68 * mm, 40 * mm], long=False))

    flow.append(heading(doc, "What could not be seen", 2))
    if ev.snapshot.gaps:
        rows = [[cell(doc, g.section, "cell_bold"), cell(doc, g.field or "whole section"),
                 cell(doc, g.kind.value.replace("_", " ")), cell(doc, g.reason)]
                for g in sorted(ev.snapshot.gaps, key=lambda g: (g.section, g.field, g.reason))]
        flow.append(table(doc, ["Section", "Field", "Kind", "Reason"], rows,
                          [24 * mm, 34 * mm, 26 * mm, doc.width - 84 * mm]))
    else:
        flow.append(para(doc, "Every fact section the rules needed was collected in full."))
    if ev.result.incomplete_reasons:
        flow.append(para(doc, "<b>Not reviewed or errored:</b> " + "; ".join(
            text(r) for r in ev.result.incomplete_reasons[:20]) + (
            f"; and {len(ev.result.incomplete_reasons) - 20} more" if len(ev.result.incomplete_reasons) > 20 else ""),
            "small"))

    flow.append(heading(doc, "Checks that judged", 2))
    rows = [[cell(doc, c.name, "cell_bold"), cell(doc, c.version), cell(doc, c.origin), cell(doc, ", ".join(c.needs)),
             cell(doc, ", ".join(c.controls))] for c in ev.checks]
    flow.append(table(doc, ["Check", "Version", "Origin", "Facts", "Controls"], rows,
                      [48 * mm, 16 * mm, 42 * mm, 28 * mm, doc.width - 134 * mm]))

    flow.append(heading(doc, "Inputs and digests", 2))
    rows = [[cell(doc, "Policy file" + (" (extends)" if i else ""), "cell_bold"), cell(doc, s.path),
             cell(doc, s.sha256, "cell_mono")] for i, s in enumerate(ev.policy.sources)]
    rows += [
        [cell(doc, "Policy (resolved)", "cell_bold"), cell(doc, f"{ev.policy.id} {ev.policy.version}"),
         cell(doc, ev.policy_sha256, "cell_mono")],
        [cell(doc, "Facts", "cell_bold"), cell(doc, "facts and gaps, canonical JSON"), cell(doc, ev.facts_sha256, "cell_mono")],
        [cell(doc, "Evidence file", "cell_bold"), cell(doc, doc.evidence_name), cell(doc, doc.evidence_sha256, "cell_mono")],
        [cell(doc, "Evidence content", "cell_bold"), cell(doc, "canonical JSON (signed)"),
         cell(doc, doc.content_sha256, "cell_mono")],
    ]
    flow.append(table(doc, ["Input", "Name", "SHA-256"], rows, [32 * mm, doc.width - 140 * mm, 108 * mm], long=False))
    timings = ", ".join(f"{k} {v} ms" for k, v in sorted(ev.run.timings_ms.items()))
    flow.append(para(doc, f"Evaluated on {ev.run.evaluated_on.isoformat()} with fail-on severity "
                          f"{text(ev.result.fail_on.value)}{'; timings: ' + text(timings) if timings else ''}.",
                     "muted"))
    return flow


# ------------------------------------------------------------------ attestation

class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def attestation(doc: Doc) -> list[Flowable]:
    ev = doc.evidence
    prov = ev.snapshot.provenance
    values = _Placeholders(
        host=prov.hostname, machine_id=prov.machine_id or "unknown", date=utc_text(ev.run.finished_at),
        policy_id=ev.policy.id, policy_version=ev.policy.version, policy_sha256=ev.policy_sha256,
        tool_version=ev.tool.version, evidence_name=doc.evidence_name, evidence_sha256=doc.evidence_sha256,
        verdict=VERDICT_WORDS[ev.result.verdict],
    )
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
