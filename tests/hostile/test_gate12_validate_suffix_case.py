"""``lbaudit validate DIR`` validates a policy whatever the case of its suffix: ``Prod.YAML`` (an
editor's or another platform's habit) was skipped, beside a good policy the run said "ok" and exited
0, and a CI gate over the directory passed while that policy, which ``evaluate --policy`` reads as
any other, did not load."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli

GOOD = 'id: good\nversion: "1"\nowner: T\nrules:\n  - id: r\n    check: drift.audit_rules\n'


def test_a_policy_with_an_upper_case_suffix_is_validated(tmp_path: Path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "base.yaml").write_text(GOOD, encoding="utf-8")
    (policies / "Prod.YAML").write_text(GOOD.replace("check: drift.audit_rules", "check: drift.audit_rulez"),
                                        encoding="utf-8")
    (policies / "Edge.Yml").write_text(GOOD.replace("id: good", "id: edge"), encoding="utf-8")
    (policies / "notes.txt").write_text("not a policy\n", encoding="utf-8")
    result = run_cli("validate", "--no-plugins", policies)
    assert result.returncode == 2
    assert "Prod.YAML:6:5: rules[0].check: unknown check 'drift.audit_rulez'" in result.stderr
    assert "Edge.Yml: ok (edge 1" in result.stdout
    assert "notes.txt" not in result.stdout + result.stderr
