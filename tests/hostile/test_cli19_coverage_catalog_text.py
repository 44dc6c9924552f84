"""``lbaudit coverage --catalog`` of a catalog whose title, version or control titles are megabytes.

A catalog is someone else's JSON (up to 64 MiB).  Before: its metadata title and version, and each
baseline control's title, went whole into the ``Baseline:`` line and each control's line of the text
output, and into the ``--json`` document: a 1 MB title and a 1 MB version printed one terminal line
of 2 MB, and a 1 MB control title another of 1 MB (3 MB of output for two controls).  Every other
command cuts what a foreign file says when it prints it (``shown_line``, ``MAX_MESSAGE_LINE_CHARS``).
Now coverage does too: each text from the catalog is cut, saying how much more the catalog holds.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.text import MAX_MESSAGE_LINE_CHARS
from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "fixtures" / "coverage" / "policy.yaml"
MEGABYTE = 1_000_000
# a line of the output may hold a cut text and the words around it, never much more
LONGEST_LINE = MAX_MESSAGE_LINE_CHARS + 500


def huge_catalog(path: Path) -> Path:
    path.write_text(json.dumps({"catalog": {
        "metadata": {"title": "Tailored LOW baseline " + "T" * MEGABYTE, "version": "v" + "9" * MEGABYTE},
        "controls": [{"id": "au-2", "title": "Event " + "L" * MEGABYTE},
                     {"id": "ac-1", "title": "Policy and Procedures"}]}}))
    return path


def coverage(*args: object):
    return run_cli("coverage", "--policy", POLICY, "--baseline", "low", *args, cwd=REPO,
                   env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})


def test_megabyte_texts_of_a_catalog_are_cut_in_the_text_output(tmp_path: Path):
    catalog = huge_catalog(tmp_path / "c.json")
    run = coverage("--catalog", catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert max(len(line) for line in lines) <= LONGEST_LINE, [len(line) for line in lines]
    assert len(run.stdout) < 4 * LONGEST_LINE
    [baseline] = [line for line in lines if line.startswith("Baseline: ")]
    assert baseline.startswith("Baseline: Tailored LOW baseline TTTT")
    assert "more characters" in baseline and "in the catalog" in baseline
    assert baseline.endswith(f"({catalog}), 2 controls")
    [covered] = [line for line in lines if line.startswith("  AU-2 ")]
    assert "Event LLLL" in covered and "in the catalog" in covered and covered.endswith("[rules: binds]")
    assert "  AC-1      Policy and Procedures" in lines  # a title of ordinary length is as it was


def test_megabyte_texts_of_a_catalog_are_cut_in_the_json_output(tmp_path: Path):
    catalog = huge_catalog(tmp_path / "c.json")
    run = coverage("--catalog", catalog, "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(run.stdout) < 4 * LONGEST_LINE
    data = json.loads(run.stdout)
    assert data["baseline"]["catalog"].startswith("Tailored LOW baseline TTTT")
    assert len(data["baseline"]["catalog"]) <= LONGEST_LINE
    assert data["baseline"]["controls"] == 2
    [au2] = data["covered"]
    assert au2["id"] == "AU-2" and au2["title"].startswith("Event LLLL") and len(au2["title"]) <= LONGEST_LINE
    assert data["not_covered"] == [{"id": "AC-1", "title": "Policy and Procedures"}]
