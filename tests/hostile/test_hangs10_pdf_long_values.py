"""A finding whose text is megabytes long renders into the PDF in seconds, not minutes or hours.

A findings cell shows at most MAX_CELL_LINES lines, but the whole value was wrapped first to count
the lines it did not show, and a run with no separator was cut at the column's edge by copying what
was left of it at every cut: time quadratic in its length.  An evidence file may hold 256 MiB, and
``report EVIDENCE --pdf`` of one whose finding has a 20 MB reason (or ``evaluate --pdf`` of a
snapshot naming a process with 20 million characters) was still laying out after minutes; 200 MB,
hours.  Now a cell wraps at most MAX_WRAPPED_CHARACTERS of a value, in time linear in them, and
says how many more characters and lines the evidence holds.

Each run is a real lbaudit process under a hard timeout (a hang fails, it does not block).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest

from auditor.report._pdf_sections import CELL_SIZE, MAX_CELL_LINES, MAX_WRAPPED_CHARACTERS, wrap_plain
from auditor.report._pdf_theme import FONT_NAMES, load_theme
from auditor.storage.snapshot import snapshot_bytes
from tests.hostile.test_input_loaders import POLICY, rich_snapshot

pytestmark = pytest.mark.slow  # real processes rendering PDFs

REPO = Path(__file__).resolve().parents[2]
LBAUDIT = "import sys; sys.argv = ['lbaudit'] + sys.argv[1:]; from auditor.entry import main; main()"
LONG = 20_000_000
WITHIN = 60  # seconds: before, the 20 MB reason was still laying out after minutes


def _lbaudit(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LBAUDIT, *map(str, args)], capture_output=True, text=True,
                          timeout=WITHIN, cwd=cwd,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": "",
                               "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "HOME": str(cwd)})


def _pdf_text(path: Path) -> str:
    return " ".join("".join(page.extract_text() for page in pypdf.PdfReader(path).pages).split())


def test_report_pdf_of_evidence_with_a_reason_of_20_megabytes_ends_in_time(tmp_path: Path):
    (tmp_path / "host.snapshot.json").write_bytes(snapshot_bytes(rich_snapshot()))
    (tmp_path / "policy.yaml").write_text(POLICY)
    evaluated = _lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", "host.snapshot.json", "-o",
                         "evidence.json", "-q", cwd=tmp_path)
    assert evaluated.returncode == 1, evaluated.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_bytes())
    failing = next(f for f in evidence["result"]["findings"] if f["status"] == "fail")
    failing["reason"] = "x" * LONG
    (tmp_path / "long.json").write_text(json.dumps(evidence))

    result = _lbaudit("report", "long.json", "--pdf", "long.pdf", "-q", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    said = re.findall(r"\u2026 (\d+) more characters and (\d+) more lines \(in the evidence\)", _pdf_text(tmp_path / "long.pdf"))
    assert len(said) == 1
    characters, lines = map(int, said[0])
    # the cell is the message, "Reason: " and the x's, and what was observed: all but its first
    # MAX_WRAPPED_CHARACTERS characters are counted, not wrapped
    assert LONG - MAX_WRAPPED_CHARACTERS < characters < LONG - MAX_WRAPPED_CHARACTERS + 4096
    assert lines > 1000


@pytest.fixture
def fonts() -> None:
    load_theme()  # registers the fonts the widths are measured in


@pytest.mark.parametrize("length", [4_000_000, 40_000_000])
def test_a_cell_value_of_megabytes_wraps_in_bounded_time_and_says_what_it_left_out(fonts, length):
    started = time.monotonic()
    cell = wrap_plain("N" * length, 168.0, FONT_NAMES["bold"], CELL_SIZE).split("\n")
    assert time.monotonic() - started < 5  # before: 4 MB took 3 s and 40 MB some 5 minutes
    per_line = len(cell[0])
    wrapped_lines = -(-MAX_WRAPPED_CHARACTERS // per_line)
    assert len(cell) == MAX_CELL_LINES
    assert cell[:-1] == ["N" * per_line] * (MAX_CELL_LINES - 1)
    assert cell[-1] == (f"\u2026 {length - MAX_WRAPPED_CHARACTERS} more characters and "
                        f"{wrapped_lines - MAX_CELL_LINES + 1} more lines (in the evidence)")


def test_control_case_a_cell_of_300000_characters_still_counts_every_line(fonts):
    cell = wrap_plain("N" * 300_000, 168.0, FONT_NAMES["bold"], CELL_SIZE).split("\n")
    per_line = len(cell[0])
    assert cell[-1] == f"\u2026 {-(-300_000 // per_line) - MAX_CELL_LINES + 1} more lines (in the evidence)"
