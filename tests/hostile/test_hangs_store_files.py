"""A file SQLite keeps beside the history store that is not a regular file is exit 2 naming it, never a hang.

The store's own path is checked (a FIFO, a device or a directory there is refused), but SQLite opens
its companions by name when they exist: ``STORE-journal`` read-only at every connection, to see
whether it is a hot journal, and ``open`` of a FIFO waits for a writer that never comes.  Every
command on the store hung for ever: ``history list``, and the nightly ``evaluate --record`` too.  A
FIFO, a device or a link as ``-wal`` or ``-shm`` was SQLite's "disk I/O error", which names neither
the file nor what is wrong with it, or was read past as if absent.

A view in place of one of lbaudit's tables is refused the same way: SQLite bounds no query, and a
recursive view named ``runs`` made ``history list`` read for ever.

Each case runs in a process of its own under a hard timeout: the blocked ``open`` is inside SQLite,
which retries it when a signal interrupts it, so an alarm in the test's own process would not end it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.history.scans import CORP, record_scan, write_scan_snapshot

REPO = Path(__file__).resolve().parents[2]
LBAUDIT = "import sys; sys.argv = ['lbaudit'] + sys.argv[1:]; from auditor.entry import main; main()"


def _lbaudit(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LBAUDIT, *map(str, args)], capture_output=True, text=True,
                          timeout=30, cwd=cwd,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": "",
                               "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "HOME": str(cwd)})


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _character_device(path: Path) -> None:
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero's numbers


def _directory(path: Path) -> None:
    path.mkdir()


def _link_to_a_fifo(path: Path) -> None:
    os.mkfifo(path.with_name("elsewhere"))
    path.symlink_to("elsewhere")


MAKERS = {"FIFO": _fifo, "character device": _character_device, "directory": _directory,
          "symbolic link": _link_to_a_fifo}
ROLES = {"-journal": "rollback journal", "-wal": "write-ahead log", "-shm": "write-ahead log index"}
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store holding one run, closed: no companion file is left beside it."""
    location = tmp_path / "history.db"
    _, result = record_scan(tmp_path, str(location), "first", wildcard_redis=False)
    assert result.returncode == 3, result.stderr  # recorded; the snapshot has no audit section
    assert sorted(p.name for p in tmp_path.glob("history.db*")) == ["history.db"]
    return location


@pytest.mark.parametrize("suffix", list(ROLES))
@pytest.mark.parametrize("kind", [pytest.param(k, marks=needs_root) if k == "character device" else k for k in MAKERS])
def test_a_companion_that_is_not_a_regular_file_is_exit_2_naming_it(store, suffix, kind):
    companion = Path(f"{store}{suffix}")
    MAKERS[kind](companion)
    result = _lbaudit("history", "list", "--store", store, cwd=store.parent)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr == (f"lbaudit: {companion}: is a {kind}, not a regular file: SQLite keeps the history "
                             f"store's {ROLES[suffix]} there (remove it, or restore the store and its files from "
                             "a backup)\n")
    assert result.stdout == ""


@pytest.mark.slow  # a whole evaluate --record in a child process
def test_a_fifo_as_the_journal_fails_the_recorded_scan_and_writes_nothing(store):
    """The nightly scan: ``evaluate --record`` hung before it wrote anything; now it stops at once."""
    os.mkfifo(f"{store}-journal")
    snap = write_scan_snapshot(store.parent / "second.snapshot.json", wildcard_redis=True)
    evidence = store.parent / "second.evidence.json"
    result = _lbaudit("evaluate", "--policy", CORP, "--snapshot", snap, "-o", evidence, "-q", "--record",
                      "--store", store, cwd=store.parent)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert f"{store}-journal: is a FIFO, not a regular file" in result.stderr
    assert not evidence.exists()
    assert sorted(p.name for p in store.parent.iterdir()) == sorted(
        ["history.db", "history.db-journal", "first.snapshot.json", "first.evidence.json", "second.snapshot.json"])


def test_regular_companions_are_used_as_before(store):
    """Control: SQLite's own write-ahead log beside the store (a writer that did not check-point)
    is read, not refused."""
    import sqlite3

    writer = sqlite3.connect(store)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE scratch (x)")
    writer.commit()
    assert Path(f"{store}-wal").stat().st_size > 0
    try:
        result = _lbaudit("history", "list", "--store", store, cwd=store.parent)
    finally:
        writer.close()
    assert result.returncode == 0, result.stderr
    assert "web01.example.test" in result.stdout


ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"


def _replace_with_an_endless_view(database: Path, table: str) -> None:
    """``table`` becomes a view of the same columns whose rows never end: what a file changed
    outside lbaudit can hold."""
    import sqlite3

    connection = sqlite3.connect(database)
    try:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        connection.execute(f"ALTER TABLE {table} RENAME TO {table}_kept")
        chosen = ", ".join(f"kept.{column}" for column in columns)
        connection.execute(f"CREATE VIEW {table} AS {ENDLESS} SELECT {chosen} FROM n, {table}_kept AS kept")
        connection.commit()
    finally:
        connection.close()


@pytest.mark.parametrize("table", ["runs", "alembic_version"])
def test_an_endless_view_in_place_of_a_table_is_exit_2_not_a_hang(store, table):
    """SQLite bounds no query (a server store has LBAUDIT_STORE_TIMEOUT): ``history list`` read an
    endless ``runs`` for ever.  Any of lbaudit's tables that is a view is refused before it is read."""
    _replace_with_an_endless_view(store, table)
    result = _lbaudit("history", "list", "--store", store, cwd=store.parent)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr == (f"lbaudit: {store}: {table} is a view, not lbaudit's table: the store was changed "
                             "outside lbaudit (restore it from a backup, or give another --store)\n")


def test_a_view_of_the_users_own_beside_the_tables_is_left_alone(store):
    """Control: a view of another name (a report someone keeps in the store) is never read by lbaudit."""
    import sqlite3

    connection = sqlite3.connect(store)
    connection.execute(f"CREATE VIEW endless_report AS {ENDLESS} SELECT i FROM n")
    connection.commit()
    connection.close()
    result = _lbaudit("history", "list", "--store", store, cwd=store.parent)
    assert result.returncode == 0, result.stderr
    assert "web01.example.test" in result.stdout
