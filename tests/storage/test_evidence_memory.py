"""What reading an evidence document holds in memory (issue 16: 20,000 findings in under 150 MiB)."""

from __future__ import annotations

import hashlib
import json

import pytest

from auditor.errors import InputError
from auditor.model.base import canonical_json, sha256_hex
from auditor.model.evidence import Evidence
from auditor.report.view import content_sha256
from auditor.storage.evidence import evidence_bytes, known_content_sha256, parse_evidence
from auditor.storage.jsonfile import canonical_sha256, loads_strict, validate_versioned
from tests.evidence_fixtures import make_evidence


def test_findings_and_listeners_share_one_set_of_given_fields():
    """pydantic keeps a set of the fields each instance was given: equal sets are one object, not
    one per finding (about 700 bytes each, 42 MiB at 20,000 findings and as many listeners)."""
    evidence = parse_evidence(evidence_bytes(make_evidence(extra_listeners=50)), "e.json")
    findings = evidence.result.findings
    listeners = evidence.snapshot.facts.sockets.listeners
    assert len(findings) > 50 and len(listeners) > 50
    assert len({id(f.model_fields_set) for f in findings}) < 5
    assert len({id(listener.model_fields_set) for listener in listeners}) < 5


def test_a_copy_with_changes_does_not_change_the_shared_set():
    evidence = parse_evidence(evidence_bytes(make_evidence(extra_listeners=5)), "e.json")
    first, second = evidence.result.findings[:2]
    shared = set(first.model_fields_set)
    assert first.model_fields_set is second.model_fields_set
    changed = first.model_copy(update={"subject": "changed"})
    assert changed.subject == "changed" and changed.model_fields_set is not first.model_fields_set
    assert first.model_fields_set == shared and second.model_fields_set == shared


CANONICAL_CASES = [
    {}, [], {"a": []}, [[[]]], "x", 1e300, -0.0, None, True, 2**70,
    {"é": [1.5, None, True, "x\u2028\"\\"], "b": {"c": {}}, "a": [{"z": 1, "y": [1, 2.25]}] * 3000},
    {"zz": {"b": [1] * 5000, "a": {"k": ["\U0001f600"] * 2}}, "": 0},
    [{"i": i} for i in range(256)], list(range(257)), {"l": [[i, {"b": "\u00e9", "a": i}] for i in range(512)]},
]


@pytest.mark.parametrize("value", CANONICAL_CASES, ids=range(len(CANONICAL_CASES)))
def test_the_piecewise_canonical_digest_is_the_digest_of_canonical_json(value):
    assert canonical_sha256(value) == sha256_hex(canonical_json(value))


def test_a_value_without_a_canonical_form_is_refused_as_canonical_json_refuses_it():
    for value in ({"a": [float("nan")]}, [float("inf")]):
        with pytest.raises(ValueError):
            canonical_json(value)
        with pytest.raises(ValueError):
            canonical_sha256(value)


def test_the_content_digest_of_read_evidence_is_taken_as_it_is_read_and_is_the_reparsed_one():
    raw = evidence_bytes(make_evidence(extra_listeners=30)) + b" "  # bytes no other test has read
    assert known_content_sha256(raw) is None
    parse_evidence(raw, "e.json")
    assert known_content_sha256(raw) == sha256_hex(canonical_json(json.loads(raw)))
    assert content_sha256(raw) == known_content_sha256(raw)


def test_the_content_digest_is_looked_up_by_the_file_digest_the_caller_already_has():
    raw = evidence_bytes(make_evidence(extra_listeners=3)) + b"  "
    parse_evidence(raw, "e.json")
    digest = hashlib.sha256(raw).hexdigest()
    assert known_content_sha256(raw, digest) == known_content_sha256(raw) == content_sha256(raw, digest)
    assert known_content_sha256(raw, "0" * 64) is None  # looked up by the digest given, not hashed again


def test_findings_and_listeners_validated_one_by_one_make_the_same_evidence():
    raw = evidence_bytes(make_evidence(extra_listeners=40))
    whole = Evidence.model_validate(loads_strict(raw))
    assert parse_evidence(raw, "e.json") == whole


@pytest.mark.parametrize(("path", "value", "pointer"), [
    (("result", "findings", 3, "status"), "bogus", "/result/findings/3/status"),
    (("snapshot", "facts", "sockets", "listeners", 7, "port"), -1, "/snapshot/facts/sockets/listeners/7/port"),
    (("result", "findings", 2), "not a finding", "/result/findings/2"),
])
def test_an_invalid_finding_or_listener_is_reported_as_the_whole_document_reports_it(path, value, pointer):
    data = json.loads(evidence_bytes(make_evidence(extra_listeners=10)))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    raw = json.dumps(data).encode("utf-8")
    with pytest.raises(InputError) as error:
        parse_evidence(raw, "e.json")
    with pytest.raises(InputError) as reference:
        validate_versioned(loads_strict(raw), "e.json", "an lbaudit evidence file", "evidence", Evidence,
                           "lbaudit/evidence", ("1.0",))
    assert error.value.render() == reference.value.render()
    assert f"e.json: {pointer}" in error.value.render()


def test_a_listener_address_is_judged_for_its_own_family_each_time():
    """The address judgment is remembered by address and family: "::" read as IPv6 first must still
    be refused as IPv4, and a refused address stays refused."""
    from pydantic import ValidationError

    from auditor.model.facts import Listener

    for _ in range(2):
        assert Listener(protocol="tcp", family="ipv6", address="::", port=22).address == "::"
        with pytest.raises(ValidationError, match="address '::' is not an ipv4 address"):
            Listener(protocol="tcp", family="ipv4", address="::", port=22)
        with pytest.raises(ValidationError, match="address '0.0.0.0' is not an ipv6 address"):
            Listener(protocol="tcp", family="ipv6", address="0.0.0.0", port=22)
        with pytest.raises(ValidationError, match="address 'fe80::1%' is not an ipv6 address"):
            Listener(protocol="tcp", family="ipv6", address="fe80::1%", port=22)


def test_reading_evidence_leaves_the_cycle_collector_as_it_found_it():
    """Reading pauses the cyclic garbage collector (issue 16: it re-scanned the growing heap); it
    is on again afterwards, also after an invalid file, and stays off if it was off; nothing is
    left frozen out of its reach."""
    import gc

    raw = evidence_bytes(make_evidence(extra_listeners=3))
    assert gc.isenabled()
    assert parse_evidence(raw, "e.json").result.findings
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # what it made is collectable as everything else is
    with pytest.raises(InputError):
        parse_evidence(b'{"schema": "lbaudit/evidence", "schema": 1}', "bad.json")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_evidence(raw, "e.json")
        assert not gc.isenabled()
    finally:
        gc.enable()
    frozen = [object()]  # a program's own frozen objects stay frozen
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        parse_evidence(raw, "e.json")
        # not unfrozen (0) and nothing more frozen; a few fewer when another thread of the process
        # (a daemon left by an earlier test in this worker) freed some of what was frozen meanwhile
        assert before > 100 and before - 100 <= gc.get_freeze_count() <= before and frozen
    finally:
        gc.unfreeze()


def test_a_held_record_is_the_same_model_in_a_smaller_dict():
    """construct_complete(held=True) stores the fields in the instance's key-sharing dict (issue 16):
    the same model, fields in the same order, dumped and compared alike, in less memory."""
    import sys
    import tracemalloc

    from auditor.model.base import construct_complete, copy_with
    from auditor.model.result import Finding

    finding = make_evidence(extra_listeners=2).result.findings[-1]
    held = construct_complete(Finding, dict(finding.__dict__), finding.__pydantic_fields_set__, held=True)
    assert held == finding and repr(held) == repr(finding)
    assert list(held.__dict__.items()) == list(finding.__dict__.items())
    assert held.model_dump(mode="json") == finding.model_dump(mode="json")
    assert held.model_fields_set is finding.model_fields_set
    changed = copy_with(held, {"subject": "changed"}, held=True)
    assert changed.subject == "changed" and held.subject == finding.subject
    assert changed.model_dump() == {**finding.model_dump(), "subject": "changed"}

    def traced(held: bool) -> int:
        tracemalloc.start()
        try:
            records = [construct_complete(Finding, dict(finding.__dict__), finding.__pydantic_fields_set__, held=held)
                       for _ in range(200)]
            for record in records:
                assert record.__dict__  # as a writer reads it
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    if sys.implementation.name == "cpython":  # key-sharing instance dicts are CPython's
        assert traced(held=True) < 0.7 * traced(held=False)


class _Part:
    """A record the digest makes plain through its default (as the facts digest's listeners)."""

    def __init__(self, value: object) -> None:
        self.value = value


@pytest.mark.parametrize("values", [
    [{"b": 1, "a": ["x", None, True, {"é": "\u2028\"\\\x01"}]}] * 600,
    [2**70], ["\U0001f600", {"z": {"y": []}}], [{1: "a key that is no text"}],
])
def test_float_free_pieces_written_by_orjson_are_the_canonical_text(values):
    # canonical_sha256(float_free=...) writes pieces of such records by orjson: the same bytes, and
    # what orjson refuses (a 65-bit integer, a key that is not text) by the standard library.
    parts = [_Part(v) for v in values]
    expected = sha256_hex(canonical_json({"parts": values}))
    made_plain = {"default": lambda part: part.value}
    assert canonical_sha256({"parts": parts}, **made_plain, float_free=(_Part,)) == expected
    assert canonical_sha256({"parts": parts}, **made_plain) == expected


def test_a_lone_surrogate_in_a_float_free_piece_fails_as_it_always_did():
    parts = [_Part({"a": "\udcff"})]
    with pytest.raises(UnicodeEncodeError):
        canonical_sha256({"parts": parts}, default=lambda part: part.value, float_free=(_Part,))
