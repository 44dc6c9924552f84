"""JUnit XML reporter.

Golden file: ``tests/fixtures/golden/corp-baseline.junit.xml``; regenerate after an intended change
with ``LBAUDIT_UPDATE_GOLDEN=1 python3 -m pytest -q tests/report`` and review the diff.  Validation
uses the Jenkins xUnit schema ../shared/reference/junit/junit-10.xsd through ``xmlschema``
(skipped when either is missing).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.facts import ProcessInfo
from auditor.model.policy import Waiver
from auditor.report import ReportContext
from auditor.report.junit import render_junit
from auditor.storage.evidence import evidence_bytes, load_evidence, write_evidence
from tests.evidence_fixtures import CHECKS, make_evidence, make_policy
from tests.factories import FIXED_TIME, listener, snapshot
from tests.report.conftest import check_golden


@pytest.fixture(scope="module")
def schema(junit_schema):
    return junit_schema


@pytest.fixture(scope="module")
def xml_bytes(evidence, context) -> bytes:
    return render_junit(evidence, context)


@pytest.fixture(scope="module")
def cases(xml_bytes) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in ET.fromstring(xml_bytes).iter("testcase")}


def test_validates_against_the_jenkins_schema(schema, xml_bytes):
    schema.validate(xml_bytes.decode("utf-8"))


def test_the_schema_check_is_not_vacuous(schema, xml_bytes):
    root = ET.fromstring(xml_bytes)
    del root.find("testsuite").attrib["tests"]  # required by junit-10.xsd
    root.find("testsuite").set("time", "1e3")  # not a SUREFIRE_TIME
    assert len(list(schema.iter_errors(ET.tostring(root, encoding="unicode")))) == 2


def test_one_suite_per_policy_one_case_per_enabled_rule(xml_bytes):
    root = ET.fromstring(xml_bytes)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["corp-baseline"]
    suite = suites[0]
    assert [c.get("name") for c in suite.iter("testcase")] == [
        "wildcard-listeners", "port-range", "audit-socket-calls", "ipv6-only", "broken-check", "privileged-ports",
    ]
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6", "failures": "2", "errors": "2", "skipped": "1",
    }
    # Times from the evidence: the run started 5 s after collection and took 2.25 s.
    assert (suite.get("timestamp"), suite.get("time")) == ("2026-11-01T12:00:05Z", "2.250")
    assert suite.get("hostname") == "web01.example.test"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "non_compliant"


def test_failure_carries_subjects_and_expected(cases):
    case = cases["wildcard-listeners"]
    failure = case.find("failure")
    assert failure.get("type") == "high"
    assert failure.get("message") == ("3 of 8 subjects fail: udp 0.0.0.0:5353 avahi-daemon pid 640; "
                                      "tcp 0.0.0.0:5432 postgres pid 812; tcp [::]:6379 redis-server pid 901")
    assert 'expected: "a specific address"' in failure.text
    assert case.get("time") == "0.003"
    assert cases["privileged-ports"].find("failure") is None and cases["privileged-ports"].find("error") is None


def test_not_reviewed_and_check_errors_are_errors_not_passes(cases):
    not_reviewed = cases["audit-socket-calls"].find("error")
    assert not_reviewed.get("type") == "not_reviewed"
    assert "permission denied" in not_reviewed.get("message")
    crashed = cases["broken-check"].find("error")
    assert crashed.get("type") == "error"
    assert "cannot parse <listener> & friends" in crashed.get("message")


def test_not_applicable_is_skipped_with_its_reason(cases):
    skipped = cases["ipv6-only"].find("skipped")
    assert skipped.get("message") == "not applicable: the host has no IPv6 listener that sets its own options"


def _wildcard_only_evidence(subject: str):
    """Every finding of the one rule is waived; a process name holds a control character."""
    policy = make_policy()
    policy = policy.model_copy(update={
        "rules": [policy.rules[0]],
        "waivers": [Waiver(rule="wildcard-listeners", subject="*", reason="Migration ticket SEC-12",
                           approver="ciso@example.test", expires=date(2026, 12, 31))],
    })
    snap = snapshot(listeners=[listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=5, name=subject)])])
    registry = build_registry(CHECKS)
    result = evaluate(policy, snap, registry, today=FIXED_TIME.date())
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result, started_at=FIXED_TIME,
                          finished_at=FIXED_TIME, evaluated_on=FIXED_TIME.date())


def test_a_fully_waived_rule_is_skipped_with_the_waiver(schema):
    evidence = _wildcard_only_evidence("java\x01bad")
    data = render_junit(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence)))
    schema.validate(data.decode("utf-8"))  # the control character did not make the XML invalid
    case = next(ET.fromstring(data).iter("testcase"))
    skipped = case.find("skipped")
    assert skipped.get("type") == "waived"
    assert "until 2026-12-31 by ciso@example.test: Migration ticket SEC-12" in skipped.get("message")
    assert "java\\x01bad" in skipped.get("message")  # shown as its escape, as the terminal and the HTML show it
    assert ET.fromstring(data).find("testsuite").get("time") == "0.000"


def test_same_evidence_same_bytes_also_from_the_evidence_file(tmp_path, evidence, context, xml_bytes):
    assert render_junit(make_evidence(), context) == xml_bytes
    path = tmp_path / "corp-baseline.json"
    write_evidence(evidence, path)
    loaded, raw = load_evidence(path)
    assert render_junit(loaded, ReportContext(evidence_bytes=raw)) == xml_bytes


def test_golden(xml_bytes):
    check_golden("corp-baseline.junit.xml", xml_bytes)
