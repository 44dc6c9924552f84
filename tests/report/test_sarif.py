"""SARIF 2.1.0 reporter.

Golden file: ``tests/fixtures/golden/corp-baseline.sarif``; regenerate after an intended change with
``LBAUDIT_UPDATE_GOLDEN=1 python3 -m pytest -q tests/report`` and review the diff.  The schema test
uses ../shared/reference/sarif (skipped when that folder is absent).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.report import ReportContext
from auditor.report.sarif import FINGERPRINT_KEY, render_sarif
from auditor.storage.evidence import evidence_bytes, load_evidence, write_evidence
from tests.evidence_fixtures import CHECKS, make_evidence
from tests.factories import FIXED_TIME
from tests.report.conftest import check_golden


@pytest.fixture(scope="module")
def validator(sarif_validator):
    return sarif_validator


@pytest.fixture(scope="module")
def log(evidence, context):
    return json.loads(render_sarif(evidence, context))


def _errors(validator, document) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]


def test_validates_against_the_official_schema(validator, log):
    assert _errors(validator, log) == []


def test_the_schema_check_is_not_vacuous(validator, log):
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    errors = _errors(validator, broken)
    assert any(e.startswith("/runs/0/results/0/level") for e in errors)
    assert any("startLine" in e for e in errors)


def test_one_rule_per_check_with_controls_and_remediation(log, evidence):
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(c.name for c in evidence.checks)
    wildcard = next(r for r in rules if r["id"] == "test.wildcard_listeners")
    assert wildcard["shortDescription"]["text"] == "No service listens on a wildcard address"
    assert wildcard["help"]["text"].startswith("Remediation: Bind the service")
    assert wildcard["properties"]["nist-sp-800-53-r5"] == ["SC-7", "CM-7"]
    assert {"SC-7", "CM-7", "security"} <= set(wildcard["properties"]["tags"])
    assert wildcard["properties"]["security-severity"] == "8.0"
    assert wildcard["defaultConfiguration"]["level"] == "error"


def test_results_kind_level_and_suppression_by_status(log):
    run = log["runs"][0]
    by_status = {}
    for result in run["results"]:
        by_status.setdefault(result["properties"]["status"], []).append(result)
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert [(r["kind"], r["level"]) for r in by_status["fail"]] == [("fail", "error")] * 3 + [("fail", "warning")]
    # A pass or not applicable finding is no result (code scanning makes every result an alert,
    # whatever its kind); the run counts them.
    assert "pass" not in by_status and "not_applicable" not in by_status
    assert run["properties"]["findingsByStatus"]["pass"] == 5
    assert run["properties"]["findingsByStatus"]["not_applicable"] == 1
    assert [(r["kind"], r["level"]) for r in by_status["not_reviewed"]] == [("review", "none")]
    assert [(r["kind"], r["level"]) for r in by_status["error"]] == [("review", "none")]
    waived = by_status["waived"][0]
    assert waived["kind"] == "fail" and "suppressions" not in by_status["fail"][0]
    assert waived["suppressions"][0]["status"] == "accepted"
    assert waived["suppressions"][0]["properties"]["approver"] == "Dana Whitfield (CISO)"
    # A check that raised is also a tool execution failure.
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "cannot parse" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_locations_point_at_the_policy_line_and_the_host_subject(log):
    failing = next(r for r in log["runs"][0]["results"] if r["properties"]["status"] == "fail")
    location = failing["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "policies/corp.yaml"}, "region": {"startLine": 8},
    }
    logical = location["logicalLocations"][0]
    assert logical["name"] == "udp 0.0.0.0:5353 avahi-daemon pid 640"
    assert logical["properties"] == {
        "host": "web01.example.test", "address": "0.0.0.0", "pid": 640, "port": 5353, "process": "avahi-daemon",
        "protocol": "udp",
    }


def test_fingerprints_are_stable_across_runs(log, evidence):
    # A later run over the same facts: other times, same findings, same fingerprints.
    registry = build_registry(CHECKS)
    later = FIXED_TIME + timedelta(days=3)
    snap = evidence.snapshot.model_copy(update={"provenance": evidence.snapshot.provenance.model_copy(
        update={"collected_at": later})})
    result = evaluate(evidence.policy, snap, registry, fail_on=evidence.result.fail_on, today=later.date())
    rerun = build_evidence(policy=evidence.policy, snapshot=snap, registry=registry, result=result,
                           started_at=later, finished_at=later + timedelta(seconds=1), evaluated_on=later.date())
    rerun_log = json.loads(render_sarif(rerun, ReportContext(evidence_bytes=evidence_bytes(rerun))))
    fingerprints = lambda doc: sorted(r["partialFingerprints"][FINGERPRINT_KEY] for r in doc["runs"][0]["results"])  # noqa: E731
    assert fingerprints(rerun_log) == fingerprints(log)
    assert len(set(fingerprints(log))) == len(log["runs"][0]["results"])
    assert rerun_log["runs"][0]["invocations"][0]["startTimeUtc"] != log["runs"][0]["invocations"][0]["startTimeUtc"]


def test_same_evidence_same_bytes_also_from_the_evidence_file(tmp_path, evidence, context):
    first = render_sarif(evidence, context)
    assert render_sarif(make_evidence(), context) == first
    path = tmp_path / "corp-baseline.json"
    write_evidence(evidence, path)
    loaded, raw = load_evidence(path)
    assert render_sarif(loaded, ReportContext(evidence_bytes=raw, evidence_path="corp-baseline.json")) == first


def test_golden(evidence, context):
    check_golden("corp-baseline.sarif", render_sarif(evidence, context))
