"""Scans to record: snapshot files of one host, before and after a wildcard listener opened, and
the real ``lbaudit evaluate --snapshot ... --record`` over them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import FIXED_TIME, listener, snapshot

CORP = REPO / "policies" / "corp.yaml"
REDIS = "tcp 0.0.0.0:6379 redis"


def sshd():
    return listener("0.0.0.0", 22, processes=[ProcessInfo(pid=401, name="sshd")])


def redis():
    return listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server")])


def write_scan_snapshot(path: Path, *, wildcard_redis: bool, when: datetime = FIXED_TIME,
                        hostname: str = "web01.example.test", machine_id: str = "0123456789abcdef0123456789abcdef",
                        ) -> Path:
    listeners = [sshd(), listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=812, name="postgres")])]
    if wildcard_redis:
        listeners.append(redis())
    write_snapshot(snapshot(listeners=listeners, collected_at=when, hostname=hostname, machine_id=machine_id), path)
    return path


def record_scan(tmp_path: Path, store: str, name: str, *, wildcard_redis: bool, trigger: str = "manual",
                policy: Path = CORP, extra: tuple[str, ...] = (), **host: str):
    """``lbaudit evaluate --snapshot S --record --store STORE``: the evidence path and the result."""
    snap = write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=wildcard_redis, **host)
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", evidence, "-q", "--record",
                     "--store", store, "--trigger", trigger, *extra)
    assert result.returncode in (0, 1, 3), result.stderr
    return evidence, result


def statuses_in(evidence_path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in json.loads(evidence_path.read_bytes())["result"]["findings"]:
        counts[finding["status"]] = counts.get(finding["status"], 0) + 1
    return counts


def later(days: int) -> datetime:
    return FIXED_TIME + timedelta(days=days)
