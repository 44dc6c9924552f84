"""drift.sysctl: running values against what the sysctl.d files set (snapshot fixtures and real roots)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.checks.drift_sysctl import DriftSysctlParams, canonical_value, drift_sysctl
from auditor.collect import CollectContext
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl import collect_sysctl
from auditor.engine.registry import build_registry
from auditor.model.facts import Gap, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts

ROOTS = Path(__file__).resolve().parent.parent / "fixtures" / "roots"


def facts(runtime: dict[str, str], persistent: dict[str, tuple[str, str]] | None) -> SysctlFacts:
    running = sysctl_facts(runtime).runtime
    configured = None if persistent is None else {k: SysctlSetting(value=v, origin=o) for k, (v, o) in persistent.items()}
    return SysctlFacts(runtime=running, persistent=configured)


def run(snap, **params):
    return {o.subject: o for o in drift_sysctl.run(snap, DriftSysctlParams(**params))}


def test_running_value_that_differs_from_the_file_fails_with_both_values():
    snap = snapshot(sysctl=facts(LINUX_DEFAULT_SYSCTLS, {"net.ipv4.tcp_fin_timeout": ("30", "/etc/sysctl.d/60-net.conf:4")}))
    outcome = run(snap)["sysctl net.ipv4.tcp_fin_timeout"]
    assert outcome.status == Status.FAIL
    assert outcome.observed == {"value": "60", "origin": "/proc/sys/net/ipv4/tcp_fin_timeout"}
    assert outcome.expected == {"value": "30", "origin": "/etc/sysctl.d/60-net.conf:4"}
    assert "'60'" in outcome.message and "'30'" in outcome.message and "/etc/sysctl.d/60-net.conf:4" in outcome.message
    assert outcome.evidence == ["/facts/sysctl/runtime/net.ipv4.tcp_fin_timeout",
                                "/facts/sysctl/persistent/net.ipv4.tcp_fin_timeout"]


def test_matching_value_passes_and_unconfigured_keys_are_not_drift():
    snap = snapshot(sysctl=facts(LINUX_DEFAULT_SYSCTLS, {"net.ipv4.tcp_fin_timeout": ("60", "/etc/sysctl.conf:2")}))
    outcomes = run(snap)
    assert list(outcomes) == ["sysctl net.ipv4.tcp_fin_timeout"]  # the 6 other running keys are not configured
    assert outcomes["sysctl net.ipv4.tcp_fin_timeout"].status == Status.PASS


def test_whitespace_and_port_list_forms_compare_equal():
    runtime = dict(LINUX_DEFAULT_SYSCTLS, **{"net.ipv4.ip_local_reserved_ports": "8080-8081,9000"})
    persistent = {
        "net.ipv4.ip_local_port_range": ("32768    60999", "/etc/sysctl.d/a.conf:1"),
        "net.ipv4.ip_local_reserved_ports": ("9000,8081,8080", "/etc/sysctl.d/a.conf:2"),
    }
    outcomes = run(snapshot(sysctl=facts(runtime, persistent)))
    assert {s: o.status for s, o in outcomes.items()} == {
        "sysctl net.ipv4.ip_local_port_range": Status.PASS,
        "sysctl net.ipv4.ip_local_reserved_ports": Status.PASS,
    }
    assert canonical_value("32768\t60999") == "32768 60999"
    assert canonical_value("-1") == "-1"  # a negative number is not a range
    assert canonical_value("1-3") != canonical_value("1-4")


def test_glob_setting_applies_unless_the_key_is_excluded():
    runtime = {"net.ipv4.conf.eth0.rp_filter": "1", "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.lo.rp_filter": "2"}
    persistent = {
        "net.ipv4.conf.*.rp_filter": ("2", "/usr/lib/sysctl.d/50-default.conf:22"),
        "-net.ipv4.conf.all.rp_filter": ("", "/usr/lib/sysctl.d/50-default.conf:23"),
    }
    outcomes = run(snapshot(sysctl=facts(runtime, persistent)))
    assert set(outcomes) == {"sysctl net.ipv4.conf.eth0.rp_filter", "sysctl net.ipv4.conf.lo.rp_filter"}
    eth0 = outcomes["sysctl net.ipv4.conf.eth0.rp_filter"]
    assert eth0.status == Status.FAIL
    assert eth0.expected == {"value": "2", "origin": "/usr/lib/sysctl.d/50-default.conf:22", "pattern": "net.ipv4.conf.*.rp_filter"}
    assert outcomes["sysctl net.ipv4.conf.lo.rp_filter"].status == Status.PASS


def test_keys_param_restricts_and_names_unconfigured_keys():
    snap = snapshot(sysctl=facts(LINUX_DEFAULT_SYSCTLS, {"net.ipv4.tcp_fin_timeout": ("30", "/etc/sysctl.conf:1"),
                                                         "net.ipv4.tcp_tw_reuse": ("1", "/etc/sysctl.conf:2")}))
    outcomes = run(snap, keys=["net/ipv4/tcp_tw_reuse", "net.ipv6.bindv6only"])
    assert {s: o.status for s, o in outcomes.items()} == {
        "sysctl net.ipv4.tcp_tw_reuse": Status.FAIL,
        "sysctl net.ipv6.bindv6only": Status.NOT_APPLICABLE,
    }
    with pytest.raises(ValidationError):
        DriftSysctlParams(keys=["net.ipv4.conf.*.rp_filter"])


def test_configured_keys_without_running_value_are_listed_not_passed():
    snap = snapshot(sysctl=facts(LINUX_DEFAULT_SYSCTLS, {"kernel.pid_max": ("4194304", "/usr/lib/sysctl.d/50-pid-max.conf:16")}))
    outcomes = run(snap)
    listed = outcomes["sysctl keys without a collected running value"]
    assert listed.status == Status.NOT_APPLICABLE and "kernel.pid_max" in listed.reason
    assert outcomes["sysctl running values"].status == Status.PASS  # nothing compared differs


def test_unreadable_running_value_of_a_configured_key_is_not_reviewed():
    runtime = {k: v for k, v in LINUX_DEFAULT_SYSCTLS.items() if k != "net.ipv4.tcp_tw_reuse"}
    gap = Gap(section="sysctl", field="runtime/net.ipv4.tcp_tw_reuse", reason="/proc/sys/net/ipv4/tcp_tw_reuse: permission denied")
    snap = snapshot(sysctl=facts(runtime, {"net.ipv4.tcp_tw_reuse": ("0", "/etc/sysctl.conf:1")}), gaps=[gap])
    outcome = run(snap)["sysctl net.ipv4.tcp_tw_reuse"]
    assert outcome.status == Status.NOT_REVIEWED and "permission denied" in outcome.reason


def test_unreadable_configuration_on_a_live_host_is_not_reviewed():
    gap = Gap(section="sysctl", field="persistent", reason="sysctl configuration could not be read completely: /etc/sysctl.d: permission denied")
    outcome = drift_sysctl.run(snapshot(sysctl=facts(LINUX_DEFAULT_SYSCTLS, None), gaps=[gap]), DriftSysctlParams())
    assert [(o.status, o.reason) for o in outcome] == [(Status.NOT_REVIEWED, gap.reason)]


def test_offline_root_is_not_applicable_with_the_reason():
    root = collect_root(ROOTS / "sysctl-precedence", frozenset({"sysctl"}))
    assert root.facts.sysctl.runtime is None and root.facts.sysctl.persistent
    [outcome] = drift_sysctl.run(root, DriftSysctlParams())
    assert outcome.status == Status.NOT_APPLICABLE
    assert outcome.reason == "running sysctl values are not visible in an offline root directory"
    # without the collector's gap, the source itself says why
    bare = root.model_copy(update={"gaps": []})
    [outcome] = drift_sysctl.run(bare, DriftSysctlParams())
    assert outcome.status == Status.NOT_APPLICABLE and "offline root directory" in outcome.reason


@pytest.mark.live
def test_live_host_configuration_against_its_running_values():
    """The real collectors on this host: every configured key is accounted for, none silently dropped."""
    facts_live, gaps = collect_sysctl(CollectContext())
    assert facts_live.persistent is not None
    outcomes = drift_sysctl.run(snapshot(sysctl=facts_live, gaps=gaps), DriftSysctlParams())
    mentioned = " ".join(f"{o.subject} {o.reason or ''}" for o in outcomes)
    for key in facts_live.persistent:
        if not key.startswith("-") and "*" not in key:
            assert key in mentioned
    for outcome in outcomes:
        if outcome.status in (Status.PASS, Status.FAIL) and outcome.subject.startswith("sysctl net."):
            key = outcome.subject.removeprefix("sysctl ")
            same = facts_live.runtime[key].value == " ".join(outcome.expected["value"].split())
            assert (outcome.status == Status.PASS) == same


def test_check_declares_configuration_management_controls():
    registry = build_registry([drift_sysctl])
    spec = registry.get("drift.sysctl")
    assert spec.needs == ("sysctl",) and {"CM-6", "CM-2"} <= set(spec.controls)
