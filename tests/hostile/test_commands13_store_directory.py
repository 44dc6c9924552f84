"""`schedule install --store PATH` where PATH is a directory (or another file that is no SQLite
file's: a FIFO).  Installed with exit 0 on both backends; every scheduled run then refused the store
(not a regular file, exit 2), and the systemd unit named the store's parent in ReadWritePaths=:
``--store /srv`` wrote ReadWritePaths=/, the whole file system writable, ProtectSystem=strict
undone.  Now exit 2 naming the path, nothing written."""

from __future__ import annotations

import os

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    root = make_image_root(tmp_path)
    (root / "srv/history").mkdir(parents=True)
    return root


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("store", ["/srv", "/srv/history", "sqlite:////srv/history", "/srv/history/fifo"])
def test_a_store_that_is_no_file_is_refused(image_root, backend, store):
    before = tree(image_root)  # before the FIFO: reading it would block
    if store.endswith("fifo"):
        os.mkfifo(image_root / "srv/history/fifo")
    result = install(image_root, "--store", store, backend=backend)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "is not a regular file; the history store is an SQLite file" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    if store.endswith("fifo"):
        os.unlink(image_root / "srv/history/fifo")
    assert tree(image_root) == before


@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_a_store_file_to_be_made_or_made_is_written(image_root, backend):
    assert install(image_root, "--store", "/srv/history/h.db", backend=backend).returncode == 0
    (image_root / "srv/history/h.db").write_bytes(b"")
    assert install(image_root, "--store", "/srv/history/h.db", backend=backend).returncode == 0
