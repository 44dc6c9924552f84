"""schedule install writes exactly its files, replaces only its own, and schedule remove takes
exactly those away again."""

from __future__ import annotations

import os

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.schedule.conftest import POLICY, tree

EXECUTABLE = "/usr/local/bin/lbaudit"  # in an image the executable is not checked (it may be installed later)


def install(root, backend, *extra):
    return run_cli("schedule", "install", "--backend", backend, "--policy", POLICY, "--root", root,
                   "--executable", EXECUTABLE, *extra)


@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_remove_leaves_nothing_behind(image_root, backend):
    before = tree(image_root)
    assert install(image_root, backend).returncode == 0
    assert tree(image_root) != before
    result = run_cli("schedule", "remove", "--root", image_root)
    assert result.returncode == 0, result.stderr
    assert tree(image_root) == before
    assert "nothing to remove" in run_cli("schedule", "remove", "--root", image_root).stdout


def test_systemd_install_writes_the_units_and_enables_the_timer(image_root):
    result = install(image_root, "systemd")
    assert result.returncode == 0, result.stderr
    units = image_root / "etc/systemd/system"
    link = units / "timers.target.wants" / sched.TIMER
    assert os.readlink(link) == "/etc/systemd/system/lbaudit-scan.timer"
    for name in (sched.SERVICE, sched.TIMER):
        assert (units / name).read_text().startswith(sched.MARKER + "\n")
        assert oct((units / name).stat().st_mode & 0o777) == oct(0o644)
    assert "--root" not in result.stdout and "next:" not in result.stdout  # an image: no systemctl hint


def test_cron_file_is_0644_whatever_the_umask(image_root):
    result = run_cli("schedule", "install", "--backend", "cron", "--policy", POLICY, "--root", image_root,
                     "--executable", EXECUTABLE, umask=0o002)
    assert result.returncode == 0, result.stderr
    assert (image_root / "etc/cron.d/lbaudit").stat().st_mode & 0o777 == 0o644  # cron skips group-writable files


def test_install_again_replaces_its_own_files(image_root):
    assert install(image_root, "systemd").returncode == 0
    assert install(image_root, "systemd", "--on-calendar", "hourly").returncode == 0
    timer = (image_root / "etc/systemd/system" / sched.TIMER).read_text()
    assert "OnCalendar=hourly" in timer and "OnCalendar=daily" not in timer


def test_dry_run_writes_nothing(image_root):
    before = tree(image_root)
    result = install(image_root, "systemd", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert tree(image_root) == before
    assert "[Timer]" in result.stdout and "would link" in result.stdout
    assert install(image_root, "cron").returncode == 0
    after_install = tree(image_root)
    removal = run_cli("schedule", "remove", "--root", image_root, "--dry-run")
    assert removal.returncode == 0 and "would remove" in removal.stdout
    assert tree(image_root) == after_install


def test_both_backends_removed_together(image_root):
    # both installed (an lbaudit before install refused the second backend): the cron job kept
    # aside while the systemd units are installed, then put back beside them
    before = tree(image_root)
    assert install(image_root, "cron").returncode == 0
    cron_job = (image_root / "etc/cron.d/lbaudit").read_bytes()
    assert run_cli("schedule", "remove", "--root", image_root).returncode == 0
    assert install(image_root, "systemd").returncode == 0
    (image_root / "etc/cron.d/lbaudit").write_bytes(cron_job)
    (image_root / "etc/cron.d/lbaudit").chmod(0o644)
    result = run_cli("schedule", "remove", "--root", image_root)
    assert result.returncode == 0
    assert result.stdout.count("removed ") == 4
    assert tree(image_root) == before


def test_a_pre_existing_wants_directory_with_other_timers_stays(image_root):
    wants = image_root / "etc/systemd/system/timers.target.wants"
    wants.mkdir()
    (wants / "logrotate.timer").symlink_to("/lib/systemd/system/logrotate.timer")
    before = tree(image_root)
    assert install(image_root, "systemd").returncode == 0
    assert run_cli("schedule", "remove", "--root", image_root).returncode == 0
    assert tree(image_root) == before


@pytest.mark.live  # looks at this host's /etc/systemd/system and /etc/cron.d, writes nothing
@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_dry_run_on_this_host_uses_this_lbaudit_and_the_shipped_policy(backend):
    from tests.schedule.conftest import REPO, lbaudit_executable

    directory = "/etc/systemd/system" if backend == "systemd" else "/etc/cron.d"
    if not os.path.isdir(directory):
        pytest.skip(f"{directory} does not exist on this host")
    result = run_cli("schedule", "install", "--backend", backend, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"{lbaudit_executable()} evaluate --policy {REPO / 'policies' / 'corp.yaml'} --quiet" in result.stdout
    assert "next:" not in result.stdout
    assert not os.path.exists(os.path.join(directory, "lbaudit" if backend == "cron" else sched.SERVICE))


def test_a_relative_store_path_becomes_absolute_and_writable(image_root):
    # the path as the host sees it, which under --root must exist inside the image too
    (image_root / str(image_root).lstrip("/") / "history").mkdir(parents=True)
    result = run_cli("schedule", "install", "--backend", "systemd", "--policy", POLICY, "--root", image_root,
                     "--executable", EXECUTABLE, "--store", "history/h.db", cwd=image_root)
    assert result.returncode == 0, result.stderr
    service = (image_root / "etc/systemd/system" / sched.SERVICE).read_text()
    assert f"--store {image_root}/history/h.db" in service
    assert f"ReadWritePaths={image_root}/history" in service.splitlines()
