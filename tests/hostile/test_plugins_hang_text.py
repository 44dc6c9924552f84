"""A plugin's code that the engine ran after the check's time limit: the ``__str__`` of what the
check raised, and the ``repr`` of what it returned instead of a valid outcome.

The engine quotes both in the check's error finding, but made that text after the limit
(``PLUGIN_CHECK_SECONDS``, shortened here) had been lifted: an exception whose ``__str__`` never
returned, or an outcome whose status's ``repr`` never returned, held ``lbaudit evaluate`` forever.
Now a plugin's check is judged whole under its limit: the finding says the text could not be made,
and the next rule is judged.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from auditor.engine import time_limit
from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
INCOMPLETE = 3
LIMIT = 0.5

PLUGIN = """
from auditor.model.check import CheckParams, Outcome, check, passed


class Params(CheckParams):
    mode: str


class EndlessText(Exception):
    def __str__(self):
        while True:
            pass


class EndlessRepr:
    def __repr__(self):
        while True:
            pass


@check(name="textplug.x", title="A plugin whose text never ends", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    if params.mode == "str":
        raise EndlessText()
    if params.mode == "repr":
        return [Outcome.model_construct(status=EndlessRepr(), subject="listener 0", message="fine")]
    return [passed("listener 0", "fine")]
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "textplug", PLUGIN, "[lbaudit.checks]\ntextplug = textplug\n")
    monkeypatch.setattr(time_limit, "PLUGIN_CHECK_SECONDS", LIMIT)
    yield
    sys.modules.pop("textplug", None)


@pytest.mark.parametrize("mode, reason", [
    ("str", f"EndlessText: (its text could not be made: CheckTimedOut: the check ran longer than {LIMIT:g} s and "
            "was stopped)"),
    ("repr", "check textplug.x (plugin textplug 1.0) returned an outcome with status an EndlessRepr whose repr "
             "raised"),
])
def test_a_plugin_text_that_never_ends_is_cut_by_the_checks_time_limit(plugin, tmp_path, mode, reason):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: textplug.x\n"
                      f"    params: {{mode: {mode}}}\n  - id: fin\n    check: net.time_wait\n"
                      "    params: {max_fin_timeout: 60}\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    started = time.monotonic()
    # before: held forever (here: run_cli's own alarm after 60 s, a failure)
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence, timeout=60)
    assert time.monotonic() - started < 30
    assert run.returncode == INCOMPLETE, run.stderr
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    assert [(f["rule_id"], f["status"], f["subject"], f["reason"]) for f in findings][0] == (
        "x", "error", "check textplug.x", reason)
    assert ("fin", "pass") in {(f["rule_id"], f["status"]) for f in findings}
