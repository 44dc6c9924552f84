"""A plugin check that calls ``sys.exit(0)`` (or raises any BaseException that is not a signal of the
user's) cannot end the run with exit 0: ``except Exception`` let ``SystemExit`` through the engine,
and a plugin's ``sys.exit(0)`` ended ``lbaudit evaluate`` with status 0, no finding and no evidence,
which a release gate reads as COMPLIANT.  It is an ``error`` finding naming the check, exit 3.

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

PLUGIN = """
import sys

from auditor.model.check import CheckParams, check


class Params(CheckParams):
    code: int


@check(name="exitplug.quit", title="A plugin that exits", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def quit_(snapshot, params):
    sys.exit(params.code)
    yield
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "exitplug", PLUGIN, "[lbaudit.checks]\nexitplug-checks = exitplug\n")
    yield
    sys.modules.pop("exitplug", None)


@pytest.mark.parametrize("code", [0, 1])
def test_a_plugin_check_calling_sys_exit_is_an_error_finding_not_the_runs_exit(plugin, tmp_path, code):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: quit\n    check: exitplug.quit\n"
                      f"    params: {{code: {code}}}\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence)
    assert run.returncode == 3, run.stderr
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    assert [(f["status"], f["subject"]) for f in findings] == [("error", "check exitplug.quit")]
    assert findings[0]["reason"] == f"SystemExit: {code}"


def test_a_plugin_calling_sys_exit_at_import_is_a_loud_registry_error(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "importexitplug.py").write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    info = site / "importexitplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: importexitplug\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[lbaudit.checks]\nimportexit = importexitplug\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    try:
        run = run_cli("list-checks")
    finally:
        sys.modules.pop("importexitplug", None)
    assert run.returncode == 2, run.stderr
    assert "plugin entry point 'importexit' (importexitplug) of plugin importexitplug 1.0 failed to load: 0" in run.stderr
