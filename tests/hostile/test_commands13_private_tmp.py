"""`schedule install --backend systemd` with a path under /tmp or /var/tmp.

The unit runs with PrivateTmp=yes: systemd mounts an empty directory of the unit's own over /tmp
and /var/tmp.  A --out-dir, --textfile-dir or SQLite --store there is a ReadWritePaths= entry that
does not exist in the unit's namespace, so every run failed before lbaudit started (status
226/NAMESPACE: "Failed to set up mount namespacing: /tmp/...: No such file or directory"), and a
--policy, --sign-key or --executable there is not found by the scan (exit 2 every night, or 203/EXEC);
install wrote the unit with exit 0 all the same.  Now exit 2 naming the option, nothing written; the
cron backend, which has no private /tmp, still takes them."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.schedule.conftest import POLICY, make_image_root, tree
from tests.schedule.conftest import install_into_image as install


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("option, value", [
    ("--out-dir", "/tmp/lbaudit-out"),
    ("--out-dir", "/var/tmp/lbaudit"),
    ("--textfile-dir", "/tmp/metrics"),
    ("--store", "/var/tmp/history.db"),
    ("--store", "sqlite:////tmp/state/history.db"),
    ("--policy", "/tmp/corp.yaml"),
])
def test_a_path_the_private_tmp_hides_is_refused(image_root, option, value):
    directory = os.path.dirname(value.removeprefix("sqlite:///")) if option in ("--store", "--policy") else value
    (image_root / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
    if option == "--policy":
        shutil.copy(image_root / POLICY.lstrip("/"), image_root / value.lstrip("/"))
    before = tree(image_root)
    result = install(image_root, option, value)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{option}: " in result.stderr and "PrivateTmp=yes" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert tree(image_root) == before
    # cron has no private /tmp: the same path is written there
    assert install(image_root, option, value, backend="cron").returncode == 0


def test_a_link_into_tmp_is_refused_too(image_root):
    (image_root / "tmp/out").mkdir(parents=True)
    (image_root / "srv").mkdir()
    os.symlink("/tmp/out", image_root / "srv/out")  # the image's own /tmp, as its host reads it
    before = tree(image_root)
    result = install(image_root, "--out-dir", "/srv/out")
    assert result.returncode == 2 and "--out-dir: " in result.stderr and "/tmp/out" in result.stderr, result.stderr
    assert tree(image_root) == before


def test_a_name_that_only_starts_like_tmp_is_written(image_root):
    (image_root / "tmpdata").mkdir()
    result = install(image_root, "--out-dir", "/tmpdata")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("extends", ["/tmp/base.yaml", "../../tmp/base.yaml"])
def test_a_policy_extending_a_file_in_tmp_is_refused(image_root, extends):
    (image_root / "tmp").mkdir()
    shutil.copy(image_root / POLICY.lstrip("/"), image_root / "tmp/base.yaml")
    child = image_root / "etc/lbaudit/child.yaml"
    child.write_text(f"id: child\nversion: '1'\nowner: Test <test@example.test>\nextends: {extends}\nrules: []\n",
                     encoding="utf-8")
    before = tree(image_root)
    result = install(image_root, "--policy", "/etc/lbaudit/child.yaml")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--policy's extends: /tmp/base.yaml is in /tmp" in result.stderr, result.stderr
    assert tree(image_root) == before
    assert install(image_root, "--policy", "/etc/lbaudit/child.yaml", backend="cron").returncode == 0
