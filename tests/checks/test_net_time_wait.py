"""net.time_wait on snapshot fixtures: sysctl limits, live TIME_WAIT share, peak-rate headroom."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from auditor.checks import _sysctl
from auditor.checks.net_time_wait import TIME_WAIT_SECONDS, TimeWaitParams, net_time_wait, pool_utilization
from auditor.engine.registry import build_registry
from auditor.model.facts import Gap, GapKind, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts

SHARE = "TIME_WAIT share of the ephemeral pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
DEFAULT_POOL = 60999 - 32768 + 1


def run(snap=None, **params):
    return {o.subject: o for o in net_time_wait.run(snap or snapshot(listeners=[]), TimeWaitParams(**params))}


def without(key: str):
    return sysctl_facts({k: v for k, v in LINUX_DEFAULT_SYSCTLS.items() if k != key})


# ------------------------------------------------------------------ the arithmetic

def test_default_pool_figures():
    assert DEFAULT_POOL == 28232
    assert TIME_WAIT_SECONDS == 65.12  # 60 s and up to 5.12 s of the timer wheel's lateness (HZ 100)
    assert DEFAULT_POOL // TIME_WAIT_SECONDS == 433  # sustained new connections per second per tuple
    assert pool_utilization(417, DEFAULT_POOL) == pytest.approx(0.9619, abs=1e-4)  # 27,155 ports: 96%
    assert pool_utilization(433, DEFAULT_POOL) == pytest.approx(0.9988, abs=1e-4)
    assert pool_utilization(434, DEFAULT_POOL) > 1


def test_417_per_second_fails_the_default_utilization_limit():
    outcome = run(peak_new_connections_per_second=417)[HEADROOM]
    assert outcome.status == Status.FAIL
    assert outcome.observed["ports_in_time_wait"] == 27155
    assert outcome.observed["utilization"] == pytest.approx(0.9619, abs=1e-4)
    assert outcome.observed["sustainable_per_second"] == 433
    assert "96%" in outcome.message and "28,232" in outcome.message and "433/s" in outcome.message
    assert outcome.evidence == ["/facts/sysctl/runtime/net.ipv4.ip_local_port_range",
                                "/facts/sysctl/runtime/net.ipv4.ip_local_reserved_ports"]


def test_433_per_second_fits_only_with_utilization_one():
    assert run(peak_new_connections_per_second=433)[HEADROOM].status == Status.FAIL
    assert run(peak_new_connections_per_second=433, max_pool_utilization=1.0)[HEADROOM].status == Status.PASS
    assert run(peak_new_connections_per_second=434, max_pool_utilization=1.0)[HEADROOM].status == Status.FAIL


def test_moderate_rate_passes_and_a_wider_pool_carries_more():
    assert run(peak_new_connections_per_second=300)[HEADROOM].status == Status.PASS  # 69%
    wide = snapshot(listeners=[], sysctl=sysctl_facts(net__ipv4__ip_local_port_range="1024 65535"))
    outcome = run(wide, peak_new_connections_per_second=417)[HEADROOM]
    assert outcome.status == Status.PASS and outcome.observed["pool_size"] == 64512


def test_reserved_ports_reduce_headroom():
    reserved = snapshot(listeners=[], sysctl=sysctl_facts(net__ipv4__ip_local_reserved_ports="40000-49999"))
    outcome = run(reserved, peak_new_connections_per_second=300)[HEADROOM]
    assert outcome.observed["pool_size"] == 18232 and outcome.status == Status.FAIL  # 19,536 / 18,232 = 107%


# ------------------------------------------------------------------ live TIME_WAIT share

def test_time_wait_share_pass_and_fail():
    low = run(snapshot(listeners=[], time_wait=1000), max_time_wait_share=0.5)[SHARE]
    assert low.status == Status.PASS and low.observed["time_wait"] == 1000
    assert low.evidence[0] == "/facts/sockets/counts/time_wait"
    high = run(snapshot(listeners=[], time_wait=20000), max_time_wait_share=0.5)[SHARE]
    assert high.status == Status.FAIL and "70.8%" in high.message


def test_missing_count_is_not_reviewed_live_and_not_applicable_offline():
    live = snapshot(listeners=[], time_wait=None, gaps=[Gap(section="sockets", field="counts", reason="/proc/net/sockstat: unreadable")])
    outcome = run(live, max_time_wait_share=0.5)[SHARE]
    assert outcome.status == Status.NOT_REVIEWED and outcome.reason == "/proc/net/sockstat: unreadable"
    offline = snapshot(listeners=[], time_wait=None, source="root",
                       gaps=[Gap(section="sockets", field="counts", reason="offline root: no live sockets", kind=GapKind.NOT_APPLICABLE)])
    assert run(offline, max_time_wait_share=0.5)[SHARE].status == Status.NOT_APPLICABLE
    silent_offline = snapshot(listeners=[], time_wait=None, source="root")
    assert run(silent_offline, max_time_wait_share=0.5)[SHARE].status == Status.NOT_APPLICABLE
    silent_live = snapshot(listeners=[], time_wait=None)
    assert run(silent_live, max_time_wait_share=0.5)[SHARE].status == Status.NOT_REVIEWED


def test_headroom_needs_no_live_count():
    # an image's boot configuration (it has no running values): the kernel's default range
    configured = {_sysctl.PORT_RANGE: SysctlSetting(value="32768 60999", origin="/etc/sysctl.d/90.conf:1")}
    offline = snapshot(listeners=[], time_wait=None, source="root", sysctl=SysctlFacts(persistent=configured))
    assert run(offline, peak_new_connections_per_second=100)[HEADROOM].status == Status.PASS


# ------------------------------------------------------------------ sysctl limits

def test_tw_reuse_allowed_and_not():
    ok = run(allowed_tw_reuse=[0, 2])["sysctl net.ipv4.tcp_tw_reuse"]
    assert ok.status == Status.PASS and ok.observed["value"] == 2 and "loopback" in ok.observed["meaning"]
    bad = run(allowed_tw_reuse=[0])["sysctl net.ipv4.tcp_tw_reuse"]
    assert bad.status == Status.FAIL and bad.expected == {"one_of": [0]}
    assert bad.evidence == ["/facts/sysctl/runtime/net.ipv4.tcp_tw_reuse"]


def test_max_tw_buckets():
    assert run(min_max_tw_buckets=262144)["sysctl net.ipv4.tcp_max_tw_buckets"].status == Status.PASS
    low = snapshot(listeners=[], sysctl=sysctl_facts(net__ipv4__tcp_max_tw_buckets="4096"))
    outcome = run(low, min_max_tw_buckets=65536)["sysctl net.ipv4.tcp_max_tw_buckets"]
    assert outcome.status == Status.FAIL and "4,096" in outcome.message


def test_fin_timeout_and_the_note_that_it_is_not_time_wait():
    assert run(max_fin_timeout=60)["sysctl net.ipv4.tcp_fin_timeout"].status == Status.PASS
    outcome = run(max_fin_timeout=30)["sysctl net.ipv4.tcp_fin_timeout"]
    assert outcome.status == Status.FAIL and "FIN_WAIT_2, not TIME_WAIT" in outcome.message


def test_only_the_params_set_are_judged():
    assert list(run(max_fin_timeout=60)) == ["sysctl net.ipv4.tcp_fin_timeout"]


def test_missing_sysctl_is_not_reviewed_with_the_gap_reason():
    snap = snapshot(listeners=[], sysctl=without(_sysctl.TW_REUSE),
                    gaps=[Gap(section="sysctl", field="net.ipv4.tcp_tw_reuse", reason="no such file: kernel without it")])
    outcome = run(snap, allowed_tw_reuse=[2])["sysctl net.ipv4.tcp_tw_reuse"]
    assert outcome.status == Status.NOT_REVIEWED and outcome.reason == "no such file: kernel without it"


def test_missing_range_makes_pool_findings_not_reviewed():
    snap = snapshot(listeners=[], time_wait=100, sysctl=without(_sysctl.PORT_RANGE))
    outcomes = run(snap, max_time_wait_share=0.5, peak_new_connections_per_second=10)
    assert {o.status for o in outcomes.values()} == {Status.NOT_REVIEWED}


def test_malformed_sysctl_is_not_reviewed():
    snap = snapshot(listeners=[], sysctl=sysctl_facts(net__ipv4__tcp_fin_timeout="sixty"))
    outcome = run(snap, max_fin_timeout=60)["sysctl net.ipv4.tcp_fin_timeout"]
    assert outcome.status == Status.NOT_REVIEWED and "'sixty'" in outcome.reason


# ------------------------------------------------------------------ params

def test_params_must_judge_something():
    with pytest.raises(ValidationError, match="set at least one of"):
        TimeWaitParams()
    with pytest.raises(ValidationError, match="set at least one of"):
        TimeWaitParams(max_pool_utilization=0.5)  # alone it judges nothing


@pytest.mark.parametrize(("params", "words"), [
    ({"allowed_tw_reuse": [3]}, "allowed_tw_reuse"),
    ({"allowed_tw_reuse": []}, "allowed_tw_reuse"),
    ({"max_time_wait_share": 1.5}, "max_time_wait_share"),
    ({"peak_new_connections_per_second": 0}, "peak_new_connections_per_second"),
    ({"peak_new_connections_per_second": 10, "max_pool_utilization": 0}, "max_pool_utilization"),
    ({"max_fin_timeout": 60, "time_wait_seconds": 30}, "time_wait_seconds"),  # fixed by the kernel, not a param
])
def test_params_validation(params, words):
    with pytest.raises(ValidationError) as info:
        TimeWaitParams.model_validate(params)
    assert words in str(info.value)


def test_spec_and_explain_notes():
    spec = net_time_wait
    assert spec.needs == ("sysctl", "sockets") and spec.version == "1.17.0" and spec.uses == ("netns",)
    assert set(spec.controls) == {"SC-5", "SC-5(2)", "CM-6"}
    assert "FIN_WAIT_2, not TIME_WAIT" in spec.notes
    assert "2 = for loopback" in spec.notes and "timestamps" in spec.notes
    assert "433" in spec.notes and "96%" in spec.notes and "65.12 s" in spec.notes
    assert all(f.description for f in TimeWaitParams.model_fields.values())
    build_registry([spec])
