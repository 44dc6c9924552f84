"""`history import` said "every file is read and validated before anything is recorded", but each
file's `.sig` was read only as its run was recorded, one transaction per file: `history import
older.json newer.json` with a damaged `newer.json.sig` recorded older.json, then failed (exit 2)
with "the evidence signature is not an lbaudit evidence signature", naming no file: the backfill
was half in the store, and the message did not say which file, nor that anything was recorded.

Now every file and its `.sig` are prepared before the store is opened, the `.sig` named when it is
refused, and the runs are recorded in one transaction: all or none.  A file already recorded is
still skipped (so an import run again, or a file given twice, records each run once)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.engine.registry import load_registry
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, write_scan_snapshot

REGISTRY = load_registry(plugins=False)
POLICY = load_policy(CORP, REGISTRY)
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _evidence(tmp_path: Path, name: str, minutes_ago: int, wildcard: bool, **host: str) -> Path:
    at = NOW - timedelta(minutes=minutes_ago)
    snap = load_snapshot(write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=wildcard, when=at,
                                             **host))
    path = tmp_path / f"{name}.json"
    path.write_bytes(evidence_bytes(assess(POLICY, snap, REGISTRY, started_at=at)))
    return path


def _runs(store: str) -> list[tuple[int, str]]:
    listed = run_cli("history", "list", "--json", "--store", store)
    assert listed.returncode == 0, listed.stderr
    return [(run["id"], run["started_at"]) for run in json.loads(listed.stdout)]


def test_an_import_refused_on_a_later_file_records_none_of_its_files(tmp_path, store_url):  # noqa: F811
    first = _evidence(tmp_path, "first", 50, wildcard=False)
    assert run_cli("history", "import", first, "--store", store_url).returncode == 0
    older = _evidence(tmp_path, "older", 40, wildcard=False)
    newer = _evidence(tmp_path, "newer", 30, wildcard=True)
    Path(f"{newer}.sig").write_text('{"not": "an lbaudit signature"}\n')
    result = run_cli("history", "import", newer, older, "--store", store_url)
    assert (result.returncode, result.stdout) == (2, "")
    # the .sig is read before the evidence is validated (a .sig proving a change is exit 10 first), in the
    # words show, diff and report use for it
    assert f'{newer}.sig: not an lbaudit evidence signature (expected "schema": "lbaudit/evidence-signature")' \
        in result.stderr, result.stderr
    assert [run_id for run_id, _ in _runs(store_url)] == [1]  # older.json was not recorded either
    assert run_cli("history", "verify", "--store", store_url).returncode == 0


def test_a_refusal_found_against_the_store_names_the_file_and_records_none(tmp_path, store_url):  # noqa: F811
    """A clock set back is found only against the host's chain, in the store: the import said
    "the clock says ..., before run 1 of this host and policy was recorded" without the file."""
    from auditor.history import open_store
    from auditor.storage.evidence import load_evidence

    first = _evidence(tmp_path, "first", 50, wildcard=False)
    with open_store(store_url) as store:  # recorded by a machine whose clock was two hours ahead
        evidence, raw = load_evidence(first)
        store.record(raw, evidence, recorded_at=NOW + timedelta(hours=2))
    other_host = _evidence(tmp_path, "other", 45, wildcard=False, hostname="db01", machine_id="f" * 32)
    same_host = _evidence(tmp_path, "same", 40, wildcard=True)
    result = run_cli("history", "import", other_host, same_host, "--store", store_url)
    assert (result.returncode, result.stdout) == (2, ""), result.stdout + result.stderr
    assert f"lbaudit: {same_host}: the clock says " in result.stderr, result.stderr
    assert "before run 1 of this host and policy was recorded" in result.stderr
    assert [run_id for run_id, _ in _runs(store_url)] == [1]  # db01's run was not recorded either


def test_control_case_an_import_records_every_file_once_in_the_order_of_the_scans(tmp_path, store_url):  # noqa: F811
    older = _evidence(tmp_path, "older", 40, wildcard=False)
    newer = _evidence(tmp_path, "newer", 30, wildcard=True)
    result = run_cli("history", "import", newer, older, older, "--json", "--store", store_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"file": str(older), "run": 1, "recorded": True},
                                         {"file": str(older), "run": 1, "recorded": False},
                                         {"file": str(newer), "run": 2, "recorded": True}]
    again = run_cli("history", "import", older, newer, "--store", store_url)
    assert (again.returncode, again.stdout) == (0, f"{older}: already recorded as run 1\n"
                                                   f"{newer}: already recorded as run 2\n")
    assert [run_id for run_id, _ in _runs(store_url)] == [2, 1]
    diff = run_cli("history", "diff", "--store", store_url)
    assert diff.returncode == 1, diff.stdout + diff.stderr  # the wildcard redis of the newer scan regressed
