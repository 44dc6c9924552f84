"""A SQLite ``--store`` URL whose file holds a NUL byte (``%00``) or that carries query parameters.

Before, ``schedule install --store 'sqlite:////srv/a%00b/h.db'`` (and ``evaluate --record``,
``history list`` with it) ended in exit 70, "internal error: ValueError: embedded null byte": the
decoded file name went to ``os.stat``.  A query string went to SQLite's driver unread by lbaudit:
``?check_same_thread=maybe`` and ``?timeout=abc`` were the driver's ValueError (exit 70) at every
scheduled run, while ``schedule install`` took them with exit 0 (it reads an SQLite URL's file and
leaves the rest to the run); ``?uri=true&mode=ro`` recorded the run into a second file named
``h.db?mode=ro`` beside the store lbaudit names, and ``?detect_types=1`` made every later read
call the store damaged ("changed outside lbaudit").  lbaudit opens its SQLite store itself (its
own busy timeout, read-only opening for readers), so an SQLite URL names a file and nothing more:
each of these is exit 2, naming the URL, nothing written.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.history.scans import CORP, record_scan, write_scan_snapshot
from tests.schedule.conftest import install_into_image, make_image_root, tree

NUL_FILE = "sqlite:////srv/a%00b/h.db"
WITH_PARAMETERS = ["sqlite:////srv/h.db?check_same_thread=maybe", "sqlite:////srv/h.db?timeout=abc",
                   "sqlite:////srv/h.db?uri=true&mode=ro", "sqlite:////srv/h.db?detect_types=1",
                   "sqlite+pysqlite:////srv/h.db?timeout=5"]


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("url", [NUL_FILE, *WITH_PARAMETERS])
def test_schedule_install_refuses_the_url_and_writes_nothing(tmp_path, backend, url):
    root = make_image_root(tmp_path)
    (root / "srv").mkdir()
    before = tree(root)
    result = install_into_image(root, "--store", url, backend=backend)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "--store" in result.stderr, result.stderr
    assert tree(root) == before


@pytest.mark.parametrize("url", [NUL_FILE, *WITH_PARAMETERS])
def test_evaluate_record_refuses_the_url_and_records_nowhere(tmp_path, url):
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    snapshot = write_scan_snapshot(tmp_path / "s.snapshot.json", wildcard_redis=False)
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", tmp_path / "e.json", "-q",
                     "--record", "--store", url.replace("/srv/", f"{store_dir}/"))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "internal error" not in result.stderr and "--store" in result.stderr, result.stderr
    assert list(store_dir.iterdir()) == []
    listed = run_cli("history", "list", "--store", url.replace("/srv/", f"{store_dir}/"))
    assert listed.returncode == 2 and "internal error" not in listed.stderr, listed.stderr


def test_a_sqlite_url_naming_only_its_file_still_records(tmp_path):
    """The control case: such a URL records in its file."""
    store = tmp_path / "h.db"
    record_scan(tmp_path, f"sqlite:///{store}", "a", wildcard_redis=False)
    assert run_cli("history", "list", "--store", f"sqlite:///{store}").stdout.count("\n") == 2
