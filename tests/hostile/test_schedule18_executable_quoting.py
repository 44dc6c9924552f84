"""`schedule install --backend systemd --executable PATH` with a `$`, a quote or a backslash in PATH.

systemd reads the program of ``ExecStart=`` (its first word) unlike the arguments after it: it
expands no variables there, so ``$$`` is not made ``$`` (the unit named ``/opt/d$$e/lbaudit``, a
file that does not exist, and every run failed with 203/EXEC), and it refuses a program whose path
holds a quote or a backslash ("Executable name contains special characters": the unit has a fatal
error and never starts).  Both were installed with exit 0.  Now the program is written as systemd
reads it (``%`` doubled, ``$`` as it is) and a path systemd cannot run is exit 2, nothing written;
the cron backend, whose shell takes any of them quoted, still installs it."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.schedule.conftest import (
    POLICY,
    lbaudit_executable,
    make_image_root,
    systemd_analyze,
    tmp_path,  # noqa: F401  # outside /tmp: the unit's PrivateTmp=yes hides it
    tree,
)


def _install(root, executable, backend="systemd"):
    return run_cli("schedule", "install", "--backend", backend, "--policy", POLICY, "--root", root,
                   "--executable", executable)


@pytest.mark.live  # systemd-analyze verify looks for the executable on this host
@pytest.mark.integration  # runs systemd-analyze
@pytest.mark.parametrize("name", ["d$e", "v${HOME}x", "p%c$$d"])
def test_a_dollar_in_the_executable_names_the_file_systemd_runs(tmp_path, name):  # noqa: F811
    image_root = make_image_root(tmp_path)
    directory = tmp_path / name
    directory.mkdir()
    (directory / "lbaudit").symlink_to(lbaudit_executable())
    result = _install(image_root, directory / "lbaudit")
    assert result.returncode == 0, result.stderr
    service = image_root / "etc/systemd/system" / sched.SERVICE
    run = subprocess.run([systemd_analyze(), "verify", service], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "lbaudit" not in run.stderr, run.stderr
    (directory / "lbaudit").unlink()  # verify does notice a missing executable: the check above means something
    run = subprocess.run([systemd_analyze(), "verify", service], capture_output=True, text=True, timeout=60)
    assert "is not executable" in run.stderr, run.stderr


@pytest.mark.parametrize("name", ['q"q', "s'q", "b\\s"])
def test_an_executable_systemd_refuses_to_run_is_exit_2(tmp_path, name):  # noqa: F811
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    result = _install(image_root, f"/opt/{name}/lbaudit")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "--executable" in result.stderr and "systemd" in result.stderr, result.stderr
    assert tree(image_root) == before


@pytest.mark.parametrize("name", ['q"q', "s'q", "b\\s"])
def test_the_cron_backend_still_runs_such_an_executable(tmp_path, name):  # noqa: F811
    image_root = make_image_root(tmp_path)
    result = _install(image_root, f"/opt/{name}/lbaudit", backend="cron")
    assert result.returncode == 0, result.stderr
    line = (image_root / "etc/cron.d/lbaudit").read_text(encoding="utf-8").splitlines()[-1]
    assert f"/opt/{name}/lbaudit" in shlex.split(line.split(" root ", 1)[1])


@pytest.mark.live  # systemd-analyze verify reads this host's unit directories
@pytest.mark.integration  # runs systemd-analyze
@pytest.mark.parametrize("name", ['q"q', "s'q", "b\\s"])
def test_systemd_does_refuse_those_executables(tmp_path, name):  # noqa: F811
    """The refusal above is systemd's own: a unit naming such a program has a fatal error."""
    unit = tmp_path / "probe.service"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    unit.write_text(f'[Service]\nType=oneshot\nExecStart="/opt/{quoted}/lbaudit"\n', encoding="utf-8")
    run = subprocess.run([systemd_analyze(), "verify", unit], capture_output=True, text=True, timeout=60)
    assert "special characters" in run.stderr, run.stderr
