"""A plugin check declaring text of megabytes.

A check's title, version, rationale and remediation are recorded in the evidence for every run that
uses it (its check record: the code that judged is evidence too), and from there in SARIF and HDF;
the registry checked their characters (tests/hostile/test_plugins_declarations.py) but not their
length.  A plugin declaring a rationale and a remediation of 20 MB each made a passing run's evidence
40 MB, its SARIF 60 MB and its HDF 40 MB (11 s, 370 MB of memory), and ten times that, ten times as
much.  Now a declared one-line field (name, title, version) may be at most
``MAX_DECLARED_LINE_CHARS`` (16,384) characters and a multi-line one (rationale, remediation, notes)
at most ``MAX_DECLARED_TEXT_CHARS`` (262,144, fifteen times the longest of the built-in checks'):
longer, the registry refuses the plugin (exit 2) saying which field and how long, for every command.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

PLUGIN = """
import os

from auditor.model.check import CheckParams, check, passed

FIELD, SIZE = os.environ["SIZEPLUG_FIELD"], int(os.environ["SIZEPLUG_SIZE"])
declared = dict(name="sizeplug.x", title="A plugin", version="1", rationale="A test plugin.", remediation="None.",
                notes="")
declared[FIELD] = "sizeplug." + "w" * (SIZE - 9) if FIELD == "name" else "w" * SIZE


@check(needs=["sysctl"], params=CheckParams, severity="high", controls=["CM-6"], **declared)
def x(snapshot, params):
    yield passed("a", "finished")
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "sizeplug", PLUGIN, "[lbaudit.checks]\nsizeplug = sizeplug\n")


@pytest.mark.parametrize("field, size", [("title", 16_385), ("version", 16_385), ("name", 16_385), ("rationale", 262_145),
                                         ("remediation", 20_000_000), ("notes", 262_145)])
def test_declared_text_longer_than_the_bound_is_refused(plugin, field: str, size: int) -> None:
    result = run_cli("list-checks", env={"SIZEPLUG_FIELD": field, "SIZEPLUG_SIZE": str(size)})
    assert result.returncode == 2, result.stderr
    assert f"declares a {field} of {size:,} characters" in result.stderr, result.stderr
    assert len(result.stderr) < 5000  # the text is not quoted


@pytest.mark.parametrize("field, size", [("title", 16_384), ("rationale", 262_144), ("notes", 262_144)])
def test_control_case_declared_text_at_the_bound_is_loaded(plugin, field: str, size: int) -> None:
    result = run_cli("list-checks", env={"SIZEPLUG_FIELD": field, "SIZEPLUG_SIZE": str(size)})
    assert result.returncode == 0, result.stderr
    assert "sizeplug." in result.stdout
