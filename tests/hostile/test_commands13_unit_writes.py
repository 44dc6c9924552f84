"""`schedule install --backend systemd` with a directory the unit's scan cannot write.

The unit keeps CAP_DAC_OVERRIDE out of CapabilityBoundingSet=, so its root is held to the mode bits
like any user (measured: under that bounding set, root cannot create a file in a nobody-owned 0755
directory).  A --textfile-dir owned by the exporter's user (Debian's node_exporter directory is
prometheus's), an --out-dir of another user's, or an SQLite store that is not root's was installed
with exit 0, and every run then failed to write (EACCES).  Now exit 2 naming the directory, its
owner and mode, nothing written; cron runs with every capability and still takes them."""

from __future__ import annotations

import os
import subprocess

import pytest

from auditor.schedule import CAPABILITIES
from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree

NOBODY = 65534


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


def _directory(root, path, uid, gid, mode):
    real = root / path.lstrip("/")
    real.mkdir(parents=True)
    os.chown(real, uid, gid)
    os.chmod(real, mode)
    return real


@pytest.mark.root  # chown
@pytest.mark.parametrize("option, owner, mode", [
    ("--textfile-dir", (NOBODY, NOBODY), 0o755),
    ("--out-dir", (NOBODY, NOBODY), 0o775),
    ("--out-dir", (0, 0), 0o555),
    ("--textfile-dir", (NOBODY, 0), 0o755),  # group root, but not group-writable
])
def test_a_directory_root_cannot_write_without_dac_override_is_refused(image_root, option, owner, mode):
    _directory(image_root, "/srv/d", *owner, mode)
    before = tree(image_root)
    result = install(image_root, option, "/srv/d")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "could not write this directory" in result.stderr and f"mode {mode:04o}" in result.stderr, result.stderr
    assert "CAP_DAC_OVERRIDE" in result.stderr and "Traceback" not in result.stderr
    assert tree(image_root) == before
    assert install(image_root, option, "/srv/d", backend="cron").returncode == 0  # cron's root has every capability


@pytest.mark.root
def test_a_store_file_of_another_user_is_refused(image_root):
    _directory(image_root, "/srv/history", 0, 0, 0o755)
    store = image_root / "srv/history/h.db"
    store.write_bytes(b"")
    os.chown(store, NOBODY, NOBODY)
    os.chmod(store, 0o644)
    result = install(image_root, "--store", "/srv/history/h.db")
    assert result.returncode == 2 and "could not write this store file" in result.stderr, result.stderr


@pytest.mark.root
@pytest.mark.parametrize("owner, mode", [((0, 0), 0o700), ((NOBODY, 0), 0o770), ((NOBODY, NOBODY), 0o1777)])
def test_a_directory_root_can_write_is_written(image_root, owner, mode):
    _directory(image_root, "/srv/d", *owner, mode)
    result = install(image_root, "--textfile-dir", "/srv/d")
    assert result.returncode == 0, result.stderr


@pytest.mark.root
def test_the_rule_is_the_kernels(tmp_path):
    """Root under the unit's bounding set, as measured: the nobody-owned 0755 directory refuses it."""
    refused = _directory(tmp_path, "/refused", NOBODY, NOBODY, 0o755)
    allowed = _directory(tmp_path, "/allowed", NOBODY, 0, 0o770)
    bounding = ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in CAPABILITIES)])
    for directory, code in ((refused, 1), (allowed, 0)):
        run = subprocess.run(["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "touch", str(directory / "x")],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == code, run.stderr
