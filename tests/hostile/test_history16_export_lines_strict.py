"""`history import --export` read each line with a bare json.loads, the one JSON input lbaudit did
not read with its strict reader (auditor.storage.jsonfile.loads_strict): a line nested 100,000 deep
raised RecursionError, an internal error (exit 70, "please report it") instead of FILE:LINE; a key
given twice was taken at its last value, a line two readers could read two ways, recorded (exit 0);
and the count of values before the parse (MAX_JSON_VALUES) did not apply.  The store's own reading
of a run's collection time (its evidence file) was the same bare parse.  Both now read as every
JSON document is: exit 2 naming FILE:LINE, nothing recorded."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.scans import record_scan


def _export_lines(tmp_path: Path) -> list[str]:
    store = str(tmp_path / "original.db")
    record_scan(tmp_path, store, "web-mon", wildcard_redis=False, hostname="web01", machine_id="a" * 32)
    exported = run_cli("history", "export", "--with-evidence", "--store", store)
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines and all(json.loads(line)["record"] for line in lines)
    return lines


def _import(tmp_path: Path, lines: list[str]) -> tuple[int, str, Path]:
    export = tmp_path / "history.jsonl"
    export.write_text("\n".join(lines) + "\n")
    copy = tmp_path / "copy.db"
    result = run_cli("history", "import", "--export", export, "--store", copy)
    return result.returncode, result.stdout + result.stderr, export


def _runs(store: Path) -> int:
    with open_store(str(store)) as opened:
        return len(opened.list_runs())


def test_a_line_nested_too_deep_is_named_not_an_internal_error(tmp_path: Path):
    lines = _export_lines(tmp_path)
    code, output, export = _import(tmp_path, [*lines, "[" * 100_000 + "]" * 100_000])
    assert code == 2, output
    assert output == (f"lbaudit: {export}:{len(lines) + 1}: not a line of history export (JSON): "
                      "nested deeper than 64 levels (line 1, column 65)\n")
    assert _runs(tmp_path / "copy.db") == 0


def test_a_line_with_a_key_given_twice_is_refused_not_read_at_its_last_value(tmp_path: Path):
    lines = _export_lines(tmp_path)
    first = lines[0]
    assert first.endswith("}")
    doubled = first[:-1] + ', "record": ' + json.dumps(json.loads(first)["record"]) + "}"
    code, output, export = _import(tmp_path, [doubled, *lines[1:]])
    assert code == 2, output
    assert output.startswith(f"lbaudit: {export}:1: not a line of history export (JSON): duplicate key (line 1, "), output
    assert output.endswith("; each key may appear once\n"), output
    assert _runs(tmp_path / "copy.db") == 0
