"""The evidence and snapshot files are written at C speed, byte for byte as json.dumps writes them (issue 16)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from auditor.model.result import Status
from auditor.storage import jsontext
from auditor.storage.evidence import evidence_bytes, evidence_schema, float_holders
from auditor.storage.jsontext import indented_json
from auditor.storage.snapshot import snapshot_bytes, snapshot_schema
from tests.evidence_fixtures import make_evidence, make_snapshot


def stdlib(value: Any, allow_nan: bool = True) -> bytes:
    """The file form as it always was."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=allow_nan) + "\n").encode("utf-8")


# Floats in every notation Python and orjson disagree on (0.00001 / 1e-05, 1e16 / 1e+16, ...).
FLOATS = [0.0, -0.0, 1.0, 0.5, 1 / 3, 1e-4, 1e-5, 5.166401298923238e-05, 1e-7, 1e15, 1e16, 1e+22, -3e22,
          1.7976931348623157e308, 5e-324, 123456789.123, 12345678901234567890.0]
STRINGS = ["", "é", "\u2028\u2029", "\x00\x1f\x7f", '"\\/\t\n\r\b\f', "𝄞 non-BMP", "\ufeff", "a\u202eb"]


def _document() -> dict[str, Any]:
    return {"b": [1, {"x": [], "y": {}}, None, True, False], "a": STRINGS, "big": 2**64 - 1, "neg": -(2**63),
            "holder": {"floats": FLOATS, "nested": {"deep": [[FLOATS[6]]]}, "top": 1e-05},
            "z": {"é": 1, "e": 2, "É": 3, "\U0001d11e": 4, "\uffff": 5}}


def _holders(value: dict[str, Any]):
    yield value, ("holder",)


def test_the_bytes_are_json_dumps_bytes_for_strings_ints_and_floats_in_every_notation():
    document = _document()
    expected = stdlib(document)
    assert indented_json(document, _holders) == expected
    assert document == _document()  # the floats replaced while writing are put back


@pytest.mark.parametrize("value", [
    {"holder": {"n": float("nan")}},  # json writes NaN (not JSON); orjson would write null
    {"holder": [float("inf"), float("-inf")]},
    {"holder": [1.5], "huge": 2**70},  # beyond 64 bits: orjson refuses it
    {"holder": [], "x": -(2**63) - 1},
])
def test_what_orjson_writes_otherwise_is_written_by_the_standard_library(value):
    assert indented_json(value, _holders) == stdlib(value)


_ONE_FLOAT = 1e-05


class _Ratio(float):
    """A float subclass: json writes float.__repr__ of it, as of any float."""


@pytest.mark.parametrize("holder", [
    [_Ratio(1e-05)],  # pickled through its class (its value still a BINFLOAT); orjson refuses it
    {"G": "GGG", "n": 71, "x": [[1e-05]]},  # "G" bytes besides a float, nested
    {"G": "GGG", "n": 71, "ports": [71, 18247]},  # "G" bytes and no float: the walk finds none
    [_ONE_FLOAT, _ONE_FLOAT],  # one float object twice: pickled once, then by reference
])
def test_floats_told_from_a_pickle_first_are_still_all_written_as_json_dumps_writes_them(holder):
    """The walk that replaces floats is skipped when the holders' pickle has no BINFLOAT byte ("G"):
    every way a float can be held is still found (issue 16, perf23a)."""
    value = {"holder": holder}
    assert indented_json(value, _holders) == stdlib(value)


def test_nan_in_a_file_that_allows_none_raises_as_json_dumps_does():
    with pytest.raises(ValueError, match="Out of range float"):
        indented_json({"holder": [float("nan")]}, _holders, allow_nan=False)
    with pytest.raises(ValueError, match="Out of range float"):
        stdlib({"holder": [float("nan")]}, allow_nan=False)


def test_a_lone_surrogate_fails_as_it_always_did():
    """A str with a lone surrogate cannot be UTF-8: the same UnicodeEncodeError as before, no file."""
    with pytest.raises(UnicodeEncodeError):
        stdlib({"a": "\udcff"})
    with pytest.raises(UnicodeEncodeError):
        indented_json({"a": "\udcff"})


def test_without_orjson_the_standard_library_writes_the_same_bytes(monkeypatch):
    document = _document()
    with_orjson = indented_json(document, _holders)
    monkeypatch.setattr(jsontext, "orjson", None)
    assert indented_json(document, _holders) == with_orjson


def test_a_float_outside_the_named_holders_would_differ():
    """Why the holders must be named: orjson's notation is not Python's, so a test that forgot a
    holder fails here rather than shipping different bytes."""
    assert indented_json({"x": 1e-05}) != stdlib({"x": 1e-05})


def test_evidence_bytes_with_findings_holding_floats_are_the_json_dumps_bytes():
    evidence = make_evidence(extra_listeners=50)
    findings = [finding.model_copy(update={"observed": {"share": value, "list": [value, 1]}, "expected": value,
                                           "subject_detail": {"ratio": value}})
                for finding, value in zip(evidence.result.findings, FLOATS * 10)]
    evidence = evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": findings})})
    assert any(f.status == Status.FAIL for f in evidence.result.findings)
    document = evidence.model_dump(mode="json", by_alias=True)
    for optional in ("waiver_file", "reporter_plugins"):  # written only when the run had them
        if document.get(optional, 0) in (None, []):
            del document[optional]
    assert evidence_bytes(evidence) == stdlib(document)


def test_snapshot_bytes_are_the_json_dumps_bytes():
    snapshot = make_snapshot(extra_listeners=50)
    assert snapshot_bytes(snapshot) == stdlib(snapshot.model_dump(mode="json", by_alias=True), allow_nan=False)


# ------------------------------------------------------------------ which parts can hold a float

def _float_capable(schema: dict[str, Any]) -> set[tuple[str, ...]]:
    """The paths (property names; ``*`` for an array item or a map value) of a JSON Schema where a
    value can be a float: a ``number``, or anything at all (JsonValue, Any)."""
    defs = schema.get("$defs", {})
    found: set[tuple[str, ...]] = set()

    def walk(node: Any, path: tuple[str, ...], seen: frozenset[str]) -> None:
        if node is True or node == {}:
            found.add(path)
            return
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(defs[name], path, seen | {name})
            return
        kinds = node.get("type")
        kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
        shaped = {"type", "anyOf", "allOf", "oneOf", "enum", "const", "properties"} & set(node)
        if "number" in kinds or not shaped:
            found.add(path)
        for name, sub in node.get("properties", {}).items():
            walk(sub, (*path, name), seen)
        if "object" in kinds and "additionalProperties" in node:
            walk(node["additionalProperties"], (*path, "*"), seen)
        if "array" in kinds:
            walk(node.get("items", True), (*path, "*"), seen)
        for key in ("anyOf", "allOf", "oneOf"):
            for sub in node.get(key, []):
                walk(sub, path, seen)

    walk(schema, (), frozenset())
    return found


def test_every_part_of_the_evidence_that_can_hold_a_float_is_a_named_holder():
    named = {("policy",), ("result", "findings", "*", "subject_detail"), ("result", "findings", "*", "observed"),
             ("result", "findings", "*", "expected")}
    capable = _float_capable(evidence_schema())
    assert capable, "the walk finds the findings' JSON values at least"
    outside = {path for path in capable if not any(path[:len(prefix)] == prefix for prefix in named)}
    assert outside == set()
    # and float_holders yields exactly those places of a real evidence
    data = make_evidence().model_dump(mode="json", by_alias=True)
    places = {(id(container), key) for container, keys in float_holders(data) for key in keys}
    assert (id(data), "policy") in places
    assert all((id(f), k) in places for f in data["result"]["findings"] for k in ("subject_detail", "observed", "expected"))


def test_no_part_of_a_snapshot_can_hold_a_float():
    assert _float_capable(snapshot_schema()) == set()


def test_the_float_forms_are_pythons_own():
    for value in FLOATS:
        if math.isfinite(value):
            assert indented_json({"holder": [value]}, _holders) == stdlib({"holder": [value]})


def test_parts_are_written_alike_with_and_without_orjson(monkeypatch):
    """An object of a type in ``parts`` is written as its plain dict (floats at its named keys in
    Python's notation) by orjson and by the standard library alike; any other object is refused."""
    class Part:
        def __init__(self, number: float) -> None:
            self.number = number

    def part(obj: Part) -> tuple[dict[str, Any], tuple[str, ...]]:
        return {"number": obj.number, "name": "é"}, ("number",)

    value = {"items": [Part(1e-05), Part(1e16)], "top": 1}
    expected = stdlib({"items": [{"number": 1e-05, "name": "é"}, {"number": 1e16, "name": "é"}], "top": 1})
    assert indented_json(value, parts={Part: part}) == expected
    with pytest.raises(TypeError, match="Object of type Part is not JSON serializable"):
        indented_json(value)
    monkeypatch.setattr(jsontext, "orjson", None)
    assert indented_json(value, parts={Part: part}) == expected
    with pytest.raises(TypeError, match="Object of type Part is not JSON serializable"):
        indented_json(value)


def test_the_pieces_of_a_document_are_its_bytes_wherever_the_lists_of_parts_stand():
    """indented_json_chunks writes lists of parts item by item, the rest around them: the pieces
    joined are indented_json's bytes, for lists at any depth, inside lists, empty or one item long,
    with floats in the parts and around them, and in batches smaller than a list."""
    from auditor.storage.jsontext import indented_json_chunks

    class Part:
        def __init__(self, number: float, nested: Any = None) -> None:
            self.number, self.nested = number, nested

    def part(obj: Part) -> tuple[dict[str, Any], tuple[str, ...]]:
        return {"number": obj.number, "nested": obj.nested, "name": "é\n"}, ("number", "nested")

    parts = {Part: part}
    value = {
        "top": [Part(1e-05), Part(2.5, {"deep": [1e16, {"x": 0.1}]})],
        "a": {"b": {"c": [Part(float(i), [i]) for i in range(7)]}, "empty": [], "floats": [1e-07]},
        "inside": [[Part(3.0)], {"one": [Part(1e300)]}, "text"],
        "z": "\u0000lbaudit part not a token",
    }
    whole = indented_json(value, lambda data: [(data["a"], ("floats",))], parts=parts)
    for batch in (1, 2, 3, 256):
        pieces = list(indented_json_chunks(value, lambda data: [(data["a"], ("floats",))], parts=parts, batch=batch))
        assert b"".join(pieces) == whole
        assert len(pieces) > 3  # the lists were written apart, not the document in one piece
    assert whole == stdlib({
        "top": [part(Part(1e-05))[0], part(Part(2.5, {"deep": [1e16, {"x": 0.1}]}))[0]],
        "a": {"b": {"c": [part(Part(float(i), [i]))[0] for i in range(7)]}, "empty": [], "floats": [1e-07]},
        "inside": [[part(Part(3.0))[0]], {"one": [part(Part(1e300))[0]]}, "text"],
        "z": "\u0000lbaudit part not a token",
    })
    assert isinstance(value["top"], list) and isinstance(value["top"][0], Part)  # the lists are put back


def test_the_pieces_of_the_evidence_are_its_bytes(tmp_path):
    from auditor import pipeline
    from auditor.storage.evidence import evidence_chunks

    evidence = make_evidence(extra_listeners=600)
    assert b"".join(evidence_chunks(evidence)) == evidence_bytes(evidence)
    pipeline.write_streamed(evidence, tmp_path / "streamed.json")
    assert (tmp_path / "streamed.json").read_bytes() == pipeline.write(evidence, tmp_path / "whole.json")


def test_no_piece_of_the_evidence_holds_more_than_32_findings_or_listeners():
    # The pieces are what the streamed writer holds at once: 256 findings' bytes a piece (made,
    # joined, copied once more) were the peak of evaluating 5,000 listeners (issue 16).
    from auditor.storage.evidence import evidence_chunks

    evidence = make_evidence(extra_listeners=600)
    pieces = list(evidence_chunks(evidence))
    assert b"".join(pieces) == evidence_bytes(evidence)
    findings = len(evidence.result.findings)
    assert findings > 600
    largest = max(len(piece) for piece in pieces)
    finding_sizes = sorted(len(evidence_bytes(evidence).split(b'"rule_id"')[i]) for i in range(1, 40))
    assert largest < 40 * finding_sizes[-1]  # about 32 findings' text at most, not hundreds


def test_a_document_in_its_own_key_order_with_floats_anywhere_is_json_dumps_bytes():
    """The interchange reports (SARIF, OSCAL, HDF) keep the key order they were built in and may hold
    a check's float at any depth: ``sort_keys=False`` with :func:`jsontext.every_member` writes the
    bytes of ``json.dumps(indent=2, ensure_ascii=False)`` (the standard library's pure-Python
    encoder took 6.3 s of a 31 s SARIF log of 5,000 listeners)."""
    document = _document()
    document["holder"]["floats"] = [*FLOATS, {"deeper": FLOATS}]
    expected = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    assert list(document) != sorted(document)  # the order is the builder's, not sorted
    assert indented_json(document, jsontext.every_member, sort_keys=False) == expected
    assert indented_json([document, 1e-05], jsontext.every_member, sort_keys=False) == (
        json.dumps([document, 1e-05], indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def test_report_json_documents_are_the_plain_json_bytes():
    """``json_document`` (SARIF, OSCAL, HDF) is byte for byte what ``plain_json`` wrote, host text
    made plain (escaped) as before, floats in Python's notation."""
    from auditor.report._shared import json_document
    from auditor.text import plain_json

    plain = {"runs": [{"message": "sshd on 0.0.0.0:22", "ratio": 1e-05, "big": 1e16}], "a": "é"}
    hostile = {"runs": [{"message": "ss\u202ehd \x1b[31m", "ratio": 0.5}], "z": "\\u001b is text", "b": "\x85"}
    for document in (plain, hostile, {}, {"empty": [], "nan": math.nan}):
        assert json_document(document) == (plain_json(document, indent=2) + "\n").encode("utf-8")
    assert b"\\\\u202e" in json_document(hostile)  # escaped as plain_text shows it
