"""Evidence exactly as lbaudit writes it is read at C speed (jsonfile.read_as_written): the same value
and content digest as the strict reader, and every other byte sequence left to the strict reader."""

from __future__ import annotations

import json

import orjson
import pytest

from auditor.errors import InputError
from auditor.model.base import canonical_sha256
from auditor.storage.evidence import evidence_bytes, known_content_sha256, parse_evidence
from auditor.storage.jsonfile import loads_strict, read_as_written
from tests.evidence_fixtures import make_evidence


def _written(value) -> bytes:
    """The file form lbaudit writes (storage/jsontext.py), by the standard library."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def evidence_raw() -> bytes:
    return evidence_bytes(make_evidence(extra_listeners=300))


def test_written_evidence_reads_as_the_strict_reader_reads_it(evidence_raw):
    read = read_as_written(evidence_raw)
    assert read is not None  # the writer's bytes take the fast path
    value, digest = read
    strict = loads_strict(evidence_raw)
    assert value == strict
    assert digest == canonical_sha256(strict)
    assert len(value["result"]["findings"]) > 256  # the findings were checked a chunk at a time
    evidence = parse_evidence(evidence_raw, "e.json")
    assert known_content_sha256(evidence_raw) == digest
    assert evidence.model_dump() == parse_evidence(_written(strict) + b" ", "e.json").model_dump()  # strict path


@pytest.mark.parametrize("number", [1e-05, -2.5e-07, 0.5, 1e16, 1.5e300, 0.0, -0.0, 7])
def test_a_float_anywhere_gives_the_canonical_digest(number):
    """orjson writes 1e-05 as 0.00001: a document it wrote in its own notation is still digested in
    the canonical (Python) one."""
    value = {"a": {"b": [1, number, "x.5"], "c": True}, "d": [True, False, None, -3], "e": number}
    raw = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    read = read_as_written(raw)
    assert read is not None
    assert read[0] == loads_strict(raw)
    assert read[1] == canonical_sha256(loads_strict(raw))


@pytest.mark.parametrize("raw", [
    b'{\n  "a": 1,\n  "a": 2\n}\n',  # a duplicate key in the writer's layout
    b'{\n  "a": "\\ud800"\n}\n',  # a lone surrogate
    b'{\n  "a": NaN\n}\n',
    b'{\n  "a": 1e400\n}\n',
    b'{\n  "a": 123456789012345678901234567890\n}\n',  # beyond 64 bits
    b'{\n  "a": -0\n}\n',
    b'{\n  "a": "\\/"\n}\n',  # an escape the writer does not write
    b'{\n  "a": "\\u00e9"\n}\n',
    b'{\n  "a": 1\n}',  # no final newline
    b'{\n  "a": 1\n}\n\n',
    b'{\r\n  "a": 1\r\n}\r\n',
    b'\xef\xbb\xbf{\n  "a": 1\n}\n',
    b'{"a": 1}\n',
    b'{\n  "a": 1.50\n}\n',
    b'{\n  "a": 1E5\n}\n',
])
def test_anything_else_is_left_to_the_strict_reader(raw):
    assert read_as_written(raw) is None


def test_nesting_is_bounded_as_before():
    value: object = 1
    for _ in range(70):
        value = {"k": value}
    raw = _written(value)
    assert read_as_written(raw) is None
    with pytest.raises(InputError, match="nested deeper than 64 levels"):
        parse_evidence(raw, "deep.json")


def test_a_duplicate_key_in_written_evidence_is_refused(evidence_raw):
    edited = evidence_raw.replace(b'\n  "schema": "lbaudit/evidence",', b'\n  "schema": "lbaudit/evidence",\n  "schema": "lbaudit/evidence",', 1)
    assert edited != evidence_raw
    assert read_as_written(edited) is None
    second = edited[:edited.rindex(b'\n  "schema": "lbaudit/evidence",') + 1].count(b"\n") + 1
    with pytest.raises(InputError, match=rf"duplicate key \(line {second}, column 3\)"):
        parse_evidence(edited, "e.json")
