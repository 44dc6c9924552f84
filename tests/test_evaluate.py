"""The pure engine: statuses, fail-closed rules, waivers, rollup, verdict and exit codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.registry import build_registry
from auditor.errors import RegistryError
from auditor.model.check import CheckParams, check, failed, passed
from auditor.model.facts import Gap, GapKind
from auditor.model.policy import Policy, PolicySource, ResolvedRule, Waiver
from auditor.model.result import ExitCode, Finding, Severity, Status, Verdict
from tests.factories import listener, snapshot

TODAY = date(2026, 11, 22)


class PortParams(CheckParams):
    forbidden_port: int = 23


@check(name="test.no_port", title="No listener on a forbidden port", version="1", needs=["sockets"],
       params=PortParams, severity=Severity.HIGH, controls=["CM-7"], rationale="r", remediation="m")
def no_port(snap, params):
    for item in snap.facts.sockets.listeners:
        if item.port == params.forbidden_port:
            yield failed(item.subject, "forbidden port", observed=item.port, expected=f"not {params.forbidden_port}")
        else:
            yield passed(item.subject, "allowed port")


class NoParams(CheckParams):
    pass


@check(name="test.raises", title="Raises", version="1", needs=["sysctl"], params=NoParams,
       severity=Severity.LOW, controls=["SC-5"], rationale="r", remediation="m")
def raises(snap, params):
    raise RuntimeError("boom")


@check(name="test.silent", title="Says nothing", version="1", needs=["sysctl"], params=NoParams,
       severity=Severity.LOW, controls=["SC-5"], rationale="r", remediation="m")
def silent(snap, params):
    return []


@check(name="test.audit", title="Needs audit", version="1", needs=["audit"], params=NoParams,
       severity=Severity.MEDIUM, controls=["AU-2", "AU-12"], rationale="r", remediation="m")
def needs_audit(snap, params):
    yield passed("audit", "fine")


REGISTRY = build_registry([no_port, raises, silent, needs_audit])


def rule(rule_id: str, check_name: str, severity: Severity = Severity.HIGH, controls=None, **params) -> ResolvedRule:
    spec = REGISTRY.checks[check_name]
    return ResolvedRule(id=rule_id, check=check_name, params=params, severity=severity,
                        controls=controls or list(spec.controls), enabled=True, source="p.yaml:1")


def policy(*rules: ResolvedRule, waivers=()) -> Policy:
    return Policy(id="p", version="1", owner="o", description="", rules=list(rules), waivers=list(waivers),
                  sources=[PolicySource(path="p.yaml", sha256="0" * 64)])


def test_pass_and_fail_give_non_compliant_exit_1():
    snap = snapshot(listeners=[listener("0.0.0.0", 23), listener("127.0.0.1", 8080)])
    result = evaluate(policy(rule("r1", "test.no_port")), snap, REGISTRY, today=TODAY)
    statuses = sorted(f.status.value for f in result.findings)
    assert statuses == ["fail", "pass"]
    assert result.verdict == Verdict.NON_COMPLIANT and result.exit_code == ExitCode.NON_COMPLIANT == 1
    assert result.summary.failing_by_severity["high"] == 1
    control = {c.id: c for c in result.controls}["CM-7"]
    assert control.status == Status.FAIL and control.rules == ["r1"] and control.title == "Least Functionality"


def test_all_pass_is_compliant_exit_0():
    snap = snapshot(listeners=[listener("127.0.0.1", 8080)])
    result = evaluate(policy(rule("r1", "test.no_port")), snap, REGISTRY, today=TODAY)
    assert result.verdict == Verdict.COMPLIANT and result.exit_code == 0 and result.complete


def test_fail_below_fail_on_does_not_block():
    snap = snapshot(listeners=[listener("0.0.0.0", 23)])
    result = evaluate(policy(rule("r1", "test.no_port", severity=Severity.LOW)), snap, REGISTRY,
                      fail_on=Severity.HIGH, today=TODAY)
    assert result.summary.by_status["fail"] == 1
    assert result.exit_code == ExitCode.COMPLIANT


def test_raising_check_is_an_error_finding_and_incomplete_exit_3():
    result = evaluate(policy(rule("r2", "test.raises")), snapshot(), REGISTRY, today=TODAY)
    (finding,) = result.findings
    assert finding.status == Status.ERROR and "RuntimeError: boom" in finding.reason
    assert result.verdict == Verdict.INCOMPLETE and result.exit_code == ExitCode.INCOMPLETE == 3
    assert not result.complete and "boom" in result.incomplete_reasons[0]


def test_silent_check_never_passes():
    result = evaluate(policy(rule("r3", "test.silent")), snapshot(), REGISTRY, today=TODAY)
    (finding,) = result.findings
    assert finding.status == Status.NOT_REVIEWED and finding.reason == "the check returned no outcome"
    assert result.exit_code == ExitCode.INCOMPLETE


def test_missing_section_is_not_reviewed_with_collector_reason():
    gaps = [Gap(section="audit", reason="auditctl: must be root")]
    result = evaluate(policy(rule("r4", "test.audit")), snapshot(audit=None, gaps=gaps), REGISTRY, today=TODAY)
    (finding,) = result.findings
    assert finding.status == Status.NOT_REVIEWED and finding.reason == "auditctl: must be root"
    assert {c.id: c.status for c in result.controls} == {"AU-2": Status.NOT_REVIEWED, "AU-12": Status.NOT_REVIEWED}
    assert result.exit_code == ExitCode.INCOMPLETE


def test_missing_section_without_a_gap_still_fails_closed():
    result = evaluate(policy(rule("r4", "test.audit")), snapshot(audit=None), REGISTRY, today=TODAY)
    (finding,) = result.findings
    assert finding.status == Status.NOT_REVIEWED and "no reason recorded" in finding.reason


def test_section_not_applicable_offline():
    gaps = [Gap(section="audit", reason="offline image", kind=GapKind.NOT_APPLICABLE)]
    snap = snapshot(audit=None, gaps=gaps, listeners=[listener("127.0.0.1", 8080)])
    result = evaluate(policy(rule("r1", "test.no_port"), rule("r4", "test.audit")), snap, REGISTRY, today=TODAY)
    assert {f.rule_id: f.status for f in result.findings}["r4"] == Status.NOT_APPLICABLE
    assert result.exit_code == ExitCode.COMPLIANT and result.complete


def test_nothing_judged_is_incomplete_not_compliant():
    """Every finding not_applicable: the run has shown nothing, so the gate must not pass."""
    gaps = [Gap(section="audit", reason="offline image", kind=GapKind.NOT_APPLICABLE)]
    result = evaluate(policy(rule("r4", "test.audit")), snapshot(audit=None, gaps=gaps), REGISTRY, today=TODAY)
    assert result.findings[0].status == Status.NOT_APPLICABLE
    assert result.verdict == Verdict.INCOMPLETE and result.exit_code == ExitCode.INCOMPLETE
    assert result.incomplete_reasons == ["nothing was judged: every finding is not_applicable"]


def waiver(**kw) -> Waiver:
    values = dict(rule="r1", reason="accepted risk", approver="CISO", expires=date(2027, 1, 1))
    values.update(kw)
    return Waiver(**values)


def test_waiver_applies_to_matching_subject_only():
    snap = snapshot(listeners=[listener("0.0.0.0", 23), listener("::", 23)])
    result = evaluate(policy(rule("r1", "test.no_port"), waivers=[waiver(subject="tcp 0.0.0.0:23*")]), snap,
                      REGISTRY, today=TODAY)
    by_subject = {f.subject: f for f in result.findings}
    assert by_subject["tcp 0.0.0.0:23 owner unknown"].status == Status.WAIVED
    assert by_subject["tcp 0.0.0.0:23 owner unknown"].waiver.approver == "CISO"
    assert by_subject["tcp [::]:23 owner unknown"].status == Status.FAIL
    assert result.waivers[0].state == "applied"


def test_expired_waiver_is_not_honoured_and_reported():
    snap = snapshot(listeners=[listener("0.0.0.0", 23)])
    result = evaluate(policy(rule("r1", "test.no_port"), waivers=[waiver(expires=date(2026, 11, 21))]), snap,
                      REGISTRY, today=TODAY)
    assert result.findings[0].status == Status.FAIL
    assert result.waivers[0].state == "expired" and result.waivers[0].findings == [result.findings[0].id]
    assert result.exit_code == ExitCode.NON_COMPLIANT


def test_waiver_valid_through_its_expiry_date():
    snap = snapshot(listeners=[listener("0.0.0.0", 23)])
    result = evaluate(policy(rule("r1", "test.no_port"), waivers=[waiver(expires=TODAY)]), snap, REGISTRY, today=TODAY)
    assert result.findings[0].status == Status.WAIVED and result.exit_code == ExitCode.COMPLIANT


def test_waiver_cannot_turn_missing_evidence_into_a_pass():
    gaps = [Gap(section="audit", reason="auditctl: must be root")]
    result = evaluate(policy(rule("r1", "test.audit"), waivers=[waiver()]), snapshot(audit=None, gaps=gaps),
                      REGISTRY, today=TODAY)
    assert result.findings[0].status == Status.NOT_REVIEWED
    assert result.waivers[0].state == "unused"


def test_finding_ids_are_stable_and_unique():
    snap = snapshot(listeners=[listener("0.0.0.0", 23), listener("0.0.0.0", 23)])
    first = evaluate(policy(rule("r1", "test.no_port")), snap, REGISTRY, today=TODAY)
    second = evaluate(policy(rule("r1", "test.no_port")), snap, REGISTRY, today=TODAY)
    ids = [f.id for f in first.findings]
    assert len(set(ids)) == 2 and ids == [f.id for f in second.findings]
    # the second about one subject is told apart by its number, as every earlier evidence holds it
    subject = first.findings[0].subject
    assert ids == [Finding.make_id("r1", subject), Finding.make_id("r1", f"{subject}#2")]


def test_registry_is_loud():
    with pytest.raises(RegistryError, match="not usable") as info:
        build_registry([no_port, no_port])
    assert "declared twice" in info.value.render()
    with pytest.raises(RegistryError) as info:
        build_registry([no_port, replace(no_port, origin="plugin evil 1.0")])
    assert "shadows built-in" in info.value.render() or "declared twice" in info.value.render()
    with pytest.raises(RegistryError) as info:
        build_registry([replace(no_port, controls=("XX-1",))])
    assert "unknown control 'XX-1'" in info.value.render()
    with pytest.raises(RegistryError) as info:
        build_registry([])
    assert "no checks were loaded" in info.value.render()


def test_plugin_shadowing_builtin_is_named():
    builtin = replace(no_port, origin="builtin lbaudit 0.1.0")
    with pytest.raises(RegistryError) as info:
        build_registry([builtin, replace(no_port, origin="plugin evil 1.0")])
    assert "plugin evil 1.0 shadows built-in check 'test.no_port'" in info.value.render()


def test_finding_id_ignores_the_pid_so_restarts_keep_the_id():
    from auditor.model.facts import ProcessInfo

    before = snapshot(listeners=[listener("0.0.0.0", 23, processes=[ProcessInfo(pid=812, name="telnetd")])])
    after = snapshot(listeners=[listener("0.0.0.0", 23, processes=[ProcessInfo(pid=4711, name="telnetd")])])

    @check(name="test.keyed", title="Keyed", version="1", needs=["sockets"], params=PortParams,
           severity=Severity.HIGH, controls=["CM-7"], rationale="r", remediation="m")
    def keyed(snap, params):
        for item in snap.facts.sockets.listeners:
            yield failed(item.subject, "forbidden", key=item.identity)

    registry = build_registry([keyed])
    rules = [ResolvedRule(id="r", check="test.keyed", params={}, severity=Severity.HIGH, controls=["CM-7"],
                          enabled=True, source="p.yaml:1")]
    first = evaluate(policy(*rules), before, registry, today=TODAY).findings[0]
    second = evaluate(policy(*rules), after, registry, today=TODAY).findings[0]
    assert first.subject != second.subject and first.id == second.id


def test_rule_timings_are_reported_outside_the_result():
    timings: dict[str, int] = {}
    snap = snapshot(listeners=[listener("127.0.0.1", 80)])
    result = evaluate(policy(rule("r1", "test.no_port")), snap, REGISTRY, today=TODAY, timings_ms=timings)
    assert set(timings) == {"r1"} and timings["r1"] >= 0
    assert "timings" not in result.model_dump_json()


def test_waiver_subject_brackets_are_literal_for_ipv6():
    snap = snapshot(listeners=[listener("::", 23), listener("0.0.0.0", 23)])
    result = evaluate(policy(rule("r1", "test.no_port"), waivers=[waiver(subject="tcp [::]:23 *")]), snap,
                      REGISTRY, today=TODAY)
    by_subject = {f.subject: f.status for f in result.findings}
    assert by_subject == {"tcp [::]:23 owner unknown": Status.WAIVED, "tcp 0.0.0.0:23 owner unknown": Status.FAIL}


@check(name="test.port_again", title="Names the listeners as test.no_port does", version="1", needs=["sockets"],
       params=NoParams, severity=Severity.LOW, controls=["CM-7"], rationale="r", remediation="m")
def port_again(snap, params):
    for index, item in enumerate(snap.facts.sockets.listeners):
        yield passed(item.subject, "seen", evidence=[f"/facts/sockets/listeners/{index}"])


def test_two_rules_findings_about_one_listener_share_its_subject_and_pointer_texts():
    # Each rule's check names a listener with its own copy of the same texts; the findings keep one
    # (issue 16: 0.15 KiB a listener), and the values are the same.
    registry = build_registry([no_port, port_again])
    first_rule = ResolvedRule(id="a", check="test.no_port", params={}, severity=Severity.HIGH, controls=["CM-7"],
                              enabled=True, source="p.yaml:1")
    again = ResolvedRule(id="b", check="test.port_again", params={}, severity=Severity.LOW, controls=["CM-7"],
                         enabled=True, source="p.yaml:2")
    snap = snapshot(listeners=[listener("127.0.0.1", 22), listener("0.0.0.0", 23)])
    findings = evaluate(policy(first_rule, again), snap, registry, today=TODAY).findings
    by_rule = {(f.rule_id, f.subject): f for f in findings}
    for subject in {f.subject for f in findings}:
        assert by_rule["a", subject].subject is by_rule["b", subject].subject
    pointers = [f.evidence[0] for f in findings if f.rule_id == "b"]
    assert pointers == ["/facts/sockets/listeners/0", "/facts/sockets/listeners/1"]
    again_pointers = [f.evidence[0] for f in evaluate(policy(again, again.model_copy(update={"id": "c"})), snap,
                                                      registry, today=TODAY).findings]
    assert again_pointers[0] is again_pointers[2] and again_pointers[1] is again_pointers[3]


def test_making_findings_drops_each_outcome_once_its_finding_is_made():
    # One rule's outcomes are not held beside all of its findings (issue 16: 2.4 MiB at 5,000
    # listeners, the peak of judging): the list handed over is consumed, in order.
    from auditor.engine.evaluate import _findings

    spec = REGISTRY.checks["test.no_port"]
    outcomes = [passed(f"tcp 127.0.0.1:{port}", "fine") for port in range(5)]
    subjects = [o.subject for o in outcomes]
    findings = _findings(rule("a", "test.no_port"), spec, outcomes)
    assert outcomes == []
    assert [f.subject for f in findings] == subjects


def test_nothing_judged_says_what_the_findings_are_not_that_they_are_not_applicable():
    """The reason was "every finding is not_applicable" also for a run with no finding at all or
    with only not_reviewed ones: every format repeated a claim the evidence does not make."""
    from auditor.model.result import tally_run

    assert tally_run([], [], Severity.INFO).incomplete_reasons == ["nothing was judged: no enabled rule, no finding"]
    result = evaluate(policy(rule("r4", "test.audit")), snapshot(audit=None), REGISTRY, today=TODAY)
    assert {f.status for f in result.findings} == {Status.NOT_REVIEWED}
    assert result.incomplete_reasons[-1] == (
        "nothing was judged: no finding passed, failed or was waived (the findings are not_reviewed)")
    assert result.verdict == Verdict.INCOMPLETE
