"""Hostile corpus, policy round 10: a key written as null, and a blank waiver subject, are refused.

A key whose default is null (``extends``, a rule's ``check``, ``title``, ``severity`` and
``platforms``, a waiver's ``subject``) was read as left out when written as null: ``severity: ~``,
or ``severity:`` with nothing after it, what a template writes for an empty variable.  Round 9
refused a null ``subject`` alone.  A child policy's ``severity:`` put the parent's critical rule
back to its check's default (high), so ``--fail-on critical`` passed the failure it was written to
gate (exit 0); ``extends:`` dropped every rule of the parent and the child validated alone;
``platforms:`` widened a rule to every platform.  Each is now exit 2 at its line, nothing written.

A waiver whose subject is blank (``subject: ""``, a template's empty quoted variable) matches no
finding, whose subject is never blank: ``validate`` said ok and the run called it unused.  It is
exit 2 at its line too, in a policy and in a ``--waivers`` file.

A snapshot file and ``lbaudit validate`` / ``evaluate``, as a user runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from auditor.model.facts import ProcessInfo
from auditor.model.policy import PolicyDocument, RuleSpec, Waiver
from auditor.policy import loader
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

PARENT = """\
id: base
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    severity: critical
    platforms: [linux]
    params:
      allow: [loopback]
"""
CHILD = """\
id: child
version: "1"
owner: Sec
extends: base.yaml
rules:
  - id: bind
    {key}:{value}
"""
OWN = """\
id: child
version: "1"
owner: Sec
extends:{value}
rules:
  - id: ports
    check: net.ephemeral_port_range
    params: {{min_pool_size: 1000}}
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A shell (nc) on every IPv4 address, port 4444: a failure of the parent's critical rule."""
    path = tmp_path / "s.json"
    shell = [ProcessInfo(pid=66, name="nc", exe="/usr/bin/nc.openbsd", argv0="nc", user="nobody")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 4444, processes=shell)])))
    return path


@pytest.mark.parametrize("value", ["", " ~", " null"])
def test_a_null_severity_in_a_child_is_exit_2_not_the_check_default(tmp_path, host, value):
    """On main: exit 0 under --fail-on critical, the shell's failure judged high."""
    (tmp_path / "base.yaml").write_text(PARENT)
    child = tmp_path / "p.yaml"
    child.write_text(CHILD.format(key="severity", value=value))
    result = run_cli("evaluate", "--policy", child, "--snapshot", host, "--fail-on", "critical",
                     "-o", tmp_path / "e.json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"{child}:7:5: rules[0].severity: null, which is read as leaving the key out (the check's default "
            "severity, not the one inherited or meant); write the severity, or leave the key out") in result.stderr
    assert not (tmp_path / "e.json").exists()


def test_a_null_platforms_in_a_child_is_exit_2(tmp_path):
    (tmp_path / "base.yaml").write_text(PARENT)
    child = tmp_path / "p.yaml"
    child.write_text(CHILD.format(key="platforms", value=""))
    result = run_cli("validate", child)
    assert result.returncode == 2, result.stdout
    assert (f"{child}:7:5: rules[0].platforms: null, which is read as leaving the key out (every platform its "
            "check judges); write the platforms, or leave the key out") in result.stdout + result.stderr


@pytest.mark.parametrize("value", ["", " ~"])
def test_a_null_extends_is_exit_2_not_a_policy_without_its_parent(tmp_path, value):
    """On main: ok, the child's one rule alone."""
    child = tmp_path / "p.yaml"
    child.write_text(OWN.format(value=value))
    result = run_cli("validate", child)
    assert result.returncode == 2, result.stdout
    assert (f"{child}:4:1: extends: null, which is read as leaving the key out (extends no policy, so the rules "
            "of the policy meant are not in it); write the policy file it extends, or leave the key out") in result.stdout + result.stderr


@pytest.mark.parametrize("key", ["check", "title"])
def test_a_null_check_or_title_is_exit_2_at_its_line(tmp_path, key):
    policy = tmp_path / "p.yaml"
    policy.write_text(f"id: t\nversion: \"1\"\nowner: Sec\nrules:\n  - id: bind\n    check: net.bind_addresses\n"
                      f"    {key}:\n")
    if key == "check":
        policy.write_text("id: t\nversion: \"1\"\nowner: Sec\nrules:\n  - id: bind\n    check:\n")
    result = run_cli("validate", policy)
    assert result.returncode == 2, result.stdout
    line = 6 if key == "check" else 7
    assert f"{policy}:{line}:5: rules[0].{key}: null, which is read as leaving the key out (" in result.stdout + result.stderr


def test_every_key_whose_default_is_null_says_what_null_would_mean():
    """A key added to the policy's models with a null default joins the refusal, or this fails."""
    models: list[type[BaseModel]] = [PolicyDocument, RuleSpec, Waiver]
    nullable = {(model, name) for model in models for name, info in model.model_fields.items()
                if not info.is_required() and info.default is None}
    assert nullable == set(loader._LEFT_OUT_MEANS)


WAIVER = """\
  - rule: bind
    subject: {subject}
    reason: CHG-3 the exporter, scraped from the monitoring VLAN
    approver: Jane Doe
    expires: 2099-01-01
"""
POLICY = """\
id: blanks
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""


@pytest.mark.parametrize("subject", ['""', "''", '" "', '"\\t"'])
def test_a_blank_subject_in_a_policy_is_exit_2_at_its_line(tmp_path, host, subject):
    """On main: the policy validated, the waiver waived nothing (exit 1, called unused)."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY + "waivers:\n" + WAIVER.format(subject=subject))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", host, "-o", tmp_path / "e.json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{policy}:9:5: waivers[0].subject: " in result.stderr
    assert (" is blank, and no finding's subject is, so it waives nothing; write the subject this waiver is for, "
            "or leave the key out for a blanket waiver") in result.stderr
    assert not (tmp_path / "e.json").exists()


def test_a_blank_subject_in_a_waivers_file_is_exit_2_at_its_line(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n" + WAIVER.format(subject='""'))
    result = run_cli("validate", policy, "--waivers", waivers)
    assert result.returncode == 2, result.stdout
    assert (f"{waivers}:3:5: waivers[0].subject: '' is blank, and no finding's subject is, so it waives nothing; "
            "write the subject this waiver is for, or leave the key out for a blanket waiver") in result.stdout + result.stderr
