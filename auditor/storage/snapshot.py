"""Snapshot files: facts saved on one host, evaluated later or elsewhere with the same findings.

A snapshot is a :class:`~auditor.model.facts.HostSnapshot` written as pretty JSON with sorted keys.
Loading validates it strictly (size, UTF-8, JSON, how many JSON values it holds, schema name and
version, every field, and that its counts and gaps agree with its facts) and turns any problem into an
:class:`~auditor.errors.InputError` (exit 2).  The loaded snapshot names its source
in the provenance: ``source="snapshot"``, the file path and the SHA-256 of the file's bytes; the
host fields (hostname, machine id, time of collection, ...) are those recorded on the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

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
from auditor.storage.jsonfile import (
    MAX_JSON_VALUES,
    json_values_in_bytes,
    parse_document,
    read_bounded,
    validate_versioned,
)
from auditor.storage.jsontext import indented_json
from auditor.storage.outputs import write_atomic

MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
# The snapshot versions this lbaudit reads, listed by hand: writing a new version does not by itself
# make older ones readable or unreadable.  Each must also say what it collected
# (auditor.domain.sysctl.RUNTIME_KEYS_BY_SNAPSHOT_VERSION); a refused version's message lists these.
SUPPORTED_VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11")


def snapshot_bytes(snapshot: HostSnapshot) -> bytes:
    # No part of a snapshot's schema is a float (tests/test_jsontext.py): nothing to name.
    dumped = snapshot.model_dump(mode="json", by_alias=True, exclude={"facts", "gaps"} if plain_gaps() else {"facts"})
    return indented_json(snapshot_json(snapshot, dumped, listeners_as_models=True), allow_nan=False,
                         parts=snapshot_parts())


def write_snapshot(snapshot: HostSnapshot, path: Path) -> None:
    """Write atomically: a reader sees the previous file or the complete new one."""
    write_atomic(Path(path), snapshot_bytes(snapshot))


SNAPSHOT_WHAT = "an lbaudit snapshot"


# ---------------------------------------------------------------- what one snapshot may record

def _members(data: Any, *path: str) -> Any:
    """The value at ``path`` in parsed JSON, or None where the document is not shaped so (the
    model's validation says what is wrong with it)."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (list, dict)) else 0


def _namespaces(data: Any) -> list[Any]:
    found = _members(data, "facts", "netns", "namespaces")
    return [n for n in found if isinstance(n, dict)] if isinstance(found, list) else []


def _listeners(data: Any) -> int:
    return (_length(_members(data, "facts", "sockets", "listeners"))
            + sum(_length(n.get("listeners")) for n in _namespaces(data)))


def _listener_processes(data: Any) -> int:
    listeners = [_members(data, "facts", "sockets", "listeners"), *(n.get("listeners") for n in _namespaces(data))]
    return sum(_length(listener.get("processes")) for found in listeners if isinstance(found, list)
               for listener in found if isinstance(listener, dict))


def _audit_rules(data: Any) -> int:
    return (_length(_members(data, "facts", "audit", "loaded_rules"))
            + _length(_members(data, "facts", "audit", "persistent_rules")))


def _interfaces(data: Any) -> int:
    return sum(_length(n.get("interfaces")) for n in _namespaces(data))


def _sysctl_settings(data: Any) -> int:
    return (_length(_members(data, "facts", "sysctl", "runtime")) + _length(_members(data, "facts", "sysctl", "persistent"))
            + sum(_length(n.get("sysctl")) for n in _namespaces(data)))


@dataclass(frozen=True)
class SectionLimit:
    """How many of one kind of record a snapshot may hold before it is judged: what a judging
    process's memory grows with.  ``option`` is the command-line option that sets it, ``noun`` what
    is counted (plural), ``one`` one of them, ``default`` the limit without the option, and ``cost``
    what each costs (the option's help)."""

    option: str
    noun: str
    one: str
    default: int
    count: Callable[[Any], int]
    cost: str


# Every kind of record a snapshot holds without bound (and a host may hold many of), each with its limit, counted in the parsed
# document before the models are built: the models and the judgement cost several times the parsed
# JSON (a 50 MB snapshot of 180,000 audit rules, within MAX_SNAPSHOT_BYTES, peaked at 926 MB in the
# fleet worker judging it).  Each default is far above a real host's and far below what a hostile
# 64 MiB file can hold; docs/performance.md gives the measurements.  ``lbaudit fleet evaluate``
# applies them (its worker per CPU judges hosts a target wrote); the options raise them.
SECTION_LIMITS: tuple[SectionLimit, ...] = (
    SectionLimit("--max-listeners", "listening sockets (the host's and its namespaces')", "listener", 20_000,
                 _listeners, "each costs a worker about 10 KiB of memory (20,000: about 225 MiB)"),
    SectionLimit("--max-namespaces", "network namespaces", "namespace", 5_000, lambda data: len(_namespaces(data)),
                 "each is judged by every rule and costs a worker about 32 KiB of memory (5,000: about 250 MiB)"),
    # The processes holding the listening sockets (a prefork server's workers share its sockets):
    # a few hundred on a busy host, each named in its listeners' findings and evidence (300,000 of
    # them on one listener, a 27 MB snapshot: 607 MB of a worker's memory, 157 MB of evidence).
    SectionLimit("--max-listener-processes", "processes holding its listening sockets", "process", 50_000,
                 _listener_processes, "each costs a worker about 2 KiB of memory and its evidence about 0.5 KiB "
                 "(50,000: about 100 MiB)"),
    # A real host loads a few hundred to a few thousand rules (the STIG's set is about 300), and
    # writes them twice (loaded and persistent): 20,000 in all is several times a large set.
    SectionLimit("--max-audit-rules", "audit rules (loaded and persistent)", "audit rule", 20_000, _audit_rules,
                 "each costs a worker about 5 KiB of memory (20,000: 100 MiB)"),
    # A host has an interface or two a container (a veth end each side), a few hundred at most.
    SectionLimit("--max-interfaces", "network interfaces (in all its namespaces)", "interface", 20_000, _interfaces,
                 "each costs a worker about 2.5 KiB of memory (20,000: about 50 MiB)"),
    # Running and configured sysctl settings, and every namespace's running ones: lbaudit reads nine
    # keys a namespace (45,000 at the namespace limit), and a configuration sets a few hundred.
    SectionLimit("--max-sysctl-settings", "sysctl settings (running, configured and its namespaces')",
                 "sysctl setting", 100_000, _sysctl_settings,
                 "each costs a worker about 1.5 KiB of memory (100,000: about 150 MiB)"),
    # What the collector could not read: a few on a host, one a listener or namespace at most where
    # each one's processes or rules could not be read (both capped above).
    SectionLimit("--max-gaps", "gaps (what its collector could not read)", "gap", 50_000,
                 lambda data: _length(_members(data, "gaps")),
                 "each costs a worker about 1 KiB of memory (50,000: about 55 MiB)"),
)


def over_limits(data: Any, limits: dict[str, int]) -> Iterator[tuple[SectionLimit, int, int]]:
    """Each (limit, count, maximum) the parsed snapshot ``data`` records more of than allowed;
    ``limits`` maps an option to its maximum (absent: its default)."""
    for limit in SECTION_LIMITS:
        maximum = limits.get(limit.option, limit.default)
        count = limit.count(data)
        if count > maximum:
            yield limit, count, maximum


# What every snapshot read may hold in all, whatever its kind of record: SECTION_LIMITS caps the
# records a host has many of, but not the lists inside them (a process's arguments, an interface's
# addresses, a namespace's pids and workloads, published ports, TPROXY rules, local routes, an audit
# rule's fields, ...), any of which a hostile 64 MiB file could fill with millions of small values
# (3,000,000 arguments of one process, a 15 MB file, peaked at 483 MiB in evaluate --snapshot;
# 3,000,000 addresses of one interface wrote 96 MB of evidence).  Counted in every snapshot read
# (evaluate --snapshot as well as the fleet), as JSON values, on the bytes before they are parsed.
# A snapshot of 5,000 listeners (two processes each, with their command lines) and 5,000 namespaces
# (interfaces, addresses, sysctls, a workload, a listener each), 27 MB, holds about 730,000.
MAX_SNAPSHOT_RECORDS_OPTION = "--max-snapshot-records"
DEFAULT_MAX_SNAPSHOT_RECORDS = 2_000_000
SNAPSHOT_RECORDS_COST = "each costs a judging process about 150 bytes of memory once built and judged"


def refuse_too_many_values(raw: bytes, name: str, maximum: int) -> None:
    """An InputError (exit 2; the host fails in a fleet) when the document ``raw`` holds more than
    ``maximum`` JSON values, naming the count and the option that raises the limit.  Counted on the
    bytes, before they are parsed (json_values_in_bytes): a 62 MB snapshot of 7,000,000 short
    strings peaked at 1 GB and 5 s in the parse that came before the count, only to be refused."""
    count = json_values_in_bytes(raw, maximum)
    if count > maximum:
        raise InputError(f"{name}: records {count:,} JSON values, more than {MAX_SNAPSHOT_RECORDS_OPTION} "
                         f"{maximum:,}: not judged ({SNAPSHOT_RECORDS_COST}; a host that really records so many is "
                         f"judged with a higher {MAX_SNAPSHOT_RECORDS_OPTION})")


def parse_snapshot(raw: bytes, name: str, before_validation: Callable[[Any], None] | None = None,
                   max_values: int = DEFAULT_MAX_SNAPSHOT_RECORDS) -> HostSnapshot:
    """Validate the bytes of a snapshot file (``name`` is used in messages); ``before_validation``
    may refuse the parsed document (an InputError) before its models are built, as one of more
    than ``max_values`` JSON values is (refuse_too_many_values)."""
    refuse_too_many_values(raw, name, max_values)
    # counted once: the snapshot's bound is at most MAX_JSON_VALUES (its option's ceiling), and
    # counting a 27 MB snapshot's values again cost 25 ms
    data = parse_document(raw, name, SNAPSHOT_WHAT, counted=max_values <= MAX_JSON_VALUES)
    if before_validation is not None:
        before_validation(data)  # the limits of a kind: their message names what is too many
    snapshot = validate_versioned(data, name, SNAPSHOT_WHAT, "snapshot", HostSnapshot, SNAPSHOT_SCHEMA,
                                  SUPPORTED_VERSIONS)
    found = contradictions(snapshot)
    if found:
        raise InputError(f"{name}: the snapshot contradicts itself ({len(found)} problem(s))",
                         [Problem(name, None, None, f"{pointer}: {what}") for pointer, what in found[:20]])
    return snapshot


def load_snapshot(path: Path, pubkey_path: Path | None = None,
                  before_validation: Callable[[Any], None] | None = None,
                  max_values: int = DEFAULT_MAX_SNAPSHOT_RECORDS) -> HostSnapshot:
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
    snapshot = parse_snapshot(raw, str(path), before_validation, max_values)
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
