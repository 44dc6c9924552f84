"""Hostile process names in OSCAL markup, read the way an OSCAL viewer reads it.

The defect: titles, descriptions, statements and remarks of an assessment-results document are
OSCAL markup (markup-line, markup-multiline), which is Markdown, and they held host text as it was:
a process named ``[Fixed, see](https://example.invalid/x)`` or ``<https://example.invalid/x>`` was a
link in a viewer that renders the document (CommonMark, as markdown-it renders it here).  Now the
``](`` of a link and the ``<`` of an autolink are escaped; the text a viewer shows is the name.  Every
document validates against the OSCAL 1.1.2 assessment-results schema from ../shared/reference.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from auditor.model.facts import subject_word
from auditor.model.result import Status
from auditor.report import ReportContext
from auditor.report.oscal import render_oscal
from auditor.storage.evidence import evidence_bytes
from tests.hostile.test_renderers_sarif import _evidence
from tests.report.conftest import oscal_validator as oscal_validator  # noqa: F401 - the fixture, used by name

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (rich's Markdown parser) renders the markup")
MARKUP_FIELDS = ("title", "description", "statement", "remarks")


def markup_values(value: object) -> list[str]:
    """Every markup field's text in the document."""
    if isinstance(value, dict):
        return [text for key, item in value.items()
                for text in ([item] if key in MARKUP_FIELDS and isinstance(item, str) else markup_values(item))]
    if isinstance(value, list):
        return [text for item in value for text in markup_values(item)]
    return []


def shown(markup: str) -> str:
    """The markup as CommonMark renders it, tags removed and entities undone: what a viewer shows."""
    rendered = markdown_it.MarkdownIt("commonmark").render(markup)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize("process", [
    "[Fixed, see](https://example.invalid/x)",
    "<https://example.invalid/x>",
    "a\\](https://example.invalid/x)",
    "![img](https://example.invalid/p.png)",
])
def test_a_process_name_is_no_link_in_oscal_markup(oscal_validator, process):
    evidence = _evidence(process)
    subject = f"tcp 0.0.0.0:9000 {subject_word(process)} pid 4242"
    assert subject in [f.subject for f in evidence.result.findings if f.status == Status.FAIL]
    document = json.loads(render_oscal(evidence, ReportContext(evidence_bytes(evidence), evidence_path="e.json")))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in oscal_validator.iter_errors(document)] == []
    renderer = markdown_it.MarkdownIt("commonmark")
    values = markup_values(document)
    assert [v for v in values if "<a " in renderer.render(v) or "<img " in renderer.render(v)] == []
    titles = [shown(v).strip() for v in values if v.startswith("wildcard-listeners: tcp 0.0.0.0:9000 ")]
    assert titles == [f"wildcard-listeners: {subject}"]  # the observation's title, as a viewer shows it


def test_control_case_commonmark_makes_a_link_of_the_old_title():
    rendered = markdown_it.MarkdownIt("commonmark").render(
        "wildcard-listeners: tcp 0.0.0.0:9000 <https://example.invalid/x> pid 4242")
    assert '<a href="https://example.invalid/x">' in rendered
