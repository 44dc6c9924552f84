"""Hostile cases: the OSCAL assessment-results rendered from edge-case evidence validates against the
official OSCAL 1.1.2 schema (../shared/reference; skipped on a workstation without it, a failure in CI).

* OSCAL's ``string`` type (prop values, party names, the metadata version) is ``^\\S(.*\\S)?$``: a host
  name with a line break (a snapshot from another tool) or a policy version with a trailing space (the
  policy model allows it) made the whole document invalid, so an OSCAL consumer rejected the run.
* A policy with no enabled rule reviews no control: ``include-controls: []`` broke the schema's
  ``minItems: 1``; the selection now names no control instead.
"""

from __future__ import annotations

import json
from datetime import timedelta

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.evidence import Evidence
from auditor.model.policy import Policy
from auditor.model.result import Severity
from auditor.report import ReportContext
from auditor.report.oscal import NS, render_oscal
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy, make_snapshot
from tests.factories import FIXED_TIME
from tests.report.conftest import oscal_validator  # noqa: F401  (the session fixture with the official schema)


def _evidence(*, hostname: str, version: str, rules: bool = True, approver: str | None = None) -> Evidence:
    data = make_policy().model_dump(mode="json")
    data["version"] = version
    if not rules:
        data["rules"], data["waivers"] = [], []
    if approver is not None:
        for waiver in data["waivers"]:
            waiver["approver"] = approver
    policy = Policy.model_validate(data)  # through the model's own validation, as a loaded policy is
    registry = build_registry(list(CHECKS))
    snap = make_snapshot(hostname=hostname)
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                          started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7),
                          evaluated_on=EVALUATED_ON)


def _render(evidence: Evidence, assessor: str | None = None) -> dict:
    context = ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="e.json", assessor=assessor)
    return json.loads(render_oscal(evidence, context))


def _errors(validator, document: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_string_values_from_the_evidence_are_oscal_strings(oscal_validator):  # noqa: F811
    evidence = _evidence(hostname="web01.example.test\n", version="2026.11 ", approver="Dana Whitfield (CISO) ")
    document = _render(evidence, assessor=" Jane  Auditor")
    assert _errors(oscal_validator, document) == []
    ar = document["assessment-results"]
    assert ar["metadata"]["version"] == "2026.11"
    names = [p["name"] for p in ar["metadata"]["parties"]]
    assert names == ["Jane Auditor", "lbaudit", "Dana Whitfield (CISO)"]
    props = {p["name"]: p["value"] for p in ar["results"][0]["local-definitions"]["inventory-items"][0]["props"]}
    # a prop is the host's identity: its line feed shown as an escape, never dropped (a host named
    # "web01.example.test\n" had the props of web01.example.test: tests/hostile/test_reports18_oscal_string_props.py)
    assert props["hostname"] == "web01.example.test\\n"
    assert props["fqdn"] == "web01.example.test\\n"


def test_a_policy_without_rules_reviews_no_control_and_stays_valid(oscal_validator):  # noqa: F811
    evidence = _evidence(hostname="web01.example.test", version="2026.11", rules=False)
    assert evidence.result.verdict.value == "incomplete"
    document = _render(evidence)
    assert _errors(oscal_validator, document) == []
    result = document["assessment-results"]["results"][0]
    assert result["reviewed-controls"]["control-selections"] == [
        {"description": "No control: the policy has no enabled rule, so the run reviewed no control."}
    ]
    assert "findings" not in result and "observations" not in result
    assert {"name": "verdict", "value": "incomplete", "ns": NS} in result["props"]
