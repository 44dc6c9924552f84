"""Snapshot files: round trip, provenance of the source, schema, and the errors a user can cause."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest

from auditor.errors import InputError
from auditor.model.facts import Gap, GapKind, SysctlFacts, SysctlSetting
from auditor.model.result import ExitCode
from auditor.storage.snapshot import (
    MAX_SNAPSHOT_BYTES,
    load_snapshot,
    snapshot_bytes,
    snapshot_schema,
    write_snapshot,
)
from tests.factories import listener, snapshot


def sample():
    return snapshot(
        listeners=[listener("127.0.0.1", 8080), listener("::", 443, v6only=False, declared_by="/etc/systemd/system/w.socket")],
        time_wait=3,
        sysctl=SysctlFacts(
            runtime={"net.ipv4.tcp_fin_timeout": SysctlSetting(value="60", origin="/proc/sys/net/ipv4/tcp_fin_timeout")},
            persistent={"net.ipv4.tcp_fin_timeout": SysctlSetting(value="30", origin="/etc/sysctl.d/60-net.conf:4")},
        ),
        gaps=[Gap(section="audit", reason="auditctl not installed")],
    )


def written(tmp_path: Path, snap=None) -> Path:
    path = tmp_path / "web01.snapshot.json"
    write_snapshot(snap or sample(), path)
    return path


def edit(path: Path, change) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_snapshot(path)
    assert info.value.exit_code == ExitCode.USAGE
    return info.value


def test_round_trip_keeps_facts_and_host_and_names_the_file(tmp_path: Path):
    original = sample()
    path = written(tmp_path, original)
    raw = path.read_bytes()
    assert raw == snapshot_bytes(original)
    assert raw.startswith(b"{\n  \"facts\"")  # pretty, sorted keys
    assert list(json.loads(raw)) == sorted(json.loads(raw))
    loaded = load_snapshot(path)
    assert loaded.facts == original.facts and loaded.gaps == original.gaps
    assert loaded.facts_digest() == original.facts_digest()
    assert loaded.provenance.source == "snapshot"
    assert loaded.provenance.source_detail == str(path)
    assert loaded.provenance.source_sha256 == hashlib.sha256(raw).hexdigest()
    assert (loaded.provenance.source_signature, loaded.provenance.source_signature_key) == ("unsigned", None)
    assert (loaded.provenance.target_kind, loaded.provenance.target_id) == ("snapshot", str(path))
    assert (original.provenance.collected_from, loaded.provenance.collected_from) == (None, original.provenance.source)
    kept = {"source", "source_detail", "source_sha256", "source_signature", "source_signature_key",
            "target_kind", "target_id", "collected_from"}
    assert loaded.provenance.model_dump(exclude=kept) == original.provenance.model_dump(exclude=kept)


def test_write_is_atomic_and_replaces(tmp_path: Path):
    path = written(tmp_path)
    write_snapshot(sample().model_copy(update={"gaps": []}), path)
    assert load_snapshot(path).gaps == []
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_unknown_schema_version(tmp_path: Path):
    path = edit(written(tmp_path), lambda d: d.update(schema_version="2.0"))
    message = str(error_of(path))
    assert "schema version '2.0' is not supported" in message and "1.0" in message


def test_truncated_file(tmp_path: Path):
    path = written(tmp_path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    error = error_of(path)
    assert "not valid JSON" in str(error) and "truncated" in str(error)
    assert re.search(r"\(line \d+\) at column \d+: ", str(error))


def test_hand_edited_invalid_field_names_the_field(tmp_path: Path):
    path = edit(written(tmp_path), lambda d: d["facts"]["sockets"]["listeners"][0].update(port=70000))
    error = error_of(path)
    assert "invalid snapshot" in str(error)
    assert any("/facts/sockets/listeners/0/port" in p.message for p in error.problems)


def test_hand_added_unknown_field_is_rejected(tmp_path: Path):
    path = edit(written(tmp_path), lambda d: d["provenance"].update(hostnme="typo"))
    assert any("/provenance/hostnme" in p.message for p in error_of(path).problems)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not an lbaudit snapshot"),
        (b'{"schema": "lbaudit/evidence", "schema_version": "1.0"}', "not an lbaudit snapshot"),
        (b'{"schema": "lbaudit/snapshot", "schema": "lbaudit/snapshot"}', "duplicate key (line 1, column 32)"),
        (b'{"schema": "lbaudit/snapshot", "schema_version": "1.0", "x": NaN}', "NaN is not a JSON number"),
    ],
)
def test_not_a_snapshot(tmp_path: Path, content: bytes, expected: str):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    assert expected in str(error_of(path))


def test_missing_directory_and_oversized_files(tmp_path: Path):
    assert "cannot read" in str(error_of(tmp_path / "absent.json"))
    assert "is a directory" in str(error_of(tmp_path))
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(MAX_SNAPSHOT_BYTES + 1)  # sparse: nothing is read
    assert "larger than" in str(error_of(huge))


def test_json_schema_accepts_written_snapshots_and_rejects_invalid_ones(tmp_path: Path):
    schema = snapshot_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    data = json.loads(written(tmp_path).read_text())
    assert list(validator.iter_errors(data)) == []
    data["facts"]["sockets"]["listeners"][0]["protocol"] = "quic"  # no such transport is collected
    assert list(validator.iter_errors(data))
    assert schema["properties"]["schema_version"]["enum"] == ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11"]


def test_gap_kinds_survive_the_round_trip(tmp_path: Path):
    gap = Gap(section="sockets", field="listeners", reason="offline", kind=GapKind.NOT_APPLICABLE)
    # an offline image's: a running host's facts cannot say its listeners do not exist (exit 2)
    image = sample().provenance.model_copy(update={"source": "root"})
    # and without the running sysctl values and socket counts no image has (exit 2 too)
    offline = sample().facts.model_copy(update={
        "sysctl": SysctlFacts(persistent=sample().facts.sysctl.persistent),
        "sockets": sample().facts.sockets.model_copy(update={"counts": None})})
    snap = sample().model_copy(update={"gaps": [gap], "provenance": image, "facts": offline})
    assert load_snapshot(written(tmp_path, snap)).gaps[0].kind == GapKind.NOT_APPLICABLE
