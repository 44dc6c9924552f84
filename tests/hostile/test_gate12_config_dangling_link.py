"""A default configuration file that is a symbolic link leading nowhere is exit 2 naming it, not a file
taken as absent.

``~/.config/lbaudit/config.yaml -> /srv/lbaudit/config.yaml`` after the file moved: ``os.stat`` says
"no such file" for the link as for a missing file, so the configuration was skipped without a word
and every command ran on its defaults: the ``sign_key`` the configuration names not used (evidence
written unsigned, exit 0), the ``store`` not the one recorded in, the ``max_age`` not enforced.  A
missing file is still fine (the defaults are meant), and so is a link that leads to a file.
"""

from __future__ import annotations

from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _home(tmp_path: Path) -> tuple[Path, dict[str, str | None]]:
    config_home = tmp_path / "xdg"
    (config_home / "lbaudit").mkdir(parents=True)
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    (tmp_path / "moved.yaml").write_text(f"sign_key: {keys / 'lbaudit.key'}\n", encoding="utf-8")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), tmp_path / "s.json")
    return config_home, {"XDG_CONFIG_HOME": str(config_home), "LBAUDIT_CONFIG": None, "LBAUDIT_SIGN_KEY": None}


def _evaluate(tmp_path: Path, env: dict[str, str | None]):
    return run_cli("evaluate", "--policy", POLICY, "--snapshot", tmp_path / "s.json", "-o", tmp_path / "e.json", "-q",
                   env=env)


def test_a_configuration_link_leading_nowhere_is_exit_2_naming_it(tmp_path: Path):
    config_home, env = _home(tmp_path)
    link = config_home / "lbaudit" / "config.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    run = _evaluate(tmp_path, env)
    assert run.returncode == 2, run.stderr  # on main: exit 0 or 1, the evidence written unsigned
    assert run.stderr.startswith(f"lbaudit: {link}: cannot read the configuration file: it is a symbolic link to "
                                 f"'{tmp_path / 'gone.yaml'}', which leads nowhere (No such file or directory; ")
    assert not (tmp_path / "e.json").exists()


def test_a_configuration_directory_link_leading_nowhere_is_exit_2_naming_it(tmp_path: Path):
    config_home, env = _home(tmp_path)
    (config_home / "lbaudit").rmdir()
    (config_home / "lbaudit").symlink_to(tmp_path / "gone")  # ~/.config/lbaudit -> a directory since moved
    run = _evaluate(tmp_path, env)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"lbaudit: {config_home / 'lbaudit' / 'config.yaml'}: cannot read the configuration "
                                 f"file: {config_home / 'lbaudit'} is a symbolic link to '{tmp_path / 'gone'}', which "
                                 "leads nowhere (")
    assert not (tmp_path / "e.json").exists()


def test_control_case_absent_below_a_link_that_leads_somewhere_is_the_defaults(tmp_path: Path):
    config_home, env = _home(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "home").symlink_to(tmp_path / "real")  # a home reached through a link, no configuration in it
    run = _evaluate(tmp_path, {**env, "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config")})
    assert run.returncode in (0, 1, 3), run.stderr
    assert not (tmp_path / "e.json.sig").exists()


def test_control_case_a_link_to_the_file_is_read_and_no_file_is_the_defaults(tmp_path: Path):
    config_home, env = _home(tmp_path)
    link = config_home / "lbaudit" / "config.yaml"
    link.symlink_to(tmp_path / "moved.yaml")
    run = _evaluate(tmp_path, env)
    assert run.returncode in (0, 1, 3), run.stderr
    assert (tmp_path / "e.json.sig").is_file()
    link.unlink()
    (tmp_path / "e.json").unlink()
    (tmp_path / "e.json.sig").unlink()
    run = _evaluate(tmp_path, env)
    assert run.returncode in (0, 1, 3), run.stderr
    assert (tmp_path / "e.json").is_file() and not (tmp_path / "e.json.sig").exists()
