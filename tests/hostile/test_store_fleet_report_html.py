"""``fleet report --html PATH`` never writes over the history store it reads, or a file SQLite keeps
beside it, however the store is named.

The defect: the overview's path was checked against the store only when ``--store`` was a file path,
and only against the database file.  ``--store sqlite:////srv/h.db --html /srv/h.db --force``
replaced the whole history with the HTML page (exit 0; every later command: "file is not a
database"), and ``--html /srv/h.db-journal`` (or ``-wal``, ``-shm``) wrote the page where SQLite
keeps its rollback journal or write-ahead log, which the next command that opens the store reads as
its own (``evaluate -o STORE-journal`` was refused for this already).  Now fleet report checks the
overview against the store's files as the store names them (``HistoryStore.files``, as ``report
--store`` and ``evaluate --record`` do): exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import record_scan

USAGE = 2


@pytest.fixture
def store(tmp_path: Path) -> Path:
    record_scan(tmp_path, str(tmp_path / "history.db"), "monday", wildcard_redis=False)
    return tmp_path / "history.db"


def test_the_html_over_the_store_named_by_a_url_is_exit_2_even_with_force(store):
    before = store.read_bytes()
    result = run_cli("fleet", "report", "--store", f"sqlite:///{store}", "--html", store, "--force")
    assert (result.returncode, result.stderr) == (USAGE, (
        f"lbaudit: {store} (fleet overview) is the same file as the history store {store}: writing it would "
        "destroy an input\n")), result.stderr
    assert store.read_bytes() == before
    assert run_cli("history", "list", "--store", store).returncode == 0


@pytest.mark.parametrize("suffix", ["-journal", "-wal", "-shm"])
@pytest.mark.parametrize("named", ["path", "url"])
def test_the_html_where_sqlite_keeps_a_file_of_the_store_is_exit_2(store, suffix, named):
    companion = Path(f"{store}{suffix}")
    result = run_cli("fleet", "report", "--store", store if named == "path" else f"sqlite:///{store}",
                     "--html", companion)
    # the write-ahead log and its index exist while the store is open, the journal does not
    said = ("is the place of the history store {0}: writing it would make it an input of the next run" if suffix ==
            "-journal" else "is the same file as the history store {0}: writing it would destroy an input")
    assert (result.returncode, result.stderr) == (USAGE, f"lbaudit: {companion} (fleet overview) "
                                                         f"{said.format(companion)}\n"), result.stderr
    assert suffix != "-journal" or not companion.exists()
    assert b"<html" not in (companion.read_bytes() if companion.exists() else b"")


def test_control_case_the_html_beside_the_store_is_written(store, tmp_path):
    result = run_cli("fleet", "report", "--store", f"sqlite:///{store}", "--html", tmp_path / "overview.html")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "overview.html").read_bytes().startswith(b"<!DOCTYPE html>")
