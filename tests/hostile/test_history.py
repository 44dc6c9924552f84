"""Hostile inputs to the history store: each ends in its exact exit code with a message, never a
traceback, a hang, exit 70 or a half-recorded run."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.scans import CORP, record_scan, write_scan_snapshot
from tests.hostile.test_hangs_store_peer import FakePeer


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


def test_a_directory_as_the_store_is_exit_2(tmp_path):
    result = run_cli("history", "list", "--store", tmp_path)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    _no_traceback(result)


def test_a_fifo_as_the_store_is_exit_2_without_blocking(tmp_path):
    fifo = tmp_path / "store.db"
    os.mkfifo(fifo)
    result = run_cli("history", "list", "--store", fifo, timeout=20)
    assert result.returncode == 2 and "not a regular file" in result.stderr


def test_a_file_that_is_not_a_database_is_exit_2(tmp_path):
    store = tmp_path / "notes.db"
    store.write_text("these are my notes, not a database\n" * 100)
    result = run_cli("history", "list", "--store", store)
    assert result.returncode == 2 and "cannot open the history store" in result.stderr
    _no_traceback(result)


def test_a_database_of_something_else_is_refused_and_left_alone(tmp_path):
    store = tmp_path / "other.db"
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    result = run_cli("history", "list", "--store", store)
    assert result.returncode == 2 and "not an lbaudit history store" in result.stderr
    with sqlite3.connect(store) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["accounts"]


def test_a_store_made_by_a_newer_lbaudit_is_exit_2(tmp_path):
    store = tmp_path / "h.db"
    open_store(str(store)).close()
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    result = run_cli("history", "list", "--store", store)
    assert result.returncode == 2 and "newer than this lbaudit knows" in result.stderr


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://root@127.0.0.1/lbaudit", "not supported"),
    ("ftp://example.invalid/x", "not supported"),
    ("postgresql+psycopg://nobody@/lbaudit?host=/nonexistent-socket-dir", "cannot open the history store"),
    ("postgresql+nosuchdriver://x@/y", "through psycopg 3 only (postgresql+psycopg://...), not nosuchdriver"),
    ("://", "not a SQLAlchemy URL"),
])
def test_bad_store_urls_are_exit_2(url, message):
    result = run_cli("history", "list", "--store", url, timeout=60)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    _no_traceback(result)


def test_a_bad_store_stops_evaluate_before_any_file_is_written(tmp_path):
    snap = write_scan_snapshot(tmp_path / "s.json", wildcard_redis=False)
    evidence = tmp_path / "e.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snap, "-o", evidence, "-q", "--record",
                     "--store", tmp_path)
    assert result.returncode == 2 and not evidence.exists()


def test_store_and_trigger_without_record_are_usage_errors(tmp_path):
    snap = write_scan_snapshot(tmp_path / "s.json", wildcard_redis=False)
    for extra in (("--store", str(tmp_path / "h.db")), ("--trigger", "cron")):
        result = run_cli("evaluate", "--policy", CORP, "--snapshot", snap, "-o", tmp_path / "e.json", "-q", *extra)
        assert result.returncode == 2 and "give --record as well" in result.stderr
    bad = run_cli("evaluate", "--policy", CORP, "--snapshot", snap, "-o", tmp_path / "e.json", "-q", "--record",
                  "--store", tmp_path / "h.db", "--trigger", "hourly")
    assert bad.returncode == 2 and not (tmp_path / "h.db").exists()
    empty = run_cli("history", "list", "--store", "")
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_unknown_runs_and_wrong_arguments_are_exit_2(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "only", wildcard_redis=False)
    for args, message in [
        (("show", "99"), "no run 99"),
        (("diff",), "only one run"),
        (("diff", "1"), "give two run ids"),
        (("diff", "1", "99"), "no run 99"),
        (("diff", "1", "1", "--host", "x"), "not with run ids"),
        (("diff", "--host", "nobody.example"), "no recorded run matches"),
        (("prune",), "--older-than DAYS and/or --keep-last N"),
        (("list", "--since", "yesterday"), "not a date"),
        (("trend", "--since", "2026-12-01", "--until", "2026-11-01"), "is after"),
        (("trend", "--json", "--csv"), "alternatives"),
        (("verify", "--pubkey", tmp_path / "missing.pub"), "missing.pub"),
    ]:
        result = run_cli("history", *args, "--store", store)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        _no_traceback(result)


def test_import_of_a_bad_file_records_nothing(tmp_path):
    store = str(tmp_path / "h.db")
    good, _ = record_scan(tmp_path, str(tmp_path / "other.db"), "good", wildcard_redis=False)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "lbaudit/evidence", "schema_version": "1.0"}))
    result = run_cli("history", "import", good, bad, "--store", store)
    assert result.returncode == 2 and "bad.json" in result.stderr
    assert not os.path.exists(store)  # every file is read before the store is even opened
    stale_sig = tmp_path / "good.evidence.json.sig"
    stale_sig.write_text("{not json")
    listed = run_cli("history", "list", "--json", "--store", store)  # reading creates no store either
    assert listed.returncode == 2 and "no history store here" in listed.stderr and not os.path.exists(store)
    result = run_cli("history", "import", good, "--store", store)
    # a bad signature fails the import after the store was created: the failed command removes it again
    assert result.returncode == 2 and not os.path.exists(store)


def test_a_damaged_compressed_evidence_is_a_break_not_a_crash(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "one", wildcard_redis=False)
    with open_store(store) as opened, opened.engine.begin() as conn:
        conn.execute(sa.text("UPDATE evidence SET content = :c"), {"c": b"\x78\x9c garbage"})
    result = run_cli("history", "verify", "--store", store, "--json")
    assert result.returncode == 10 and json.loads(result.stdout)["first_break"]["kind"] == "evidence_digest"
    shown = run_cli("history", "show", "1", "--evidence", "--store", store)
    assert shown.returncode == 2 and "damaged" in shown.stderr
    diffed = run_cli("history", "diff", "1", "1", "--store", store)
    assert diffed.returncode == 2 and "damaged" in diffed.stderr


def test_a_forged_signature_in_the_store_fails_verify_with_11(tmp_path):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "s", wildcard_redis=False, extra=("--sign-key", str(keys / "lbaudit.key")))
    with open_store(store) as opened, opened.engine.begin() as conn:
        document = json.loads(conn.execute(sa.text("SELECT signature FROM runs WHERE id = 1")).scalar())
        document["signature"] = "A" * 86 + "=="
        conn.execute(sa.text("UPDATE runs SET signature = :s WHERE id = 1"), {"s": json.dumps(document)})
    result = run_cli("history", "verify", "--pubkey", keys / "lbaudit.pub", "--store", store)
    assert result.returncode == 11 and "signature" in result.stdout


def test_no_output_of_evaluate_or_report_replaces_the_store(tmp_path):
    store = tmp_path / "h.db"
    snap = write_scan_snapshot(tmp_path / "s.json", wildcard_redis=False)
    record_scan(tmp_path, str(store), "first", wildcard_redis=False)
    before = store.read_bytes()
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snap, "-o", store, "-q", "--record", "--store", store)
    assert result.returncode == 2 and "history store" in result.stderr
    report = run_cli("report", tmp_path / "first.evidence.json", "--pdf", store, "--store", store)
    assert report.returncode == 2 and "history store" in report.stderr
    assert store.read_bytes() == before
    assert len(json.loads(run_cli("history", "list", "--json", "--store", store).stdout)) == 1


def test_a_private_key_named_as_the_store_is_left_alone(tmp_path):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    key = keys / "lbaudit.key"
    before = key.read_bytes()
    result = run_cli("history", "list", "--store", key)
    assert result.returncode == 2 and key.read_bytes() == before
    assert sorted(p.name for p in keys.iterdir()) == ["lbaudit.key", "lbaudit.pub"]


@pytest.mark.parametrize("command", [["history", "verify"], ["history", "verify", "--json"], ["history", "list"],
                                     ["history", "trend"], ["history", "export"], ["history", "prune", "--keep-last", "1"],
                                     ["fleet", "report"]])
def test_a_misspelt_store_is_exit_2_and_creates_nothing(tmp_path, command):
    # before: the directory tree and an empty store were created, and history verify said
    # "history verified: every chain link, evidence digest and record holds" with exit 0
    store = tmp_path / "var" / "lib" / "lbaudit" / "histroy.db"
    result = run_cli(*command, "--store", store)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{store}: no history store here" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_report_marking_attestations_in_a_missing_store_is_exit_2_and_creates_nothing(tmp_path):
    good, _ = record_scan(tmp_path, str(tmp_path / "h.db"), "good", wildcard_redis=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("report", good, "--format", "oscal", "--store", tmp_path / "other.db")
    assert result.returncode == 2 and "no history store here" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.fixture
def silent_server():
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    # a real TCP listener on loopback that accepts connections and never says a word: a PostgreSQL
    # store behind a stuck proxy or a server frozen mid-start
    server = FakePeer(lambda conn: None)
    yield server
    server.close()


@pytest.mark.slow  # each waits out libpq's connect_timeout (at least 2 s)
@pytest.mark.parametrize("query, store_timeout, limit", [("?connect_timeout=2", "5", 2), ("", "3", 3)])
def test_a_store_that_never_answers_is_exit_2_not_a_hang(silent_server, query, store_timeout, limit):
    # before: libpq waited for ever for the server's first byte, so a nightly scan with --record or
    # `history verify` hung until killed (SQLite stores had a 10 s busy timeout, servers none).
    # The connection is bounded by LBAUDIT_STORE_TIMEOUT, or by the URL's own connect_timeout;
    # tests/hostile/test_hangs_store_peer.py has the peers that answer the startup, then stall.
    url = f"postgresql+psycopg://lbaudit@127.0.0.1:{silent_server.port}/lbaudit{query}"
    started = time.monotonic()
    result = run_cli("history", "verify", "--store", url, timeout=limit + 30,
                     env={"LBAUDIT_STORE_TIMEOUT": store_timeout})
    took = time.monotonic() - started
    assert result.returncode == 2 and "cannot open the history store" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and silent_server.accepted
    assert limit - 0.5 <= took < limit + 10  # the URL's own connect_timeout wins over the default
