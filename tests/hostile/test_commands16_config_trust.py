"""A configuration file that another user can write, or owns, is refused (exit 2), never trusted.

The configuration chooses the policy a scheduled scan evaluates, the key that signs its evidence,
the store it is recorded in and the oldest snapshot it judges.  Before, ``/etc/lbaudit/config.yaml``
or ``~/.config/lbaudit/config.yaml`` writable by every user (mode 0666), or owned by another user,
was read like any other: whoever could write it chose an empty policy (a compliant verdict) or
``max_age: none`` for the root scan.  ``config show`` printed its values as the effective ones.
Now such a file, or one in a directory every user may write (without the sticky bit, which keeps
another user from replacing it), is refused naming the file, what is wrong and what is expected, as
OpenSSH refuses a configuration file with bad ownership.
"""

from __future__ import annotations

import os

import pytest

from tests.cli import run_cli

NOBODY = 65534
HINT = "; or name another file with LBAUDIT_CONFIG=PATH, or set LBAUDIT_CONFIG= empty to read none"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def _config(directory, mode=0o644):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    path.write_text("org_name: Mallory Inc\nmax_age: none\n", encoding="utf-8")
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("command", [("config", "show"), ("list-checks", "--no-plugins")], ids=["config-show", "any"])
def test_a_configuration_file_every_user_may_write_is_refused(tmp_path, command):
    path = _config(tmp_path / "conf", 0o666)
    run = run_cli(*command, env={"LBAUDIT_CONFIG": str(path)}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == (f"lbaudit: {path}: not trusted as the configuration file: it is writable by every user "
                          f"(mode 0666); expected writable by its owner alone (chmod go-w {path}){HINT}\n")
    assert "Mallory" not in run.stdout


def test_a_configuration_file_its_group_may_write_is_refused(tmp_path):
    path = _config(tmp_path / "conf", 0o664)
    os.chown(path, -1, NOBODY)  # a group other users are in
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path)}, cwd=tmp_path)
    if os.getgid() == NOBODY:  # pragma: no cover - the test's own group
        pytest.skip("the test runs in group nobody")
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == (f"lbaudit: {path}: not trusted as the configuration file: it is writable by group "
                          f"{NOBODY} (mode 0664); expected writable by its owner alone (chmod go-w {path}){HINT}\n")


@needs_root
def test_a_configuration_file_owned_by_another_user_is_refused(tmp_path):
    path = _config(tmp_path / "conf")
    os.chown(path, NOBODY, -1)
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path)}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == (f"lbaudit: {path}: not trusted as the configuration file: it is owned by uid {NOBODY}; "
                          f"expected owned by this user (uid {os.geteuid()}) or root{HINT}\n")


def test_a_configuration_file_in_a_directory_every_user_may_write_is_refused(tmp_path):
    directory = tmp_path / "conf"
    path = _config(directory)
    os.chmod(directory, 0o777)  # no sticky bit: any user may rename another file into its place
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path)}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == (f"lbaudit: {path}: not trusted as the configuration file: its directory {directory} is "
                          f"writable by every user (mode 0777) without the sticky bit, so anyone may replace the "
                          f"file; expected a directory only its owner may write (chmod o-w {directory}, or the "
                          f"sticky bit){HINT}\n")


def test_the_users_own_default_configuration_file_is_checked_too(tmp_path):
    home = tmp_path / "xdg"
    path = _config(home / "lbaudit", 0o666)
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": None, "XDG_CONFIG_HOME": str(home)}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith(f"lbaudit: {path}: not trusted as the configuration file: it is writable by every "
                                 "user (mode 0666)")


def test_control_a_file_only_its_owner_may_write_is_read(tmp_path):
    directory = tmp_path / "shared"
    path = _config(directory, 0o644)
    os.chmod(directory, 0o1777)  # sticky, as /tmp: only the file's owner may replace it
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path)}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Mallory Inc" in run.stdout


def test_a_configuration_file_below_a_directory_every_user_may_write_is_refused(tmp_path):
    above = tmp_path / "home"
    path = _config(above / ".config" / "lbaudit")
    os.chmod(above, 0o777)  # any user may rename .config away and put their own in its place
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": None, "XDG_CONFIG_HOME": str(above / ".config")},
                  cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == (f"lbaudit: {path}: not trusted as the configuration file: its directory {above} is "
                          f"writable by every user (mode 0777) without the sticky bit, so anyone may replace the "
                          f"file; expected a directory only its owner may write (chmod o-w {above}, or the sticky "
                          f"bit){HINT}\n")
