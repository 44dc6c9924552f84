"""Snapshot files: facts saved on one host, evaluated later or elsewhere with the same findings.

A snapshot is a :class:`~auditor.model.facts.HostSnapshot` written as pretty JSON with sorted keys.
Loading validates it strictly (size, UTF-8, JSON, schema name and version, every field, and that
its counts and gaps agree with its facts) and turns any problem into an
:class:`~auditor.errors.InputError` (exit 2).  The loaded snapshot names its source
in the provenance: ``source="snapshot"``, the file path and the SHA-256 of the file's bytes; the
host fields (hostname, machine id, time of collection, ...) are those recorded on the host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.errors import InputError, Problem
from auditor.model.base import sha256_hex
from auditor.model.facts import (
    SNAPSHOT_SCHEMA,
    SNAPSHOT_SCHEMA_VERSION,
    HostSnapshot,
    contradictions,
    plain_gaps,
    snapshot_json,
    snapshot_parts,
)
from auditor.safeio import recorded_path
from auditor.storage.jsonfile import parse_document, read_bounded, validate_versioned
from auditor.storage.jsontext import indented_json
from auditor.storage.outputs import write_atomic

MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
# The snapshot versions this lbaudit reads, listed by hand: writing a new version does not by itself
# make older ones readable or unreadable.  Each must also say what it collected
# (auditor.domain.sysctl.RUNTIME_KEYS_BY_SNAPSHOT_VERSION); a refused version's message lists these.
SUPPORTED_VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8")


def snapshot_bytes(snapshot: HostSnapshot) -> bytes:
    # No part of a snapshot's schema is a float (tests/test_jsontext.py): nothing to name.
    dumped = snapshot.model_dump(mode="json", by_alias=True, exclude={"facts", "gaps"} if plain_gaps() else {"facts"})
    return indented_json(snapshot_json(snapshot, dumped, listeners_as_models=True), allow_nan=False,
                         parts=snapshot_parts())


def write_snapshot(snapshot: HostSnapshot, path: Path) -> None:
    """Write atomically: a reader sees the previous file or the complete new one."""
    write_atomic(Path(path), snapshot_bytes(snapshot))


SNAPSHOT_WHAT = "an lbaudit snapshot"


def parse_snapshot(raw: bytes, name: str) -> HostSnapshot:
    """Validate the bytes of a snapshot file (``name`` is used in messages)."""
    data = parse_document(raw, name, SNAPSHOT_WHAT)
    snapshot = validate_versioned(data, name, SNAPSHOT_WHAT, "snapshot", HostSnapshot, SNAPSHOT_SCHEMA,
                                  SUPPORTED_VERSIONS)
    found = contradictions(snapshot)
    if found:
        raise InputError(f"{name}: the snapshot contradicts itself ({len(found)} problem(s))",
                         [Problem(name, None, None, f"{pointer}: {what}") for pointer, what in found[:20]])
    return snapshot


def load_snapshot(path: Path, pubkey_path: Path | None = None) -> HostSnapshot:
    """Read and validate a snapshot file; any problem is an InputError, never a traceback.

    With ``pubkey_path``, the bytes read must carry a valid snapshot signature (``<path>.sig``) by
    that key, else :class:`auditor.attest.signing.SnapshotNotVerified` (exit 10-12, as ``lbaudit verify``).
    The provenance records the outcome (``source_signature``): the file's own claim is ignored.
    """
    path = Path(path)
    try:
        raw = read_bounded(path, MAX_SNAPSHOT_BYTES, SNAPSHOT_WHAT)
    except InputError as exc:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a snapshot file (for a root directory use --root)") from exc
        raise
    from auditor.attest import signing

    if pubkey_path is not None:
        # The key read once: reading the file again for the fingerprint recorded a key that had not
        # verified anything, had the file been replaced in between.
        public_key = signing.load_public_key(Path(pubkey_path))
        result = signing.verify_snapshot_bytes(path, raw, public_key)
        if not result.ok:
            raise signing.SnapshotNotVerified(path, result)
        state = "verified"
        key = signing.public_key_fingerprint(public_key)
    else:
        state, key = signing.snapshot_signature_state(path), None
    snapshot = parse_snapshot(raw, str(path))
    recorded = snapshot.provenance
    location = recorded_path(path)  # not as typed: the evidence of one file is one whatever its name
    provenance = recorded.model_copy(
        update={"collected_from": recorded.source if recorded.source != "snapshot" else recorded.collected_from,
                "source": "snapshot", "source_detail": location, "source_sha256": sha256_hex(raw),
                "source_signature": state, "source_signature_key": key,
                "target_kind": "snapshot", "target_id": location}
    )
    return snapshot.model_copy(update={"provenance": provenance})


def snapshot_schema() -> dict[str, Any]:
    """JSON Schema of the snapshot file (``lbaudit schema snapshot``)."""
    schema = HostSnapshot.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://lbaudit.invalid/schemas/snapshot-{SNAPSHOT_SCHEMA_VERSION}.json"
    schema["title"] = "lbaudit host snapshot"
    return schema
