"""A waiver whose subject is made of wildcards alone is a blanket waiver, whatever the wildcards.

``validate`` and ``evaluate`` warn about a waiver that waives every failing finding of its rule (no
subject, or only ``*``) so that an auditor reads it as what it is.  ``?*`` (and ``*?``, ``??*``) match
every subject just as well (each subject lbaudit writes is a few words long), and were honoured
without a word: the blanket waiver the warning is there to show read as if it named something.
The exit code is the documented one (warnings never change it); the warning is what is asserted.
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
    subject: {subject}
    reason: Pool widened in CHG-1
    approver: Jane Doe
    expires: 2099-01-01
"""


def _write(tmp_path: Path, subject: str) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(subject=json.dumps(subject)), encoding="utf-8")
    return policy


@pytest.mark.parametrize(("subject", "said"), [
    ("?*", "subject '?*' holds only wildcards: it matches every subject of at least 1 character"),
    ("*?", "subject '*?' holds only wildcards: it matches every subject of at least 1 character"),
    ("??*?", "subject '??*?' holds only wildcards: it matches every subject of at least 3 characters"),
])
def test_a_subject_of_wildcards_alone_is_warned_about_as_a_blanket_waiver(tmp_path, subject, said):
    """On main: exit 0, the pool's failure waived, and no warning about the blanket."""
    policy = _write(tmp_path, subject)
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}", "-o", evidence,
                  "--color", "never")
    statuses = [f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"]
                if f["subject"] == "ephemeral port pool"]
    assert (run.returncode, statuses) == (0, ["waived"])
    assert (f"policy.yaml:9:5: waivers[0] (eph): {said}, and so waives every failing finding of the "
            "rule (a blanket waiver); name the subject it is for") in run.stderr
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 0
    assert said in checked.stdout + checked.stderr


def test_control_case_a_star_alone_keeps_its_warning(tmp_path):
    run = run_cli("validate", "--no-plugins", _write(tmp_path, "*"))
    assert ("waivers[0] (eph): subject '*' matches every subject, so it waives every failing finding of the rule "
            "(a blanket waiver); name the subject it is for") in run.stdout + run.stderr


@pytest.mark.parametrize("subject", ["ephemeral ?ort pool", "e*", "?phemeral*"])
def test_control_case_a_glob_with_text_is_not_called_a_blanket(tmp_path, subject):
    run = run_cli("validate", "--no-plugins", _write(tmp_path, subject))
    assert run.returncode == 0
    assert "blanket" not in run.stdout + run.stderr
