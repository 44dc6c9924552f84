"""A fleet host whose snapshot is refused for a key holding a NUL (``"bogus\\u0000key"``): the
refusal quotes the key, and ``fleet evaluate --record`` records the host as not scanned with that
reason.  SQLite kept the NUL; PostgreSQL refused the row ("PostgreSQL text fields cannot contain
NUL (0x00) bytes"), so on a team store the host was not recorded as not scanned at all, and a history
exported from SQLite could not be imported into PostgreSQL (the missed-scan line failed the whole
import, nothing recorded).  Now the NUL of a reason is kept as the visible escape ``\\x00`` on both
backends (a reason is lbaudit's own words about the host, not evidence), as every command shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, write_scan_snapshot

pytestmark = pytest.mark.slow  # a fleet run on each backend


def _fleet(tmp_path: Path) -> Path:
    snapshots = tmp_path / "snapshots"
    good = write_scan_snapshot(tmp_path / "web01.json", wildcard_redis=False)
    (snapshots / "web01").mkdir(parents=True)
    (snapshots / "web01" / "a.snapshot.json").write_bytes(good.read_bytes())
    document = json.loads(good.read_text())
    document["bogus\u0000key"] = 1
    (snapshots / "web02").mkdir()
    (snapshots / "web02" / "a.snapshot.json").write_text(json.dumps(document))
    return snapshots


def test_a_host_refused_for_a_key_with_a_nul_is_recorded_not_scanned_on_both_backends(tmp_path, store_url):  # noqa: F811
    result = run_cli("fleet", "evaluate", "--snapshots", _fleet(tmp_path), "--policy", CORP, "--out-dir",
                     tmp_path / "out", "--record", "--store", store_url)
    assert result.returncode == 2, result.stderr  # web02 not evaluated: the worst host's exit
    assert "cannot record" not in result.stderr, result.stderr
    report = run_cli("fleet", "report", "--store", store_url, "--stale-days", "3650", "--json")
    data = json.loads(report.stdout)
    assert [host["host"] for host in data["hosts"]] == ["web01", "web02"], report.stdout
    (missed,) = [host for host in data["hosts"] if host["host"] == "web02"]
    assert "/bogus\\x00key: Extra inputs are not permitted" in missed["error"], missed
    assert "\x00" not in missed["error"]


def test_an_sqlite_history_with_such_a_host_moves_to_postgresql(tmp_path, postgres_server):  # noqa: F811
    sqlite_store = str(tmp_path / "history.db")
    result = run_cli("fleet", "evaluate", "--snapshots", _fleet(tmp_path), "--policy", CORP, "--out-dir",
                     tmp_path / "out", "--record", "--store", sqlite_store)
    assert result.returncode == 2, result.stderr
    export = run_cli("history", "export", "--with-evidence", "--store", sqlite_store)
    assert export.returncode == 0, export.stderr
    (tmp_path / "export.jsonl").write_text(export.stdout)
    imported = run_cli("history", "import", "--export", tmp_path / "export.jsonl", "--store",
                       postgres_server.url(postgres_server.create_database()), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["recorded"]["missed_scan"] == 1
