"""Hostile length: a name of thousands of characters (a process name, its arguments' first word, a
user) in a PDF table cell.

reportlab never splits a table row over pages, so a cell taller than the page stopped the whole PDF
with its LayoutError: exit 70, and the evaluate that asked for it wrote nothing.  A findings cell
(pre-wrapped lines) now shows at most MAX_CELL_LINES lines and a paragraph cell (the passing
findings' subjects) at most MAX_CELL_CHARACTERS characters, saying how much more the evidence holds;
the evidence keeps every character.
"""

from __future__ import annotations

import json
from pathlib import Path

import pypdf
import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
LONG = 6000


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(loopback_only_policy("long"))
    return path


def _pdf_text(path: Path) -> str:
    """The PDF's text, every run of white space one space (a cell wraps where its column ends)."""
    return " ".join("".join(page.extract_text() for page in pypdf.PdfReader(path).pages).split())


def _evaluate(tmp_path: Path, policy: Path, *listeners) -> str:
    write_snapshot(snapshot(listeners=list(listeners)), tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", tmp_path / "snap.json", "-o", tmp_path / "ev.json",
                     "--pdf", tmp_path / "report.pdf", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr  # before: 70, LayoutError, nothing written
    return _pdf_text(tmp_path / "report.pdf")


def test_a_failing_finding_of_a_process_with_a_huge_name_fits_its_page(tmp_path: Path, policy: Path):
    name = "N" * LONG
    text = _evaluate(tmp_path, policy, listener("0.0.0.0", 22, processes=[ProcessInfo(pid=5, name=name)]))
    assert "more lines (in the evidence)" in text
    evidence = json.loads((tmp_path / "ev.json").read_text())
    assert evidence["snapshot"]["facts"]["sockets"]["listeners"][0]["processes"][0]["name"] == name


def test_a_passing_finding_of_a_process_with_a_huge_name_fits_its_page(tmp_path: Path, policy: Path):
    text = _evaluate(tmp_path, policy, listener("0.0.0.0", 22),
                     listener("127.0.0.1", 23, processes=[ProcessInfo(pid=6, name="P" * 9000)]))
    from auditor.report._pdf_sections import MAX_CELL_CHARACTERS

    more = 9000 + len("tcp 127.0.0.1:23  pid 6") - MAX_CELL_CHARACTERS + 1
    assert f"({more} more characters in the evidence)" in text


def test_control_case_a_name_of_ordinary_length_is_shown_whole(tmp_path: Path, policy: Path):
    text = _evaluate(tmp_path, policy, listener("0.0.0.0", 22, processes=[ProcessInfo(pid=5, name="nginx")]))
    assert "nginx" in text and "in the evidence)" not in text
