"""Host text in OSCAL markup: no character reference and no Markdown block of its own.

OSCAL's markup fields (markup-line, markup-multiline) are Markdown, which an OSCAL viewer renders
as CommonMark.  The document is plain text (control, bidi and invisible characters as ``\\u202e``),
and links and tags of host text were escaped, but two things of Markdown still reached the viewer:

* a character reference: a process named ``ss&#x200b;hd&#x202e;`` was a zero-width space and a
  right-to-left override once rendered ("Trojan Source" through the escaping), ``&lt;`` a ``<``;
* a line feed, which starts a block there: a process named ``x`` LF ``# Compliant`` LF ``- ok`` made a
  heading and a list of its own in the observation's title and description, the risk's statement.

Now every ``&`` of markup is escaped (``\\&``: shown as it is), and each host text there (subject,
message, reason, host name, operating system, facts' trust, the reasons of a control's remarks) is
one line, its line feeds shown as ``\\n`` as the terminal, JUnit and the PDF show them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.hostile.test_renderers_oscal import markup_values

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (rich's Markdown parser) renders the markup")

NON_COMPLIANT = 1
NAME = "ss&#x200b;hd&#x202e;cba&lt;b&gt;\\&#x2066;\n# Compliant\n- ok\n> quote\n***\n    code\n1. one"
BLOCKS = ("<h1>", "<h2>", "<ul>", "<ol>", "<blockquote>", "<hr", "<pre>", "<b>")
RAW = ("\u200b", "\u202e", "\u2066")


def _rendered_markup(tmp_path: Path, hostname: str = "web01") -> list[str]:
    process = ProcessInfo(pid=7, name=NAME, user="app")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[process])], hostname=hostname),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("md"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "oscal", "--out-dir", tmp_path / "out", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    document = json.loads((tmp_path / "out" / "md.oscal.json").read_text(encoding="utf-8"))
    renderer = markdown_it.MarkdownIt("commonmark")
    return [renderer.render(value) for value in markup_values(document)]


def test_a_process_name_makes_no_character_and_no_block_in_oscal_markup(tmp_path: Path):
    rendered = _rendered_markup(tmp_path)
    naming = [html for html in rendered if "Compliant" in html]
    assert len(naming) >= 4  # the observation's title and description, the risk's title and statement
    # before: U+200B, U+202E and U+2066 raw in what the viewer shows; a heading, a list, a quote,
    # a rule and a code block of the process name's
    assert [html for html in naming if any(c in html for c in RAW)] == []
    assert [html for html in naming if any(block in html for block in BLOCKS)] == []
    # the name is shown as it is written: its references as text, its line feeds as \n
    assert any("ss&amp;#x200b;hd&amp;#x202e;cba&amp;lt;b&amp;gt;" in html for html in naming)
    assert any("\\n# Compliant\\n- ok\\n" in html for html in naming)


def test_a_host_name_makes_no_block_in_oscal_markup(tmp_path: Path):
    rendered = _rendered_markup(tmp_path, hostname="web01\n# Compliant")
    naming = [html for html in rendered if "Compliant" in html]
    assert naming  # the inventory item, the assessment platform, the result's title
    assert [html for html in naming if "<h1>" in html] == []
