"""``schedule install`` of one backend while the other backend's scheduled scan is installed is refused
(exit 2, nothing written), instead of a second scan running beside the first.

The defect: ``install --backend systemd`` after ``install --backend cron`` (or the other way round)
wrote the timer beside the cron job, exit 0: two scans every night, both writing the same evidence,
reports and metrics in the out-dir and both recording in the history, the cron job's flock lock
excluding only itself.  Each install said only what it wrote, so nothing told the administrator that
the first schedule was still there.  Now install names the other backend's file and says to run
``schedule remove`` first; installing the same backend again still replaces its own files.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree

USAGE = 2
INSTALLED_BY = {"cron": "etc/cron.d/lbaudit", "systemd": "etc/systemd/system/lbaudit-scan.service"}


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("first, second", [("cron", "systemd"), ("systemd", "cron")])
def test_installing_the_other_backend_beside_an_installed_one_is_exit_2(image_root, first, second):
    done = install(image_root, backend=first)
    assert done.returncode == 0, done.stderr
    before = tree(image_root)
    result = install(image_root, backend=second)
    assert result.returncode == USAGE, (result.stdout, result.stderr)
    assert result.stderr == (
        f"lbaudit: {image_root}/{INSTALLED_BY[first]}: the {first} backend's scheduled scan is installed; with the "
        f"{second} one beside it two scans would run, each writing the same files and recording in the history: run "
        "lbaudit schedule remove first\n"), result.stderr
    assert tree(image_root) == before


@pytest.mark.parametrize("backend", ["cron", "systemd"])
def test_control_case_the_same_backend_again_and_a_switch_after_remove(image_root, backend):
    assert install(image_root, backend=backend).returncode == 0
    again = install(image_root, "--on-calendar", "weekly", backend=backend)
    assert again.returncode == 0, again.stderr  # its own files replaced
    removed = run_cli("schedule", "remove", "--root", image_root)
    assert removed.returncode == 0, removed.stderr
    other = "systemd" if backend == "cron" else "cron"
    switched = install(image_root, backend=other)
    assert switched.returncode == 0, switched.stderr
