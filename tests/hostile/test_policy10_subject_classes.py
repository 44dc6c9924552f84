"""Hostile corpus, policy round 10: a waiver subject written with a character class is warned about.

A subject glob's only wildcards are ``*`` and ``?``: subjects hold brackets (``tcp [::]:22 sshd
pid 1``), which are matched as written.  ``subject: "tcp 0.0.0.0:[0-9]* *"`` or ``"[!x]*"``, written
as a shell glob's class, waived only a subject holding that very text, so nothing, and ``validate``
said ok; after ``evaluate`` the waiver was "unused", as if what it named were fixed.  A bracket
written as a class (negated, or a range of letters or digits) is now warned about at the waiver,
by ``validate`` and ``evaluate`` (exit code unchanged: the failure is still a failure); an address
in brackets (``[::1]``, ``[fe80::1]``) or an inode (``net:[4026532281]``) is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: classes
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
waivers:
  - rule: bind
    subject: "{subject}"
    reason: CHG-3 the exporter, scraped from the monitoring VLAN
    approver: Jane Doe
    expires: 2099-01-01
"""
WARNING = ("waivers[0] (bind): subject holds {bracket!r}, which is matched as written, not as a character "
           "class (a subject glob's only wildcards are * and ?), so it waives only a subject that holds that text; "
           "write the subject as the finding shows it, with * or ? for what varies")


@pytest.fixture
def host(tmp_path: Path) -> Path:
    path = tmp_path / "s.json"
    exporter = [ProcessInfo(pid=66, name="exporter", exe="/usr/bin/exporter", argv0="exporter", user="nobody")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 9100, processes=exporter)])))
    return path


@pytest.mark.parametrize(("subject", "bracket"), [
    ("tcp 0.0.0.0:[0-9]* *", "[0-9]"), ("[!x]*", "[!x]"), ("tcp 0.0.0.0:9100 [a-z]*", "[a-z]"), ("[^ ]*", "[^ ]"),
])
def test_a_class_in_a_subject_is_warned_about(tmp_path, host, subject, bracket):
    """On main: validate ok without a word; evaluate exit 1 with the waiver 'unused'."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(subject=subject))
    validated = run_cli("validate", policy)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert f"{policy.name}:8:5: warning: {WARNING.format(bracket=bracket)}" in validated.stdout + validated.stderr
    evaluated = run_cli("evaluate", "--policy", policy, "--snapshot", host, "-o", tmp_path / "e.json")
    assert evaluated.returncode == 1, evaluated.stdout + evaluated.stderr
    assert WARNING.format(bracket=bracket) in evaluated.stderr


@pytest.mark.parametrize("subject", ["tcp [::]:22 *", "tcp [::1]:8080 *", "tcp [fe80::1]:22 *",
                                     "* in netns net:[4026532281]", "tcp 0.0.0.0:9100 *"])
def test_an_address_or_inode_in_brackets_is_not(tmp_path, subject):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(subject=subject))
    validated = run_cli("validate", policy)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "character class" not in validated.stdout + validated.stderr
