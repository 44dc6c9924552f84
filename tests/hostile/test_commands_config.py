"""``lbaudit config show``: values, file names and sources are shown on one line each, escaped.

Before: a bidi override (U+202E) or NEL in ``org_name`` of a configuration file, a line break in
``$LBAUDIT_ORG_NAME`` or in ``$XDG_CONFIG_HOME`` went to the terminal as they were: the table's rows
broke or read backwards."""

from __future__ import annotations

from tests.cli import run_cli


def row(stdout: str, key: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(key + " "))


def test_a_value_from_a_file_is_shown_escaped(tmp_path):
    config = tmp_path / "c.yaml"
    # org_name and assessor are one line of plain text, as their options take them (config18): a path
    # may still hold such characters
    config.write_text('waivers: "/a\\u202eb\\u0085c"\nstore: "s\\u202et.db"\n')
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "\u202e" not in run.stdout and "\x85" not in run.stdout
    assert row(run.stdout, "waivers").split() == ["waivers", "/a\\u202eb\\x85c", f"{config}:1"]
    assert row(run.stdout, "store").split() == ["store", f"{tmp_path}/s\\u202et.db", f"{config}:2"]  # relative to the file


def test_a_value_from_the_environment_is_shown_escaped(tmp_path):
    # LBAUDIT_ORG_NAME of two lines is refused as --org-name refuses it (config18); a path may hold a line break
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": "", "LBAUDIT_WAIVERS": "Acme\nassessor  Mallory"},
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 14  # files, header, the twelve settings
    assert row(run.stdout, "waivers").split()[:3] == ["waivers", "Acme\\nassessor", "Mallory"]
    assert row(run.stdout, "assessor").split() == ["assessor", "-", "default"]


def test_a_configuration_directory_with_a_line_break_is_shown_escaped(tmp_path):
    home = tmp_path / "x\ny"
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": None, "XDG_CONFIG_HOME": str(home)}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.endswith(f"{tmp_path}/x\\ny/lbaudit/config.yaml (absent)")
    assert run.stdout.splitlines()[1].split() == ["key", "value", "source"]
