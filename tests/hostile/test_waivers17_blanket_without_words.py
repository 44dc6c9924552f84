"""A waiver whose subject holds no letter or digit is a blanket waiver, whatever else it holds.

``validate`` and ``evaluate`` warn about a blanket waiver (no subject, or wildcards alone: ``*``,
``?*``), and ``coverage`` does not count a rule one waives, which cannot fail while it is honoured.
A subject of wildcards and a space (``* *``), or a colon (``*:*``), names no protocol, address,
port, program or setting either, and matches every subject lbaudit writes of its kind (each is a
few words; each listener's has a port after a colon): the pool's failure was waived by ``* *``, and
the listeners' by ``*:*``, without a word, and ``coverage`` counted the rule as evidence of its
controls.  Now such a subject is warned about as a blanket waiver, and its rule is not counted.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
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
  - id: listeners
    check: net.bind_addresses
    params: {{allow: [loopback]}}
waivers:
  - rule: {rule}
    subject: {subject}
    reason: Accepted in CHG-1
    approver: Jane Doe
    expires: {expires}
"""


def _write(tmp_path: Path, subject: str, rule: str = "eph") -> Path:
    policy = tmp_path / "policy.yaml"
    expires = (date.today() + timedelta(days=90)).isoformat()
    policy.write_text(POLICY.format(subject=json.dumps(subject), rule=rule, expires=expires), encoding="utf-8")
    return policy


@pytest.mark.parametrize("subject", ["* *", "*? *", "* * *"])
def test_a_subject_of_wildcards_and_spaces_is_warned_about_as_a_blanket_waiver(tmp_path, subject):
    """On main: exit 0, the pool's failure waived, and no warning about the blanket."""
    policy = _write(tmp_path, subject)
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}", "-o", evidence,
                  "--color", "never")
    statuses = [f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"]
                if f["subject"] == "ephemeral port pool"]
    assert statuses == ["waived"]  # what it says it waives, it waives: the warning is what was missing
    said = (f"waivers[0] (eph): subject {subject!r} holds no letter or digit, so it names no subject: it matches "
            "every subject that holds what it does, and so waives every failing finding of the rule (a blanket "
            "waiver); name the subject it is for")
    assert said in run.stderr.replace("\n", " ")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 0
    assert said in (checked.stdout + checked.stderr).replace("\n", " ")


@pytest.mark.parametrize("subject", ["*:*", "* *"])
def test_coverage_does_not_count_a_rule_such_a_waiver_waives(tmp_path, subject):
    """On main: the listener rule's controls (SC-7 among them) were counted as covered."""
    policy = _write(tmp_path, subject, rule="listeners")
    run = run_cli("coverage", "--policy", policy, "--baseline", "moderate", "--json",
                  env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert run.returncode in (0, 1), run.stderr
    document = json.loads(run.stdout)
    assert "listeners" in json.dumps(document["waived_rules"])


@pytest.mark.parametrize("subject", ["tcp *", "*:22 *", "* sshd pid *", "*0.0.0.0*"])
def test_control_case_a_glob_with_a_letter_or_digit_is_not_called_a_blanket(tmp_path, subject):
    run = run_cli("validate", "--no-plugins", _write(tmp_path, subject, rule="listeners"))
    assert run.returncode == 0
    assert "blanket" not in run.stdout + run.stderr
