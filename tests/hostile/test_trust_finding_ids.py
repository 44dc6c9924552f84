"""Two findings of one id: a passing finding that every report merges with a failing one.

A finding's id (from its rule id and subject) is its identity wherever it goes: SARIF's
``partialFingerprints`` (code scanning tracks an alert by it), OSCAL's observation and risk uuids
and their links into the evidence, HDF, the waiver states.  The engine gave a subject judged again
the id of ``<subject>#<n>``, without looking whether a subject of the rule is already called so: a
check that failed "nginx" twice and passed "nginx#2" (subjects are host text) gave the second
failure and the pass one id, so code scanning took the pass for the failure, and OSCAL had two
observations of one uuid, the failure's linking to the passing finding.  Now the engine never gives
an id twice, and reading evidence in which two findings share one (written by an lbaudit before this
fix, or edited) is refused (exit 2), like any other evidence its reports would misstate.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.check import CheckParams, check, failed, passed
from auditor.model.result import Severity, Status, Verdict
from auditor.report.oscal import render_oscal
from auditor.report.sarif import FINGERPRINT_KEY, render_sarif
from tests.cli import run_cli
from tests.evidence_fixtures import CHECKS, make_evidence, make_policy, write_evidence_file
from tests.hostile.test_renderers_identity import _context, _evidence


@check(
    name="test.repeated_subjects",
    title="Each worker binds a specific address",
    version="1.0",
    needs=["sockets"],
    params=CheckParams,
    severity=Severity.HIGH,
    controls=["SC-7"],
    rationale="Subjects are host text: one may read like another judged twice.",
    remediation="Bind every worker to a specific address.",
)
def repeated_subjects(snap, params):
    yield failed("nginx", "listens on the wildcard address", observed="0.0.0.0", expected="a specific address")
    yield failed("nginx", "listens on the wildcard address", observed="::", expected="a specific address")
    yield passed("nginx#2", "bound to 10.0.0.5")


def _repeated_evidence():
    base = make_policy()
    rule = base.rules[0].model_copy(update={"id": "workers", "check": "test.repeated_subjects", "params": {},
                                            "controls": ["SC-7"]})
    return _evidence(base.model_copy(update={"rules": [rule], "waivers": []}), [*CHECKS, repeated_subjects])


def test_a_subject_that_reads_like_a_repeated_one_gets_its_own_id():
    evidence = _repeated_evidence()
    assert (evidence.result.verdict, evidence.result.exit_code) == (Verdict.NON_COMPLIANT, 1)
    findings = evidence.result.findings
    assert [(f.subject, f.status) for f in findings] == [("nginx", Status.FAIL), ("nginx", Status.FAIL),
                                                         ("nginx#2", Status.PASS)]
    ids = [f.id for f in findings]
    assert len(set(ids)) == 3  # before: the second failure and the pass had one id

    results = json.loads(render_sarif(evidence, _context(evidence)))["runs"][0]["results"]
    # the pass is no result (code scanning makes every result an alert): two failures, two fingerprints
    assert [(r["kind"], r["partialFingerprints"][FINGERPRINT_KEY]) for r in results] == [
        ("fail", ids[0]), ("fail", ids[1])]

    observations = json.loads(render_oscal(evidence, _context(evidence)))["assessment-results"]["results"][0][
        "observations"]
    assert len({o["uuid"] for o in observations}) == 3
    links = [link["href"] for o in observations for link in o.get("relevant-evidence", [])
             if "/result/findings/" in link["href"]]
    assert [href.rsplit("/", 1)[1] for href in links] == ["0", "1", "2"]


def test_control_case_a_subject_judged_twice_keeps_the_ids_it_had():
    evidence = _repeated_evidence()
    first, second, _ = evidence.result.findings
    assert first.id == first.make_id("workers", "nginx")
    assert second.id == second.make_id("workers", "nginx#2")  # ids of repeated subjects stay stable across versions


def test_evidence_in_which_two_findings_share_an_id_is_refused(tmp_path: Path):
    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    findings = data["result"]["findings"]
    failing = next(i for i, f in enumerate(findings) if f["status"] == "fail")
    passing = next(i for i, f in enumerate(findings) if f["status"] == "pass" and f["rule_id"] == findings[failing]["rule_id"])
    findings[passing]["id"] = findings[failing]["id"]
    path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    run = run_cli("report", path, "--format", "sarif", "--out-dir", tmp_path / "out", cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    first, later = sorted((failing, passing))
    assert (f"/result/findings/{later}/id: {findings[failing]['id']!r} is the id of /result/findings/{first} too; "
            "each finding has its own") in run.stderr
    assert not (tmp_path / "out").exists()
