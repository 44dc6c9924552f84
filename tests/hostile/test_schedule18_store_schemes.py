"""``schedule install --store`` with a URL whose scheme starts with ``sqlite`` but that no run opens.

install told a SQLite store from a server by the URL's first six letters: ``sqlitex:////srv/h.db``
and ``sqlite+nosuch:////srv/h.db`` were taken as SQLite files, never read as the run reads them,
and installed with exit 0 (the first with no ReadWritePaths= at all); every scheduled run then
refused the store (exit 2: "'sqlitex' stores are not supported", "the driver is not installed")
and no scan was ever recorded.  Now the URL's backend and driver are those SQLAlchemy reads, as
for a server URL: exit 2 at install, nothing written."""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    root = make_image_root(tmp_path)
    (root / "srv").mkdir()
    return root


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("url, words", [
    ("sqlitex:////srv/h.db", ["sqlitex", "not supported"]),
    ("sqlite+nosuch:////srv/h.db", ["driver"]),
])
def test_a_store_url_no_run_opens_is_exit_2(image_root, backend, url, words):
    before = tree(image_root)
    result = install(image_root, "--store", url, backend=backend)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert tree(image_root) == before


@pytest.mark.parametrize("url", ["sqlite:////srv/h.db", "sqlite+pysqlite:////srv/h.db"])
def test_a_sqlite_url_the_run_opens_is_installed_with_its_directory_writable(image_root, url):
    result = install(image_root, "--store", url)
    assert result.returncode == 0, result.stderr
    service = (image_root / "etc/systemd/system/lbaudit-scan.service").read_text(encoding="utf-8")
    assert "ReadWritePaths=/srv" in service.splitlines()
    assert "IPAddressDeny=any" in service.splitlines()
