"""Snapshot versions: the reader lists the versions it accepts, and each says what it collected."""

from __future__ import annotations

import json

import pytest

from auditor.domain.sysctl import RUNTIME_KEYS_BY_SNAPSHOT_VERSION
from auditor.errors import InputError
from auditor.model.facts import SNAPSHOT_SCHEMA_VERSION
from auditor.storage.snapshot import SUPPORTED_VERSIONS, parse_snapshot, snapshot_bytes
from tests.evidence_fixtures import make_snapshot


def test_the_accepted_versions_are_listed_and_include_the_one_written():
    assert SUPPORTED_VERSIONS == ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11")
    assert SNAPSHOT_SCHEMA_VERSION in SUPPORTED_VERSIONS


def test_every_accepted_version_says_what_it_collected():
    assert set(SUPPORTED_VERSIONS) <= set(RUNTIME_KEYS_BY_SNAPSHOT_VERSION)


def test_a_snapshot_of_the_written_version_reads_back():
    snapshot = make_snapshot()
    assert parse_snapshot(snapshot_bytes(snapshot), "s.json") == snapshot


@pytest.mark.parametrize("version", ["0.9", "1.12", "2.0", None, 1.0])
def test_another_version_is_refused_naming_the_accepted_ones(version):
    data = json.loads(snapshot_bytes(make_snapshot()))
    data["schema_version"] = version
    with pytest.raises(InputError) as caught:
        parse_snapshot(json.dumps(data).encode(), "s.json")
    message = str(caught.value)
    assert f"schema version {version!r} is not supported" in message
    assert f"(supported: {', '.join(SUPPORTED_VERSIONS)})" in message


def test_a_snapshot_written_before_platforms_reads_as_linux():
    data = json.loads(snapshot_bytes(make_snapshot()))
    data["schema_version"] = "1.0"
    del data["provenance"]["platform"], data["provenance"]["os_build"]
    for section in ("sockets", "sysctl", "audit"):
        if data["facts"].get(section) is not None:
            data["facts"][section].pop("platform", None)
            for key in ("dynamic_ports", "windows", "macos"):
                data["facts"][section].pop(key, None)
    snapshot = parse_snapshot(json.dumps(data).encode(), "old.json")
    assert snapshot.provenance.platform == "linux"
    assert snapshot.facts.sockets is None or snapshot.facts.sockets.platform == "linux"


def test_a_section_of_another_platform_than_the_snapshot_is_refused():
    data = json.loads(snapshot_bytes(make_snapshot()))
    section = next(name for name in ("sockets", "sysctl", "audit") if data["facts"].get(name) is not None)
    data["facts"][section]["platform"] = "windows"
    with pytest.raises(InputError) as caught:
        parse_snapshot(json.dumps(data).encode(), "mixed.json")
    assert f"/facts/{section}/platform" in InputError.render(caught.value)
