"""A snapshot whose host name is 300 characters (a hostile or broken snapshot: Linux keeps 64) and
an inventory name of 300 (`history import --host`): PostgreSQL refused the run with "cannot record
in the history store: value too long for type character varying(255)" (naming neither the value
nor its column), while SQLite, which keeps any length, recorded it: the same run was history in
one store and refused by the other, and a history exported from SQLite could not be imported into
PostgreSQL.

Now every text of a run is held against its column's length before anything is written, on both
backends: exit 2, the column, its length and the store's limit named, nothing recorded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, write_scan_snapshot

NOW = datetime.now(timezone.utc).replace(microsecond=0)
LONG = "h" * 300


def _evaluate(tmp_path: Path, name: str, hostname: str, *extra: object):
    snapshot = write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=False, hostname=hostname,
                                   when=NOW - timedelta(minutes=5))
    evidence = tmp_path / f"{name}.evidence.json"
    return evidence, run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q", *extra)


def _runs(store: str) -> list[int]:
    listed = run_cli("history", "list", "--json", "--store", store)
    assert listed.returncode == 0, listed.stderr
    return [run["id"] for run in json.loads(listed.stdout)]


def test_a_host_name_longer_than_the_store_keeps_is_refused_on_both_backends(tmp_path, store_url):  # noqa: F811
    _, first = _evaluate(tmp_path, "short", "web01", "--record", "--store", store_url)
    assert first.returncode == 3, first.stderr
    evidence, result = _evaluate(tmp_path, "long", LONG, "--record", "--store", store_url)
    assert result.returncode == 2, result.stdout + result.stderr  # before: 3 and recorded (SQLite)
    assert (f"hosts.hostname would be 300 characters ('{'h' * 36}...), more than the 255 the history store keeps; "
            "not recorded") in result.stderr, result.stderr
    assert not evidence.exists()  # the run's files go with its record
    assert _runs(store_url) == [1]


@pytest.mark.parametrize("host, column, length", [(LONG, "hosts.hostname", 300), ("web01", "hosts.inventory_name", 256)])
def test_an_import_of_such_a_run_is_refused_on_both_backends(tmp_path, store_url, host, column, length):  # noqa: F811
    evidence, result = _evaluate(tmp_path, "scan", host)
    assert result.returncode == 3, result.stderr
    inventory = ("--host", "i" * 256) if column == "hosts.inventory_name" else ()
    imported = run_cli("history", "import", evidence, *inventory, "--store", store_url)
    assert (imported.returncode, imported.stdout) == (2, ""), imported.stdout + imported.stderr
    assert f"lbaudit: {evidence}: {column} would be {length} characters" in imported.stderr, imported.stderr
    listed = run_cli("history", "list", "--json", "--store", store_url)
    # SQLite: the store the import created is removed with it; PostgreSQL: its schema stays, empty
    assert (listed.returncode, listed.stdout) in ((2, ""), (0, "[]\n")), listed.stdout + listed.stderr


def test_control_case_the_longest_names_the_store_keeps_are_recorded(tmp_path, store_url):  # noqa: F811
    evidence, result = _evaluate(tmp_path, "scan", "h" * 255)
    assert result.returncode == 3, result.stderr
    imported = run_cli("history", "import", evidence, "--host", "i" * 255, "--store", store_url)
    assert imported.returncode == 0, imported.stderr
    assert _runs(store_url) == [1]
