"""`schedule install --out-dir PATH` (or --textfile-dir) where PATH exists and is no directory.

install checked the out-dir as "a directory, or its parent one (evaluate makes that level)", so an
out-dir that is a regular file, a FIFO or a link to a file passed by its parent: the cron backend
installed it with exit 0, and every run refused it (exit 2: "it is a regular file, not a
directory"), unseen.  The systemd backend refused it, saying the directory "does not exist".  Now
both refuse it (exit 2) saying what is there, nothing written; a missing out-dir whose parent
exists is still taken (the run makes it)."""

from __future__ import annotations

import os

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    root = make_image_root(tmp_path)
    (root / "srv").mkdir()
    (root / "srv/a-file").write_text("x", encoding="utf-8")
    os.mkfifo(root / "srv/a-fifo")
    os.symlink("/etc/lbaudit/corp.yaml", root / "srv/a-link")  # inside the image: its policy file
    return root


@pytest.mark.parametrize("backend", ["cron", "systemd"])
@pytest.mark.parametrize("option", ["--out-dir", "--textfile-dir"])
@pytest.mark.parametrize("path, kind", [("/srv/a-file", "it is a regular file"), ("/srv/a-fifo", "it is a FIFO"),
                                        ("/srv/a-link", "it is a regular file")])
def test_an_existing_non_directory_is_exit_2(image_root, backend, option, path, kind):
    before = tree(image_root / "etc")  # what install writes (tree() would read the FIFO: wait for ever)
    result = install(image_root, option, path, backend=backend)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "not a directory" in result.stderr and kind in result.stderr, result.stderr
    assert "does not exist" not in result.stderr
    assert tree(image_root / "etc") == before


@pytest.mark.parametrize("backend", ["cron", "systemd"])
def test_a_missing_out_dir_whose_parent_exists_is_taken(image_root, backend):
    result = install(image_root, "--out-dir", "/srv/evidence", backend=backend)
    if backend == "systemd":  # ReadWritePaths= of a missing directory fails the unit: it must exist
        assert result.returncode == 2 and "does not exist" in result.stderr, result.stderr
    else:
        assert result.returncode == 0, result.stderr
