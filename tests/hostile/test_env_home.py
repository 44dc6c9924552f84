"""Hostile process environment: no usable home directory, and XDG variables that are not absolute.

Before, the user configuration file was ``os.path.expanduser("~") + "/.config"`` or
``$XDG_CONFIG_HOME`` as given: with ``HOME`` unset and no passwd entry (a container's numeric uid),
``expanduser`` leaves ``~`` as it is, and with ``HOME`` or ``XDG_CONFIG_HOME`` relative the path
is relative too, so ``./~/.config/lbaudit/config.yaml`` (or ``./rel/lbaudit/config.yaml``) in the
working directory was read, and whoever could write there chose the waivers file: every failure
waived, exit 0, a false pass.  The default history store called ``Path.home()``, which raised
RuntimeError: exit 70.  Now (``auditor.config.user_directory``) a base directory is absolute or not
used: no user configuration without a home, and ``--record`` asks for ``--store`` (exit 2).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import Result, run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.privileges import run_as_unprivileged

COMPLIANT = 0
NON_COMPLIANT = 1
USAGE = 2
UID_WITHOUT_PASSWD_ENTRY = 54321  # a container's --user 54321: no name, no home
PLANTED_WAIVERS = """\
waivers:
  - rule: loopback-only
    subject: "tcp 0.0.0.0:8080*"
    reason: planted by whoever can write to the working directory
    approver: Mallory <mallory@example.test>
    expires: "2099-12-31"
"""


@pytest.fixture
def work() -> Iterator[Path]:
    """A directory anyone may read and write (the unprivileged case runs there too), with a failing
    run's inputs and a planted configuration in each place a relative base would point to."""
    directory = Path(tempfile.mkdtemp(prefix="lbaudit-env-home-"))
    try:
        directory.chmod(0o777)
        (directory / "policy.yaml").write_text(loopback_only_policy("env-home"))
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), directory / "snap.json")
        for base in ("~/.config", "rel", "relhome/.config"):
            config = directory / base / "lbaudit"
            config.mkdir(parents=True)
            (config / "config.yaml").write_text("waivers: waivers.yaml\n")
            (config / "waivers.yaml").write_text(PLANTED_WAIVERS)
        for path in directory.rglob("*"):
            path.chmod(0o777 if path.is_dir() else 0o644)
        yield directory
    finally:
        shutil.rmtree(directory)


def _evaluate(work: Path, env: dict[str, str | None]) -> Result:
    return run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "-q",
                   cwd=work, env={"LBAUDIT_CONFIG": None, **env})


@pytest.mark.parametrize("env", [{"XDG_CONFIG_HOME": "rel"}, {"HOME": "relhome", "XDG_CONFIG_HOME": None}],
                         ids=["relative-XDG_CONFIG_HOME", "relative-HOME"])
def test_a_relative_base_directory_never_reads_a_configuration_from_the_working_directory(work, env):
    result = _evaluate(work, env)
    assert result.returncode == NON_COMPLIANT, result.stderr  # before: 0, the planted waiver applied
    assert "planted" not in (work / "e.json").read_text()


def _as_uid_without_passwd_entry(func: Callable[[], Any], work: Path) -> Any:
    """``func()`` in a forked child running as a uid that has no passwd entry, its result back.  The
    modules the commands import are imported first, as root: the interpreter's own library may be
    where that uid cannot read (under /root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become a uid without a passwd entry (run the suite as root, as CI does)")
    assert _evaluate(work, {"LBAUDIT_CONFIG": ""}).returncode == NON_COMPLIANT
    assert run_cli("history", "list", "--store", work / "absent.db", cwd=work).returncode == USAGE
    (work / "e.json").unlink()
    return run_as_unprivileged(func, user=UID_WITHOUT_PASSWD_ENTRY)


NO_HOME = {"HOME": None, "XDG_CONFIG_HOME": None, "XDG_STATE_HOME": None, "LBAUDIT_STORE": None}


def test_without_a_home_no_configuration_is_read_from_a_tilde_directory_here(work):
    result = _as_uid_without_passwd_entry(lambda: _evaluate(work, NO_HOME), work)
    assert result.returncode == NON_COMPLIANT, result.stderr  # before: 0, ./~/.config/lbaudit/config.yaml read
    assert "planted" not in (work / "e.json").read_text()


def test_without_a_home_the_default_history_store_is_exit_2_asking_for_one(work):
    result = _as_uid_without_passwd_entry(lambda: run_cli("history", "list", cwd=work,
                                                          env={"LBAUDIT_CONFIG": None, **NO_HOME}), work)
    assert result.returncode == USAGE  # before: 70, RuntimeError: Could not determine home directory.
    assert result.stderr == ("lbaudit: no history store named and no home directory to keep one in (HOME is not set "
                             "and this user has none): give --store PATH or set LBAUDIT_STORE\n")
