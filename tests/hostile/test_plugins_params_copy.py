"""A plugin check that changes the params it is given.

A plugin's check judged a copy of the facts, but its params were validated from the policy without
a copy of their values: a field typed ``Any`` held the policy's own list, and a plugin that appended
to it changed the policy the evidence records (``["loopback", "any"]`` where the file says
``["loopback"]``) and its ``policy_sha256``, so the evidence no longer matched the policy it names.
Now a plugin's check gets a deep copy of its params too.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from auditor.engine.evidence import policy_digest
from auditor.engine.registry import load_registry
from auditor.policy.loader import load_policy
from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"

PLUGIN = """
from typing import Any

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    shared: Any = None


@check(name="paramplug.x", title="A plugin changing its params", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    seen = [list(params.shared["allow"]), dict(params.shared["limits"])]
    params.shared["allow"].append("any")
    params.shared["limits"]["max"] = 0
    return [passed("its params", "seen", observed=seen)]
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "paramplug", PLUGIN, "[lbaudit.checks]\nparamplug = paramplug\n")
    yield
    sys.modules.pop("paramplug", None)


def test_a_plugin_changing_its_params_changes_neither_the_recorded_policy_nor_a_later_rule(plugin, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: plugged\nversion: '1'\nowner: T\nrules:\n"
                      "  - id: first\n    check: paramplug.x\n"
                      "    params: {shared: {allow: [loopback], limits: {max: 5}}}\n"
                      "  - id: second\n    check: paramplug.x\n"
                      "    params: {shared: {allow: [loopback], limits: {max: 5}}}\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence)
    assert run.returncode == 0, run.stderr
    recorded = json.loads(evidence.read_bytes())
    # before: [{'allow': ['loopback', 'any'], 'limits': {'max': 0}}] * 2, and another digest
    assert [r["params"] for r in recorded["policy"]["rules"]] == [
        {"shared": {"allow": ["loopback"], "limits": {"max": 5}}}] * 2
    assert recorded["policy_sha256"] == policy_digest(load_policy(policy, load_registry()))
    assert [f["observed"] for f in recorded["result"]["findings"]] == [[["loopback"], {"max": 5}]] * 2
