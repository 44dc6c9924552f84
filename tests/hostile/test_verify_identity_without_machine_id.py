"""Hostile `history verify`: a run of a host without a machine id filed under another host.

verify compared every identity field of a run with its evidence except the host name, because a
host renamed since keeps its machine id (the hosts row holds the newest name).  A host without a
machine id (and without an inventory name) is identified by its name alone (``hostname:NAME``), so
moving its run to another name-keyed host (``UPDATE hosts``) made `history show`, `fleet report`
and `history diff --host` show web01's scan as db01's, and verify passed: the one identity it has
was the step it skipped.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.scans import record_scan


def test_a_run_moved_to_another_host_name_fails_verify_with_10(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "one", wildcard_redis=True, hostname="web01.example.test", machine_id=None)
    before = run_cli("history", "verify", "--store", store, "--json")
    assert before.returncode == 0, before.stdout + before.stderr
    with open_store(store) as opened, opened.engine.begin() as conn:
        edit = "UPDATE hosts SET hostname = 'db01.example.test', host_key = 'hostname:db01.example.test'"
        assert conn.execute(sa.text(edit)).rowcount == 1
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == 10, result.stdout + result.stderr
    first = json.loads(result.stdout)["first_break"]
    assert first["kind"] == "record_mismatch" and "hostname" in first["detail"]


def test_control_case_a_renamed_host_with_a_machine_id_still_verifies(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "one", wildcard_redis=True)
    with open_store(store) as opened, opened.engine.begin() as conn:
        assert conn.execute(sa.text("UPDATE hosts SET hostname = 'web01-renamed.example.test'")).rowcount == 1
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
