"""The self-contained HTML report, rendered with Jinja2 from the format-neutral view of the evidence.

What it says comes from :mod:`auditor.report.view` (the same cover, summary, controls, waivers and
method the PDF lays out, plus :func:`~auditor.report.view.finding_lines` for the table of every
finding); this module only decides the markup.  The page is one file that loads nothing: the
stylesheet and the script (``reports/html/``) are inlined, charts are inline SVG, and a
Content-Security-Policy admits only that exact style and script (by SHA-256) and nothing from
anywhere, so even markup that slipped through could not load or run anything.  Evidence strings are
hostile (process names, paths, policy text): Jinja2 autoescaping is on for everything.

Seams for what is not built yet: the template's ``history_trends`` and ``fleet_overview`` blocks
are empty here; a history or fleet report extends ``report.html.j2``, fills them, and passes its own
values through ``extra`` of :func:`render_page`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from auditor.model.evidence import Evidence
from auditor.model.result import STATUS_ORDER, Severity, Status
from auditor.report import ReportContext, Reporter
from auditor.report._shared import bounded_evidence
from auditor.report.view import (
    CONTROL_JUDGEMENTS,
    STATUS_LABELS,
    AttestationView,
    control_judgement,
    finding_lines,
    view_of,
)
from auditor.resources import data_dir
from auditor.text import document_text, shell_word

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
SCRIPT = "report.js"
PAGE_SIZE = 250  # rows shown at once; "show more" adds as many (the DOM holds every row regardless)
CHART_WIDTH = 600


def template_dir() -> Path:
    return data_dir("reports") / "html"


def _document_text(value: Any) -> Any:
    if isinstance(value, str):
        text = document_text(value)
        if text is not value:
            return Markup(text) if isinstance(value, Markup) else text
    return value


@lru_cache(maxsize=4)
def _environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    shipped = jinja2.FileSystemLoader(str(template_dir()))
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader([loader, shipped]) if loader is not None else shipped,
        autoescape=True,  # every value, including evidence text, is escaped unless marked safe here
        finalize=_document_text,  # and holds no control character an HTML page may not (an ESC in a name)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["shell_word"] = shell_word  # a file name in a command the reader runs
    return environment


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@dataclass(frozen=True)
class BarSegment:
    label: str
    css: str  # class name: the colour
    count: int
    x: float
    width: float


MIN_SEGMENT = 4.0  # a count of 1 among 5,000 still shows as a sliver


def _bar(parts: list[tuple[str, str, int]], width: float = CHART_WIDTH) -> tuple[BarSegment, ...]:
    """A stacked bar of counts as SVG rectangles: (label, css class, count) -> positioned segments.
    Every non-zero count gets at least MIN_SEGMENT units; the others shrink to make room."""
    shown = [(label, css, count) for label, css, count in parts if count]
    total = sum(count for _, _, count in shown)
    widths = [max(MIN_SEGMENT, width * count / total) for _, _, count in shown]
    scale = width / sum(widths) if widths else 1.0
    segments, x = [], 0.0
    for (label, css, count), w in zip(shown, widths):
        segments.append(BarSegment(label, css, count, round(x, 2), round(w * scale, 2)))
        x += w * scale
    return tuple(segments)


@dataclass(frozen=True)
class ControlEntry:
    id: str
    title: str
    judgement: str
    status_label: str
    rules: str
    findings: str


@dataclass(frozen=True)
class FamilyEntry:
    family: str
    title: str
    counts: tuple[tuple[str, int], ...]  # judgement -> controls, in CONTROL_JUDGEMENTS order
    bar: tuple[BarSegment, ...]
    controls: tuple[ControlEntry, ...]


def _families(evidence: Evidence, view: AttestationView) -> tuple[FamilyEntry, ...]:
    by_id = {row.id: row for row in view.controls}
    families: dict[str, list[ControlEntry]] = {}
    titles: dict[str, str] = {}
    for control in evidence.result.controls:  # the engine's judgement, as the evidence records it
        row = by_id[control.id]
        families.setdefault(control.family, []).append(ControlEntry(
            row.id, row.title, control_judgement(control.status, control.satisfied), STATUS_LABELS[control.status],
            row.rules, row.findings))
        titles.setdefault(control.family, control.family_title)
    entries = []
    for family in sorted(families):
        counts = Counter(c.judgement for c in families[family])
        ordered = tuple((j, counts[j]) for j in CONTROL_JUDGEMENTS)
        bar = _bar([(j, "j-" + j.replace(" ", "-"), n) for j, n in ordered], width=240)
        entries.append(FamilyEntry(family, titles[family], ordered, bar, tuple(families[family])))
    return tuple(entries)


# The ids the engine gives findings (Finding.make_id).  A row's anchor is "f-" + its id only for
# these: an id is whatever the evidence file says, and "more" made the row "f-more", which the
# page's script then took for its "Show more" button and hid.  No id of the page's own is 16 hex digits.
ENGINE_FINDING_ID = re.compile(r"[0-9a-f]{16}")


def _row_anchors(lines: tuple[Any, ...]) -> tuple[str | None, ...]:
    """Each row's anchor id (after "f-"): its finding id when the engine could have made it and no
    row before has it, else None (an id must be unique on the page)."""
    seen: set[str] = set()
    anchors = []
    for line in lines:
        usable = ENGINE_FINDING_ID.fullmatch(line.id) is not None and line.id not in seen
        seen.add(line.id)
        anchors.append(line.id if usable else None)
    return tuple(anchors)


def page_values(evidence: Evidence, context: ReportContext) -> dict[str, Any]:
    """Everything the template shows, as plain values (the view, plus charts and filter choices)."""
    evidence = bounded_evidence(evidence)
    view = view_of(evidence, context)
    lines = finding_lines(evidence)
    status_parts = [(STATUS_LABELS[s], "s-" + s.value, n) for s, n in view.cover.status_counts]
    families = _families(evidence, view)
    judgements = Counter(j for f in families for j, n in f.counts for _ in range(n))
    return {
        "view": view,
        "findings": lines,
        "row_anchors": _row_anchors(lines),
        "statuses": [(s.value, STATUS_LABELS[s]) for s in STATUS_ORDER],
        "status_labels": STATUS_LABELS,
        "severities": [s.value for s in sorted(Severity, key=lambda s: -s.rank)],
        "rules": sorted({(line.rule_id, line.rule_title) for line in lines}),
        "control_ids": sorted({c for line in lines for c in line.controls}),
        "status_bar": _bar(status_parts),
        "chart_width": CHART_WIDTH,
        "families": families,
        "judgement_counts": tuple((j, judgements[j]) for j in CONTROL_JUDGEMENTS),
        "page_size": PAGE_SIZE,
        "signed": view.cover.fingerprint is not None,
        "Status": Status,
    }


def render_page(values: Mapping[str, Any], template: str = TEMPLATE, extra: Mapping[str, Any] | None = None,
                loader: jinja2.BaseLoader | None = None) -> str:
    """Render ``template`` (``report.html.j2`` or one that extends it, found by ``loader`` before the
    shipped templates) with ``values`` and ``extra`` (what an extending template adds, e.g. trends),
    the inlined stylesheet and script, and the CSP that admits exactly those two."""
    folder = template_dir()
    css = (folder / STYLESHEET).read_text(encoding="utf-8")
    js = (folder / SCRIPT).read_text(encoding="utf-8")
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    # Our own files, inlined verbatim (a CSP hash must match their exact bytes): trusted, not evidence.
    return _environment(loader).get_template(template).render(
        **values, **(extra or {}), stylesheet=Markup(css), script=Markup(js), csp=csp)


def render_html(evidence: Evidence, context: ReportContext) -> bytes:
    return render_page(page_values(evidence, context)).encode("utf-8")


REPORTER = Reporter(
    name="html",
    extension=".html",
    description="one self-contained HTML page (no network loads): verdict, NIST controls, filterable findings",
    render=render_html,
)
