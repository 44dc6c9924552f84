"""Every JSON document lbaudit reads (snapshots, evidence, signatures, exports) was parsed whole
before anything counted what it held, and parsing is what costs the memory: short values cost far
more than their bytes.  A 62 MB snapshot of 7,000,000 short strings peaked at 1 GB (5 s) in
``evaluate --snapshot`` only to be refused by --max-snapshot-records after its parse, and a 51 MB
"evidence file" of 17,000,000 empty objects took ``lbaudit show`` to 1.4 GB and 5 s before it said
the file was not evidence (a 256 MiB one, within MAX_EVIDENCE_BYTES, would take about 7 GB: the OOM
killer, not an error).  The values are now counted on the bytes, before the parse
(auditor.storage.jsonfile.json_values_in_bytes): a snapshot over --max-snapshot-records, and any
document over MAX_JSON_VALUES (16,000,000), is refused unparsed, exit 2, naming the count.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from auditor.storage import jsonfile
from auditor.storage.jsonfile import MAX_JSON_VALUES, json_values_in_bytes
from tests.cli import REPO, run_cli, run_measuring_peak

POLICY = REPO / "policies" / "corp.yaml"
def _values(data: Any) -> int:
    """Every JSON value of ``data``, itself included, walked on its parse."""
    if isinstance(data, dict):
        return 1 + sum(_values(value) for value in data.values())
    if isinstance(data, list):
        return 1 + sum(_values(value) for value in data)
    return 1


@pytest.mark.slow
def test_a_snapshot_of_millions_of_short_strings_is_refused_before_it_is_parsed(tmp_path: Path):
    strings = 3_000_000
    path = tmp_path / "strings.snapshot.json"
    path.write_bytes(b'{"schema":"lbaudit/snapshot","schema_version":"1.9","junk":[' +
                     b",".join(b'"%x"' % number for number in range(strings)) + b"]}")
    result, peak = run_measuring_peak(tmp_path / "peak", "evaluate", "--snapshot", path, "--policy", POLICY, "-o", tmp_path / "e.json", "-q")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"lbaudit: {path}: records {strings + 4:,} JSON values, more than "
                                    "--max-snapshot-records 2,000,000: not judged"), result.stderr
    assert not (tmp_path / "e.json").exists()
    # Parsed first, the 3,000,000 strings took about 450 MiB; counted on the 26 MB of bytes, under 150.
    assert peak < 150 * 1024 * 1024, peak


@pytest.mark.slow
def test_a_document_of_more_values_than_lbaudit_reads_is_refused_unparsed_by_every_reader(tmp_path: Path):
    path = tmp_path / "zeros.json"
    path.write_bytes(b"[" + b",".join([b"0"] * (MAX_JSON_VALUES)) + b"]")  # 32 MB, 16,000,001 values
    expected = f"holds {MAX_JSON_VALUES + 1:,} JSON values, more than the {MAX_JSON_VALUES:,} lbaudit reads in one document"
    result, peak = run_measuring_peak(tmp_path / "peak", "show", path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr  # before: parsed whole, then "not an lbaudit evidence file"
    assert peak < 150 * 1024 * 1024, peak
    for args in (("report", path, "--format", "html", "--out-dir", tmp_path / "r"),
                 ("diff", path, path)):
        refused = run_cli(*args)
        assert refused.returncode == 2 and expected in refused.stderr, (args, refused.stdout + refused.stderr)
    assert not (tmp_path / "r").exists()


def test_the_count_on_the_bytes_is_the_count_of_the_parse(monkeypatch: pytest.MonkeyPatch):
    # Pieces of 64 bytes, not a MiB: every way a piece can end (beside a string, an empty array, an
    # escape) is met many times over in these small documents.
    monkeypatch.setattr(jsonfile, "_COUNTED_PIECE", 64)
    chooser = random.Random(16)

    def document(depth: int = 0) -> Any:
        roll = chooser.random()
        if depth > 4 or roll < 0.3:
            return chooser.choice([1, "a,b", "[{", " ", 'x\\"y', None, 2.5, "", "\\", "é,", "\n", "}]", "{}"])
        if roll < 0.65:
            return [document(depth + 1) for _ in range(chooser.randint(0, 4))]
        return {f"{index}{chooser.choice(['', ',', '[', '{}'])}": document(depth + 1)
                for index in range(chooser.randint(0, 4))}

    for _ in range(2_000):
        value = document()
        expected = _values(value)
        for raw in (json.dumps(value).encode(), json.dumps(value, indent=2).encode(),
                    json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()):
            assert json_values_in_bytes(raw, 0) == expected, raw
            assert json_values_in_bytes(raw, 10**9) <= 10**9
    # A string longer than a piece, and one never closed (not JSON: counted to its end, then refused by the parse).
    assert json_values_in_bytes(b'["' + b"a,[{" * 100 + b'", 1]', 0) == 3
    assert json_values_in_bytes(b'["a,b,c', 0) == 2
