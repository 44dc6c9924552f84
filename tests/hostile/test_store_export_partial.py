"""``history export`` printed each run as it read it: a damaged run in the middle left the runs
before it on stdout as valid JSON Lines, then exit 2, and ``history export | other-tool import``
imported half the store.  Every run is now read (and with ``--with-evidence`` its evidence checked
against its digest) before the first line: a damaged run is exit 2 and nothing on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan

USAGE = 2


def _three_runs(tmp_path: Path, store: str) -> list[Path]:
    return [record_scan(tmp_path, store, f"scan{index}", wildcard_redis=index == 1)[0] for index in range(3)]


def _run2_evidence(store: str) -> str:
    return json.loads(run_cli("history", "show", "2", "--json", "--store", store).stdout)["evidence_sha256"]


def test_altered_evidence_of_a_middle_run_exports_nothing(tmp_path: Path, store_url: str):  # noqa: F811 - the fixture
    evidences = _three_runs(tmp_path, store_url)
    whole = run_cli("history", "export", "--with-evidence", "--store", store_url)
    assert whole.returncode == 0
    assert [json.loads(line)["evidence"].encode() for line in whole.stdout.splitlines()] == [
        e.read_bytes() for e in evidences]
    digest = _run2_evidence(store_url)
    # run 1's evidence, stored under run 2's digest: it decompresses, but no longer hashes to it
    with open_store(store_url) as opened, opened.engine.begin() as conn:
        first = conn.execute(sa.text("SELECT content, size FROM evidence WHERE sha256 = :d"),
                             {"d": json.loads(whole.stdout.splitlines()[0])["evidence_sha256"]}).one()
        conn.execute(sa.text("UPDATE evidence SET content = :c, size = :s WHERE sha256 = :d"),
                     {"c": first.content, "s": first.size, "d": digest})
    result = run_cli("history", "export", "--with-evidence", "--store", store_url)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert f"the stored evidence {digest[:16]}... was altered" in result.stderr, result.stderr
    # without --with-evidence the evidence is not read: the three runs, whole
    rows = run_cli("history", "export", "--store", store_url)
    assert (rows.returncode, [json.loads(line)["id"] for line in rows.stdout.splitlines()]) == (0, [1, 2, 3])


def test_a_damaged_finding_row_of_a_middle_run_exports_nothing(tmp_path: Path):
    store = str(tmp_path / "history.db")
    _three_runs(tmp_path, store)
    with open_store(store) as opened, opened.engine.begin() as conn:
        # SQLite keeps any value in any column: a row edited outside lbaudit
        assert conn.execute(sa.text("UPDATE findings SET severity = x'07' WHERE run_id = 2")).rowcount > 0
    result = run_cli("history", "export", "--store", store)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert f"{store}: a row of the history store is damaged" in result.stderr, result.stderr
    assert "findings.severity holds b'\\x07', not str" in result.stderr


def test_an_export_is_one_json_line_per_run_oldest_first(tmp_path: Path):
    store = str(tmp_path / "history.db")
    _three_runs(tmp_path, store)
    result = run_cli("history", "export", "--store", store)
    assert result.returncode == 0 and result.stdout.endswith("}\n")
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["verdict"]) for r in runs] == [(1, "incomplete"), (2, "non_compliant"), (3, "incomplete")]
    listed = json.loads(run_cli("history", "list", "--json", "--store", store).stdout)
    assert [r["id"] for r in reversed(listed)] == [r["id"] for r in runs]
