"""``history import --export`` of a line whose ``recorded_at`` was edited to year 2999.  What a
run's line says of its evidence is checked against the evidence, and its chain against the store,
but when it was recorded is the line's alone: it was imported (exit 0).  A recording clock behind
the one that recorded a host's last run is refused as a clock set back, so every later
``evaluate --record`` of the host was refused, exit 2, "the clock says ..., before run 1 ... was
recorded (2999-01-01...)": the nightly scans of the host were never recorded again.  Now a time of
an export's line more than an hour ahead of the importing clock is refused, naming FILE:LINE, and
nothing is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import record_scan

pytestmark = pytest.mark.slow  # three real evaluations


def _export(tmp_path: Path) -> list[dict]:
    store = str(tmp_path / "origin.db")
    record_scan(tmp_path, store, "first", wildcard_redis=False)
    export = run_cli("history", "export", "--with-evidence", "--store", store)
    assert export.returncode == 0, export.stderr
    return [json.loads(line) for line in export.stdout.splitlines()]


def test_an_export_line_recorded_in_2999_is_refused_and_nothing_is_recorded(tmp_path: Path):
    (line,) = _export(tmp_path)
    line["recorded_at"] = "2999-01-01T00:00:00Z"
    (tmp_path / "edited.jsonl").write_text(json.dumps(line) + "\n")
    copy = str(tmp_path / "copy.db")
    imported = run_cli("history", "import", "--export", tmp_path / "edited.jsonl", "--store", copy)
    assert imported.returncode == 2, imported.stdout + imported.stderr
    assert "edited.jsonl:1: recorded_at 2999-01-01T00:00:00Z is ahead of this clock" in imported.stderr
    assert not Path(copy).exists()  # nothing recorded: the store it would have created is not left behind
    # the host's next scan is recorded
    _, again = record_scan(tmp_path, copy, "second", wildcard_redis=True)
    assert "a clock set back" not in again.stderr


def test_control_case_the_export_as_written_is_imported(tmp_path: Path):
    lines = _export(tmp_path)
    (tmp_path / "export.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    imported = run_cli("history", "import", "--export", tmp_path / "export.jsonl", "--store", str(tmp_path / "copy.db"))
    assert imported.returncode == 0, imported.stderr
