"""Snapshot files: facts saved on one host, evaluated later or elsewhere with the same findings.

A snapshot is a :class:`~auditor.model.facts.HostSnapshot` written as pretty JSON with sorted keys.
Loading validates it strictly (size, UTF-8, JSON, schema name and version, every field) and turns any
problem into an :class:`~auditor.errors.InputError` (exit 2).  The loaded snapshot names its source
in the provenance: ``source="snapshot"``, the file path and the SHA-256 of the file's bytes; the
host fields (hostname, machine id, time of collection, ...) are those recorded on the host.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.errors import InputError, Problem
from auditor.model.base import sha256_hex
from auditor.model.facts import SNAPSHOT_SCHEMA, SNAPSHOT_SCHEMA_VERSION, HostSnapshot
from auditor.report.evidence import write_atomic

MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
SUPPORTED_VERSIONS = (SNAPSHOT_SCHEMA_VERSION,)


def snapshot_bytes(snapshot: HostSnapshot) -> bytes:
    data = snapshot.model_dump(mode="json", by_alias=True)
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def write_snapshot(snapshot: HostSnapshot, path: Path) -> None:
    """Write atomically: a reader sees the previous file or the complete new one."""
    write_atomic(Path(path), snapshot_bytes(snapshot))


def _pointer(loc: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc)


class _InvalidJson(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:  # json.loads would keep the last silently; a hand edit must not hide a value
            raise _InvalidJson(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _InvalidJson(f"{name} is not a JSON number")


def parse_snapshot(raw: bytes, name: str) -> HostSnapshot:
    """Validate the bytes of a snapshot file (``name`` is used in messages)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not a snapshot: not UTF-8 text (byte {exc.start})") from exc
    try:
        data = json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)
    except _InvalidJson as exc:
        raise InputError(f"{name}: not a snapshot: {exc}") from exc
    except json.JSONDecodeError as exc:
        problem = Problem(name, exc.lineno, exc.colno, exc.msg)
        stripped = text.rstrip()
        truncated = stripped.startswith("{") and not stripped.endswith("}")
        hint = " (the file looks truncated: it ends before its closing brace)" if truncated else ""
        raise InputError(f"{name}: not a snapshot: invalid JSON{hint}", [problem]) from exc
    if not isinstance(data, dict) or data.get("schema") != SNAPSHOT_SCHEMA:
        raise InputError(f'{name}: not an lbaudit snapshot (expected "schema": "{SNAPSHOT_SCHEMA}")')
    version = data.get("schema_version")
    if version not in SUPPORTED_VERSIONS:
        raise InputError(
            f"{name}: snapshot schema version {version!r} is not supported by this lbaudit "
            f"(supported: {', '.join(SUPPORTED_VERSIONS)}); collect it again with this version"
        )
    try:
        return HostSnapshot.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(name, None, None, f"{_pointer(err['loc'])}: {err['msg']}") for err in exc.errors()[:20]]
        more = len(exc.errors()) - len(problems)
        if more > 0:
            problems.append(Problem(name, None, None, f"... and {more} more"))
        raise InputError(f"{name}: invalid snapshot ({len(exc.errors())} problem(s))", problems) from exc


def load_snapshot(path: Path) -> HostSnapshot:
    """Read and validate a snapshot file; any problem is an InputError, never a traceback."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_SNAPSHOT_BYTES:
                raise InputError(f"{path}: larger than {MAX_SNAPSHOT_BYTES} bytes; not an lbaudit snapshot")
            raw = handle.read(MAX_SNAPSHOT_BYTES + 1)
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a snapshot file (for a root directory use --root)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the snapshot: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SNAPSHOT_BYTES:  # grew while being read
        raise InputError(f"{path}: larger than {MAX_SNAPSHOT_BYTES} bytes; not an lbaudit snapshot")
    snapshot = parse_snapshot(raw, str(path))
    provenance = snapshot.provenance.model_copy(
        update={"source": "snapshot", "source_detail": str(path), "source_sha256": sha256_hex(raw)}
    )
    return snapshot.model_copy(update={"provenance": provenance})


def snapshot_schema() -> dict[str, Any]:
    """JSON Schema of the snapshot file (``lbaudit schema snapshot``)."""
    schema = HostSnapshot.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://lbaudit.invalid/schemas/snapshot-{SNAPSHOT_SCHEMA_VERSION}.json"
    schema["title"] = "lbaudit host snapshot"
    return schema
