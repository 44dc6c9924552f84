"""Evidence whose finding names another check than its rule's: SARIF filed it under that check.

The engine makes each finding of a rule with the rule's check (``auditor/engine/evaluate.py``), and
the evidence loader compared a finding's severity and controls with its rule's, but not its check.
A failure of ``port-range`` (check ``net.ephemeral_port_range``) recorded with ``check:
net.bind_addresses`` was rendered as it was: SARIF's ``ruleId`` (what code scanning files, groups
and dismisses an alert by) was the other check's, with its title and remediation, and HDF's
``resource`` too, while JUnit and HDF's control said the rule's own check: two reports of one file
disagreed about what failed.  Now that finding is refused (exit 2, naming the field).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

BAD_INPUT = 2


def test_a_finding_of_another_check_than_its_rule_s_is_refused(tmp_path: Path):
    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    checks = {rule["id"]: rule["check"] for rule in data["policy"]["rules"]}
    index, finding = next((i, f) for i, f in enumerate(data["result"]["findings"])
                          if f["rule_id"] == "port-range" and f["status"] == "fail")
    other = checks["wildcard-listeners"]
    assert other != finding["check"]
    finding["check"] = other
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    run = run_cli("report", path, "--format", "sarif,hdf,junit", "--out-dir", tmp_path / "out")
    # before: exit 0, the SARIF result's ruleId net.bind_addresses for a failure of port-range
    assert run.returncode == BAD_INPUT, (run.returncode, run.stderr)
    assert f"/result/findings/{index}/check" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
