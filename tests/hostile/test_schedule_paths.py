"""Paths of the scheduled scan as systemd and the kernel read them.

ReadWritePaths= was quoted as a command line argument, `$` doubled: but only command lines expand
variables, so a --textfile-dir /srv/metrics$1 became ReadWritePaths="/srv/metrics$$1", a directory
that does not exist; the unit's namespace fails to set up and no scan runs, every night.  A path
longer than the kernel takes crashed install (exit 70, a traceback) instead of exit 2."""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("directory, rw_line, exec_word", [
    ("/srv/metrics$1", 'ReadWritePaths="/srv/metrics$1"', '"/srv/metrics$$1"'),
    ("/srv/100% full", 'ReadWritePaths="/srv/100%% full"', '"/srv/100%% full"'),
    ('/srv/a\\b"c', 'ReadWritePaths="/srv/a\\\\b\\"c"', '"/srv/a\\\\b\\"c"'),
])
def test_readwritepaths_names_the_directory_the_scan_writes(image_root, directory, rw_line, exec_word):
    (image_root / directory.lstrip("/")).mkdir(parents=True)
    result = install(image_root, "--textfile-dir", directory)
    assert result.returncode == 0, result.stderr
    service = (image_root / "etc/systemd/system/lbaudit-scan.service").read_text(encoding="utf-8")
    assert rw_line in service.splitlines()
    assert f"--textfile-dir {exec_word} " in service  # the command line expands $: doubled there


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("option", ["--textfile-dir", "--out-dir", "--policy", "--store"])
@pytest.mark.parametrize("path", ["/srv/" + "x" * 5000, "/srv/" + "y" * 256 + "/d"])
def test_a_path_longer_than_the_kernel_takes_is_exit_2(image_root, backend, option, path):
    before = tree(image_root)
    result = install(image_root, option, path, backend=backend)
    assert result.returncode == 2, result.stderr[-300:]
    # A path option read as a path by the command line (--policy, --out-dir) names the component
    # longer than a file name can be; the others the path as a whole.
    assert ("longer than a path can be" in result.stderr or "longer than a file name can be (255 bytes)"
            in result.stderr), result.stderr[-300:]
    assert "Traceback" not in result.stderr
    assert tree(image_root) == before


def test_a_directory_too_long_under_the_image_root_is_exit_2(tmp_path):
    root = make_image_root(tmp_path)
    # under PATH_MAX (4,096 bytes with its NUL) itself; longer than it under --root, whatever the
    # length of the temporary directory (20 names of 200 bytes, 4,024 in all, were 4,094 under CI's /dev/shm/pytest-of-root/pytest-0)
    deep = ("/srv/" + "/".join(["z" * 200] * 21))[:4094]
    assert len(str(root)) + len(deep) >= 4096
    before = tree(root)
    result = install(root, "--textfile-dir", deep)
    assert result.returncode == 2, result.stderr[-300:]
    assert "cannot use as the --textfile-dir directory" in result.stderr, result.stderr[-300:]
    assert "Traceback" not in result.stderr and tree(root) == before
