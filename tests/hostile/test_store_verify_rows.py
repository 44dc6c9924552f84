"""`history verify` must not say a store is intact when a recorded run's rows were edited outside
lbaudit so that they contradict the run's evidence: `history show`, `export`, `trend` and
`fleet report` answer from those rows."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.scans import record_scan


@pytest.mark.parametrize("edit", [
    # a non-compliant run marked complete/exit 0 in the row
    "UPDATE runs SET exit_code = 0",
    "UPDATE runs SET complete = 1 - complete",
    # a failing finding turned into a pass (history show/export list the finding rows)
    "UPDATE findings SET status = 'pass' WHERE status = 'fail'",
    # a finding removed from the run's rows
    "DELETE FROM findings WHERE status = 'fail'",
    # trend's per-family counts say no failure
    "DELETE FROM family_counts WHERE status = 'fail'",
    # the run claims another policy id (its chain and `--policy` filters follow the row)
    "UPDATE runs SET policy_id = 'other-policy'",
    # the run claims it ran on another day (latest run, prune --older-than, trend's day)
    "UPDATE runs SET started_at = '2001-01-01 00:00:00.000000', day = '2001-01-01'",
])
def test_rows_contradicting_the_evidence_fail_verify_with_10(tmp_path, edit):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "one", wildcard_redis=True)
    before = run_cli("history", "verify", "--store", store, "--json")
    assert before.returncode == 0, before.stdout + before.stderr
    with open_store(store) as opened, opened.engine.begin() as conn:
        assert conn.execute(sa.text(edit)).rowcount > 0
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == 10, result.stdout + result.stderr
    assert json.loads(result.stdout)["first_break"]["kind"] == "record_mismatch"
