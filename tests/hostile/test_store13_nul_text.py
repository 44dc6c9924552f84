"""A snapshot (a file handed over, not read from /proc, whose process names cannot hold one) whose
listening process is named "red\\x00is": its evidence keeps the name, JSON-escaped.  SQLite recorded
the run; PostgreSQL refused it, "cannot record in the history store: PostgreSQL text fields cannot
contain NUL (0x00) bytes", naming neither the run's file nor the field, so a history exported from
SQLite could not be imported into a team's PostgreSQL store.

Now the store refuses such a text on both backends before anything is written, naming the column
(exit 2); the evidence file itself is untouched and still reads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.engine.registry import load_registry
from auditor.model.facts import ProcessInfo
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot, write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP

REGISTRY = load_registry(plugins=False)
POLICY = load_policy(CORP, REGISTRY)
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _evidence(tmp_path: Path, name: str, process: str) -> Path:
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name=process)])],
                            collected_at=NOW - timedelta(minutes=5)), tmp_path / f"{name}.snapshot.json")
    evidence = assess(POLICY, load_snapshot(tmp_path / f"{name}.snapshot.json"), REGISTRY,
                      started_at=NOW - timedelta(minutes=4))
    path = tmp_path / f"{name}.evidence.json"
    path.write_bytes(evidence_bytes(evidence))
    return path


def test_a_run_with_a_nul_in_a_process_name_is_refused_on_both_backends(tmp_path, store_url):  # noqa: F811
    evidence = _evidence(tmp_path, "nul", "red\x00is")
    result = run_cli("history", "import", evidence, "--store", store_url)
    assert (result.returncode, result.stdout) == (2, ""), result.stdout + result.stderr
    assert (f"lbaudit: {evidence}: findings.subject would hold a NUL character ('tcp 0.0.0.0:6379 red\\x00is"
            in result.stderr), result.stderr
    assert run_cli("show", evidence).returncode in (0, 1, 3)  # the evidence itself is untouched and reads


def test_control_case_the_same_run_without_the_nul_is_recorded(tmp_path, store_url):  # noqa: F811
    result = run_cli("history", "import", _evidence(tmp_path, "plain", "redis"), "--store", store_url)
    assert result.returncode == 0, result.stderr
