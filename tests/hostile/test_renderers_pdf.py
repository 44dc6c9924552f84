"""Hostile length in the PDF: a process name of a million characters without a separator.

The defect: a findings cell cut a token wider than its column at the column's edge by measuring
what was left of the token at every cut, time quadratic in its length: 100,000 characters kept
``--pdf`` busy for 40 seconds, a 1,000,000-character name (a snapshot file's) for hours, and the
evaluate that asked for the PDF wrote nothing meanwhile.  Each cut now measures about its own line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pypdf
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from auditor.model.facts import ProcessInfo
from auditor.report._pdf_sections import CELL_SIZE, MAX_CELL_LINES, _split_long, wrap_plain
from auditor.report._pdf_theme import FONT_NAMES, load_theme
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
WIDTH = 168.0  # about the subject column of the findings table, in points


@pytest.fixture(autouse=True)
def fonts() -> None:
    load_theme()  # registers the fonts the widths are measured in


@pytest.mark.parametrize("token", ["x" * 200_000, ("W" * 7 + "i") * 25_000, "\u4e00" * 50_000 + "ab"])
def test_a_token_without_separators_is_cut_into_the_widest_lines_that_fit(token):
    font = FONT_NAMES["bold"]
    lines = _split_long(token, WIDTH, font, CELL_SIZE)
    assert "".join(lines) == token
    assert all(stringWidth(line, font, CELL_SIZE) <= WIDTH for line in lines)
    # each line but the last is as long as fits: one more character would not
    assert all(stringWidth(line + nxt[0], font, CELL_SIZE) > WIDTH for line, nxt in zip(lines, lines[1:]))


def test_a_cell_of_300000_characters_shows_its_first_lines_and_says_how_many_more():
    font = FONT_NAMES["bold"]
    cell = wrap_plain("N" * 300_000, WIDTH, font).split("\n")
    per_line = len(cell[0])
    total = -(-300_000 // per_line)
    assert len(cell) == MAX_CELL_LINES
    assert cell[:-1] == ["N" * per_line] * (MAX_CELL_LINES - 1)
    assert cell[-1] == f"\u2026 {total - MAX_CELL_LINES + 1} more lines (in the evidence)"


@pytest.mark.slow
def test_evaluate_writes_the_pdf_of_a_process_named_with_a_million_characters(tmp_path: Path):
    name = "N" * 1_000_000
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("million"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=5, name=name)])]),
                   tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "ev.json", "--pdf", tmp_path / "report.pdf", "-q", timeout=240)
    assert result.returncode == NON_COMPLIANT, result.stderr  # before: still laying out after hours
    text = " ".join("".join(page.extract_text() for page in pypdf.PdfReader(tmp_path / "report.pdf").pages).split())
    assert "more lines (in the evidence)" in text
    evidence = json.loads((tmp_path / "ev.json").read_text())
    assert evidence["snapshot"]["facts"]["sockets"]["listeners"][0]["processes"][0]["name"] == name
