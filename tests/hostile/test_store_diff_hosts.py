"""A diff of two scans of different hosts is not drift: web01's failing wildcard redis "gone" on db01
read as an improvement, and `lbaudit diff` / `history diff` said exit 0 ("nothing regressed") with
only a note.  Now exit 1 unless --allow-host-change says the comparison is intended; a renamed or
re-imaged host (another host name or machine id) counts, since the scan cannot tell them apart."""

from __future__ import annotations

import json

from tests.cli import run_cli
from tests.history.scans import record_scan

DB01 = {"hostname": "db01.example.test", "machine_id": "fedcba9876543210fedcba9876543210"}
RENAMED = {"hostname": "web01-new.example.test"}  # same machine id as web01


def test_diff_across_hosts_is_exit_1_unless_allowed(tmp_path):
    store = str(tmp_path / "h.db")
    web, _ = record_scan(tmp_path, store, "web", wildcard_redis=True)
    db, _ = record_scan(tmp_path, store, "db", wildcard_redis=False, **DB01)
    result = run_cli("diff", web, db, "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["same_host"] is False and document["regressions"] == [] and document["exit_code"] == 1
    assert document["host"] == {"before": "web01.example.test (machine id 0123456789abcdef0123456789abcdef)",
                                "after": "db01.example.test (machine id fedcba9876543210fedcba9876543210)"}
    text = run_cli("diff", web, db)
    assert text.returncode == 1 and "host changed: web01.example.test" in text.stdout, text.stdout
    assert run_cli("diff", web, db, "--allow-host-change").returncode == 0


def test_history_diff_of_two_hosts_runs_is_exit_1_unless_allowed(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "web", wildcard_redis=True)
    record_scan(tmp_path, store, "db", wildcard_redis=False, **DB01)
    assert run_cli("history", "diff", "1", "2", "--store", store).returncode == 1
    allowed = run_cli("history", "diff", "1", "2", "--store", store, "--allow-host-change", "--json")
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["allow_host_change"] is True


def test_history_diff_of_a_renamed_host_is_exit_1_unless_allowed(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "before", wildcard_redis=False)
    record_scan(tmp_path, store, "after", wildcard_redis=False, **RENAMED)
    result = run_cli("history", "diff", "--store", store)  # the last two runs of the one machine id
    assert result.returncode == 1 and "host changed" in result.stdout, result.stdout + result.stderr
    assert run_cli("history", "diff", "--store", store, "--allow-host-change").returncode == 0


def test_the_same_host_still_diffs_clean(tmp_path):
    store = str(tmp_path / "h.db")
    before, _ = record_scan(tmp_path, store, "before", wildcard_redis=False)
    after, _ = record_scan(tmp_path, store, "after", wildcard_redis=False)
    result = run_cli("diff", before, after, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["same_host"] is True, result.stdout
