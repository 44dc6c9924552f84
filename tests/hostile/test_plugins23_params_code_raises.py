"""A plugin check's params code that raises while a policy is loaded.

Before: pydantic turns only ValueError and AssertionError raised in a validator into a validation
error; a plugin's validator raising anything else (RuntimeError, KeyError, a bare BaseException),
or its ``param_warnings`` or ``laxer_than`` raising, ended ``lbaudit validate`` and ``evaluate`` of
every policy naming its check in exit 70 ("internal error ... please report it").  Now the rule is
refused, exit 2, at its place in the policy, naming the check, its plugin and what it raised, as
the engine reports the rest of a plugin's code that raises.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

USAGE = 2

PLUGIN = """
from pydantic import field_validator

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    limit: int = 3

    @field_validator("limit")
    @classmethod
    def _limit(cls, value):
        if value == 7 and "{where}" == "validator":
            raise {raised}("the validator broke")
        return value

    def param_warnings(self):
        if self.limit == 7 and "{where}" == "param_warnings":
            raise {raised}("the warnings broke")
        return {{}}

    def laxer_than(self, inherited, parent):
        if self.limit == 7 and "{where}" == "laxer_than":
            raise {raised}("the comparison broke")
        return {{}}


@check(name="rawplug.x", title="T", version="1", needs=["sysctl"], params=Params, severity="high",
       controls=["CM-6"], rationale="r", remediation="m")
def x(snapshot, params):
    return [passed("a", "b")]
"""

PARENT = """id: parent
version: "1"
owner: Security <sec@example.com>
rules:
  - id: r
    check: rawplug.x
"""

CHILD = """id: child
version: "1"
owner: Security <sec@example.com>
extends: parent.yaml
rules:
  - id: r
    params: {limit: 7}
"""


@pytest.mark.parametrize("raised", ["RuntimeError", "KeyError", "BaseException"])
@pytest.mark.parametrize("where", ["validator", "param_warnings", "laxer_than"])
def test_params_code_that_raises_refuses_the_rule(tmp_path, monkeypatch, where, raised):
    install_plugin(tmp_path / "site", monkeypatch, "rawplug", PLUGIN.format(where=where, raised=raised),
                   "[lbaudit.checks]\nrawplug = rawplug\n")
    (tmp_path / "parent.yaml").write_text(PARENT)
    (tmp_path / "child.yaml").write_text(CHILD)
    run = run_cli("validate", "child.yaml", cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert "internal error" not in said
    assert (f"child.yaml:6:5: rules[0].params: check rawplug.x's params (plugin rawplug 1.0) raised {raised}"
            in said), said
    assert "broke" in said, said


def test_control_case_the_parent_alone_loads(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "rawplug", PLUGIN.format(where="validator", raised="RuntimeError"),
                   "[lbaudit.checks]\nrawplug = rawplug\n")
    (tmp_path / "parent.yaml").write_text(PARENT)
    run = run_cli("validate", "parent.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("where", ["validator", "param_warnings", "laxer_than"])
def test_params_code_that_never_returns_is_stopped(tmp_path, monkeypatch, where):
    """Before: a plugin's validator (or param_warnings, laxer_than) that never returned held
    validate and evaluate forever; it runs under the plugin check's time limit now."""
    from auditor.engine import time_limit

    monkeypatch.setattr(time_limit, "PLUGIN_CHECK_SECONDS", 0.5)
    install_plugin(tmp_path / "site", monkeypatch, "rawplug",
                   PLUGIN.format(where=where, raised="__import__('time').sleep(3600) or RuntimeError"),
                   "[lbaudit.checks]\nrawplug = rawplug\n")
    (tmp_path / "parent.yaml").write_text(PARENT)
    (tmp_path / "child.yaml").write_text(CHILD)
    run = run_cli("validate", "child.yaml", cwd=tmp_path, timeout=30)
    assert run.returncode == USAGE, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert ("child.yaml:6:5: rules[0].params: check rawplug.x's params (plugin rawplug 1.0) raised CheckTimedOut"
            in said), said
