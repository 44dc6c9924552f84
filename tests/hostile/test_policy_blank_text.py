"""Text a person must write in a policy may not be only white space.

A waiver needs a reason and an approver, an exception a reason, a policy an owner and version: the
loader asked only for one character, so ``approver: " "`` and ``reason: " "`` waived a failing
finding (exit 0) with nobody accountable and no reason in the evidence or the attestation.  Each
is now exit 2 at its line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool

POLICY = """id: blank
version: {version}
owner: {owner}
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {{min_pool_size: 16384}}
  - id: listeners
    check: net.bind_addresses
    params:
      exceptions:
        - match: {{process: sshd}}
          allow: [any]
          reason: {exception_reason}
waivers:
  - rule: eph
    subject: ephemeral port pool
    reason: {reason}
    approver: {approver}
    expires: 2099-01-01
"""
WRITTEN = {"version": '"1"', "owner": "T", "exception_reason": "management", "reason": "CHG-1", "approver": "Jane Doe"}


def _evaluate(tmp_path: Path, **blank: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(**{**WRITTEN, **blank}), encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}", "-o", evidence,
                  "--color", "never")
    return run, evidence


def test_control_case_a_written_waiver_waives_the_pool(tmp_path):
    run, evidence = _evaluate(tmp_path)
    assert run.returncode == 0, run.stderr
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    assert [f["status"] for f in findings if f["subject"] == "ephemeral port pool"] == ["waived"]


def test_a_waiver_with_a_blank_reason_and_approver_is_refused(tmp_path):
    """On main: exit 0, the pool's failure waived by nobody for no reason."""
    run, evidence = _evaluate(tmp_path, reason='" "', approver='"\\t"')
    assert run.returncode == 2, run.stdout + run.stderr
    assert "policy.yaml:18:5: waivers[0].reason: must not be blank (it holds only white space)" in run.stderr
    assert "policy.yaml:19:5: waivers[0].approver: must not be blank (it holds only white space)" in run.stderr
    assert not evidence.exists()


@pytest.mark.parametrize("field, place, where", [
    ("exception_reason", "14:11", "rules[1].params.exceptions[0].reason"),
    ("owner", "3:1", "owner"),
    ("version", "2:1", "version"),
])
def test_other_required_text_that_is_blank_is_refused(tmp_path, field, place, where):
    run, _ = _evaluate(tmp_path, **{field: '"   "'})
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:{place}: {where}: must not be blank" in run.stderr
