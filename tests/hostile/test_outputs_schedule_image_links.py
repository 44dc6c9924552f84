"""``schedule install|remove --root IMAGE`` where the image's own directories are symbolic links.

An image is somebody else's file system: an absolute link in it means a place *in the image*, as
the booted host will see it.  The schedule's files were placed by joining the image root and the
path, so the kernel followed the image's links on this host: an image whose ``/etc/cron.d`` is a
link to ``/etc/cron.d`` (or anywhere else) had ``schedule install --root IMAGE`` write the cron job
into *this* host's directory, and ``schedule remove --root IMAGE`` delete this host's files.  Now
their directory is resolved inside the image as a chroot would (auditor/collect/rootfs.py, the
reader of images), so the files land where the booted image will read them, or nowhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.schedule.conftest import install_into_image, make_image_root, tree

USAGE = 2


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return make_image_root(tmp_path)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory of this host, outside the image, that the image's link names."""
    directory = tmp_path / "this-host" / "etc" / "cron.d"
    directory.mkdir(parents=True)
    (directory / "backup").write_text("0 1 * * * root /usr/local/bin/backup\n")
    return directory


def _link_image_directory(image: Path, path: str, to: Path) -> None:
    shutil.rmtree(image / path)
    (image / path).symlink_to(to)  # absolute: in the image, a place of the image


@pytest.mark.parametrize("backend, directory", [("cron", "etc/cron.d"), ("systemd", "etc/systemd/system")])
def test_install_does_not_follow_an_image_link_out_of_the_image(image, outside, backend, directory):
    _link_image_directory(image, directory, outside)
    before = tree(outside.parent.parent)
    result = install_into_image(image, backend=backend)
    # the image has no such directory: /etc/cron.d leads to a place the image does not hold
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "directory does not exist" in result.stderr
    assert tree(outside.parent.parent) == before  # before: lbaudit's cron job or units in this host's directory


@pytest.mark.parametrize("backend, directory, written", [
    ("cron", "etc/cron.d", ["lbaudit"]),
    ("systemd", "etc/systemd/system", ["lbaudit-scan.service", "lbaudit-scan.timer", "timers.target.wants"]),
])
def test_install_writes_where_the_image_link_leads_inside_the_image(image, outside, backend, directory, written):
    _link_image_directory(image, directory, outside)
    inside = image / str(outside).lstrip("/")
    inside.mkdir(parents=True)
    before = tree(outside.parent.parent)
    result = install_into_image(image, backend=backend)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in inside.iterdir()) == written
    assert tree(outside.parent.parent) == before


def test_remove_does_not_delete_this_hosts_files_through_an_image_link(image, outside, tmp_path):
    this_host = make_image_root(tmp_path / "second")
    assert install_into_image(this_host, backend="cron").returncode == 0  # lbaudit's own cron file there
    _link_image_directory(image, "etc/cron.d", this_host / "etc" / "cron.d")
    before = tree(this_host)
    result = run_cli("schedule", "remove", "--root", image)
    assert result.returncode == 0, result.stderr
    assert "nothing to remove" in result.stdout
    assert tree(this_host) == before  # before: removed this_host/etc/cron.d/lbaudit
