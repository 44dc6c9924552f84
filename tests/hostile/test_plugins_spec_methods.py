"""A plugin's ``CheckSpec`` subclass overriding ``unsupported_reason``, the engine's question whether
the check judges this host's platform.

The engine asked the spec itself, before the check's handlers and time limit: an override that
raised, or returned a reason that is not text, ended ``evaluate`` with exit 70 and no evidence, and
the text one returned went into the evidence as the not_applicable reason, unescaped (ESC and all).
The platforms a check judges are those it declares, which the registry checks; the engine now reads
them by CheckSpec's own method, so the check is judged on a host of a platform it declares, and is
not_applicable on any other with the engine's own reason.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
NON_COMPLIANT, INCOMPLETE = 1, 3

PLUGIN = """
from dataclasses import fields

from auditor.model.check import CheckParams, CheckSpec, check, failed


class Params(CheckParams):
    pass


@check(name="specplug.base", title="A plugin check", version="1", needs=["sysctl"], params=Params, severity="high",
       controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def base(snapshot, params):
    return [failed("listener 0", "judged")]


class Raises(CheckSpec):
    def unsupported_reason(self, platform):
        raise RuntimeError("no reason")


class Number(CheckSpec):
    def unsupported_reason(self, platform):
        return 5


class Escape(CheckSpec):
    def unsupported_reason(self, platform):
        return "\\x1b[2Jnot here"


def _like_base(kind, name, **changed):
    return kind(**{f.name: getattr(base, f.name) for f in fields(CheckSpec)} | {"name": name, **changed})


raises = _like_base(Raises, "specplug.raises")
number = _like_base(Number, "specplug.number")
escape = _like_base(Escape, "specplug.escape")
escape_macos = _like_base(Escape, "specplug.escape_macos", platforms=("macos",))
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "specplug", PLUGIN, "[lbaudit.checks]\nspecplug = specplug\n")
    yield
    sys.modules.pop("specplug", None)


def _findings(tmp_path: Path, check: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: {check}\n",
                      encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence)
    findings = json.loads(evidence.read_bytes())["result"]["findings"] if evidence.exists() else None
    return run, findings


@pytest.mark.parametrize("check", ["specplug.raises", "specplug.number", "specplug.escape"])
def test_a_spec_overriding_the_platform_question_is_judged_on_a_platform_it_declares(plugin, tmp_path, check):
    # before: exit 70 (raises, number), or not_applicable "\x1b[2Jnot here" in the evidence (escape)
    run, findings = _findings(tmp_path, check)
    assert run.returncode == NON_COMPLIANT, run.stderr
    assert [(f["status"], f["subject"], f["message"]) for f in findings] == [("fail", "listener 0", "judged")]


def test_control_case_a_check_declared_for_another_platform_is_not_applicable_with_the_engines_reason(plugin, tmp_path):
    run, findings = _findings(tmp_path, "specplug.escape_macos")
    assert run.returncode == INCOMPLETE, run.stderr  # nothing judged
    assert [(f["status"], f["subject"], f["reason"]) for f in findings] == [
        ("not_applicable", "platform linux",
         "specplug.escape_macos judges macOS hosts only; these facts are from a Linux host, where what it checks "
         "has no equivalent")]
