"""What an ``lbaudit.checks`` entry point resolves to, and the text of the distribution behind it.

An entry point naming a module that declares no check loaded nothing and said nothing (list-checks
and evaluate went on without it, exit 0: bandit's "zero plugins loaded, success").  A ``CheckSpec``
subclass with an ``__init__`` of its own could not be copied with its origin (exit 70).  Anything
else that is not a check (a function, a class, an instance, None) was refused without naming the
distribution that brought it.  What a plugin raised at import, and the name and version its
distribution declares, went into lbaudit's messages and the evidence (each check's origin, every
report's) as they were: ESC and U+202E to the terminal.  Each is now a registry error (exit 2)
naming the entry point, what it resolved to and the distribution, and the plugin's text is quoted as
plain text.

The plugins are real installed distributions on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
USAGE = 2
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

CHECK = """
from auditor.model.check import CheckParams, CheckSpec, check, passed


class Params(CheckParams):
    pass


def declared(func):
    return check(name="epplug.x", title="A plugin", version="1", needs=["sysctl"], params=Params, severity="high",
                 controls=["CM-6"], rationale="A test plugin.", remediation="None.")(func)
"""


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("epplug", None)


@pytest.mark.parametrize("source, target, what", [
    ("", "epplug", "a module that declares no CheckSpec"),  # before: exit 0, nothing loaded, nothing said
    ("def target(): pass", "epplug:target", "a function, not a CheckSpec or a module of them"),
    ("target = None", "epplug:target", "None, not a CheckSpec or a module of them"),
    ("class target: pass", "epplug:target", "a class, not a CheckSpec or a module of them"),
    ("class K: pass\ntarget = K()", "epplug:target", "a K, not a CheckSpec or a module of them"),
    ("@declared\ndef x(snapshot, params):\n    yield passed('a', 'b')\ntarget = type(x)", "epplug:target",
     "a class, not a CheckSpec or a module of them"),
])
def test_an_entry_point_that_is_not_a_check_is_exit_2_naming_it_and_its_distribution(tmp_path, monkeypatch, source,
                                                                                        target, what):
    install_plugin(tmp_path / "site", monkeypatch, "epplug", CHECK + source, f"[lbaudit.checks]\nep = {target}\n")
    run = run_cli("list-checks")
    assert run.returncode == USAGE, run.stdout
    assert run.stderr == f"lbaudit: plugin entry point 'ep' ({target}) of plugin epplug 1.0 is {what}\n"


OWN_INIT = """
@declared
def x(snapshot, params):
    yield passed('a', 'b')


class Own(CheckSpec):
    def __init__(self, func):  # a signature of its own: dataclasses.replace cannot copy it
        super().__init__(**{name: getattr(x, name) for name in x.__dataclass_fields__ if name != "func"}, func=func)


target = Own(x.func)
"""

RAISING_INIT = """
@declared
def x(snapshot, params):
    yield passed('a', 'b')


class Own(CheckSpec):
    def __init__(self, **fields):  # raises when it is made again, with the plugin's origin
        if fields.get("origin", "builtin") != "builtin":
            raise RuntimeError("only as declared")
        super().__init__(**fields)


target = Own(**{name: getattr(x, name) for name in x.__dataclass_fields__})
"""


@pytest.mark.parametrize("source, error", [(OWN_INIT, "TypeError: "), (RAISING_INIT, "RuntimeError: only as declared")])
def test_a_check_spec_subclass_that_cannot_be_copied_with_its_origin_is_exit_2_naming_it(tmp_path, monkeypatch,
                                                                                          source, error):
    install_plugin(tmp_path / "site", monkeypatch, "epplug", CHECK + source, "[lbaudit.checks]\nep = epplug:target\n")
    run = run_cli("list-checks")
    assert run.returncode == USAGE, run.stderr  # before: 70, the error of dataclasses.replace
    assert run.stderr.startswith("lbaudit: plugin entry point 'ep' (epplug:target) of plugin epplug 1.0: check "
                                 f"'epplug.x' (an Own) cannot be copied with its origin: {error}")


def test_what_a_plugin_raised_at_import_is_quoted_as_plain_text(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "epplug", "raise ImportError('\\x1b]0;pwn\\x07\\x1b[2J\\u202e')",
                   "[lbaudit.checks]\nep = epplug\n")
    run = run_cli("list-checks")
    assert run.returncode == USAGE, run.stderr
    assert not RAW_CONTROL.search(run.stderr)  # before: the OSC title, the clear screen and U+202E as they were
    assert run.stderr == ("lbaudit: plugin entry point 'ep' (epplug) of plugin epplug 1.0 failed to load: "
                          "\\x1b]0;pwn\\x07\\x1b[2J\\u202e\n")


def test_a_distribution_named_with_control_characters_is_recorded_with_them_escaped(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "epplug",
                   CHECK + "@declared\ndef x(snapshot, params):\n    yield passed('a', 'b')\n",
                   "[lbaudit.checks]\nep = epplug\n")
    (tmp_path / "site" / "epplug-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: epplug\x1b[2J\u202e\nVersion: 1.0\x07\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: ep\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: epplug.x\n", encoding="utf-8")
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", tmp_path / "ev.json",
                  "--format", "sarif", "--out-dir", tmp_path)
    assert run.returncode == 0, run.stderr
    evidence = json.loads((tmp_path / "ev.json").read_text(encoding="utf-8"))
    assert [c["origin"] for c in evidence["checks"] if c["name"] == "epplug.x"] == [
        "plugin epplug\\x1b[2J\\u202e 1.0\\x07"]  # before: ESC, U+202E and BEL as they were
    assert not RAW_CONTROL.search((tmp_path / "ep.sarif").read_text(encoding="utf-8"))
    explained = run_cli("explain", "epplug.x")
    assert explained.returncode == 0, explained.stderr
    assert not RAW_CONTROL.search(explained.stdout)
