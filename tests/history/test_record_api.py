"""``auditor.history.record`` as a library (what a fleet runner calls, without click), and two
recorders of one host at once: the chain must not fork."""

from __future__ import annotations

import threading
from datetime import date

from auditor.engine.registry import load_registry
from auditor.history import HistoryStore, mark_attested, open_store, record
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot
from tests.history.scans import CORP, later, write_scan_snapshot

REGISTRY = load_registry(plugins=False)
POLICY = load_policy(CORP, REGISTRY)


def _evidence(tmp_path, day: int, wildcard: bool, **host):
    snap = load_snapshot(write_scan_snapshot(tmp_path / f"{day}-{wildcard}.json", wildcard_redis=wildcard,
                                             when=later(day), **host))
    evidence = assess(POLICY, snap, REGISTRY, today=date(2026, 11, 1), started_at=later(day))
    return evidence, evidence_bytes(evidence)


def test_record_from_a_fleet_runner(tmp_path, store_url):
    evidence, raw = _evidence(tmp_path, 0, False)
    with open_store(store_url) as store:
        assert isinstance(store, HistoryStore)
        first = record(store, raw, evidence, trigger="fleet", host="web-01")
        second_evidence, second_raw = _evidence(tmp_path, 1, True)
        second = record(store, second_raw, trigger="fleet", host="web-01")  # parsed from the bytes
        assert second.prev_evidence_sha256 == first.evidence_sha256 and first.prev_evidence_sha256 is None
        runs = store.list_runs(host="web-01")
        assert [(r["id"], r["trigger"], r["day"]) for r in runs] == [(2, "fleet", "2026-11-02"),
                                                                    (1, "fleet", "2026-11-01")]
        assert mark_attested(store, second_raw, "pdf", b"%PDF-1.7 rendered") == [second.run_id]
        assert store.list_runs()[0]["attested"] is True
        assert store.verify().ok
    # a location instead of an open store: opened for the one call
    third_evidence, third_raw = _evidence(tmp_path, 2, False)
    assert record(store_url, third_raw, third_evidence, trigger="timer").run_id == 3


def test_concurrent_recorders_of_one_host_keep_one_chain(tmp_path, store_url):
    documents = [_evidence(tmp_path, day, day % 2 == 0) for day in range(8)]
    open_store(store_url).close()  # created once; the recorders only record
    errors: list[BaseException] = []

    def recorder(items):
        try:
            with open_store(store_url) as store:
                for evidence, raw in items:
                    store.record(raw, evidence, trigger="timer")
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=recorder, args=(documents[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with open_store(store_url) as store:
        runs = sorted(store.list_runs(), key=lambda r: r["id"])
        assert len(runs) == 8
        assert [r["prev_evidence_sha256"] for r in runs] == [None] + [r["evidence_sha256"] for r in runs[:-1]]
        assert store.verify().ok
