"""`history show` and `export` print the policy's version from the policies table and the tool
version from the run's row; edited there (a run shown as made under the approved policy version,
or by a patched lbaudit), `history verify` still said exit 0."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.scans import record_scan


@pytest.mark.parametrize("edit, said", [
    ("UPDATE policies SET version = '9.9.9'", "policy_version '9.9.9'"),
    ("UPDATE runs SET tool_version = '99.0'", "tool_version '99.0'"),
])
def test_an_edited_version_fails_verify_with_10(tmp_path, edit, said):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "one", wildcard_redis=True)
    assert run_cli("history", "verify", "--store", store).returncode == 0
    with open_store(store) as opened, opened.engine.begin() as conn:
        assert conn.execute(sa.text(edit)).rowcount == 1
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == 10, result.stdout + result.stderr
    first = json.loads(result.stdout)["first_break"]
    assert first["kind"] == "record_mismatch" and said in first["detail"]
