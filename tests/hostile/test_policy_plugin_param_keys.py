"""A plugin check whose params take unknown keys is refused by the registry (exit 2).

Built-in params refuse an unknown key (``CheckParams`` forbids extras), so a misspelt parameter in a
policy is exit 2 at its line.  A plugin's params model could loosen that (``model_config =
ConfigDict(extra="ignore")``), or hold a nested pydantic model of its own, whose default ignores
extras: a policy writing ``treshold: 1`` (for ``threshold``) or an item's ``prot: 22`` (for
``port``) loaded (``validate`` exit 0) and the check judged with the default, the policy reading
stricter than it ran.  The registry now names the model and its setting, as it names a params that
is no ``CheckParams``.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import sys

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

PLUGIN = """
from pydantic import BaseModel, ConfigDict

from auditor.model.check import CheckParams, check, failed, passed
from auditor.model.result import Severity


class Item(BaseModel):
    {item_config}
    name: str
    port: int | None = None


class Params(CheckParams):
    {params_config}
    threshold: int = 5
    items: list[Item] = []


@check(name="laxplug.x", title="T", version="1", needs=("sysctl",), params=Params, severity=Severity.HIGH,
       controls=("CM-6",), rationale="r", remediation="m")
def target(snapshot, params):
    return [passed("x", f"threshold {{params.threshold}}")]
"""

POLICY = """id: lax
version: "1"
owner: T
rules:
  - id: r
    check: laxplug.x
    params: {params}
"""


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("laxplug", None)


def _install(tmp_path, monkeypatch, item_config: str = "", params_config: str = "") -> None:
    install_plugin(tmp_path / "site", monkeypatch, "laxplug",
                   PLUGIN.format(item_config=item_config or "pass", params_config=params_config or "pass"),
                   "[lbaudit.checks]\nlaxplug = laxplug:target\n")


def _validate(tmp_path, params: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(params=params), encoding="utf-8")
    return run_cli("validate", policy)


def test_params_that_ignore_unknown_keys_are_refused(tmp_path, monkeypatch):
    """On main: exit 0, ``treshold: 1`` ignored and the check run with threshold 5."""
    _install(tmp_path, monkeypatch, item_config='model_config = ConfigDict(extra="forbid")',
             params_config='model_config = ConfigDict(extra="ignore", frozen=True)')
    run = _validate(tmp_path, "{treshold: 1}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == ("lbaudit: the check registry is not usable\n  <registry>: check 'laxplug.x' declares params "
                          "whose model Params takes unknown keys (extra='ignore'): a misspelt parameter in a policy "
                          "would be ignored; give it extra='forbid', as CheckParams has\n")


def test_a_nested_model_that_ignores_unknown_keys_is_refused(tmp_path, monkeypatch):
    """On main: exit 0, the item's ``prot: 22`` ignored."""
    _install(tmp_path, monkeypatch)
    run = _validate(tmp_path, "{items: [{name: a, prot: 22}]}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == ("lbaudit: the check registry is not usable\n  <registry>: check 'laxplug.x' declares params "
                          "whose model Item takes unknown keys (extra='ignore'): a misspelt parameter in a policy "
                          "would be ignored; give it extra='forbid', as CheckParams has\n")


def test_control_case_models_that_forbid_unknown_keys_name_the_misspelt_one(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, item_config='model_config = ConfigDict(extra="forbid")')
    run = _validate(tmp_path, "{items: [{name: a, prot: 22}]}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "rules[0].params.items[0]: unknown key 'prot'" in run.stdout + run.stderr
    assert _validate(tmp_path, "{items: [{name: a, port: 22}], threshold: 1}").returncode == 0
