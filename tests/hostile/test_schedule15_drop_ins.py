"""`schedule install --backend systemd` where something else decides what the unit runs.

systemd applies every ``*.conf`` in a unit's drop-in directories (``NAME.d``, each dash prefix's
``lbaudit-.service.d``, the type's ``service.d``) of every directory of its search path, after the
unit file: an ``override.conf`` left by an earlier ``systemctl edit`` that replaces ExecStart= or
OnCalendar= still decided what ran after a (re)install, which said nothing (exit 0).  A unit of
the same name in a directory read before /etc/systemd/system (``/run/systemd/transient``, the
``.control`` ones), or a mask (a link to /dev/null), meant the installed unit never ran at all.
Now each is refused, exit 2, naming the file, nothing written; ``--allow-overrides`` installs and
names each on stderr."""

from __future__ import annotations

import os

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree

OVERRIDE = "[Service]\nExecStart=\nExecStart=/bin/true\n"


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("drop_in", [
    "etc/systemd/system/lbaudit-scan.service.d/override.conf",
    "run/systemd/system/lbaudit-scan.service.d/50-exec.conf",
    "usr/lib/systemd/system/lbaudit-scan.timer.d/calendar.conf",
    "etc/systemd/system/lbaudit-.service.d/prefix.conf",
    "usr/local/lib/systemd/system/timer.d/all-timers.conf",
])
def test_a_drop_in_is_refused_naming_it(image_root, drop_in):
    path = image_root / drop_in
    path.parent.mkdir(parents=True)
    path.write_text(OVERRIDE)
    before = tree(image_root)
    result = install(image_root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{path}: a drop-in of lbaudit-scan." in result.stderr, result.stderr
    assert "--allow-overrides" in result.stderr and "Traceback" not in result.stderr
    assert tree(image_root) == before

    allowed = install(image_root, "--allow-overrides")
    assert allowed.returncode == 0, allowed.stderr
    assert f"warning: {path}: a drop-in of lbaudit-scan." in allowed.stderr
    assert (image_root / "etc/systemd/system/lbaudit-scan.service").is_file()


def test_a_file_in_a_drop_in_directory_that_is_not_conf_is_not_read_by_systemd(image_root):
    directory = image_root / "etc/systemd/system/lbaudit-scan.service.d"
    directory.mkdir(parents=True)
    (directory / "override.conf.bak").write_text(OVERRIDE)
    result = install(image_root)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


@pytest.mark.parametrize("unit", ["run/systemd/transient/lbaudit-scan.service",
                                  "etc/systemd/system.control/lbaudit-scan.timer"])
def test_a_unit_systemd_reads_first_is_refused(image_root, unit):
    path = image_root / unit
    path.parent.mkdir(parents=True)
    path.write_text("[Service]\nExecStart=/bin/true\n")
    result = install(image_root)
    assert result.returncode == 2, result.stderr
    assert f"{path}: a unit file of the same name that systemd reads instead of" in result.stderr, result.stderr


def test_a_mask_before_ours_is_refused(image_root):
    path = image_root / "run/systemd/system.control/lbaudit-scan.timer"
    path.parent.mkdir(parents=True)
    os.symlink("/dev/null", path)
    result = install(image_root)
    assert result.returncode == 2 and f"{path}: masks lbaudit-scan.timer" in result.stderr, result.stderr


def test_a_masked_unit_in_etc_says_masked(image_root):
    path = image_root / "etc/systemd/system/lbaudit-scan.service"
    os.symlink("/dev/null", path)
    before = tree(image_root)
    result = install(image_root)
    assert result.returncode == 2, result.stderr
    assert f"{path}: is a link to /dev/null (the unit is masked" in result.stderr, result.stderr
    assert tree(image_root) == before


def test_a_unit_of_the_same_name_in_usr_lib_is_not_refused(image_root):
    """/etc/systemd/system comes before /usr/lib/systemd/system: the installed unit is the one that runs."""
    path = image_root / "usr/lib/systemd/system/lbaudit-scan.service"
    path.parent.mkdir(parents=True)
    path.write_text("[Service]\nExecStart=/bin/true\n")
    assert install(image_root).returncode == 0


def test_cron_is_not_concerned(image_root):
    path = image_root / "etc/systemd/system/lbaudit-scan.service.d/override.conf"
    path.parent.mkdir(parents=True)
    path.write_text(OVERRIDE)
    assert install(image_root, backend="cron").returncode == 0
