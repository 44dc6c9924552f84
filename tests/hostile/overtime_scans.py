"""Scans of one web host over time, evaluated from snapshots, for the hostile tests of ``diff``,
``history diff`` and ``fleet report`` (test_overtime_*.py): postgres on loopback, and redis on the
wildcard when it is open, judged by a loopback-only policy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from auditor.model.facts import Listener, ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import FIXED_TIME, listener, snapshot

LOOPBACK_POLICY = """id: loopback
version: "1"
owner: Security <sec@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    title: Services listen on loopback
    severity: high
    params: {allow: [loopback]}
"""
REDIS = "tcp 0.0.0.0:6379 redis-server pid 977"


def web_listeners(*, redis: bool) -> list[Listener]:
    """Postgres on loopback, and redis on the wildcard (the failure) when ``redis``."""
    found = [listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=812, name="postgres")])]
    if redis:
        found.append(listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server")]))
    return found


def evaluated_scan(tmp_path: Path, name: str, day: int, listeners: list[Listener], *, expected_exit: int | tuple[int, ...],
                   policy: str = LOOPBACK_POLICY, policy_file: str = "policy.yaml", args: tuple[Any, ...] = (),
                   **facts: Any) -> Path:
    """The evidence of ``lbaudit evaluate`` of ``policy`` (written as ``policy_file``) over a snapshot
    of ``listeners`` (and ``facts``: gaps, source) collected ``day`` days after FIXED_TIME; the run
    must end with ``expected_exit`` (one code, or any of several)."""
    facts_file = tmp_path / f"{name}.snapshot.json"
    write_snapshot(snapshot(listeners=listeners, collected_at=FIXED_TIME + timedelta(days=day), **facts), facts_file)
    (tmp_path / policy_file).write_text(policy)
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", tmp_path / policy_file, "--snapshot", facts_file, "-o", evidence, "-q",
                     *args)
    expected = expected_exit if isinstance(expected_exit, tuple) else (expected_exit,)
    assert result.returncode in expected, result.stderr
    return evidence
