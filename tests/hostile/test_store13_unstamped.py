"""A store of runs whose revision stamp was lost (its alembic_version table emptied: a restore of
some tables only, a hand-run DELETE): the commands that read said "no history store here (the
database is empty; nothing was recorded in it; evaluate --record or history import creates it)"
of a store holding every run, and the commands that record, as told, failed with "cannot migrate
the history store: table hosts already exists".

Now such a store is named for what it is, exit 2, by every command, and nothing in it is changed."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from auditor.history.store import make_engine
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan

LOST = ("the store holds lbaudit's tables but no schema revision (its alembic_version table is empty): it was "
        "changed outside lbaudit; restore it from a backup, or stamp the revision it was at")


def _stamp(store: str, revision: str | None) -> None:
    engine, _ = make_engine(store, create=False)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version"))
        if revision is not None:
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})
    engine.dispose()


@pytest.mark.parametrize("command", [("history", "list"), ("history", "verify"), ("fleet", "report")])
def test_a_store_whose_stamp_was_lost_is_named_so_by_the_reading_commands(tmp_path, store_url, command):  # noqa: F811
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False)
    _stamp(store_url, None)
    result = run_cli(*command, "--store", store_url)
    assert (result.returncode, result.stdout) == (2, ""), result.stdout + result.stderr
    assert LOST in result.stderr, result.stderr  # before: "no history store here (the database is empty; ..."


def test_a_recording_command_is_refused_the_same_and_changes_nothing(tmp_path, store_url):  # noqa: F811
    evidence, _ = record_scan(tmp_path, store_url, "monday", wildcard_redis=False)
    _stamp(store_url, None)
    result = run_cli("history", "import", evidence, "--store", store_url)
    assert result.returncode == 2 and LOST in result.stderr, result.stderr  # before: "table hosts already exists"
    from auditor.history.schema import HEAD_REVISION

    _stamp(store_url, HEAD_REVISION)  # stamped again, the store is as it was
    listed = run_cli("history", "list", "--json", "--store", store_url)
    assert [run["id"] for run in json.loads(listed.stdout)] == [1]
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
