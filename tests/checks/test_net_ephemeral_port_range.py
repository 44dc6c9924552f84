"""net.ephemeral_port_range on snapshot fixtures, and the sysctl value parsers it rests on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from auditor.checks import _sysctl
from auditor.checks.net_ephemeral_port_range import (
    BOUNDS,
    IN_RANGE,
    POOL,
    EphemeralRangeParams,
    net_ephemeral_port_range,
)
from auditor.engine.registry import build_registry
from auditor.model.facts import Gap, GapKind, ProcessInfo, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, listener, snapshot, sysctl_facts


def run(listeners=(), sysctl="default", gaps=None, **params):
    snap = snapshot(listeners=list(listeners), sysctl=sysctl, gaps=gaps)
    return net_ephemeral_port_range.run(snap, EphemeralRangeParams(**params))


def by_subject(outcomes):
    return {o.subject: o for o in outcomes}


def without(key: str) -> SysctlFacts:
    return sysctl_facts({k: v for k, v in LINUX_DEFAULT_SYSCTLS.items() if k != key})


# ------------------------------------------------------------------ parsers

def test_port_range_parser_accepts_tab_and_spaces():
    assert _sysctl.parse_port_range("32768\t60999") == (32768, 60999)
    assert _sysctl.parse_port_range(" 1024 65535 ") == (1024, 65535)


@pytest.mark.parametrize(("text", "words"), [
    ("32768", "expected two port numbers"),
    ("32768 60999 3", "expected two port numbers"),
    ("low high", "'low' is not a port number"),
    ("1024 70000", "70000 is not a port number"),
    ("-1 100", "'-1' is not a port number"),
])
def test_port_range_parser_rejects_malformed_values(text, words):
    with pytest.raises(_sysctl.SysctlValueError) as info:
        _sysctl.parse_port_range(text)
    assert words in str(info.value) and "net.ipv4.ip_local_port_range" in str(info.value)


def test_reserved_list_parser_merges_and_sorts():
    assert _sysctl.parse_port_list("") == ()
    assert _sysctl.parse_port_list("8080") == ((8080, 8080),)
    assert _sysctl.parse_port_list("9000-9010,8080,9005-9020,8081") == ((8080, 8081), (9000, 9020))
    assert _sysctl.format_ports(((8080, 8081), (9000, 9020))) == "8080-8081,9000-9020"


@pytest.mark.parametrize(("text", "words"), [
    (",8080", "empty item"),
    ("8080,,9000", "empty item"),
    ("8080, 9000", "white space"),
    ("9010-9000", "runs backwards"),
    ("80a", "'80a' is not a port number"),
    ("1-70000", "70000 is not a port number"),
])
def test_reserved_list_parser_rejects_malformed_values(text, words):
    with pytest.raises(_sysctl.SysctlValueError) as info:
        _sysctl.parse_port_list(text)
    assert words in str(info.value) and "ip_local_reserved_ports" in str(info.value)


def test_int_parser():
    assert _sysctl.parse_int("k", " 60 ") == 60
    assert _sysctl.parse_int("k", "-1") == -1
    for bad in ("", "6O", "1-2", "1.5", "²"):
        with pytest.raises(_sysctl.SysctlValueError, match="expected an integer"):
            _sysctl.parse_int("k", bad)


def test_lookup_escapes_json_pointer_and_prefers_runtime():
    facts = SysctlFacts(runtime={"a/b~c": SysctlSetting(value="1", origin="x")},
                        persistent={"a/b~c": SysctlSetting(value="2", origin="y")})
    found = _sysctl.lookup(snapshot(sysctl=facts), "a/b~c")
    assert found.setting.value == "1" and found.pointer == "/facts/sysctl/runtime/a~1b~0c"


def test_lookup_offline_uses_the_persistent_value():
    facts = SysctlFacts(runtime=None, persistent={_sysctl.PORT_RANGE: SysctlSetting(value="1024 65535", origin="/etc/sysctl.d/90.conf:2")})
    found = _sysctl.lookup(snapshot(sysctl=facts, source="root"), _sysctl.PORT_RANGE)
    assert found.pointer == "/facts/sysctl/persistent/net.ipv4.ip_local_port_range"


def test_lookup_offline_key_in_no_file_is_missing_with_both_reasons():
    facts = SysctlFacts(runtime=None, persistent={_sysctl.PORT_RANGE: SysctlSetting(value="1024 65535", origin="/etc/sysctl.d/90.conf:2")})
    gap = Gap(section="sysctl", field="runtime", kind=GapKind.NOT_APPLICABLE, reason="running values are not visible offline")
    snap = snapshot(listeners=[], time_wait=None, sysctl=facts, source="root", gaps=[gap])
    found = _sysctl.lookup(snap, _sysctl.RESERVED_PORTS)
    assert found.setting is None
    assert found.missing_reason == ("net.ipv4.ip_local_reserved_ports is not set in any sysctl configuration file, "
                                    "and running values are not visible offline")
    # the pool is still judged: the kernel default of ip_local_reserved_ports is empty on every kernel
    pool = by_subject(net_ephemeral_port_range.run(snap, EphemeralRangeParams()))[POOL]
    assert pool.status == Status.PASS and pool.observed["reserved"] == "none"
    assert pool.evidence == ["/facts/sysctl/persistent/net.ipv4.ip_local_port_range", "/facts/sysctl/persistent"]


def test_offline_reserved_ports_from_a_glob_key_or_unknown_when_the_configuration_is_unreadable():
    facts = SysctlFacts(runtime=None, persistent={
        _sysctl.PORT_RANGE: SysctlSetting(value="1024 65535", origin="/etc/sysctl.d/90.conf:2"),
        "net.ipv4.ip_local_reserved_*": SysctlSetting(value="1024-65000", origin="/etc/sysctl.d/91.conf:1"),
    })
    pool = by_subject(net_ephemeral_port_range.run(snapshot(sysctl=facts, source="root"), EphemeralRangeParams()))[POOL]
    assert pool.status == Status.FAIL and pool.observed["reserved"] == "1024-65000"
    unread = Gap(section="sysctl", field="persistent", reason="/etc/sysctl.d/99-x.conf: is a FIFO, not a regular file")
    facts = SysctlFacts(runtime=None, persistent={_sysctl.PORT_RANGE: SysctlSetting(value="1024 65535", origin="x:1")})
    pool = by_subject(net_ephemeral_port_range.run(snapshot(sysctl=facts, source="root", gaps=[unread]), EphemeralRangeParams()))[POOL]
    assert pool.status == Status.NOT_REVIEWED


# ------------------------------------------------------------------ the pool

def test_linux_default_pool_passes_default_params():
    outcomes = by_subject(run())
    pool = outcomes[POOL]
    assert pool.status == Status.PASS
    assert pool.observed["pool_size"] == 28232 and pool.observed["reserved"] == "none"
    assert "28,232" in pool.message
    assert pool.evidence == ["/facts/sysctl/runtime/net.ipv4.ip_local_port_range",
                             "/facts/sysctl/runtime/net.ipv4.ip_local_reserved_ports"]
    assert outcomes[BOUNDS].status == Status.PASS
    assert outcomes[IN_RANGE].status == Status.PASS


def test_small_pool_fails():
    pool = by_subject(run(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="60000 61000")))[POOL]
    assert pool.status == Status.FAIL and pool.observed["pool_size"] == 1001
    assert "fewer than the minimum 16,384" in pool.message


def test_reserved_ports_inside_the_range_shrink_the_pool():
    # 32768-60999 is 28,232 ports; reserving 40000-52000 (12,001) and 80 (outside) leaves 16,231.
    reserved = sysctl_facts(net__ipv4__ip_local_reserved_ports="80,40000-52000")
    pool = by_subject(run(sysctl=reserved))[POOL]
    assert pool.observed["reserved_in_range"] == 12001 and pool.observed["pool_size"] == 16231
    assert pool.status == Status.FAIL
    assert by_subject(run(sysctl=reserved, min_pool_size=16231))[POOL].status == Status.PASS


def test_reserved_range_straddling_an_end_counts_only_its_inside_part():
    reserved = sysctl_facts(net__ipv4__ip_local_reserved_ports="32000-32867,60900-62000")
    pool = by_subject(run(sysctl=reserved))[POOL]
    assert pool.observed["reserved_in_range"] == 100 + 100


# ------------------------------------------------------------------ bounds

def test_range_starting_in_privileged_ports_fails_bounds():
    outcome = by_subject(run(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="600 65535")))[BOUNDS]
    assert outcome.status == Status.FAIL and "below 1024" in outcome.message


def test_backwards_range_fails_bounds_and_leaves_the_pool_unknown():
    # The kernel refuses a backwards range, so no pool of "0 ports" is in force (it was failed so
    # before; tests/hostile/test_timewait18_backwards_range.py)
    outcomes = by_subject(run(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="60999 32768")))
    assert outcomes[BOUNDS].status == Status.FAIL and "above the high end" in outcomes[BOUNDS].message
    assert outcomes[POOL].status == Status.NOT_REVIEWED and "runs backwards" in outcomes[POOL].message


def test_high_above_max_high_fails_bounds():
    outcome = by_subject(run(max_high=60000))[BOUNDS]
    assert outcome.status == Status.FAIL and "above 60000" in outcome.message


# ------------------------------------------------------------------ listeners inside the range

def test_listener_inside_the_range_fails_naming_port_process_and_pid():
    java = listener("0.0.0.0", 40000, processes=[ProcessInfo(pid=4242, name="java")])
    outcomes = by_subject(run([java, listener("127.0.0.1", 8080)]))
    failure = outcomes["tcp 0.0.0.0:40000 java pid 4242"]
    assert failure.status == Status.FAIL
    assert "port 40000" in failure.message and "java pid 4242" in failure.message
    assert failure.subject_detail["pid"] == 4242 and failure.subject_detail["port"] == 40000
    assert failure.evidence[0] == "/facts/sockets/listeners/0"
    assert IN_RANGE not in outcomes  # no blanket pass beside a failure


def test_reserved_listener_port_is_allowed():
    reserved = sysctl_facts(net__ipv4__ip_local_reserved_ports="40000")
    outcomes = by_subject(run([listener("0.0.0.0", 40000)], sysctl=reserved))
    assert outcomes[IN_RANGE].status == Status.PASS and "tcp/40000" in outcomes[IN_RANGE].message


def test_udp_listeners_judged_only_when_asked():
    udp = listener("0.0.0.0", 45000, protocol="udp")
    assert by_subject(run([udp]))[IN_RANGE].status == Status.PASS
    assert by_subject(run([udp], protocols=["tcp", "udp"]))["udp 0.0.0.0:45000 owner unknown"].status == Status.FAIL


def test_listener_check_can_be_switched_off():
    outcomes = run([listener("0.0.0.0", 40000)], forbid_listeners_in_range=False)
    assert [o.subject for o in outcomes] == [POOL, BOUNDS]


# ------------------------------------------------------------------ missing and malformed facts

def test_missing_range_is_not_reviewed_with_the_gap_reason_never_pass():
    gaps = [Gap(section="sysctl", field="net.ipv4.ip_local_port_range", reason="/proc/sys/net/ipv4/ip_local_port_range: permission denied")]
    outcomes = run([listener("0.0.0.0", 40000)], sysctl=without(_sysctl.PORT_RANGE), gaps=gaps)
    assert {o.status for o in outcomes} == {Status.NOT_REVIEWED}
    assert all("permission denied" in o.reason for o in outcomes)


def test_missing_range_without_a_gap_still_gives_a_reason():
    outcomes = run(sysctl=without(_sysctl.PORT_RANGE))
    assert {o.status for o in outcomes} == {Status.NOT_REVIEWED}
    assert "not collected" in outcomes[0].reason


def test_missing_reserved_list_is_not_reviewed_unless_the_range_is_too_small_anyway():
    gaps = [Gap(section="sysctl", field="net.ipv4.ip_local_reserved_ports", reason="unreadable")]
    outcomes = by_subject(run([listener("0.0.0.0", 40000)], sysctl=without(_sysctl.RESERVED_PORTS), gaps=gaps))
    assert outcomes[POOL].status == Status.NOT_REVIEWED and outcomes[POOL].reason == "unreadable"
    assert outcomes[BOUNDS].status == Status.PASS  # the bounds do not depend on reservations
    assert outcomes["tcp 0.0.0.0:40000 owner unknown"].status == Status.NOT_REVIEWED
    small = sysctl_facts({_sysctl.PORT_RANGE: "60000 61000"})
    assert by_subject(run(sysctl=small, gaps=gaps))[POOL].status == Status.FAIL


def test_malformed_range_is_not_reviewed_with_the_value_in_the_reason():
    outcomes = by_subject(run(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768")))
    assert outcomes[POOL].status == Status.NOT_REVIEWED
    assert "'32768'" in outcomes[POOL].reason and "expected two port numbers" in outcomes[POOL].reason


def test_missing_listeners_is_not_reviewed():
    snap = snapshot(listeners=None, gaps=[Gap(section="sockets", field="listeners", reason="netlink denied")])
    outcome = by_subject(net_ephemeral_port_range.run(snap, EphemeralRangeParams()))[IN_RANGE]
    assert outcome.status == Status.NOT_REVIEWED and outcome.reason == "netlink denied"


# ------------------------------------------------------------------ params

@pytest.mark.parametrize(("params", "words"), [
    ({"min_pool_size": 0}, "min_pool_size"),
    ({"min_low": 70000}, "min_low"),
    ({"min_low": 5000, "max_high": 4000}, "no range could pass"),
    ({"min_pool_size": 65000, "min_low": 1024}, "no range could pass"),
    ({"protocols": ["icmp"]}, "protocols"),
    ({"min_pool": 1}, "min_pool"),
])
def test_params_validation(params, words):
    with pytest.raises(ValidationError) as info:
        EphemeralRangeParams.model_validate(params)
    assert words in str(info.value)


def test_spec():
    spec = net_ephemeral_port_range
    assert spec.needs == ("sysctl", "sockets") and spec.version == "1.15.0" and spec.uses == ("netns",)
    assert set(spec.controls) == {"SC-5", "SC-6", "CM-6"}
    params = EphemeralRangeParams()
    assert (params.min_pool_size, params.min_low, params.max_high, params.forbid_listeners_in_range) == (16384, 1024, 65535, True)
    assert all(f.description for f in EphemeralRangeParams.model_fields.values())
    build_registry([spec])
