"""A key written with nothing after it (``allow:``, what a template writes for an empty variable) where
a value of a kind is expected says what was found: the message ended in "found " and nothing, as if
cut off, and named neither the empty value nor that YAML reads it as null."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

HEAD = 'id: p\nversion: "1"\nowner: T\n'
EMPTY = "nothing (an empty value, which YAML reads as null)"


@pytest.mark.parametrize("text, said", [
    (HEAD + "rules:\n  - id: b\n    check: net.bind_addresses\n    params:\n      allow:\n",
     f"8:7: rules[0].params.allow: expected a list; found {EMPTY}"),
    ('id: p\nversion:\nowner: T\nrules:\n  - id: b\n    check: net.bind_addresses\n',
     f"2:1: version: expected text; found {EMPTY}"),
    (HEAD + "rules:\n  - id: b\n    check: net.bind_addresses\n    enabled:\n",
     f"7:5: rules[0].enabled: expected true or false; found {EMPTY}"),
], ids=["param", "version", "enabled"])
def test_an_empty_value_is_named_as_such(tmp_path: Path, text: str, said: str):
    policy = tmp_path / "p.yaml"
    policy.write_text(text, encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2
    assert f"{policy}:{said}\n" in checked.stderr, checked.stderr


def test_control_case_a_null_written_out_is_quoted_as_written(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(HEAD + "rules:\n  - id: b\n    check: net.bind_addresses\n    params:\n      allow: ~\n",
                      encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2
    assert f"{policy}:8:7: rules[0].params.allow: expected a list; found ~\n" in checked.stderr


def test_an_empty_setting_of_the_configuration_is_named_null_not_python_none(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("policy:\nexpiry_warning_days: ~\n", encoding="utf-8")
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)})
    assert shown.returncode == 2
    assert f"{config}:1:1: policy: expected a path; found null\n" in shown.stderr
    assert f"{config}:2:1: expiry_warning_days: expected an integer from 0 to 3650; found null\n" in shown.stderr
    assert "None" not in shown.stderr
