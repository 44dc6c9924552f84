"""A reporter plugin cannot decide the exit status of ``evaluate``.

A reporter plugin's ``sys.exit(0)`` while rendering ended ``lbaudit evaluate`` with status 0 after
the evidence of a non-compliant host was written (the release gate read compliant), and any
exception it raised was "internal error in lbaudit" (exit 70).  Now a reporter plugin that fails or
renders something other than bytes is exit 2 naming its format, and the run's files are put back
as for any failed run.  The plugin is a real installed distribution on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "audit-rules"  # corp.yaml fails there: exit 1

PLUGIN = """
import os
import sys

from auditor.report import Reporter


def _render(evidence, context):
    mode = os.environ["REPPLUG_MODE"]
    if mode == "exit0":
        sys.exit(0)
    if mode == "exit1":
        sys.exit(1)
    if mode == "raise":
        raise ValueError("boom from the plugin")
    if mode == "text":
        return "not bytes"
    if mode == "none":
        return None
    return b"rendered by the plugin"


REPORTER = Reporter(name="quitter", extension=".txt", description="a hostile reporter", render=_render)
"""


@pytest.fixture
def reporter_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "repplug", PLUGIN, "[lbaudit.reporters]\nquitter = repplug:REPORTER\n")


@pytest.mark.parametrize(("mode", "why"), [
    ("exit0", "SystemExit: 0"),
    ("exit1", "SystemExit: 1"),
    ("raise", "ValueError: boom from the plugin"),
    ("text", "rendered str, not bytes"),
    ("none", "rendered NoneType, not bytes"),
])
def test_a_failing_reporter_plugin_is_exit_2_naming_it_and_writes_nothing(reporter_plugin, tmp_path: Path,
                                                                         mode: str, why: str) -> None:
    evidence, out_dir = tmp_path / "e.json", tmp_path / "out"
    result = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output", evidence,
                     "--format", "quitter", "--out-dir", out_dir, "-q", env={"REPPLUG_MODE": mode})
    assert result.returncode == 2, result.stderr
    assert "report format 'quitter' (a reporter plugin)" in result.stderr and why in result.stderr
    assert "internal error" not in result.stderr
    assert not evidence.exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_report_from_evidence_with_a_failing_reporter_plugin_is_exit_2(reporter_plugin, tmp_path: Path) -> None:
    evidence = tmp_path / "e.json"
    made = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output", evidence, "-q")
    assert made.returncode == 1, made.stderr
    result = run_cli("report", evidence, "--format", "quitter", "--out-dir", tmp_path / "out",
                     env={"REPPLUG_MODE": "exit0"})
    assert result.returncode == 2, result.stderr
    assert "report format 'quitter' (a reporter plugin) failed to render: SystemExit: 0" in result.stderr


def test_control_case_a_working_reporter_plugin_renders_and_the_verdict_stands(reporter_plugin, tmp_path: Path) -> None:
    evidence, out_dir = tmp_path / "e.json", tmp_path / "out"
    result = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output", evidence,
                     "--format", "quitter", "--out-dir", out_dir, "-q", env={"REPPLUG_MODE": "ok"})
    assert result.returncode == 1, result.stderr
    assert [p.read_bytes() for p in out_dir.iterdir()] == [b"rendered by the plugin"]
