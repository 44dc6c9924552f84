"""An option left without its value does not swallow the next option as the value.

The defect: click gives an option that takes a value the next word whatever it is.  ``lbaudit
evaluate ... -o --json`` wrote the evidence into a file called ``--json`` in the working directory
and printed the human summary (the JSON one asked for never came: a CI step parsing it failed
later, or read nothing); ``--pdf --force -o e.json`` wrote the PDF into a file called ``--force``
and replaced nothing it was asked to; ``--assessor --org-name ACME`` named the assessor
"--org-name".  Now a value that is one of the command's own options (``--json``, ``-q``,
``--org-name=X``), or a path that starts with ``--``, is a usage error (exit 2) naming the option
whose value was left out; a file whose name starts with ``-`` is still reached as ``./--json``, and
``--`` still ends the options before positional arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}
USAGE = 2
EVALUATE = ("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "corp.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "s.json")
    return tmp_path


@pytest.mark.parametrize(("args", "option", "value"), [
    (("-o", "--json"), "--output", "--json"),
    (("-o", "--json=1"), "--output", "--json=1"),
    (("-o", "e.json", "--pdf", "--force"), "--pdf", "--force"),
    (("-o", "e.json", "--pdf", "-q"), "--pdf", "-q"),
    (("-o", "e.json", "--out-dir", "--format", "sarif"), "--out-dir", "--format"),
    (("-o", "e.json", "--pdf", "a.pdf", "--assessor", "--org-name", "ACME"), "--assessor", "--org-name"),
    (("-o", "e.json", "--pdf", "a.pdf", "--org-name", "--assessor=Bob"), "--org-name", "--assessor=Bob"),
    (("-o", "--"), "--output", "--"),
])
def test_an_option_given_as_the_value_of_another_is_refused(work, args, option, value):
    before = sorted(os.listdir(work))
    done = run_cli(*EVALUATE, *args, cwd=work, env=ENV)
    # before: exit 1 and a file called --json (--force, ...) in the working directory
    assert done.returncode == USAGE, done.stderr
    assert option in done.stderr and f"'{value}'" in done.stderr and "left out" in done.stderr, done.stderr
    assert sorted(os.listdir(work)) == before


@pytest.mark.parametrize("args", [
    ("collect", "--root", "img", "-o", "--quiet"),
    ("fleet", "report", "--store", "h.db", "--html", "--json"),
    ("keygen", "--out", "--force"),
    ("history", "list", "--store", "--json"),
])
def test_every_command_refuses_an_option_as_a_value(work, args):
    (work / "img").mkdir()
    before = sorted(os.listdir(work))
    done = run_cli(*args, cwd=work, env=ENV)
    assert done.returncode == USAGE, done.stderr
    assert "left out" in done.stderr, done.stderr
    assert sorted(os.listdir(work)) == before


def test_a_file_whose_name_starts_with_dashes_is_written_when_named_so(work):
    done = run_cli(*EVALUATE, "-o", "./--json", "-q", cwd=work, env=ENV)
    assert done.returncode == 1, done.stderr
    assert (work / "--json").is_file()


def test_a_double_dash_still_ends_the_options_before_positional_arguments(work):
    (work / "-p.yaml").write_text(loopback_only_policy("dash"))
    done = run_cli("validate", "--", "-p.yaml", cwd=work, env=ENV)
    assert done.returncode == 0, done.stderr


def test_a_text_that_merely_starts_with_a_dash_is_a_value(work):
    done = run_cli(*EVALUATE, "-o", "e.json", "--pdf", "a.pdf", "--org-name", "-ACME-", "-q", cwd=work, env=ENV)
    assert done.returncode == 1, done.stderr
    assert (work / "a.pdf").is_file()
