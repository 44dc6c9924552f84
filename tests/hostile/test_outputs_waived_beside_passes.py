"""A rule whose failing subjects are all waived, beside subjects that pass, in the formats auditors get.

The evidence rolls such a rule up to ``waived`` (rollup_status): an accepted deviation, never a pass.
HDF showed each waived finding as ``skipped`` beside the ``passed`` ones, and Heimdall (inspecjs
``ExecControl.compute_status``: error, then waived or impact 0 "Not Applicable", then failed, then
passed, then skipped "Not Reviewed") calls a control with a passed and no failed or error result
"Passed": the waived failure disappeared behind the passes on the dashboard and in ``saf`` gates.
Now a waived finding beside a pass is ``failed``, as InSpec reports a waived control whose test ran
(``run: true``): the failure, with the control's ``waiver_data`` saying who accepted it until when.
JUnit (skipped) and Prometheus (rule_status waived) already said so; asserted here beside it.
"""

from __future__ import annotations

import json
from datetime import timedelta

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.result import Severity
from auditor.report import ReportContext
from auditor.report.hdf import render_hdf
from auditor.report.junit import render_junit
from auditor.report.prometheus import render_prometheus
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy
from tests.factories import FIXED_TIME, listener, snapshot
from tests.report.conftest import hdf_validator as hdf_validator  # noqa: F401 - the fixture, used by name

RULE = "wildcard-listeners"


def heimdall_status(control: dict) -> str:
    """The control status Heimdall shows (mitre/heimdall2 libs/inspecjs compat_inspec_1_0.ts)."""
    statuses = ["error" if r.get("backtrace") else r["status"] for r in control["results"]]
    if "error" in statuses:
        return "Profile Error"
    if (control.get("waiver_data") or {}).get("skipped_due_to_waiver") or control["impact"] == 0:
        return "Not Applicable"
    if not statuses:
        return "Profile Error"
    for status, shown in (("failed", "Failed"), ("passed", "Passed"), ("skipped", "Not Reviewed")):
        if status in statuses:
            return shown
    return "Profile Error"


def _evidence():
    policy = make_policy()
    policy = policy.model_copy(update={"rules": [r for r in policy.rules if r.id == RULE],
                                       "waivers": [w for w in policy.waivers if w.rule == RULE]})
    # sshd on an allowed port passes; java on 8080 fails and the policy waives it
    snap = snapshot(listeners=[listener("0.0.0.0", 22), listener("0.0.0.0", 8080)], audit=None, netns=None)
    registry = build_registry(list(CHECKS))
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    evidence = build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                              started_at=FIXED_TIME, finished_at=FIXED_TIME + timedelta(seconds=1),
                              evaluated_on=EVALUATED_ON, timings_ms={})
    assert sorted(f.status.value for f in evidence.result.findings) == ["pass", "waived"]
    assert evidence.result.verdict.value == "compliant"
    return evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="e.json")


def test_hdf_never_shows_a_waived_failure_beside_passes_as_passed(hdf_validator):
    evidence, context = _evidence()
    document = json.loads(render_hdf(evidence, context))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in hdf_validator.iter_errors(document)] == []
    [control] = document["profiles"][0]["controls"]
    assert sorted((r["lbaudit_status"], r["status"]) for r in control["results"]) == [
        ("pass", "passed"), ("waived", "failed")]
    assert heimdall_status(control) == "Failed"
    waived = next(r for r in control["results"] if r["lbaudit_status"] == "waived")
    assert waived["message"].startswith("waived (a failure the policy accepts as a deviation) until 2026-12-31, "
                                        "approved by Dana Whitfield (CISO): Legacy billing API")
    assert control["waiver_data"]["run"] is True and control["waiver_data"]["skipped_due_to_waiver"] is False


def test_hdf_a_rule_whose_findings_are_all_waived_stays_not_reviewed():
    evidence, context = _evidence()
    only_waived = evidence.model_copy(update={"result": evidence.result.model_copy(update={
        "findings": [f for f in evidence.result.findings if f.status.value == "waived"]})})
    [control] = json.loads(render_hdf(only_waived, context))["profiles"][0]["controls"]
    assert [r["status"] for r in control["results"]] == ["skipped"]
    assert heimdall_status(control) == "Not Reviewed"


def test_junit_and_prometheus_show_the_rule_waived():
    evidence, context = _evidence()
    junit = render_junit(evidence, context).decode()
    assert '<skipped type="waived" message="tcp 0.0.0.0:8080' in junit
    prom = render_prometheus(evidence, context).decode().splitlines()
    assert f'lbaudit_rule_status{{policy="corp-baseline",rule="{RULE}",status="waived"}} 1' in prom
    assert f'lbaudit_rule_status{{policy="corp-baseline",rule="{RULE}",status="pass"}} 0' in prom
