"""One strict reader for every JSON document a user hands lbaudit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.storage.evidence import load_evidence
from auditor.storage.jsonfile import parse_document, read_bounded


@pytest.mark.parametrize("raw, message", [
    (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'\xff{}', "not UTF-8 text (byte 0)"),
    (b'{"a": [1, 2', "looks truncated"),
])
def test_ambiguous_or_broken_json_is_refused(raw, message):
    with pytest.raises(InputError, match="x.json") as info:
        parse_document(raw, "x.json", "a thing")
    assert message in str(info.value)


def test_size_is_bounded_before_reading(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 101)
    with pytest.raises(InputError, match="larger than 100 bytes; not a thing"):
        read_bounded(path, 100, "a thing")
    with pytest.raises(InputError, match="is a directory, not a thing"):
        read_bounded(tmp_path, 100, "a thing")


def test_evidence_with_a_duplicate_key_is_refused(tmp_path):
    """json.loads would keep the last value silently: an edited evidence file must not hide one."""
    path = tmp_path / "evidence.json"
    path.write_text('{"schema": "lbaudit/evidence", "schema": "lbaudit/evidence", "schema_version": "1.0"}')
    with pytest.raises(InputError, match="duplicate key 'schema'"):
        load_evidence(path)


def test_evidence_of_an_unknown_version_is_refused(tmp_path):
    path = tmp_path / "evidence.json"
    path.write_text('{"schema": "lbaudit/evidence", "schema_version": "9.9"}')
    with pytest.raises(InputError, match="schema version '9.9' is not supported"):
        load_evidence(path)


@pytest.mark.parametrize("raw, message", [
    (b"\n" + b"[" * 65 + b"]" * 65, "nested deeper than 64 levels (line 2, column 65)"),
    (b"[" * 100000, "nested deeper than 64 levels (line 1, column 65)"),  # RecursionError before
    (b'{"a": ' + b"7" * 4301 + b"}", "a number has more than 4300 digits (line 1, column 7)"),
    (b'{"a":\n 1e400}', "the number 1e400 is out of range (line 2, column 2)"),
])
def test_json_that_python_cannot_hold_is_refused_with_its_line(raw, message):
    with pytest.raises(InputError, match="x.json") as info:
        parse_document(raw, "x.json", "a thing")
    assert message in str(info.value)


def test_sixty_four_levels_are_still_json():
    assert parse_document(b"[" * 64 + b"]" * 64, "x.json", "a thing") == eval("[" * 64 + "]" * 64)


def test_a_character_device_is_refused_on_the_read_not_on_stat(tmp_path):
    """stat() says /dev/zero holds 0 bytes; reading it never ends."""
    with pytest.raises(InputError, match="/dev/zero: is a character device, not a thing"):
        read_bounded(Path("/dev/zero"), 100, "a thing")
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO, not a thing"):
        read_bounded(fifo, 100, "a thing")
