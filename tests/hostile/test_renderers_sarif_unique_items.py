"""The SARIF 2.1.0 schema's ``uniqueItems`` arrays: a rule descriptor's ``tags``, the driver's
``rules`` and the run's ``artifacts``.

A descriptor's tags must hold each tag once, and lbaudit made them ``security, compliance, NIST-SP-800-53-Rev5``
and the check's controls as the evidence records them.  A check declaring a control twice
(``controls=["CM-6", "CM-6"]``, a plugin's slip the registry let through), or evidence whose check
record lists one twice, gave a SARIF log that failed its schema, which code scanning rejects whole.

Evidence that records a check twice (two identical descriptors in ``rules``) or a policy file
twice (two identical ``artifacts``) failed the schema the same way.

Now the registry refuses a check that declares a control twice (exit 2, as its other declaration
mistakes), and the SARIF log holds each tag, check and policy file once whatever the evidence
records (of a check recorded twice, its first record, as the HDF export reads it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from auditor.report import ReportContext
from auditor.report.sarif import render_sarif
from auditor.storage.evidence import evidence_bytes, parse_evidence
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence
from tests.plugin_distribution import install_plugin
from tests.report.conftest import sarif_validator  # noqa: F401 - the session fixture with the official schema

PLUGIN = """
from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    pass


@check(name="dupctl.x", title="A plugin", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6", "SC-7", "CM-6"], rationale="Why.", remediation="None.")
def x(snapshot, params):
    yield passed("a", "ok")
"""


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("dupctl", None)


def test_a_check_declaring_a_control_twice_is_refused(tmp_path: Path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "dupctl", PLUGIN, "[lbaudit.checks]\ndupctl = dupctl\n")
    run = run_cli("list-checks")
    # before: exit 0, and evaluate --format sarif of a policy using it wrote a log failing the schema
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "check 'dupctl.x' declares control 'CM-6' twice" in run.stderr, run.stderr


def test_evidence_recording_a_control_twice_gives_unique_sarif_tags(sarif_validator):  # noqa: F811
    data = json.loads(evidence_bytes(make_evidence()))
    record = data["checks"][0]
    record["controls"] = record["controls"] + record["controls"]
    raw = json.dumps(data, indent=2, sort_keys=True).encode("utf-8")
    evidence = parse_evidence(raw, "e.json")  # no digest covers the check records
    log = json.loads(render_sarif(evidence, ReportContext(evidence_bytes=raw, evidence_path="e.json")))
    assert [e.message for e in sarif_validator.iter_errors(log)] == []
    [descriptor] = [r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == record["name"]]
    tags = descriptor["properties"]["tags"]
    assert len(tags) == len(set(tags))
    assert tags[:3] == ["security", "compliance", "NIST-SP-800-53-Rev5"]


@pytest.mark.parametrize("listed_twice", ["checks", "sources"])
def test_evidence_recording_a_check_or_a_policy_file_twice_gives_a_valid_log(sarif_validator, listed_twice):  # noqa: F811
    from auditor.storage.jsonfile import canonical_sha256

    data = json.loads(evidence_bytes(make_evidence()))
    if listed_twice == "checks":
        data["checks"].append(dict(data["checks"][0]))
    else:
        data["policy"]["sources"].append(dict(data["policy"]["sources"][0]))
        data["policy_sha256"] = canonical_sha256(data["policy"])
    raw = json.dumps(data, indent=2, sort_keys=True).encode("utf-8")
    evidence = parse_evidence(raw, "e.json")  # read: nothing it records contradicts its findings
    log = json.loads(render_sarif(evidence, ReportContext(evidence_bytes=raw, evidence_path="e.json")))
    # before: "... has non-unique elements" at runs/0/tool/driver/rules, or at runs/0/artifacts
    assert [e.message[:60] for e in sarif_validator.iter_errors(log)] == []
    run = log["runs"][0]
    names = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert names == sorted(set(names))
    assert [r["ruleIndex"] for r in run["results"]] == [names.index(r["ruleId"]) for r in run["results"]]
    assert [a["location"]["uri"] for a in run["artifacts"]] == ["policies/corp.yaml", "e.json"]
