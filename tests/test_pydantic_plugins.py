"""lbaudit's commands validate their models without pydantic's plugins, and without the scan of
every installed distribution that looking them up costs (issue 16), leaving the caller's
environment as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.plugins import PYDANTIC_PLUGINS_ENV, without_pydantic_plugins
from tests.cli import run_cli

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE_ROOT = REPO_ROOT / "tests" / "fixtures" / "roots" / "audit-rules"

# A fresh interpreter runs one command and prints which entry-point groups were looked up
# (importlib.metadata.entry_points, which pydantic's loader and auditor.plugins both call).
COUNTING_RUN = """\
import importlib.metadata, json, sys
asked = []
real = importlib.metadata.entry_points
def entry_points(**kw):
    asked.append(kw.get("group"))
    return real(**kw)
importlib.metadata.entry_points = entry_points
from auditor.cli import run
code = run({args!r})
print(json.dumps([code, asked]))
"""


def _groups_asked(args: list[str], autoload_disabled: str, tmp_path: Path) -> tuple[int, list[str]]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": autoload_disabled}
    proc = subprocess.run([sys.executable, "-c", COUNTING_RUN.format(args=args)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)  # (cwd: not the checkout, so PYTHONPATH's is imported)
    code, asked = json.loads(proc.stdout.strip().splitlines()[-1])
    return code, asked


@pytest.mark.slow  # child interpreters (what they look up is the point)
@pytest.mark.parametrize("autoload_disabled", ["1", ""])
def test_evaluate_and_validate_never_look_up_pydantic_plugins_and_keep_lbaudit_plugin_discovery(tmp_path,
                                                                                                 autoload_disabled):
    policy = str(REPO_ROOT / "policies" / "corp.yaml")
    evaluate = ["evaluate", "--policy", policy, "--root", str(FIXTURE_ROOT), "-q", "-o", str(tmp_path / "e.json")]
    code, asked = _groups_asked(evaluate, autoload_disabled, tmp_path)
    assert code in (0, 1, 3) and (tmp_path / "e.json").is_file()
    assert "pydantic" not in asked
    # lbaudit's own plugins are still discovered when autoload is on, and not looked up when it is off
    assert ("lbaudit.checks" in asked) is (autoload_disabled == "")
    code, asked = _groups_asked(["validate", policy], autoload_disabled, tmp_path)
    assert code == 0 and "pydantic" not in asked


def test_a_command_puts_the_callers_pydantic_setting_back(monkeypatch, tmp_path):
    monkeypatch.delenv(PYDANTIC_PLUGINS_ENV, raising=False)
    result = run_cli("validate", REPO_ROOT / "policies" / "corp.yaml")
    assert result.returncode == 0 and PYDANTIC_PLUGINS_ENV not in os.environ
    monkeypatch.setenv(PYDANTIC_PLUGINS_ENV, "some_plugin")
    result = run_cli("validate", tmp_path / "missing.yaml")  # exit 2 also restores it
    assert result.returncode == 2 and os.environ[PYDANTIC_PLUGINS_ENV] == "some_plugin"


def test_pydantic_plugins_are_off_inside_and_restored_after_an_exception(monkeypatch):
    monkeypatch.setenv(PYDANTIC_PLUGINS_ENV, "mine")
    with pytest.raises(RuntimeError), without_pydantic_plugins():
        assert os.environ[PYDANTIC_PLUGINS_ENV] == "__all__"
        raise RuntimeError("a command failing part way")
    assert os.environ[PYDANTIC_PLUGINS_ENV] == "mine"
