"""The console script's fast path: ``lbaudit --help`` and a bare ``lbaudit`` print click's own
rendering of the group without importing click (issue 16), byte for byte, on the same stream, with
the same exit code; anything click could render otherwise goes to click."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import cli
from auditor.entry import helptext_module, render_top_level_help
from auditor.helptext import TOP_LEVEL_HELP

REPO = Path(__file__).resolve().parents[1]
# A program run as its console script runs: argv[0] is the script's name, __main__ has no package.
# At exit it writes to the descriptor REPORT whether click was imported (the fast path's point), or
# else whether typing was (20 ms, as much again as the fast path itself: it annotates with strings).
SCRIPT = """\
import atexit, os, sys
atexit.register(lambda: os.write({report}, b"click" if "click" in sys.modules
                                 else b"typing" if "typing" in sys.modules else b"no click"))
sys.argv = [{prog!r}, *{args!r}]
from {module} import main
main()
"""


def _run(module: str, args: list[str], prog: str = "lbaudit", columns: str | None = None,
         extra_env: dict[str, str] | None = None) -> tuple[int, bytes, bytes, str]:
    """Exit code, stdout, stderr and "click" / "no click" of ``PROG ARGS`` through MODULE's main, its
    stdout and stderr pipes (not a terminal: click then renders at 80 columns unless COLUMNS says)."""
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS" and not key.startswith("_LBAUDIT_")}
    if columns is not None:
        env["COLUMNS"] = columns
    env.update(extra_env or {})
    reader, writer = os.pipe()
    try:
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(prog=prog, args=args, module=module,
                                                                        report=writer)],
                              capture_output=True, cwd=REPO, env=env, timeout=60, pass_fds=(writer,))
        os.close(writer)
        writer = -1
        imported = os.read(reader, 100).decode()
    finally:
        os.close(reader)
        if writer != -1:
            os.close(writer)
    return done.returncode, done.stdout, done.stderr, imported


@pytest.mark.slow  # two child interpreters per case (what they print and import is the point)
@pytest.mark.parametrize("args, code", [(["--help"], 0), ([], 2)], ids=["--help", "no arguments"])
def test_the_top_level_help_is_clicks_own_without_click(args, code):
    fast = _run("auditor.entry", args)
    by_click = _run("auditor.cli", args)
    assert fast[:3] == by_click[:3]
    assert fast[0] == code
    assert (fast[1] if args else fast[2]).decode() == TOP_LEVEL_HELP
    assert fast[3] == "no click" and by_click[3] == "click"


@pytest.mark.slow  # two child interpreters per case
@pytest.mark.parametrize("prog, columns, args", [
    ("lbaudit", "60", ["--help"]),  # click wraps to a narrower terminal
    ("lbaudit", "60", []),
    ("audit-tool", None, ["--help"]),  # click's usage line names the program as it was called
    ("lbaudit", None, ["--help", "evaluate"]),  # not exactly the top-level help
    ("lbaudit", None, ["--version"]),
], ids=["narrow --help", "narrow no arguments", "another program name", "--help and more", "--version"])
def test_anything_click_could_render_otherwise_is_left_to_click(prog, columns, args):
    fast = _run("auditor.entry", args, prog=prog, columns=columns)
    assert fast[3] == "click"
    assert fast[:3] == _run("auditor.cli", args, prog=prog, columns=columns)[:3]
    if columns == "60":
        assert (fast[1] or fast[2]).decode() != TOP_LEVEL_HELP


@pytest.mark.slow  # two child interpreters per case
@pytest.mark.parametrize("shell", ["bash_source", "zsh_source", "fish_source"])
def test_shell_completion_is_left_to_click(shell):
    # before: a bare `lbaudit` with _LBAUDIT_COMPLETE set (how a shell asks for its completion
    # script) printed the top-level help, exit 2, and `eval "$(_LBAUDIT_COMPLETE=bash_source lbaudit)"`
    # installed nothing (scripts/wheel-smoke caught it)
    fast = _run("auditor.entry", [], extra_env={"_LBAUDIT_COMPLETE": shell})
    assert fast[3] == "click" and fast[0] == 0 and b"_lbaudit_completion" in fast[1]
    assert fast[:3] == _run("auditor.cli", [], extra_env={"_LBAUDIT_COMPLETE": shell})[:3]


def test_the_stored_help_is_what_python_m_auditor_entry_writes():
    """The generated module is current (else run ``python -m auditor.entry``)."""
    assert (REPO / "auditor" / "helptext.py").read_text(encoding="utf-8") == helptext_module(render_top_level_help())


def test_the_group_has_no_option_a_configuration_or_environment_could_show_in_its_help():
    """The stored text cannot follow a default taken from the configuration file or a variable: the
    group has only --version and --help (the fast path would have to read them before adding one)."""
    assert sorted(param.name for param in cli.params) == ["version"]
    assert cli.get_help_option(cli.make_context("lbaudit", [], resilient_parsing=True)).opts == ["--help"]


def test_the_console_script_is_the_fast_path():
    # (tomllib is Python 3.11+; lbaudit supports 3.10)
    scripts = (REPO / "pyproject.toml").read_text(encoding="utf-8").split("[project.scripts]\n", 1)[1].split("\n[", 1)[0]
    assert re.findall(r'^(\w+) = "([^"]+)"', scripts, re.M) == [("lbaudit", "auditor.entry:main")]


@pytest.mark.parametrize("columns", [None, "", "0", "-3", "79", "80", "200", "wide"])
def test_the_fast_path_asks_the_terminal_width_as_click_does(monkeypatch, columns):
    """click's formatter takes shutil.get_terminal_size(); the fast path reads the same without shutil."""
    import shutil

    from auditor.entry import terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
