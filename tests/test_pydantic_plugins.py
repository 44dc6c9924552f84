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

# A fresh interpreter runs one command and prints which entry-point groups were looked up: by
# importlib.metadata.entry_points (which pydantic's loader calls) or by auditor.plugins' one lookup of
# installed declarations (which asks importlib.metadata only when a distribution names the group).
COUNTING_RUN = """\
import importlib.metadata, json, sys
import auditor.plugins
asked = []
real = importlib.metadata.entry_points
def entry_points(**kw):
    asked.append(kw.get("group"))
    return real(**kw)
importlib.metadata.entry_points = entry_points
declared = auditor.plugins._declared
def lbaudit_declared(group):
    asked.append(group)
    return declared(group)
auditor.plugins._declared = lbaudit_declared
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


# A fresh interpreter runs one command with lbaudit's plugins off and prints whether it imported
# importlib.metadata, and what pydantic's plugin loader was in sys.modules while the command ran.
IMPORTS_RUN = """\
import json, sys
from auditor.cli import run
code = run({args!r})
print(json.dumps([code, "importlib.metadata" in sys.modules]))
"""


@pytest.mark.slow  # child interpreters (what they import is the point)
def test_evaluate_and_validate_with_plugins_off_do_not_import_importlib_metadata(tmp_path):
    """pydantic imports its plugin loader (and with it importlib.metadata, email, zipfile: ~57 M
    instructions) to build each validator; with every plugin off the stand-in answers () instead."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    policy = str(REPO_ROOT / "policies" / "corp.yaml")
    for args in (["evaluate", "--policy", policy, "--root", str(FIXTURE_ROOT), "-q", "-o", str(tmp_path / "e.json")],
                 ["validate", policy]):
        proc = subprocess.run([sys.executable, "-c", IMPORTS_RUN.format(args=args)], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)
        code, imported = json.loads(proc.stdout.strip().splitlines()[-1])
        assert code in (0, 1, 3) and imported is False, (args[0], code, proc.stderr[-2000:])


def test_pydantic_asks_the_loader_module_the_stand_in_replaces_and_answers_as_it_does():
    """The stand-in is only safe while pydantic keeps this shape: if any of these fail, pydantic
    changed how it finds plugins, and auditor/plugins.py's stand-in must follow it (or go)."""
    import inspect

    import pydantic.plugin._loader as real_loader
    import pydantic.plugin._schema_validator as schema_validator

    from auditor import plugins

    # pydantic looks the loader up by module name each time it builds a validator ...
    assert "from ._loader import get_plugins" in inspect.getsource(schema_validator.create_schema_validator)
    assert plugins._PYDANTIC_PLUGIN_LOADER == real_loader.__name__
    # ... and its get_plugins returns () for exactly the values the stand-in answers () for, reading
    # the variable at each call.
    source = inspect.getsource(real_loader.get_plugins)
    assert "os.getenv('PYDANTIC_DISABLE_PLUGINS')" in source
    assert f"disabled_plugins in {plugins._PYDANTIC_PLUGINS_ALL_OFF!r}" in source.replace('"', "'")
    with without_pydantic_plugins():
        assert tuple(real_loader.get_plugins()) == () == plugins._stand_in_get_plugins()


def test_the_stand_in_hands_anything_else_to_pydantics_loader(monkeypatch):
    import pydantic.plugin._loader as real_loader

    from auditor import plugins

    stand_in = plugins._PLUGIN_LOADER_STAND_IN
    # The import system asks a module in sys.modules for __path__: no import, no answer.
    with pytest.raises(AttributeError):
        stand_in.__path__  # noqa: B018
    assert stand_in.PYDANTIC_ENTRY_POINT_GROUP == real_loader.PYDANTIC_ENTRY_POINT_GROUP
    # A value naming plugins to leave out is the real loader's to answer (it scans).
    monkeypatch.setenv(PYDANTIC_PLUGINS_ENV, "some_plugin")
    assert list(stand_in.get_plugins()) == list(real_loader.get_plugins())
    assert sys.modules[plugins._PYDANTIC_PLUGIN_LOADER] is real_loader


def test_a_model_built_under_the_stand_in_validates_as_without_it(tmp_path):
    """In a fresh interpreter: the stand-in is what pydantic finds while plugins are off, a model
    built then validates, and afterwards pydantic's own loader is imported on demand as before."""
    code = """\
import sys, pydantic
from auditor import plugins
with plugins.without_pydantic_plugins():
    assert sys.modules["pydantic.plugin._loader"] is plugins._PLUGIN_LOADER_STAND_IN
    class M(pydantic.BaseModel):
        x: int
    assert M(x=1).x == 1 and "importlib.metadata" not in sys.modules
assert "pydantic.plugin._loader" not in sys.modules
class N(pydantic.BaseModel):
    y: int
assert N(y=2).y == 2 and sys.modules["pydantic.plugin._loader"] is not plugins._PLUGIN_LOADER_STAND_IN
print("ok")
"""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=60)
    assert proc.stdout == "ok\n", proc.stderr
