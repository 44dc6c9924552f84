"""``schedule install --backend systemd --store DIR/h.db`` where DIR/h.db is a symbolic link.

The scan opens the file the link leads to (auditor.history.store resolves the store's path, and
SQLite keeps its -journal, -wal and -shm beside that file), but ReadWritePaths= named the directory
of the link: under ProtectSystem=strict the store's real directory stayed read-only, and every
nightly scan failed to write its store, after an install that said exit 0.  A link to a file in a
system tree (/etc) likewise went unnoticed by the check that refuses to make such a tree writable.
Now ReadWritePaths= names the directory of the file the link leads to (inside the image, as the
scheduled host follows it), and every check of the unit's writable directories judges that one.
"""

from __future__ import annotations

import os

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


def _rw_lines(image_root):
    service = (image_root / "etc/systemd/system/lbaudit-scan.service").read_text(encoding="utf-8")
    return [line for line in service.splitlines() if line.startswith("ReadWritePaths=")]


@pytest.mark.parametrize("target", ["/srv/data/h.db", "../../../srv/data/h.db"])
def test_readwritepaths_names_the_directory_of_the_file_the_store_link_leads_to(image_root, target):
    (image_root / "srv/data").mkdir(parents=True)
    (image_root / "srv/data/h.db").write_bytes(b"")
    (image_root / "var/lib/store").mkdir(parents=True)
    os.symlink(target, image_root / "var/lib/store/h.db")
    result = install(image_root, "--store", "/var/lib/store/h.db")
    assert result.returncode == 0, result.stderr
    assert _rw_lines(image_root) == ["ReadWritePaths=/srv/data"]
    # the scan is still told the path given: the link is the administrator's to move
    assert "--store /var/lib/store/h.db" in (image_root / "etc/systemd/system/lbaudit-scan.service").read_text()


def test_a_store_link_to_a_new_file_names_the_directory_it_will_be_made_in(image_root):
    """A link to a store not made yet: the first run makes the file the link leads to."""
    (image_root / "srv/data").mkdir(parents=True)
    (image_root / "var/lib/store").mkdir(parents=True)
    os.symlink("/srv/data/new.db", image_root / "var/lib/store/h.db")
    result = install(image_root, "--store", "/var/lib/store/h.db")
    assert result.returncode == 0, result.stderr
    assert _rw_lines(image_root) == ["ReadWritePaths=/srv/data"]


def test_a_store_link_into_a_system_tree_is_refused(image_root):
    (image_root / "etc/h.db").write_bytes(b"")
    (image_root / "var/lib/store").mkdir(parents=True)
    os.symlink("/etc/h.db", image_root / "var/lib/store/h.db")
    before = tree(image_root)
    result = install(image_root, "--store", "/var/lib/store/h.db")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ProtectSystem=strict" in result.stderr and "/etc" in result.stderr, result.stderr
    assert tree(image_root) == before


def test_control_case_a_store_that_is_no_link_is_as_before(image_root):
    (image_root / "var/lib/store").mkdir(parents=True)
    result = install(image_root, "--store", "/var/lib/store/h.db")
    assert result.returncode == 0, result.stderr
    assert _rw_lines(image_root) == ["ReadWritePaths=/var/lib/store"]
