"""A plugin check whose params model has no JSON form.

Before: a plugin declaring a param pydantic has no JSON Schema for (a ``Callable``) loaded, was
listed by ``list-checks``, and then ``lbaudit schema policy`` and ``lbaudit explain`` ended in exit
70 (PydanticInvalidForJsonSchema), and ``validate`` and ``evaluate`` of a policy naming it in exit
70 (PydanticSerializationError: its params are recorded as JSON in the evidence).  The registry
now refuses such a check, exit 2, naming it and what its params cannot say, at every command, as
it refuses a check declared with a value of the wrong type.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

USAGE = 2

PLUGIN = """
from typing import Callable

from pydantic import ConfigDict, Field

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")
    {field}


@check(name="jsonplug.x", title="T", version="1", needs=["sysctl"], params=Params, severity="high",
       controls=["CM-6"], rationale="r", remediation="m")
def x(snapshot, params):
    return [passed("a", "b")]
"""

POLICY = """id: t
version: "1"
owner: Security <sec@example.com>
rules:
  - id: r
    check: jsonplug.x
"""

FIELDS = {
    # no JSON Schema (schema, explain) and no JSON value (validate, evaluate)
    "a callable": "hook: Callable[[int], int] = Field(default=abs)",
    # a JSON Schema, but a default with no JSON value
    "an object default": "limit: object = Field(default_factory=object)",
}


@pytest.mark.parametrize("command", [("schema", "policy"), ("explain", "jsonplug.x"), ("validate", "policy.yaml"),
                                     ("list-checks",)])
@pytest.mark.parametrize("field", FIELDS)
def test_params_with_no_json_form_are_refused_by_the_registry(tmp_path, monkeypatch, field, command):
    install_plugin(tmp_path / "site", monkeypatch, "jsonplug", PLUGIN.format(field=FIELDS[field]),
                   "[lbaudit.checks]\njsonplug = jsonplug\n")
    (tmp_path / "policy.yaml").write_text(POLICY)
    run = run_cli(*command, cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert run.stderr.startswith("lbaudit: the check registry is not usable\n  <registry>: check 'jsonplug.x' "
                                 "declares params "), run.stderr
    assert "internal error" not in run.stderr


def test_control_case_params_with_a_json_form_load(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "jsonplug", PLUGIN.format(field="limit: int = 3"),
                   "[lbaudit.checks]\njsonplug = jsonplug\n")
    (tmp_path / "policy.yaml").write_text(POLICY)
    for command in (("schema", "policy"), ("explain", "jsonplug.x"), ("validate", "policy.yaml")):
        run = run_cli(*command, cwd=tmp_path)
        assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("field", [
    "limit: int = Field(default_factory=lambda: __import__('time').sleep(3600) or 3)",
    "limit: int = Field(default_factory=lambda: __import__('os').chdir('/') or 3)",
], ids=["a default that never comes", "a default that moves the working directory"])
def test_params_defaults_run_as_plugin_code(tmp_path, monkeypatch, field):
    """The registry reads the defaults (the plugin's code) as it imports the plugin: bounded by
    PLUGIN_LOAD_SECONDS (it would hold every command forever), the process put back after."""
    import auditor.time_limit

    monkeypatch.setattr(auditor.time_limit, "PLUGIN_LOAD_SECONDS", 0.5)
    install_plugin(tmp_path / "site", monkeypatch, "jsonplug", PLUGIN.format(field=field),
                   "[lbaudit.checks]\njsonplug = jsonplug\n")
    (tmp_path / "policy.yaml").write_text(POLICY)
    run = run_cli("list-checks", cwd=tmp_path, timeout=30)
    if "sleep" in field:
        assert run.returncode == USAGE, run.stdout + run.stderr
        assert "whose JSON Schema or defaults did not finish in 0.5 s" in run.stderr, run.stderr
    else:
        assert run.returncode == 0, run.stderr
        run = run_cli("validate", "policy.yaml", cwd=tmp_path, timeout=30)
        assert run.returncode == 0, run.stdout + run.stderr  # policy.yaml was found where it was
