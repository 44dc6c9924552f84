"""Hostile process names in OSCAL markup: raw HTML and link reference definitions.

OSCAL markup (markup-line, markup-multiline) is Markdown, and a viewer that renders an
assessment-results document renders CommonMark, which passes raw inline HTML through: a process
named ``<a href="https://example.invalid/x">Fixed</a>`` was a link in the observation's title,
description and the risk, and ``<img src="https://example.invalid/p.png">`` an image the viewer
loads from wherever the name says (a beacon).  The ``](`` of an inline link and the ``<`` of an
autolink were escaped, but not the ``<`` of a tag, nor the ``][`` of a reference link or a link
reference definition at the start of a line (a name can hold a line feed): ``x`` + LF LF +
``[Fixed]: /evil`` + LF + ``[Fixed]`` made a link too.  Now every ``<``, the ``]`` of ``](``
and ``][``, and a ``[`` that starts a line are escaped: a viewer shows the name, and nothing of it is
a tag or a link.  (SARIF's ``message.text`` is plain text with embedded links alone:
tests/hostile/test_renderers_sarif.py.)
"""

from __future__ import annotations

import json

import pytest

from auditor.model.facts import subject_word
from auditor.model.result import Status
from auditor.report import ReportContext
from auditor.report.oscal import render_oscal
from auditor.storage.evidence import evidence_bytes
from auditor.text import line_text
from tests.hostile.test_renderers_oscal import markup_values, shown
from tests.hostile.test_renderers_sarif import _evidence
from tests.report.conftest import oscal_validator as oscal_validator  # noqa: F401 - the fixture, used by name

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (rich's Markdown parser) renders the markup")


@pytest.mark.parametrize("process", [
    '<a href="https://example.invalid/x">Fixed</a>',
    '<img src="https://example.invalid/p.png">',
    "x\\<b>bold</b>",  # a backslash of the name's own may not escape the escape
    "[Fixed][x]\n\n[x]: https://example.invalid/x",
    "x\n\n[Fixed]: /evil\n[Fixed]",
    "x\n   \\[Fixed]: /evil\n[Fixed]",
])
def test_a_process_name_is_no_tag_and_no_link_in_oscal_markup(oscal_validator, process):
    evidence = _evidence(process)
    subject = f"tcp 0.0.0.0:9000 {subject_word(process)} pid 4242"
    assert subject in [f.subject for f in evidence.result.findings if f.status == Status.FAIL]
    document = json.loads(render_oscal(evidence, ReportContext(evidence_bytes(evidence), evidence_path="e.json")))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in oscal_validator.iter_errors(document)] == []
    renderer = markdown_it.MarkdownIt("commonmark")
    # before: the observation's title and description and the risk's title held the tag or link
    values = markup_values(document)
    assert [v for v in values if "<a " in renderer.render(v) or "<img " in renderer.render(v)
            or "<b>" in renderer.render(v)] == []
    # the name as the viewer shows it, on one line: its line feeds as \n (a line feed starts a Markdown
    # block: tests/hostile/test_spoof17_oscal_markdown.py)
    [title] = [v for v in values if v.startswith("wildcard-listeners: tcp 0.0.0.0:9000 ")]
    assert shown(title).split() == f"wildcard-listeners: {line_text(subject)}".split()


def test_control_case_an_ipv6_subject_keeps_its_brackets_as_they_are():
    from auditor.report._shared import no_markdown_link

    assert no_markdown_link("wildcard-listeners: tcp [::]:6379 redis-server pid 901") == \
        "wildcard-listeners: tcp [::]:6379 redis-server pid 901"


def test_a_reason_in_a_control_objective_is_no_tag():
    """The reasons in a control objective's remarks (why it was not fully assessed: a check's error,
    a fact that could not be read, which name files and processes of the host) were not escaped at
    all: the fixture's "cannot parse <listener> & friends" showed as "cannot parse  & friends", its
    ``<listener>`` taken for a tag."""
    from tests.evidence_fixtures import make_evidence

    evidence = make_evidence()
    document = json.loads(render_oscal(evidence, ReportContext(evidence_bytes(evidence), evidence_path="e.json")))
    remarks = [finding["target"]["status"]["remarks"] for finding in document["assessment-results"]["results"][0]
               ["findings"] if "cannot parse" in finding["target"]["status"]["remarks"]]
    assert remarks != []
    renderer = markdown_it.MarkdownIt("commonmark")
    assert [r for r in remarks if "<listener>" in renderer.render(r)] == []
    assert all("cannot parse <listener> & friends" in shown(r) for r in remarks)
