"""A lone surrogate after a long run of backslashes is located in linear time.

A document holding a lone surrogate (``"\\ud800"``: half of a UTF-16 pair, no character) is
refused with the line and column of the escape.  The escape was found with ``(\\\\*)\\\\u...``, which
tries every start inside a run of backslashes and reads the rest of the run from each: a string of
40,000 backslashes (any evidence, snapshot or policy-adjacent JSON file a user hands to ``show``,
``report`` or ``import``) took about 30 s to refuse, longer runs hours.  Now a match starts only
where a run of backslashes does (renderers19 found the same shape in SARIF's link escaping).
"""

from __future__ import annotations

import json
import time

import pytest

from auditor.storage.jsonfile import UnreadableJson, loads_strict
from tests.cli import run_cli

RUN = "\\" * 40_000


def _document() -> bytes:
    return (json.dumps({"notes": RUN + "x"}) + '\n{"then": "\\ud800"}').replace('}\n{', ', ').encode()


def test_a_lone_surrogate_after_many_backslashes_is_found_quickly():
    raw = _document()
    started = time.monotonic()
    with pytest.raises(UnreadableJson) as refused:
        loads_strict(raw)
    took = time.monotonic() - started
    assert "\\ud800" in str(refused.value) and "lone surrogate" in str(refused.value)
    assert took < 5, f"took {took:.1f} s"


def test_the_escape_is_still_told_from_an_escaped_backslash():
    # "\\\\ud800" is a backslash and the text "ud800": no surrogate, read as it is.
    assert loads_strict(b'{"a": "' + b"\\\\" * 3 + b'ud800"}') == {"a": "\\" * 3 + "ud800"}
    with pytest.raises(UnreadableJson):
        loads_strict(b'{"a": "' + b"\\\\" * 3 + b'\\ud800"}')


def test_show_refuses_the_file_with_where(tmp_path):
    path = tmp_path / "evidence.json"
    path.write_bytes(_document())
    started = time.monotonic()
    run = run_cli("show", path)
    assert time.monotonic() - started < 20
    assert run.returncode != 0 and "lone surrogate" in run.stderr, run.stderr
