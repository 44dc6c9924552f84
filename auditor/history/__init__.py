"""The history store: every recorded run of lbaudit, verifiably (issue 11).

A library first, so that ``lbaudit evaluate --record``, ``lbaudit history ...`` and a future
``fleet evaluate`` record and read runs the same way, without click::

    from auditor.history import open_store, record

    with open_store("postgresql+psycopg://lbaudit@db/lbaudit") as store:
        run = record(store, evidence_bytes, evidence, trigger="fleet", host="web-01")

Importing this package imports SQLAlchemy; the command line imports it only for ``--record`` and
``history``.  Layering: it builds on the model, storage (the evidence loader) and attestation
(signature checks); the engine, checks, collectors and reporters never import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditor.history.location import store_location
from auditor.history.store import AlreadyRecorded, HistoryStore, RecordedRun

if TYPE_CHECKING:
    from auditor.model.evidence import Evidence

__all__ = ["AlreadyRecorded", "HistoryStore", "RecordedRun", "mark_attested", "open_store", "record"]


def open_store(location: str | None = None, *, create: bool = True) -> HistoryStore:
    """Open (creating and migrating as needed) the store at ``location``: a file path or a
    SQLAlchemy URL; ``None`` means ``LBAUDIT_STORE`` or the default place.  Without ``create`` a
    missing SQLite file is exit 2 (a command that only reads must not create what it reads)."""
    return HistoryStore.open(store_location(location), create=create)


def record(store: HistoryStore | str | None, evidence_bytes: bytes, evidence: "Evidence | None" = None, *,
           trigger: str = "manual", host: str | None = None, signature: bytes | None = None) -> RecordedRun:
    """Record one run: its evidence file's exact bytes (parsed again when ``evidence`` is None),
    the trigger (manual, timer, cron, ci, fleet), an optional inventory name for the host (its
    identity is the machine id and host name in the evidence), and the ``.sig`` document when the
    evidence was signed.  ``store`` is an open store or a location to open for this one call."""
    if isinstance(store, HistoryStore):
        return store.record(evidence_bytes, evidence, trigger=trigger, inventory_name=host, signature=signature)
    with open_store(store) as opened:
        return opened.record(evidence_bytes, evidence, trigger=trigger, inventory_name=host, signature=signature)


def mark_attested(store: HistoryStore | str | None, evidence_bytes: bytes, kind: str, document: bytes) -> list[int]:
    """Mark the recorded runs of this evidence as attested by ``document`` (a ``pdf`` or ``oscal``
    rendered from it), so that ``history prune`` keeps them unless forced; return their ids."""
    from auditor.model.base import sha256_hex

    if isinstance(store, HistoryStore):
        return store.mark_attested(sha256_hex(evidence_bytes), kind, document)
    with open_store(store) as opened:
        return opened.mark_attested(sha256_hex(evidence_bytes), kind, document)


def signature_beside(evidence_path: Path) -> bytes | None:
    """The ``.sig`` document beside an evidence file, or None when it is unsigned."""
    from auditor.attest.signing import MAX_SIGNATURE_BYTES, signature_path
    from auditor.storage.jsonfile import read_bounded

    path = signature_path(Path(evidence_path))
    if not path.exists():
        return None
    return read_bounded(path, MAX_SIGNATURE_BYTES, "an lbaudit evidence signature")
