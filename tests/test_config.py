"""The configuration file and environment variables: option > environment > file > default, one
table (auditor/config.py SETTINGS), every problem in the file exit 2 with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.config import SETTINGS
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: {id}
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""


@pytest.fixture()
def setup(tmp_path: Path) -> Path:
    for name in ("from-file", "from-env", "from-option"):
        (tmp_path / f"{name}.yaml").write_text(POLICY.format(id=name))
    (tmp_path / "s.json").write_bytes(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)])))
    (tmp_path / "config.yaml").write_text("policy: from-file.yaml   # relative to this file\nassessor: Jane Doe\n")
    return tmp_path


def _policy_id(tmp_path: Path, *args: str, env: dict[str, str | None]) -> str:
    out = tmp_path / "e.json"
    result = run_cli("evaluate", "--snapshot", tmp_path / "s.json", "-o", out, "-q", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())["policy"]["id"]


def test_option_wins_over_environment_wins_over_file(setup):
    config = {"LBAUDIT_CONFIG": str(setup / "config.yaml")}
    assert _policy_id(setup, env=config) == "from-file"
    with_env = {**config, "LBAUDIT_POLICY": str(setup / "from-env.yaml")}
    assert _policy_id(setup, env=with_env) == "from-env"
    assert _policy_id(setup, "--policy", str(setup / "from-option.yaml"), env=with_env) == "from-option"


def test_without_any_source_the_option_is_still_required(setup):
    result = run_cli("evaluate", "--snapshot", setup / "s.json", "-q")
    assert result.returncode == 2
    assert "Missing option '--policy'" in result.stderr


def test_config_show_names_each_source(setup):
    result = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": str(setup / "config.yaml"),
                                                      "LBAUDIT_COLOR": "never"})
    assert result.returncode == 0, result.stderr
    rows = {row["key"]: (row["value"], row["source"]) for row in json.loads(result.stdout)}
    assert rows["policy"] == (str(setup / "from-file.yaml"), f"{setup / 'config.yaml'}:1")
    assert rows["assessor"] == ("Jane Doe", f"{setup / 'config.yaml'}:2")
    assert rows["color"] == ("never", "environment LBAUDIT_COLOR")
    assert rows["store"] == (None, "default")
    text = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(setup / "config.yaml")})
    assert f"policy               {setup / 'from-file.yaml'}  {setup / 'config.yaml'}:1" in text.stdout


@pytest.mark.parametrize("content, problems", [
    ("colour: never\npolicy: 3\n", ["2:1: policy: expected a path; found 3", "1:1: unknown key 'colour'; did you mean 'color'?"]),
    ("color: sometimes\n", ["1:1: color: expected one of auto, always, never; found 'sometimes'"]),
    ("expiry_warning_days: '30'\n", ["1:1: expiry_warning_days: expected an integer from 0 to 3650; found '30'"]),
    ("store_timeout: 1\n", ["1:1: store_timeout: expected a whole number of seconds from 2 to 86400; found 1"]),
    ("store_timeout: 2.5\n", ["1:1: store_timeout: expected a whole number of seconds from 2 to 86400; found 2.5"]),
    ("- policy\n", ["1:1: expected a mapping of " + ", ".join(s.key for s in SETTINGS) + "; found list"]),
])
def test_bad_configuration_is_exit_2_with_file_and_line(tmp_path, content, problems):
    config = tmp_path / "config.yaml"
    config.write_text(content)
    result = run_cli("validate", REPO / "policies", env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"lbaudit: {config}: invalid configuration file"
    assert sorted(lines[1:]) == sorted(f"  {config}:{p}" for p in problems)


def test_a_named_configuration_file_must_exist(tmp_path):
    result = run_cli("validate", REPO / "policies", env={"LBAUDIT_CONFIG": str(tmp_path / "missing.yaml")})
    assert result.returncode == 2
    missing = tmp_path / "missing.yaml"
    assert result.stderr == (f"lbaudit: {missing}: cannot read the configuration file: No such file or directory "
                             f"(named by LBAUDIT_CONFIG={str(missing)!r}: name another file, or set "
                             "LBAUDIT_CONFIG= empty to read none)\n")


def test_help_shows_the_environment_variable_of_each_configurable_option():
    result = run_cli("evaluate", "--help")
    for setting in SETTINGS:
        if f"  {setting.option} " in result.stdout or f", {setting.option} " in result.stdout:
            assert setting.env in result.stdout, setting


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text()
    for setting in SETTINGS:
        option = f"`{setting.option}`" if setting.option else "none"
        assert f"| `{setting.key}` | `{setting.env}` | {option} |" in readme, setting


def test_an_option_of_the_group_itself_takes_its_default_from_the_file(tmp_path):
    """An option another part of lbaudit adds to the group (``lbaudit --color never ...``) is in
    the table, so it reads the file with no code of its own."""
    import click

    from auditor.cli import cli

    seen = {}
    option = click.Option(["--color"], type=click.Choice(["auto", "always", "never"]), default="auto", expose_value=False,
                          callback=lambda ctx, param, value: seen.setdefault("color", value))
    cli.params.append(option)
    try:
        config = tmp_path / "config.yaml"
        config.write_text("color: never\n")
        assert run_cli("list-checks", "--json", env={"LBAUDIT_CONFIG": str(config)}).returncode == 0
        assert seen.pop("color") == "never"
        run_cli("list-checks", "--json", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_COLOR": "always"})
        assert seen.pop("color") == "always"
        run_cli("--color", "auto", "list-checks", "--json", env={"LBAUDIT_CONFIG": str(config)})
        assert seen.pop("color") == "auto"
    finally:
        cli.params.remove(option)
