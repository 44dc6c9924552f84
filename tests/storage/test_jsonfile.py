"""One strict reader for every JSON document a user hands lbaudit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.storage.evidence import load_evidence
from auditor.storage.jsonfile import parse_document, read_bounded


@pytest.mark.parametrize("raw, message", [
    (b'{"a": 1, "a": 2}', "duplicate key (line 1, column 10); each key may appear once"),
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
    with pytest.raises(InputError, match=r"duplicate key \(line 1, column 32\)"):
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
    (b'{"a":\n 1e400}', "a number is out of range (line 2, column 2)"),
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


# Non-ASCII characters are parsed from their JSON escapes (one byte a character of text: issue 16);
# what a document means, and every error and where it is, stay those of the text as it is.
NON_ASCII_DOCUMENTS = [
    '{"title": "Deny by Default \u2014 Allow by Exception", "n": [1.5, null, true]}',
    '{"a": "\u00e9\U0001f600x", "b": {"\u00fc": "\\u00e9\\n"}}',
    '["\\\\", "\u00e9"]',
    # more different characters than are replaced one by one: the one-pass path
    '{"a": "' + "".join(chr(0x100 + i) for i in range(80)) + '", "b": "\u00e9\u2014"}',
    '{"\u2014": "\u2014\u2014", "k": ["\u00e9\u2014\u00e9", "\u2014"]}',  # one character in runs of several
]


def test_an_escaped_lone_surrogate_before_an_astral_character_is_refused_not_joined_into_it():
    # the astral character becomes a pair of escapes on the fast path: the lone half before it
    # must stay alone (json.loads reads it so) and, being no character, is refused (tests/hostile/test_host_text.py)
    import json

    from auditor.storage.jsonfile import UnreadableJson, loads_strict

    text = '{"a": "\\ud83d\U0001f600"}'
    assert json.loads(text) == {"a": "\ud83d\U0001f600"}
    with pytest.raises(UnreadableJson, match=r"^the escape \\ud83d is half of a UTF-16 pair, .* \(line 1, column 8\)$"):
        loads_strict(text.encode("utf-8"))


@pytest.mark.parametrize("text", NON_ASCII_DOCUMENTS, ids=range(len(NON_ASCII_DOCUMENTS)))
def test_a_document_with_non_ascii_text_reads_as_json_loads_reads_it(text):
    import json

    from auditor.storage.jsonfile import loads_strict

    assert loads_strict(text.encode("utf-8")) == json.loads(text)


BROKEN_NON_ASCII = [
    (b'{"a": \xc3\xa9}', "not valid JSON (line 1) at column 7: Expecting value"),  # outside a string
    (b'{"a": "\\\xc3\xa9"}', "not valid JSON (line 1) at column 8: Invalid \\escape"),  # its escape is not JSON
    (b'{"\xc3\xa9": 1, "\xc3\xa9": 2}', "duplicate key (line 1, column 10)"),
    (b'{"a": "\xc3\xa9\xff"}', "not UTF-8 text (byte 9)"),
    (b'{"\xc3\xa9": 1e999}', "a number is out of range (line 1, column 7)"),  # in characters
    (b'\xef\xbb\xbf{"a": "\xc3\xa9"}', "Unexpected UTF-8 BOM"),
    # the bytes of one character split by ASCII: the non-ASCII bytes alone would be UTF-8 ("\u00e9")
    (b'{"a": "\xc3", "b": "\xa9"}', "not UTF-8 text (byte 7)"),
    (b'{"a": "\xc3\xa9", "b": "\xc3x\xa9"}', "not UTF-8 text (byte 18)"),
    (b'{"a": "\xed\xa0\x80"}', "not UTF-8 text (byte 7)"),  # a surrogate encoded in UTF-8
]


@pytest.mark.parametrize(("raw", "message"), BROKEN_NON_ASCII, ids=range(len(BROKEN_NON_ASCII)))
def test_a_broken_document_with_non_ascii_text_is_located_in_its_own_lines_and_columns(raw, message):
    with pytest.raises(InputError) as error:
        parse_document(raw, "doc.json", "a document")
    assert message in str(error.value)


def test_a_key_repeated_anywhere_in_an_object_is_named_first_as_it_comes():
    # named by where it is written again, not quoted (tests/hostile/test_disclosure_json.py)
    with pytest.raises(InputError, match=r"duplicate key \(line 1, column 27\)"):  # the second "b"
        parse_document(b'[{"a": 1, "b": 2, "c": 3, "b": 4, "a": 5}]', "x.json", "a thing")
    with pytest.raises(InputError, match=r"duplicate key \(line 1, column 31\)"):  # the outer object's second "k"
        parse_document(b'{"a": {"k": 1, "j": {"k": 2}, "k": 3}}', "x.json", "a thing")
    assert parse_document(b'{"k": {"k": {"k": 1}}, "j": [{"k": 2}, {"k": 3}]}', "x.json", "a thing") == {
        "k": {"k": {"k": 1}}, "j": [{"k": 2}, {"k": 3}]}


def test_non_ascii_text_becomes_ascii_json_escapes_or_none_when_it_cannot():
    from auditor.storage.jsonfile import _ascii_text

    assert _ascii_text('{"\u2014": "a\u2014\u00e9\U0001f600"}'.encode()) == \
        '{"\\u2014": "a\\u2014\\u00e9\\ud83d\\ude00"}'
    assert _ascii_text('["\\\\\u00e9"]'.encode()) is None  # a backslash before one: the text as it is
    assert _ascii_text(b'["\xc3", "\xa9"]') is None  # not UTF-8 (as the non-ASCII bytes alone would be)


def test_equal_string_values_of_a_document_are_one_object_and_read_as_json_loads_reads_them():
    """Memory (issue 16): 20,000 findings repeat the same rule id, status and controls; the parsed
    document holds each such string once.  What the document means is unchanged."""
    import json

    from auditor.storage.jsonfile import loads_strict

    text = ('{"items": [' + ", ".join('{"rule": "wildcard-listeners", "controls": ["SC-7", "CM-7"], '
                                      f'"subject": "tcp 0.0.0.0:{port}", "n": {port}, "mixed": [1, "SC-7"]}}'
                                      for port in range(50)) + '], "rule": "wildcard-listeners"}')
    value = loads_strict(text.encode())
    assert value == json.loads(text)
    items = value["items"]
    assert len({id(item["rule"]) for item in items} | {id(value["rule"])}) == 1
    assert len({id(item["controls"][0]) for item in items}) == 1
    assert len({id(item["subject"]) for item in items}) == 50  # different strings stay different
    assert items[0]["controls"] is not items[1]["controls"]  # lists are not shared: only their strings
