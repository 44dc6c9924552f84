"""A plugin's ``CheckSpec`` built with values of the wrong type.

``@check`` makes tuples of what it is given, but a plugin can build a ``CheckSpec`` itself (or
change one): the registry took ``needs``, ``uses``, ``controls`` or ``platforms`` of None, a name
that is a list, a list among the controls, and ended every command that loads checks with exit 70
(``TypeError``).  ``params`` that is not a ``CheckParams`` subclass (None, ``int``, pydantic's
``BaseModel``) passed the registry and was exit 70 at ``explain`` and ``evaluate``; a blank name was
a check no policy could name; a ``func`` that cannot be called was found only when a rule ran it.
Each is now refused by the registry, exit 2, naming the check and the value, for every command.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import sys

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

USAGE = 2

PLUGIN = """
from pydantic import BaseModel

from auditor.model.check import CheckParams, CheckSpec, passed


class Params(CheckParams):
    pass


declared = dict(name="typeplug.x", title="T", version="1", needs=("sysctl",), params=Params, severity="high",
                controls=("CM-6",), rationale="r", remediation="m", func=lambda snapshot, params: [passed("a", "b")])
declared.update({override})
target = CheckSpec(**declared)
"""


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("typeplug", None)


@pytest.mark.parametrize("override, problem", [
    # before: 70 in every command, TypeError
    ("needs=None", "check 'typeplug.x' declares needs None (expected a tuple of names)"),
    ("uses=None", "check 'typeplug.x' declares uses None (expected a tuple of names)"),
    ("controls=None", "check 'typeplug.x' declares controls None (expected a tuple of names)"),
    ("platforms=None", "check 'typeplug.x' declares platforms None (expected a tuple of names)"),
    ("controls=(['CM-6'],)", "check 'typeplug.x' declares controls (['CM-6'],) (expected a tuple of names)"),
    ("name=['a']", "check ['a'] declares name ['a'] (expected text, not blank)"),
    # before: list-checks 0, then 70 at explain and evaluate
    ("params=None", "check 'typeplug.x' declares params None (expected a subclass of CheckParams)"),
    ("params=int", "check 'typeplug.x' declares params <class 'int'> (expected a subclass of CheckParams)"),
    ("params=BaseModel",
     "check 'typeplug.x' declares params <class 'pydantic.main.BaseModel'> (expected a subclass of CheckParams)"),
    # before: a check no policy could name, listed as a blank line
    ("name=' '", "check ' ' declares name ' ' (expected text, not blank)"),
    # before: loaded, and an error finding at the first rule that ran it
    ("func=None", "check 'typeplug.x' declares func None (expected a function)"),
])
@pytest.mark.parametrize("command", [("list-checks",), ("explain", "typeplug.x")])
def test_a_check_declared_with_a_value_of_the_wrong_type_is_refused_by_the_registry(tmp_path, monkeypatch, override,
                                                                                     problem, command):
    install_plugin(tmp_path / "site", monkeypatch, "typeplug", PLUGIN.format(override=f"dict({override})"),
                   "[lbaudit.checks]\ntypeplug = typeplug:target\n")
    run = run_cli(*command)
    assert run.returncode == USAGE, run.stderr
    assert run.stderr == f"lbaudit: the check registry is not usable\n  <registry>: {problem}\n"


def test_control_case_a_check_built_as_a_check_spec_with_lists_is_loaded(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "typeplug",
                   PLUGIN.format(override="dict(needs=['sysctl'], controls=['CM-6'])"),
                   "[lbaudit.checks]\ntypeplug = typeplug:target\n")
    run = run_cli("explain", "typeplug.x")
    assert run.returncode == 0, run.stderr
