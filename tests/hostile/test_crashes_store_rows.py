"""A history store whose rows were edited outside lbaudit never reaches exit 70 (fuzz review, class
"tampered store row").

SQLite keeps any value in any column.  Before, a run's ``started_at`` of ``'not-a-date'`` was
SQLAlchemy's ``ValueError: Invalid isoformat string`` in ``history list/show/diff/export/verify/
prune`` and ``fleet report``, an ``evidence.content`` holding text or an ``evidence.size`` holding
text was a ``TypeError`` in reading the evidence back, a ``signature`` holding a number an
``AttributeError`` in ``history verify``: all exit 70.  Now every row read passes one check
(``auditor/history/store.py`` ``_checked``, and ``HistoryStore._damaged`` for SQLAlchemy's own
reading of a typed column): exit 2 naming the store and the column, or, in ``history verify``, a
break of the evidence it can no longer read back (exit 10).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli import run_cli
from tests.history.scans import record_scan

USAGE, VERIFY_DIGEST, VERIFY_SIGNATURE = 2, 10, 11


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two signed-less runs of one host and policy."""
    directory = tmp_path_factory.mktemp("tampered-store")
    record_scan(directory, str(directory / "store.db"), "before", wildcard_redis=False)
    record_scan(directory, str(directory / "store.db"), "after", wildcard_redis=True)
    return directory / "store.db"


def tampered(recorded: Path, directory: Path, table: str, column: str, value: object) -> Path:
    store = directory / "store.db"
    shutil.copy(recorded, store)
    with sqlite3.connect(store) as connection:
        connection.execute(f'UPDATE "{table}" SET "{column}" = ?', (value,))
    connection.close()
    return store


def lbaudit(*args: object, cwd: Path):
    return run_cli(*args, cwd=cwd, env={"LBAUDIT_CONFIG": ""}, timeout=60)


def assert_no_crash(run) -> None:
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr


READERS = [["history", "list"], ["history", "show", "2"], ["history", "diff"], ["history", "export", "--with-evidence"],
           ["history", "trend", "--since", "2000-01-01", "--until", "2100-01-01"],
           ["history", "prune", "--older-than", "0", "--dry-run"], ["fleet", "report"]]


@pytest.mark.parametrize("value", ["not-a-date", "", 3.5, b"\xff\xfe"], ids=["text", "empty", "real", "blob"])
@pytest.mark.parametrize("column", ["started_at", "finished_at", "recorded_at", "evaluated_on"])
def test_a_run_time_that_is_no_time_is_exit_2_naming_the_store(recorded, tmp_path, column, value):
    store = tampered(recorded, tmp_path, "runs", column, value)
    for command in READERS + [["history", "verify"]]:
        run = lbaudit(*command, "--store", store, cwd=tmp_path)
        assert_no_crash(run)
        if command[:2] == ["history", "trend"] or (command[:2] == ["history", "prune"] and column != "started_at"):
            assert run.returncode == 0, run.stderr  # trend sums counts by day, prune reads the start only
            continue
        assert run.returncode == USAGE, (command, run.returncode, run.stderr)
        assert f"{store}: a row of the history store is damaged" in run.stderr, run.stderr


@pytest.mark.parametrize("column, value, shown", [
    ("n_pass", "many", "runs.n_pass holds 'many', not int"),
    ("verdict", b"\x07", "runs.verdict holds b'\\x07', not str"),  # a number in TEXT is kept as text
    ("exit_code", 1.5, "runs.exit_code holds 1.5, not int"),
])
def test_a_run_count_or_verdict_of_the_wrong_type_is_exit_2_naming_the_column(recorded, tmp_path, column, value, shown):
    store = tampered(recorded, tmp_path, "runs", column, value)
    for command in (["history", "list"], ["history", "show", "1"], ["fleet", "report"], ["history", "verify"]):
        run = lbaudit(*command, "--store", store, cwd=tmp_path)
        assert_no_crash(run)
        assert run.returncode == USAGE, (command, run.returncode, run.stderr)
        assert shown in run.stderr, run.stderr


@pytest.mark.parametrize("column, value", [("content", "text, not bytes"), ("content", 5), ("size", "big")])
def test_stored_evidence_of_the_wrong_type_is_a_break_for_verify_and_exit_2_for_readers(recorded, tmp_path, column, value):
    store = tampered(recorded, tmp_path, "evidence", column, value)
    run = lbaudit("history", "verify", "--store", store, cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == VERIFY_DIGEST, run.stdout + run.stderr
    assert "cannot be read back" in run.stdout + run.stderr
    for command in (["history", "show", "2", "--evidence"], ["history", "diff"], ["fleet", "report"]):
        run = lbaudit(*command, "--store", store, cwd=tmp_path)
        assert_no_crash(run)
        assert run.returncode == USAGE, (command, run.returncode, run.stderr)
        assert "is damaged" in run.stderr, run.stderr


@pytest.mark.parametrize("value", ["{}", "\x00"])
def test_a_stored_signature_that_is_no_signature_is_a_break(recorded, tmp_path, value):
    # a run recorded unsigned, given a signature: exit 2 without naming the store (the .sig parser's message)
    store = tampered(recorded, tmp_path, "runs", "signature", value)
    run = lbaudit("history", "verify", "--store", store, cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == VERIFY_SIGNATURE, run.stdout + run.stderr
    assert "its stored signature cannot be read" in run.stdout + run.stderr


def test_a_stored_signature_that_is_no_text_is_exit_2_naming_the_store(recorded, tmp_path):
    # a blob where the .sig text goes: AttributeError (no .encode), exit 70
    store = tampered(recorded, tmp_path, "runs", "signature", b"*")
    run = lbaudit("history", "verify", "--store", store, cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert f"{store}: a row of the history store is damaged: runs.signature holds b'*', not str" in run.stderr


def test_a_finding_row_of_the_wrong_type_is_exit_2(recorded, tmp_path):
    store = tampered(recorded, tmp_path, "findings", "controls", b"AC-1")
    run = lbaudit("history", "show", "1", "--store", store, cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == USAGE and "findings.controls holds b'AC-1', not str" in run.stderr, run.stderr


def test_prune_of_a_damaged_store_changes_nothing(recorded, tmp_path):
    store = tampered(recorded, tmp_path, "runs", "started_at", "not-a-date")
    before = store.read_bytes()
    run = lbaudit("history", "prune", "--older-than", "0", "--store", store, cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == USAGE and "is damaged" in run.stderr, run.stderr
    assert store.read_bytes() == before


# ------------------------------------------------------------------ property

COLUMNS = {
    "runs": ["started_at", "finished_at", "day", "evaluated_on", "recorded_at", "trigger", "tool_version",
             "snapshot_sha256", "evidence_sha256", "prev_evidence_sha256", "signature_state", "signature",
             "signature_key", "verdict", "exit_code", "complete", "n_pass", "n_fail", "n_error", "n_not_reviewed",
             "n_not_applicable", "n_waived", "policy_id"],
    "hosts": ["host_key", "machine_id", "hostname", "inventory_name"],
    "policies": ["version", "document", "checks", "control_map"],
    "evidence": ["size", "encoding", "content"],
    "findings": ["finding_id", "rule_id", "check", "status", "severity", "subject", "controls"],
}
ROW_VALUES = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=False),
                       st.text(max_size=20), st.binary(max_size=20),
                       st.sampled_from(["not-a-date", "9999-12-31 23:59:59", "0001-01-01", "x" * 100_000, "\x00",
                                        "\u202e", "[]", "{}", "null"]))
COMMANDS = READERS + [["history", "verify"]]


@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=st.sampled_from(sorted(COLUMNS)), data=st.data())
def test_any_tampered_value_is_a_documented_exit(recorded, tmp_path_factory, table, data):
    column = data.draw(st.sampled_from(COLUMNS[table]))
    value, command = data.draw(ROW_VALUES), data.draw(st.sampled_from(COMMANDS))
    directory = tmp_path_factory.mktemp("row")
    try:
        store = tampered(recorded, directory, table, column, value)
    except sqlite3.IntegrityError:  # NOT NULL, UNIQUE: SQLite itself refuses the edit
        return
    run = lbaudit(*command, "--store", store, cwd=directory)
    assert_no_crash(run)
    assert run.returncode in (0, 1, USAGE, VERIFY_DIGEST, VERIFY_SIGNATURE), (table, column, repr(value)[:60], command, run.stderr[-800:])
    if run.returncode == USAGE:
        assert str(store) in run.stderr, run.stderr
