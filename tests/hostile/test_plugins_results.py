"""What a plugin check returns instead of a list of outcomes, and what it raises that cannot be read.

A check is a function returning an iterable of outcomes, and a plugin may also hand the registry a
``CheckSpec`` subclass whose ``run`` it wrote.  The engine iterated what ``run`` returned outside its
``try`` and outside the plugin's time limit: an ``int`` (not iterable) or a generator that raised
midway ended ``evaluate`` with exit 70 and no evidence, and one that blocked midway held the run
forever.  A single outcome, a string or a mapping was iterated as if it were the list: an outcome
returned bare became nine error findings "returned a tuple" (its fields), and 10 MB of text returned
by mistake ten million.  An exception whose text cannot be made (its ``__str__`` raises) was exit 70.
Now what a plugin's check returns is made a list inside the ``try`` and the time limit, anything
but an iterable of outcomes is one ``error`` finding saying what it was, the values of a list that
are not outcomes are one ``error`` finding counting them, and the run is incomplete (exit 3) unless
something fails (exit 1).

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
NON_COMPLIANT, INCOMPLETE = 1, 3

PLUGIN = """
import time
from dataclasses import fields

from auditor.model.check import CheckParams, CheckSpec, Outcome, check, failed, passed


class Params(CheckParams):
    mode: str


class Unreadable(Exception):
    def __str__(self):
        raise RuntimeError("no text")


class NoRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


@check(name="resultplug.x", title="A plugin returning odd things", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    mode = params.mode
    if mode == "str":
        return "A" * 10_000_000
    if mode == "outcome":
        return passed("a", "one outcome, not a list of it")
    if mode == "dict":
        return {"status": "pass", "subject": "a", "message": "m"}
    if mode == "none":
        return None
    if mode == "values":
        return [1, None, passed("a", "fine"), "text"]
    if mode == "unreadable":
        raise Unreadable()
    if mode == "status-without-repr":
        return [Outcome.model_construct(status=NoRepr(), subject="a", message="m")]
    return [passed("a", "fine")]


class Overridden(CheckSpec):
    \"\"\"A check whose run is the plugin's own.\"\"\"

    def run(self, snapshot, params):
        mode = params.mode
        if mode == "int":
            return 42
        if mode == "midway":
            return self._midway()
        if mode == "blocks":
            return self._blocks()
        return [passed("a", "fine")]

    def _midway(self):
        yield failed("a", "judged before the error")
        raise RuntimeError("midway")

    def _blocks(self):
        yield passed("a", "judged before the wait")
        time.sleep(3600)


overridden = Overridden(**{f.name: getattr(x, f.name) for f in fields(CheckSpec)} | {"name": "resultplug.own"})
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "resultplug", PLUGIN,
                   "[lbaudit.checks]\nresultplug = resultplug\n")
    monkeypatch.setattr(time_limit, "PLUGIN_CHECK_SECONDS", 1.0)
    yield
    sys.modules.pop("resultplug", None)


def _evaluate(tmp_path: Path, check: str, mode: str) -> tuple[int, list[dict], str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: {check}\n"
                      f"    params: {{mode: {mode}}}\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence, timeout=60)
    findings = json.loads(evidence.read_bytes())["result"]["findings"] if evidence.exists() else []
    return run.returncode, [(f["status"], f["subject"], f["reason"]) for f in findings], run.stderr


@pytest.mark.parametrize("check, mode, reason", [
    # before: 70, TypeError: 'int' object is not iterable
    ("resultplug.own", "int", "check resultplug.own (plugin resultplug 1.0) returned an int, not a list of outcomes"),
    # before: ten million error findings, one a character
    ("resultplug.x", "str", "check resultplug.x (plugin resultplug 1.0) returned a str, not a list of outcomes"),
    # before: nine error findings "returned a tuple, not an Outcome" (its fields)
    ("resultplug.x", "outcome",
     "check resultplug.x (plugin resultplug 1.0) returned an Outcome, not a list of outcomes"),
    ("resultplug.x", "dict", "check resultplug.x (plugin resultplug 1.0) returned a dict, not a list of outcomes"),
    # before: "TypeError: 'NoneType' object is not iterable"
    ("resultplug.x", "none", "check resultplug.x (plugin resultplug 1.0) returned a NoneType, not a list of outcomes"),
])
def test_a_plugin_check_returning_no_list_of_outcomes_is_one_error_finding_saying_what_it_returned(
        plugin, tmp_path, check, mode, reason):
    code, findings, stderr = _evaluate(tmp_path, check, mode)
    assert code == INCOMPLETE, stderr
    assert findings == [("error", f"check {check}", reason)]


def test_a_plugin_run_that_raises_midway_is_an_error_finding(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "resultplug.own", "midway")
    assert code == INCOMPLETE, stderr  # before: 70, RuntimeError: midway, no evidence
    assert findings == [("error", "check resultplug.own", "RuntimeError: midway")]


def test_a_plugin_run_that_blocks_midway_is_stopped_by_the_time_limit(plugin, tmp_path):
    started = time.monotonic()
    code, findings, stderr = _evaluate(tmp_path, "resultplug.own", "blocks")
    assert code == INCOMPLETE, stderr  # before: the run held until the test's own alarm (Hang)
    assert time.monotonic() - started < 30
    assert [(status, subject) for status, subject, _ in findings] == [("error", "check resultplug.own")]
    assert findings[0][2] == "the check ran longer than 1 s and was stopped"


def test_the_values_of_a_list_that_are_not_outcomes_are_one_error_finding_counting_them(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "resultplug.x", "values")
    assert code == INCOMPLETE, stderr
    # before: three error findings, one a value ("returned a int, not an Outcome")
    assert findings == [
        ("error", "check resultplug.x",
         "check resultplug.x (plugin resultplug 1.0) returned 3 values that are not valid outcomes; the first: "
         "an int, not an Outcome"),
        ("pass", "a", None),
    ]


def test_an_exception_whose_text_cannot_be_made_is_an_error_finding(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "resultplug.x", "unreadable")
    assert code == INCOMPLETE, stderr  # before: 70, RuntimeError: no text, raised by the handler
    assert findings == [("error", "check resultplug.x",
                         "Unreadable: (its text could not be made: RuntimeError: no text)")]


def test_an_outcome_whose_status_has_no_repr_is_an_error_finding(plugin, tmp_path):
    code, findings, stderr = _evaluate(tmp_path, "resultplug.x", "status-without-repr")
    assert code == INCOMPLETE, stderr  # before: 70, RuntimeError: no repr, raised naming the invalid outcome
    assert findings == [("error", "check resultplug.x", "check resultplug.x (plugin resultplug 1.0) returned an "
                         "outcome with status a NoRepr whose repr raised")]


@pytest.mark.parametrize("check", ["resultplug.x", "resultplug.own"])
def test_control_case_a_plugin_returning_a_list_of_outcomes_is_judged(plugin, tmp_path, check):
    code, findings, stderr = _evaluate(tmp_path, check, "list")
    assert code == 0, stderr
    assert findings == [("pass", "a", None)]
