"""Hostile cases: file paths in SARIF and OSCAL are URI references that name the file, never a scheme.

A relative path whose first segment holds a colon (``corp:v2.yaml``, ``C:\\policies\\corp.yaml``)
was written as it is, and RFC 3986 reads the text before the colon as a scheme: GitHub code scanning
and OSCAL tools resolved ``corp:v2.yaml`` as a resource of scheme ``corp``, not the policy file.
The colon is now percent-encoded in one place (``report._shared.path_uri``).  Each document still
validates against its official schema from ../shared/reference.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.evidence import Evidence
from auditor.model.policy import Policy
from auditor.model.result import Severity
from auditor.report import ReportContext
from auditor.report.oscal import render_oscal
from auditor.report.sarif import render_sarif
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy, make_snapshot
from tests.factories import FIXED_TIME
from tests.report.conftest import oscal_validator, sarif_validator  # noqa: F401  (official schemas)

POLICY_PATH = "corp:v2.yaml"
EVIDENCE_PATH = "runs:2026/corp.evidence.json"


def _evidence() -> Evidence:
    data = make_policy().model_dump(mode="json")
    data["sources"] = [{"path": POLICY_PATH, "sha256": "ab" * 32}]
    for rule in data["rules"]:
        rule["source"] = rule["source"].replace("policies/corp.yaml", POLICY_PATH)
    policy = Policy.model_validate(data)
    registry = build_registry(list(CHECKS))
    snap = make_snapshot()
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                          started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7),
                          evaluated_on=EVALUATED_ON)


def _context(evidence: Evidence) -> ReportContext:
    return ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path=EVIDENCE_PATH)


def _relative(uri: str) -> str:
    """The path a relative reference names; fails when a reader would take the reference for a scheme."""
    parts = urlsplit(uri)
    assert parts.scheme == "" and parts.netloc == "", uri
    return unquote(parts.path)


def test_sarif_names_the_policy_file_not_a_scheme(sarif_validator):  # noqa: F811
    evidence = _evidence()
    document = json.loads(render_sarif(evidence, _context(evidence)))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator.iter_errors(document)] == []
    run = document["runs"][0]
    locations = [loc["physicalLocation"]["artifactLocation"]["uri"]
                 for result in run["results"] for loc in result.get("locations", [])]
    assert locations and set(locations) == {"corp%3Av2.yaml"}
    assert {_relative(uri) for uri in locations} == {POLICY_PATH}


def test_oscal_names_the_policy_and_evidence_files_not_a_scheme(oscal_validator):  # noqa: F811
    evidence = _evidence()
    document = json.loads(render_oscal(evidence, _context(evidence)))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in oscal_validator.iter_errors(document)] == []
    hrefs = [link["href"] for resource in document["assessment-results"]["back-matter"]["resources"]
             for link in resource.get("rlinks", [])]
    assert hrefs == ["runs%3A2026/corp.evidence.json", "corp%3Av2.yaml"]
    assert [_relative(h) for h in hrefs] == [EVIDENCE_PATH, POLICY_PATH]
    observation_hrefs = {link["href"].split("#")[0] for obs in document["assessment-results"]["results"][0]["observations"]
                         for link in obs.get("relevant-evidence", [])}
    assert observation_hrefs == {"runs%3A2026/corp.evidence.json"}
