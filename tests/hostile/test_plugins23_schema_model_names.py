"""``lbaudit schema policy`` with a plugin whose params hold models named as lbaudit's own.

Before: the policy schema looked up lbaudit's models in ``$defs`` by name (``RuleSpec``,
``Waiver``), and pydantic names both models of a name by their modules when two share it: a plugin
with a nested model called ``Waiver`` or ``RuleSpec`` (which a plugin about waivers or rules may
well have) made ``lbaudit schema policy`` exit 70 (KeyError).  Now each model is found by the
reference pydantic gives it, and the schema judges a policy as before.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json

import jsonschema

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

PLUGIN = """
from pydantic import BaseModel, ConfigDict, Field

from auditor.model.check import CheckParams, check, passed


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    depth: int = 1


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = 1


class PolicyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pages: int = 1


class Params(CheckParams):
    rule: RuleSpec = Field(default_factory=RuleSpec)
    waiver: Waiver = Field(default_factory=Waiver)
    document: PolicyDocument = Field(default_factory=PolicyDocument)


@check(name="nameplug.x", title="T", version="1", needs=["sysctl"], params=Params, severity="high",
       controls=["CM-6"], rationale="r", remediation="m")
def x(snapshot, params):
    return [passed("a", "b")]
"""

WAIVER = {"rule": "r", "reason": "accepted", "approver": "Alice", "expires": "2099-01-01"}


def _policy(params: dict, **top: object) -> dict:
    return {"id": "t", "version": "1", "owner": "Security", **top,
            "rules": [{"id": "r", "check": "nameplug.x", "params": params}]}


def test_the_policy_schema_holds_lbaudit_models_and_the_plugins_of_one_name(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "nameplug", PLUGIN, "[lbaudit.checks]\nnameplug = nameplug\n")
    run = run_cli("schema", "policy")
    assert run.returncode == 0, run.stderr
    validator = jsonschema.Draft202012Validator(json.loads(run.stdout))
    assert not list(validator.iter_errors(_policy({"rule": {"depth": 2}, "waiver": {"days": 3}},
                                                  waivers=[WAIVER])))
    # the plugin's models and lbaudit's, each where it belongs
    assert list(validator.iter_errors(_policy({"rule": {"check": "x"}})))
    assert list(validator.iter_errors(_policy({"waiver": {"reason": "x"}})))
    assert list(validator.iter_errors(_policy({}, waivers=[{**WAIVER, "subject": None}])))
    assert list(validator.iter_errors(_policy({}, extends=None)))
    assert list(validator.iter_errors({**_policy({}), "rules": [{"id": "r", "check": "nameplug.x", "controls": ["X-1"]}]}))
