"""Two snapshots that name one host in one fleet run: neither stands, and neither replaces the
other's evidence file nor records a second run of that host in the history store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_two_snapshots_of_one_host_record_one_run_and_overwrite_nothing(tmp_path: Path, jobs: str):
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", tmp_path / "h.db"
    fetch.mkdir()
    # one loopback-only, one listening on every address: the store kept whichever came last
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="same.example"), fetch / "a.snapshot.json")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 23)], hostname="same.example"), fetch / "b.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out,
                     "--record", "--store", store, "--jobs", jobs, timeout=120)
    assert result.returncode == 2, result.stderr
    rows = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    assert [r["exit_code"] for r in rows] == [2, 2] and all("appears 2 times" in r["error"] for r in rows)
    evaluated = [r for r in rows if r["evidence"] is not None]
    assert len(evaluated) == 1 and evaluated[0]["run_id"] is not None
    # the evidence file on disk is the one evaluated (no second snapshot wrote over it) ...
    evidence = out / "same.example.evidence.json"
    assert json.loads(evidence.read_bytes())["facts_sha256"] is not None
    from auditor.model.base import sha256_hex
    assert sha256_hex(evidence.read_bytes()) == evaluated[0]["evidence_sha256"]
    # ... and the store holds its run alone, not a second run of the same host
    listed = run_cli("history", "list", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [evaluated[0]["run_id"]]
