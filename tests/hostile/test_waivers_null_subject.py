"""Hostile corpus, waivers: a waiver whose subject is written as null is refused, not a blanket.

A waiver without ``subject`` waives every failing finding of its rule (a blanket waiver), which
``validate`` and ``evaluate`` only warn about: it may be meant.  ``subject: ~``, or ``subject:`` with
nothing after it (what a template writes when its variable is empty), was read the same: the
reviewer read a waiver about one subject, the run waived every failure of the rule and exited 0
(the one warning, "no subject", said nothing of the line that has one).  As ``net.bind_addresses``
refuses a null selector (tests/hostile/test_policy_null_selectors.py), a null subject is now exit 2
at its place, in a policy and in a ``--waivers`` file; an evidence file, which records a blanket
waiver's subject as null, still reads.

A snapshot file and ``lbaudit validate`` / ``evaluate``, as a user runs them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: nulls
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""
WAIVER = """\
  - rule: bind
    subject:{subject}
    reason: CHG-3 the exporter, scraped from the monitoring VLAN
    approver: Jane Doe
    expires: 2099-01-01
"""
MESSAGE = ("waivers[0].subject: null, which waives every failing finding of the rule as leaving it out does; "
           "write the subject this waiver is for, or leave the key out for a blanket waiver")


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A shell (nc) on every IPv4 address, port 4444: a failure no one approved."""
    path = tmp_path / "s.json"
    shell = [ProcessInfo(pid=66, name="nc", exe="/usr/bin/nc.openbsd", argv0="nc", user="nobody")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 4444, processes=shell)])))
    return path


@pytest.mark.parametrize("subject", ["", " ~", " null"])
def test_a_null_subject_in_a_policy_is_exit_2_at_its_line(tmp_path, host, subject):
    """On main: exit 0, the shell's failure waived."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY + "waivers:\n" + WAIVER.format(subject=subject))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", host, "-o", tmp_path / "e.json")
    assert result.returncode == 2, result.stderr
    assert f"{policy}:9:5: {MESSAGE}" in result.stderr
    assert not (tmp_path / "e.json").exists()


def test_a_null_subject_in_a_waivers_file_is_exit_2_at_its_line(tmp_path, host):
    (tmp_path / "p.yaml").write_text(POLICY)
    (tmp_path / "w.yaml").write_text("waivers:\n" + WAIVER.format(subject=" ~"))
    result = run_cli("validate", tmp_path / "p.yaml", "--waivers", tmp_path / "w.yaml")
    assert result.returncode == 2, result.stdout
    assert f"w.yaml:3:5: {MESSAGE}" in result.stdout + result.stderr


def test_control_case_a_waiver_without_the_key_is_a_blanket_and_its_evidence_reads(tmp_path, host):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY + "waivers:\n" + WAIVER.replace("    subject:{subject}\n", ""))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", host, "-o", tmp_path / "e.json")
    assert result.returncode == 0, result.stderr  # the shell waived, by a waiver that says it is a blanket
    assert "no subject, so it waives every failing finding of the rule (a blanket waiver)" in result.stderr
    evidence = json.loads((tmp_path / "e.json").read_text())
    assert evidence["policy"]["waivers"][0]["subject"] is None
    assert [f["status"] for f in evidence["result"]["findings"] if f["subject"].startswith("tcp 0.0.0.0:4444 ")] \
        == ["waived"]
    assert run_cli("report", tmp_path / "e.json", "--format", "junit", "--out-dir", tmp_path / "out").returncode == 0
