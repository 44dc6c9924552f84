"""``schedule install --store sqlite://...``: ReadWritePaths= names the directory the scheduled scan's
store is in, read from the URL as the scan reads it.

The scan runs with ProtectSystem=strict: only the directories of ReadWritePaths= are writable, and
SQLite writes the store and its -wal and -shm beside it.  install read the directory out of the URL
text by hand (what follows ``:///``, up to ``?``) while the scan reads it through SQLAlchemy, which
decodes %-escapes and takes a host part: ``sqlite:////srv/scan%20store/h.db`` made ReadWritePaths
name ``/srv/scan%20store`` (the scan writes ``/srv/scan store/h.db``), and
``sqlite://localhost//srv/lbaudit/h.db`` named no directory at all.  Either way the unit installed
with exit 0 and every nightly scan then failed to write its store (read-only file system).

A relative SQLite URL (``sqlite:///history.db``) names a file relative to the directory the scan runs
in, which is ``/`` under systemd and root's home under cron: refused (exit 2), as a relative file path
is made absolute.
"""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("url, directory, rw_line", [
    ("sqlite:////srv/scan%20store/h.db", "/srv/scan store", 'ReadWritePaths="/srv/scan store"'),
    ("sqlite://localhost//srv/lbaudit/h.db", "/srv/lbaudit", "ReadWritePaths=/srv/lbaudit"),
    ("sqlite+pysqlite:////srv/x%2Fy/h.db", "/srv/x/y", "ReadWritePaths=/srv/x/y"),
    ("sqlite:////srv/plain/h.db", "/srv/plain", "ReadWritePaths=/srv/plain"),  # control case: as before
])
def test_readwritepaths_names_the_directory_of_the_store_the_scan_opens(image_root, url, directory, rw_line):
    (image_root / directory.lstrip("/")).mkdir(parents=True)  # where the scan will write its store
    result = install(image_root, "--store", url)
    assert result.returncode == 0, result.stderr
    service = (image_root / "etc/systemd/system/lbaudit-scan.service").read_text(encoding="utf-8")
    assert rw_line in service.splitlines(), service


@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_a_relative_sqlite_url_is_exit_2_and_writes_nothing(image_root, backend):
    before = tree(image_root)
    result = install(image_root, "--store", "sqlite:///history.db", backend=backend)
    assert (result.returncode, result.stderr) == (2, (
        "lbaudit: --store sqlite:///history.db: the store's file history.db is relative, and the scheduled scan runs "
        "in / under systemd, in root's home under cron: give an absolute path (sqlite:////PATH)\n")), result.stderr
    assert tree(image_root) == before
