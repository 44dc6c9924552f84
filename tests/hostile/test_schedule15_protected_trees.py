"""`schedule install --backend systemd` with a directory the scan writes that is a system tree.

The unit's ReadWritePaths= names each directory the scan writes (--out-dir, --textfile-dir, the
--store file's directory).  ``--out-dir /`` or ``--textfile-dir /usr`` was installed with exit 0
and ``ReadWritePaths=/`` made the whole file system writable to the scan: ProtectSystem=strict,
still in the unit, silently did nothing.  Now exit 2 naming the path and the tree, nothing written."""

from __future__ import annotations

import os

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    root = make_image_root(tmp_path)
    for directory in ("boot", "srv"):
        (root / directory).mkdir()
    return root


@pytest.mark.parametrize("option, value, tree_name", [
    ("--out-dir", "/", "/"),
    ("--textfile-dir", "/usr", "/usr"),
    ("--out-dir", "/etc", "/etc"),
    ("--textfile-dir", "/boot", "/boot"),
    ("--store", "/history.db", "/"),
])
def test_a_system_tree_is_refused(image_root, option, value, tree_name):
    before = tree(image_root)
    result = install(image_root, option, value)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"would make all of {tree_name} writable and undo ProtectSystem=strict" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert tree(image_root) == before


def test_a_link_to_a_system_tree_is_refused(image_root):
    os.symlink("/usr", image_root / "srv/metrics")
    result = install(image_root, "--textfile-dir", "/srv/metrics")
    assert result.returncode == 2, result.stderr
    assert "/srv/metrics (a link to /usr)" in result.stderr and "ProtectSystem=strict" in result.stderr


def test_a_directory_of_its_own_is_written(image_root):
    result = install(image_root, "--out-dir", "/srv", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "ReadWritePaths=/srv\n" in result.stdout
