"""An option given twice is refused (exit 2) naming it and both values, for every command.

The defect: click keeps the last value of an option given more than once, silently.  A CI gate
written ``lbaudit evaluate --policy corp.yaml $EXTRA`` judged the host by whatever policy ``$EXTRA``
(an environment-provided argument) named last: ``--policy lax.yaml`` replaced the corporate policy
and the gate passed on its verdict; ``--fail-on`` twice lowered the bar, ``-o`` twice wrote the
evidence where the second one said, ``--store`` twice recorded the run in another store.  Now
``cli.py`` refuses a second occurrence of any option of any command (the one place every command
passes, ``_guard_params``), unless the option is documented as repeatable (click's ``multiple``:
``fleet evaluate --snapshots``, ``collect --section``, ``history verify --expect-head``); a flag given
twice is the same flag and stays accepted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}
USAGE = 2

# a policy no listener can fail, as a second --policy would bring: one exception per address
LAX_POLICY = """\
id: lax
version: "1"
owner: Tests <tests@example.test>
description: one exception for the listener the snapshot holds
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {ports: [22], protocol: tcp}
          allow: [any]
          reason: the snapshot's sshd, allowed by the lax policy
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "corp.yaml").write_text(loopback_only_policy("corp"))
    (tmp_path / "lax.yaml").write_text(LAX_POLICY)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "s.json")
    return tmp_path


def test_the_lax_policy_alone_passes_the_snapshot(work):
    """The premise: lax.yaml would turn the gate green (exit 0), corp.yaml fails it (exit 1)."""
    lax = run_cli("evaluate", "--policy", "lax.yaml", "--snapshot", "s.json", "-o", "lax.json", "-q", cwd=work, env=ENV)
    corp = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "corp.json", "-q",
                   cwd=work, env=ENV)
    assert (lax.returncode, corp.returncode) == (0, 1), lax.stderr + corp.stderr


@pytest.mark.parametrize(("extra", "option", "values"), [
    (["--policy", "lax.yaml"], "--policy", ("corp.yaml", "lax.yaml")),
    (["--policy=lax.yaml"], "--policy", ("corp.yaml", "lax.yaml")),
    (["--fail-on", "critical"], "--fail-on", ("info", "critical")),
    (["-o", "other.json"], "--output", ("e.json", "other.json")),
    (["--output", "other.json"], "--output", ("e.json", "other.json")),
    (["-oother.json"], "--output", ("e.json", "other.json")),
])
def test_a_second_occurrence_of_an_option_is_refused_naming_it_and_both_values(work, extra, option, values):
    before = sorted(os.listdir(work))
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "--fail-on", "info",
                   "-q", *extra, cwd=work, env=ENV)
    # before: exit 0 (lax.yaml judged the host; --fail-on critical let the failure through) or the
    # evidence in other.json, whichever value came last
    assert done.returncode == USAGE, done.stderr
    assert option in done.stderr and "more than once" in done.stderr
    for value in values:
        assert f"'{value}'" in done.stderr
    assert sorted(os.listdir(work)) == before


def test_the_same_value_twice_is_refused_too(work):
    """One rule, not a comparison: `--policy corp.yaml --policy corp.yaml` is a command line
    assembled from two sources that both think they decide."""
    done = run_cli("evaluate", "--policy", "corp.yaml", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json",
                   "-q", cwd=work, env=ENV)
    assert done.returncode == USAGE, done.stderr
    assert "--policy" in done.stderr and "more than once" in done.stderr
    assert not (work / "e.json").exists()


@pytest.mark.parametrize("args", [
    ("collect", "--root", ".", "--output", "a.json", "--output", "b.json"),
    ("report", "e.json", "--format", "sarif", "--format", "junit", "--out-dir", "r"),
    ("history", "list", "--store", "a.db", "--store", "b.db"),
    ("fleet", "report", "--store", "a.db", "--store", "b.db"),
    ("coverage", "--policy", "corp.yaml", "--baseline", "moderate", "--baseline", "low"),
    ("validate", "corp.yaml", "--waivers", "a.yaml", "--waivers", "b.yaml"),
    ("keygen", "--out", "k1", "--out", "k2"),
    ("schedule", "install", "--backend", "cron", "--backend", "systemd", "--dry-run", "--root", "."),
])
def test_every_command_refuses_an_option_given_twice(work, args):
    before = sorted(os.listdir(work))
    done = run_cli(*args, cwd=work, env=ENV)
    assert done.returncode == USAGE, done.stderr
    assert "more than once" in done.stderr, done.stderr
    assert sorted(os.listdir(work)) == before


def test_an_option_documented_as_repeatable_still_takes_every_value(work):
    """``collect --section`` is ``multiple``: both sections are collected."""
    (work / "image").mkdir()
    done = run_cli("collect", "--target", "root:image", "--section", "sysctl", "--section", "audit",
                   "-o", "s2.json", cwd=work, env=ENV)
    assert done.returncode == 0, done.stderr
    collected = json.loads((work / "s2.json").read_text())
    assert collected["facts"]["sysctl"] is not None and collected["facts"]["audit"] is not None
    assert collected["facts"]["sockets"] is None


def test_a_flag_given_twice_is_the_same_flag(work):
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q", "-q",
                   "--no-plugins", "--no-plugins", cwd=work, env=ENV)
    assert done.returncode == 1, done.stderr
    assert json.loads((work / "e.json").read_text())["policy"]["id"] == "corp"


def test_the_environment_and_the_command_line_are_not_two_occurrences(work):
    """LBAUDIT_POLICY gives --policy a default; the command line's --policy wins over it, once."""
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q",
                   cwd=work, env={**ENV, "LBAUDIT_POLICY": "lax.yaml"})
    assert done.returncode == 1, done.stderr
    assert json.loads((work / "e.json").read_text())["policy"]["id"] == "corp"
