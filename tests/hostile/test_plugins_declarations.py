"""A plugin check's declared text and severity, as list-checks and explain print them.

``severity="high"`` (a plain str, as a plugin author writes it) passed the registry but ended
``lbaudit explain`` and ``list-checks`` with exit 70 (``'str' object has no attribute 'value'``): the
registry now hands every reader the enum.  A title, rationale, ... holding ESC (an ANSI sequence that
clears or retitles the terminal, or paints a fake PASS), other control characters, bidi controls, a
newline in a one-line field, or a value that is not text is refused by the registry (exit 2, repr'd).

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import sys

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

PLUGIN = """
from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    pass


@check(name="declplug2.x", title={title}, version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale={rationale}, remediation="None.")
def x(snapshot, params):
    yield passed("a", "ok")
"""


def _install(tmp_path, monkeypatch, title: str, rationale: str) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "declplug2", PLUGIN.format(title=title, rationale=rationale),
                   "[lbaudit.checks]\ndeclplug2 = declplug2\n")


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("declplug2", None)


@pytest.mark.parametrize("command", [("explain", "declplug2.x"), ("list-checks",)])
def test_a_plugin_severity_declared_as_plain_text_is_not_an_internal_error(tmp_path, monkeypatch, command):
    _install(tmp_path, monkeypatch, '"A plugin"', '"Why.\\nMore."')
    run = run_cli(*command)
    assert run.returncode == 0, run.stderr
    assert "declplug2.x" in run.stdout
    assert "high" in run.stdout.lower()


@pytest.mark.parametrize("title, rationale, problem", [
    ('"Evil \\x1b[2J title"', '"Why."', "declares a title with control characters: 'Evil \\x1b[2J title'"),
    ('"Two\\nlines"', '"Why."', "declares a title with control characters: 'Two\\nlines'"),
    ('"Bidi \\u202e"', '"Why."', "declares a title with control characters: 'Bidi \\u202e'"),
    ('"A plugin"', '"ok\\n\\x1b[32mPASS"', "declares a rationale with control characters: 'ok\\n\\x1b[32mPASS'"),
    ("42", '"Why."', "declares title 42 (expected text)"),
])
def test_a_plugin_declaring_control_characters_or_non_text_is_refused(tmp_path, monkeypatch, title, rationale,
                                                                      problem):
    _install(tmp_path, monkeypatch, title, rationale)
    run = run_cli("list-checks")
    assert run.returncode == 2, run.stderr
    assert "check 'declplug2.x' " + problem in run.stderr
    assert "\x1b" not in run.stderr and "\u202e" not in run.stderr
