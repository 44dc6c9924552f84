"""Waivers against the release gate: what a waiver can and cannot turn green, and what is said.

A waiver whose subject is ``*`` waives every failing finding of its rule, exactly as one with no
subject does; it was honoured without the blanket-waiver warning the subject-less one gets.  The
exit code is the documented one (warnings never change it); the warning is what an auditor reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool

POLICY = """id: waived
version: "1"
owner: T
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {{min_pool_size: 16384}}
waivers:
  - rule: eph
{subject}    reason: Pool widened in CHG-1
    approver: Jane Doe
    expires: {expires}
"""


def _evaluate(tmp_path: Path, subject: str | None, expires: str = "2099-01-01") -> tuple[int, list[str], str]:
    policy = tmp_path / "policy.yaml"
    line = "" if subject is None else f"    subject: {json.dumps(subject)}\n"
    policy.write_text(POLICY.format(subject=line, expires=expires), encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}", "-o", evidence,
                  "--color", "never")
    statuses = [f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["rule_id"] == "eph"
                and f["subject"] == "ephemeral port pool"]
    return run.returncode, statuses, run.stderr


@pytest.mark.parametrize("subject", ["*", "***"])
def test_a_star_subject_is_warned_about_as_a_blanket_waiver(tmp_path, subject):
    code, statuses, stderr = _evaluate(tmp_path, subject)
    assert (code, statuses) == (0, ["waived"])
    assert f"subject {subject!r} matches every subject" in stderr
    assert "(a blanket waiver)" in stderr


def test_a_named_subject_is_not_called_a_blanket(tmp_path):
    code, statuses, stderr = _evaluate(tmp_path, "ephemeral *")
    assert (code, statuses) == (0, ["waived"])
    assert "blanket" not in stderr


def test_an_expired_star_waiver_leaves_the_failure_counted(tmp_path):
    code, statuses, stderr = _evaluate(tmp_path, "*", expires="2020-01-01")
    assert (code, statuses) == (1, ["fail"])
    assert "expired on 2020-01-01" in stderr


def test_validate_warns_about_a_star_subject_too(tmp_path):
    _evaluate(tmp_path, "*")
    run = run_cli("validate", "--no-plugins", tmp_path / "policy.yaml")
    assert "matches every subject" in run.stdout + run.stderr
