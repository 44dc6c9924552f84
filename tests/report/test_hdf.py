"""HDF (Heimdall Exec JSON) reporter: valid against MITRE's schema, counts equal to the evidence's.

The schema test uses ../shared/reference/hdf/exec-json.json (skipped when that folder is absent, a
failure under CI=true).  A second reader, MITRE's SAF CLI from npm, runs in the test marked
``hdf_reader`` below when npm can fetch it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from auditor.model.result import Status
from auditor.report import ReportContext, select_reporters
from auditor.report.hdf import IMPACT, UNMAPPED_NIST, render_hdf
from auditor.storage.evidence import evidence_bytes


@pytest.fixture(scope="module")
def hdf(evidence, context):
    return json.loads(render_hdf(evidence, context))


def _errors(validator, document) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]


def _results(hdf):
    return [r for p in hdf["profiles"] for c in p["controls"] for r in c["results"]]


def test_validates_against_the_heimdall_schema(hdf_validator, hdf):
    assert _errors(hdf_validator, hdf) == []


def test_the_schema_check_is_not_vacuous(hdf_validator, hdf):
    broken = json.loads(json.dumps(hdf))
    broken["profiles"][0]["controls"][0]["impact"] = 1.5
    broken["profiles"][0]["controls"][0]["results"][0]["status"] = "not_applicable"
    del broken["profiles"][0]["sha256"]
    errors = _errors(hdf_validator, broken)
    assert any(e.startswith("/profiles/0/controls/0/impact") for e in errors)
    assert any(e.startswith("/profiles/0/controls/0/results/0/status") for e in errors)
    assert any("'sha256' is a required property" in e for e in errors)


def test_passed_and_failed_counts_equal_the_evidence(hdf, evidence):
    by_status = evidence.result.summary.by_status
    statuses = Counter(r["status"] for r in _results(hdf))
    assert statuses["passed"] == by_status.get("pass", 0) > 0
    assert statuses["failed"] == by_status.get("fail", 0) > 0
    assert statuses["error"] == by_status.get("error", 0) > 0
    skipped = sum(by_status.get(s, 0) for s in ("not_reviewed", "not_applicable", "waived"))
    assert statuses["skipped"] == skipped
    assert len(_results(hdf)) == len(evidence.result.findings)
    assert hdf["passthrough"]["lbaudit"]["by_status"] == by_status


def test_one_profile_for_the_policy_and_one_control_per_enabled_rule(hdf, evidence):
    [profile] = hdf["profiles"]
    assert profile["name"] == evidence.policy.id
    assert profile["version"] == evidence.policy.version
    assert profile["sha256"] == evidence.policy_sha256
    assert profile["supports"] == [{"platform-family": "linux"}]
    enabled = [r for r in evidence.policy.rules if r.enabled]
    assert [c["id"] for c in profile["controls"]] == [r.id for r in enabled]
    assert len(enabled) < len(evidence.policy.rules)  # the fixture's disabled rule is left out


def test_control_descriptions_impact_nist_and_source_location(hdf, evidence):
    controls = {c["id"]: c for c in hdf["profiles"][0]["controls"]}
    rules = {r.id: r for r in evidence.policy.rules}
    records = {c.name: c for c in evidence.checks}
    for rule_id, control in controls.items():
        rule = rules[rule_id]
        assert control["tags"]["nist"] == (list(rule.controls) or [UNMAPPED_NIST])
        assert control["tags"]["nist"]
        labels = {d["label"]: d["data"] for d in control["descriptions"]}
        assert labels["check"] == records[rule.check].rationale
        assert labels["fix"] == records[rule.check].remediation
        path, _, line = rule.source.rpartition(":")
        assert control["source_location"] == {"ref": path, "line": int(line)}
        statuses = {f.status for f in evidence.result.findings if f.rule_id == rule_id}
        expected_impact = 0.0 if statuses == {Status.NOT_APPLICABLE} else IMPACT[rule.severity]
        assert control["impact"] == expected_impact


def test_not_reviewed_is_skipped_with_its_reason_and_never_passed(hdf, evidence):
    by_id = {r["lbaudit_finding_id"]: r for r in _results(hdf)}
    for finding in evidence.result.findings:
        result = by_id[finding.id]
        if finding.status == Status.NOT_REVIEWED:
            assert result["status"] == "skipped"
            assert result["skip_message"] == f"not reviewed: {finding.reason}"
        if finding.status == Status.NOT_APPLICABLE:
            assert result["skip_message"].startswith("not applicable: ")
        if finding.status == Status.ERROR:
            assert result["status"] == "error" and finding.reason in result["backtrace"][0]
        if finding.status == Status.WAIVED:
            assert result["status"] == "skipped"
            assert finding.waiver.approver in result["skip_message"]


def test_waivers_are_waiver_data_and_the_digest_is_in_passthrough(hdf, evidence, context):
    controls = {c["id"]: c for c in hdf["profiles"][0]["controls"]}
    for waiver in evidence.result.waivers:
        if waiver.rule_id not in controls:
            continue
        data = controls[waiver.rule_id]["waiver_data"]
        assert waiver.reason in data["justification"] and waiver.state in data["justification"]
    assert any("waiver_data" in c for c in controls.values())
    lbaudit = hdf["passthrough"]["lbaudit"]
    import hashlib
    assert lbaudit["evidence"]["sha256"] == hashlib.sha256(context.evidence_bytes).hexdigest()
    assert lbaudit["signature"] == {"state": "unsigned", "key_fingerprint": None}
    assert lbaudit["verdict"] == evidence.result.verdict.value


def test_a_signed_evidence_says_so(evidence):
    context = ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="e.json",
                            signature_fingerprint="ab" * 32)
    lbaudit = json.loads(render_hdf(evidence, context))["passthrough"]["lbaudit"]
    assert lbaudit["signature"] == {"state": "signed", "key_fingerprint": "ab" * 32}
    assert "lbaudit verify e.json --pubkey" in lbaudit["how_to_verify"]


def test_registered_by_name():
    reporter = select_reporters(["hdf"], plugins=False)["hdf"]
    assert reporter.render is render_hdf and reporter.extension == ".hdf.json"


def test_a_rule_without_findings_is_one_skipped_result_not_a_profile_error(evidence, context):
    result = evidence.result
    silent = evidence.model_copy(update={"result": result.model_copy(update={
        "findings": [f for f in result.findings if f.rule_id != "port-range"]})})
    controls = {c["id"]: c for c in json.loads(render_hdf(silent, context))["profiles"][0]["controls"]}
    [only] = controls["port-range"]["results"]
    assert only["status"] == "skipped" and only["skip_message"].startswith("not reviewed: ")


# ------------------------------------------------------------------ a second reader: Heimdall's own parser

NPM_PACKAGE = "inspecjs"  # MITRE heimdall2/libs/inspecjs: the library Heimdall parses HDF with
READ_BACK = r"""
const fs = require("fs");
const inspecjs = require(process.argv[2]);
const parsed = inspecjs.convertFile(fs.readFileSync(process.argv[3], "utf8"));
const evaluation = inspecjs.contextualizeEvaluation(parsed["1_0_ExecJson"]);
const out = {};
for (const profile of evaluation.contains) {
  for (const control of profile.contains) {
    const hdf = control.root.hdf;
    out[hdf.wraps.id] = {status: hdf.status, severity: hdf.severity, nist: hdf.rawNistTags,
                         results: hdf.segments.map((s) => s.status)};
  }
}
process.stdout.write(JSON.stringify(out));
"""


def _npm_reader(tmp_cache) -> Path:
    """inspecjs from the npm registry into a cache (about a second: one package, no dependencies);
    skipped with npm's own words when it cannot be had."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if not npm or not node:
        pytest.skip("npm and node are not installed (apt-get install npm): no second HDF reader")
    module = tmp_cache / "node_modules" / NPM_PACKAGE
    if not (module / "package.json").is_file():
        run = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(tmp_cache), NPM_PACKAGE],
                             capture_output=True, text=True, timeout=180)
        if run.returncode != 0:
            pytest.skip(f"npm could not install {NPM_PACKAGE}: {run.stderr.strip().splitlines()[-1:]}")
    return module


@pytest.mark.npm_reader
def test_heimdalls_parser_reads_it_back_with_the_evidences_statuses(evidence, context, tmp_path):
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lbaudit-tests" / "npm"
    cache.mkdir(parents=True, exist_ok=True)
    module = _npm_reader(cache)
    document = tmp_path / "corp-baseline.hdf.json"
    document.write_bytes(render_hdf(evidence, context))
    script = tmp_path / "read.js"
    script.write_text(READ_BACK)
    run = subprocess.run([shutil.which("node"), str(script), str(module), str(document)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    controls = json.loads(run.stdout)
    assert set(controls) == {r.id for r in evidence.policy.rules if r.enabled}
    statuses = {rule: {f.status for f in evidence.result.findings if f.rule_id == rule} for rule in controls}
    for rule, control in controls.items():
        found = statuses[rule]
        expected = ("Profile Error" if Status.ERROR in found else "Not Applicable" if found == {Status.NOT_APPLICABLE}
                    else "Failed" if Status.FAIL in found else "Passed" if Status.PASS in found else "Not Reviewed")
        assert control["status"] == expected, rule
        assert control["nist"] == [r.controls for r in evidence.policy.rules if r.id == rule][0]
    assert Counter(s for c in controls.values() for s in c["results"])["failed"] == \
        evidence.result.summary.by_status["fail"]
    assert controls["audit-socket-calls"]["status"] == "Not Reviewed"  # missing evidence is never a pass
