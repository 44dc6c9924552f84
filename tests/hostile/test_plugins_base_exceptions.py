"""A plugin that raises a BaseException which is not the user's stop, or returns an object that
cannot be read.

The engine caught ``Exception`` and ``SystemExit`` of a plugin's code and let every other
BaseException through: a check (or its generator, or the ``__str__`` of what it raised) raising
``GeneratorExit`` or a bare ``BaseException`` ended ``lbaudit evaluate`` with a Python traceback,
exit 1 (the code of non-compliance) and no evidence; a reporter plugin doing so, the same after the
evidence was written.  A returned object whose ``__class__`` raises (``isinstance`` reads it) was
exit 70.  A ``KeyboardInterrupt`` a check raised itself ended the run as the user's Ctrl-C (exit
130, "interrupted", nothing written) every time.  Now each is that check's ``error`` finding (or
the reporter's exit 2) naming what it raised, the other rules are judged, and the run is incomplete
(exit 3).  Ctrl-C and SIGTERM stay the user's: a real SIGINT while a plugin's check runs stops the
run (exit 130) with nothing written, as before.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
INCOMPLETE, USAGE, INTERRUPTED = 3, 2, 130

PLUGIN = """
import os
import time

from auditor.model.check import CheckParams, check, passed
from auditor.report import Reporter


class Params(CheckParams):
    mode: str


class TextRaises(Exception):
    def __str__(self):
        raise GeneratorExit("no text")


class ClassRaises:
    @property
    def __class__(self):
        raise RuntimeError("no class")


def _stops_midway():
    yield passed("listener 0", "fine")
    raise GeneratorExit("midway")


@check(name="baseplug.x", title="A plugin raising BaseExceptions", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    mode = params.mode
    if mode == "generator-exit":
        raise GeneratorExit("from the check")
    if mode == "base-exception":
        raise BaseException("from the check")
    if mode == "midway":
        return _stops_midway()
    if mode == "text-raises":
        raise TextRaises()
    if mode == "class-raises":
        return [ClassRaises()]
    if mode == "keyboard-interrupt":
        raise KeyboardInterrupt("from the check")
    if mode == "sleep":  # until the test's Ctrl-C
        open(os.environ["BASEPLUG_STARTED"], "w").close()
        time.sleep(60)
    return [passed("listener 0", "fine")]


def _render(evidence, context):
    raise GeneratorExit("from the reporter")


REPORTER = Reporter(name="exiter", extension=".txt", description="a hostile reporter", render=_render)
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "baseplug", PLUGIN,
                   "[lbaudit.checks]\nbaseplug = baseplug\n[lbaudit.reporters]\nexiter = baseplug:REPORTER\n")
    yield
    sys.modules.pop("baseplug", None)


def _evaluate(tmp_path: Path, mode: str, *extra: object):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: baseplug.x\n"
                      f"    params: {{mode: {mode}}}\n  - id: fin\n    check: net.time_wait\n"
                      "    params: {max_fin_timeout: 60}\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence, *extra)
    findings = json.loads(evidence.read_bytes())["result"]["findings"] if evidence.exists() else None
    return run, evidence, findings


@pytest.mark.parametrize("mode, reason", [
    ("generator-exit", "GeneratorExit: from the check"),
    ("base-exception", "BaseException: from the check"),
    ("midway", "GeneratorExit: midway"),
    ("text-raises", "TextRaises: (its text could not be made: GeneratorExit: no text)"),
    ("class-raises", "check baseplug.x (plugin baseplug 1.0) returned a ClassRaises, not an Outcome"),
])
def test_a_base_exception_of_a_plugin_check_is_its_error_finding_and_the_other_rules_are_judged(
        plugin, tmp_path, mode, reason):
    # before: a traceback and exit 1 (class-raises: exit 70), no evidence
    run, _, findings = _evaluate(tmp_path, mode)
    assert run.returncode == INCOMPLETE, run.stderr
    assert "Traceback" not in run.stderr
    assert findings is not None
    assert [(f["rule_id"], f["status"], f["subject"], f["reason"]) for f in findings][0] == (
        "x", "error", "check baseplug.x", reason)
    assert ("fin", "pass", "sysctl net.ipv4.tcp_fin_timeout") in {(f["rule_id"], f["status"], f["subject"])
                                                                  for f in findings}


def test_a_reporter_plugin_raising_generator_exit_is_exit_2_naming_it_and_writes_nothing(plugin, tmp_path):
    out_dir = tmp_path / "out"
    run, evidence, _ = _evaluate(tmp_path, "fine", "--format", "exiter", "--out-dir", out_dir)
    assert run.returncode == USAGE, run.stderr
    assert ("report format 'exiter' (a reporter plugin) failed to render: GeneratorExit: from the reporter; "
            "nothing was written") in run.stderr
    assert "Traceback" not in run.stderr
    assert not evidence.exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())


def _process(tmp_path: Path, mode: str, **env: str) -> subprocess.Popen:
    """``lbaudit evaluate`` as a real process: its own signal handlers, as the command has them."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: baseplug.x\n"
                      f"    params: {{mode: {mode}}}\n", encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{REPO}", **env}
    environment.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
    return subprocess.Popen([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy), "--target",
                             f"root:{ROOT}", "-q", "-o", str(tmp_path / "evidence.json")], cwd=tmp_path,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_keyboard_interrupt_a_plugin_check_raises_is_its_error_finding(plugin, tmp_path):
    # before: exit 130 "interrupted" and no evidence, as if the user had pressed Ctrl-C
    process = _process(tmp_path, "keyboard-interrupt")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == INCOMPLETE, stderr
    findings = json.loads((tmp_path / "evidence.json").read_bytes())["result"]["findings"]
    assert [(f["status"], f["subject"], f["reason"]) for f in findings] == [
        ("error", "check baseplug.x", "KeyboardInterrupt: from the check")]


def test_control_case_ctrl_c_while_a_plugin_check_runs_stops_the_run(plugin, tmp_path):
    started = tmp_path / "started"
    process = _process(tmp_path, "sleep", BASEPLUG_STARTED=str(started))
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), process.communicate(timeout=10)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == INTERRUPTED, stderr
    assert not (tmp_path / "evidence.json").exists()
