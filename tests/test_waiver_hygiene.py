"""Waiver hygiene: warnings about waivers an auditor would question, and waivers in their own file
(``--waivers``) so that renewing one leaves the policy's digest alone."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from auditor.engine.registry import load_registry
from auditor.policy.loader import inspect_policy
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: web
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      exceptions:
        - match: {process: nginx, ports: [80]}
          allow: [any]
          reason: Public web front end, CHG-7
waivers:
  - rule: bind
    subject: "tcp 0.0.0.0:22 *"
    reason: Until CHG-1
    approver: Jane Doe
    expires: 2026-12-01
"""

WAIVERS = """\
waivers:
  - rule: bind
    reason: Everything, for now
    approver: Jane Doe
    expires: 2028-06-30
  - rule: bind
    subject: "tcp 0.0.0.0:8080 *"
    reason: Old
    approver: Jane Doe
    expires: 2026-10-01
"""


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "p.yaml").write_text(POLICY)
    (tmp_path / "w.yaml").write_text(WAIVERS)
    return tmp_path / "p.yaml", tmp_path / "w.yaml"


def test_every_kind_of_waiver_warning_with_its_place(files):
    policy, waivers = files
    report = inspect_policy(policy, load_registry(plugins=False), waivers_path=waivers, today=date(2026, 11, 27))
    assert report.problems == [] and report.policy is not None
    assert [f"{w.file.split('/')[-1]}:{w.line}: {w.message}" for w in report.warnings] == [
        "p.yaml:13: waivers[0] (bind): expires on 2026-12-01, in 4 days; renew it or fix what it waives",
        "w.yaml:2: waivers[0] (bind): expires on 2028-06-30, more than a year out; a waiver should be reviewed at "
        "least yearly",
        "w.yaml:2: waivers[0] (bind): no subject, so it waives every failing finding of the rule (a blanket waiver); "
        "name the subject it is for",
        "w.yaml:6: waivers[1] (bind): expired on 2026-10-01 (57 days ago): it is no longer honoured; renew or remove it",
    ]


def test_expiry_warning_window_is_configurable(files):
    policy, _ = files
    report = inspect_policy(policy, load_registry(plugins=False), today=date(2026, 11, 27), expiry_warning_days=3)
    assert not any("expires on 2026-12-01" in w.message for w in report.warnings)


def test_validate_prints_warnings_and_stays_valid(files):
    policy, waivers = files
    result = run_cli("validate", policy, "--waivers", waivers)
    assert result.returncode == 0, result.stderr
    assert "warning: waivers[0] (bind): no subject" in result.stdout


def test_waivers_file_renewal_keeps_the_policy_digest_and_records_its_own(files, tmp_path):
    policy, waivers = files
    snap = tmp_path / "s.json"
    snap.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 8080)])))

    def run(name: str) -> dict:
        result = run_cli("evaluate", "--policy", policy, "--waivers", waivers, "--snapshot", snap,
                         "-o", tmp_path / name)
        assert result.returncode == 0, result.stderr  # the blanket waiver in w.yaml waives the 8080 finding
        assert "matched no failing finding in this run" in result.stderr  # p.yaml's waiver for port 22
        return json.loads((tmp_path / name).read_text())

    first = run("e1.json")
    waivers.write_text(WAIVERS.replace("2028-06-30", "2027-06-30"))  # renewed
    second = run("e2.json")
    assert first["policy_sha256"] == second["policy_sha256"]
    assert first["policy"]["sources"] == second["policy"]["sources"]
    assert first["waiver_file"]["sha256"] != second["waiver_file"]["sha256"]
    assert second["waiver_file"]["path"] == "w.yaml"  # recorded from the policy's directory (tests/hostile/test_determinism.py)
    assert [f["status"] for f in second["result"]["findings"] if "8080" in f["subject"]] == ["waived"]
    # diff still sees the renewal as a waiver change
    diff = run_cli("diff", tmp_path / "e1.json", tmp_path / "e2.json", "--json")
    changes = json.loads(diff.stdout)["policy_changes"]
    assert {c["kind"] for c in changes} == {"waiver_added", "waiver_removed"}, changes


def test_waivers_file_with_an_unknown_rule_is_a_located_problem(files, tmp_path):
    policy, waivers = files
    waivers.write_text(WAIVERS.replace("rule: bind\n    reason: Everything", "rule: bnid\n    reason: Everything"))
    result = run_cli("validate", policy, "--waivers", waivers)
    assert result.returncode == 2
    assert f"{waivers}:2:5: waivers[0].rule: no rule 'bnid' in this policy; did you mean 'bind'?" in result.stderr
