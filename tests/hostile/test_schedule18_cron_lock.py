"""Any local user could stop every scan of the cron backend, for good.

The cron line ran the scan under ``flock -n -E 75 /run/lock/lbaudit-scan.lock``: /run/lock is
world-writable (1777 on Debian) and flock makes its file readable by all (0644 under cron's umask),
and flock(2) needs no more than a file opened for reading.  So a user who created that file first
(/run is emptied at every boot) or opened root's, and held a lock on it, made every night's line end
in 75, "the previous scan still runs": no scan ran again, and nothing but a skipped night was told.
Now the lock is a file of /run, where only root creates files, and the line makes it 0600 (umask
077, the systemd unit's own UMask=), so no other user can open it, let alone lock it."""

from __future__ import annotations

import os
import shlex
import subprocess
import time

import pytest

from tests.cli import run_cli
from tests.schedule.conftest import (
    POLICY,
    make_image_root,
    tmp_path,  # noqa: F401  # outside /tmp (the scheduling tests' own)
)
from tests.schedule.test_cron_run import cron_command, cron_environment
from tests.schedule.test_units import cron_jobs

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _installed_line(tmp_path):  # noqa: F811
    """The cron file's command (cron's escapes undone) and environment, for a scan that is /bin/true:
    what is under test is the lock around it."""
    image_root = make_image_root(tmp_path)
    result = run_cli("schedule", "install", "--backend", "cron", "--root", image_root, "--policy", POLICY,
                     "--executable", "/bin/true")
    assert result.returncode == 0, result.stderr
    text = (image_root / "etc/cron.d/lbaudit").read_text(encoding="utf-8")
    ((_, _, command),) = cron_jobs(text)
    shell_command, stdin = cron_command(command)
    assert stdin == ""
    words = shlex.split(shell_command)
    lock = words[words.index("-E") + 2]  # flock -n -E 75 LOCK ...
    return shell_command, cron_environment(text), lock


def _run_line(shell_command, env):
    return subprocess.run([env["SHELL"], "-c", shell_command], env=env, cwd="/", capture_output=True, text=True,
                          timeout=60)


def _held_by_nobody(lock):
    """Another user's process that takes the lock (creating its file if it can) and holds it; None when
    it cannot even open it."""
    holder = subprocess.Popen([*NOBODY, "flock", "-n", "-E", "9", lock, "sleep", "30"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    for _ in range(100):  # until it holds the lock (its sleep runs) or gave up
        if holder.poll() is not None:
            return None
        children = subprocess.run(["pgrep", "-P", str(holder.pid)], capture_output=True, text=True).stdout
        if children.strip():
            return holder
        time.sleep(0.05)
    return holder


@pytest.mark.live  # the lock is this host's /run
@pytest.mark.root  # drops to nobody
def test_another_user_cannot_keep_the_cron_scan_from_running(tmp_path):  # noqa: F811
    shell_command, env, lock = _installed_line(tmp_path)
    if not os.path.isdir(os.path.dirname(lock)):
        pytest.skip(f"{os.path.dirname(lock)} does not exist on this host")
    for phase in ("before the first run", "after a run made the lock file"):
        holder = _held_by_nobody(lock)
        try:
            run = _run_line(shell_command, env)
        finally:
            if holder is not None:
                holder.kill()
                holder.wait()
        assert run.returncode == 0, (phase, run.returncode, run.stderr)
        assert holder is None, f"{phase}: nobody holds the scan's lock {lock}"
    st = os.stat(lock)
    assert st.st_uid == 0 and st.st_mode & 0o077 == 0, oct(st.st_mode)
