"""net.bind_addresses on snapshot fixtures: wildcards, exceptions, unknown owners, missing facts."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.engine.evaluate import evaluate
from auditor.engine.registry import build_registry
from auditor.model.facts import Gap, GapKind, ProcessInfo, SysctlFacts
from auditor.model.policy import Policy, ResolvedRule
from auditor.model.result import Severity, Status
from tests.factories import listener, snapshot


def proc(name: str, pid: int, user: str = "root", exe: str | None = None) -> list[ProcessInfo]:
    return [ProcessInfo(pid=pid, name=name, exe=exe or f"/usr/sbin/{name}", user=user)]


def run(listeners, **params):
    return net_bind_addresses.run(snapshot(listeners=listeners), BindAddressParams(**params))


def by_subject(outcomes):
    return {o.subject: o for o in outcomes}


# ------------------------------------------------------------------ defaults: loopback only

def test_default_fails_wildcards_and_passes_loopback():
    listeners = [
        listener("0.0.0.0", 5432, processes=proc("postgres", 812, "postgres")),
        listener("127.0.0.1", 6379, processes=proc("redis-server", 900, "redis")),
        listener("::", 8080, v6only=False, processes=proc("java", 1200, "app")),
        listener("::", 8081, v6only=True, processes=proc("java", 1200, "app")),
        listener("::1", 631, processes=proc("cupsd", 77)),
        listener("::ffff:127.0.0.1", 9000, v6only=False, processes=proc("php-fpm", 55)),
    ]
    outcomes = by_subject(run(listeners))
    assert {s: o.status for s, o in outcomes.items()} == {
        "tcp 0.0.0.0:5432 postgres pid 812": Status.FAIL,
        "tcp 127.0.0.1:6379 redis-server pid 900": Status.PASS,
        "tcp [::]:8080 java pid 1200": Status.FAIL,
        "tcp [::]:8081 java pid 1200": Status.FAIL,
        "tcp [::1]:631 cupsd pid 77": Status.PASS,
        "tcp [::ffff:127.0.0.1]:9000 php-fpm pid 55": Status.PASS,
    }
    pg = outcomes["tcp 0.0.0.0:5432 postgres pid 812"]
    assert "all IPv4 addresses" in pg.message and "loopback" in pg.message
    assert pg.subject_detail["pid"] == 812 and pg.subject_detail["port"] == 5432
    assert pg.subject_detail["process"] == "postgres" and pg.subject_detail["user"] == "postgres"
    assert pg.observed["wildcard"] is True
    assert pg.expected == [{"rule": "the default allow list", "allow": ["loopback"],
                            "networks": ["127.0.0.0/8", "::1/128"], "reason": None}]
    assert pg.evidence == ["/facts/sockets/listeners/0"]
    dual = outcomes["tcp [::]:8080 java pid 1200"]
    assert dual.observed["accepts"] == "all IPv4 and IPv6 addresses (dual-stack ::, v6only=0)"
    assert dual.evidence == ["/facts/sockets/listeners/2"]


def test_the_listeners_one_rule_decides_share_its_expected_value_and_their_addresses_networks():
    # Issue 16: one expected value and one list of networks per address, not a copy per listener;
    # an exception that rules a listener out by protocol or port is passed over as _matches would.
    listeners = [listener("127.0.0.1", port, processes=proc("app", port)) for port in (8000, 8001, 8002)]
    listeners.append(listener("0.0.0.0", 22, processes=proc("sshd", 1)))
    listeners.append(listener("0.0.0.0", 2222, processes=proc("sshd", 2)))
    exceptions = [{"match": {"process": "sshd", "ports": [22], "protocol": "tcp"}, "allow": ["any"],
                   "reason": "management"}]
    outcomes = by_subject(run(listeners, exceptions=exceptions))
    on_loopback = [outcomes[f"tcp 127.0.0.1:{port} app pid {port}"] for port in (8000, 8001, 8002)]
    assert all(o.status is Status.PASS for o in on_loopback)
    assert on_loopback[0].expected is on_loopback[1].expected is on_loopback[2].expected
    assert on_loopback[0].observed["accepts_networks"] is on_loopback[2].observed["accepts_networks"]
    assert on_loopback[0].observed["accepts_networks"] == ["127.0.0.1/32"]
    ssh, other = outcomes["tcp 0.0.0.0:22 sshd pid 1"], outcomes["tcp 0.0.0.0:2222 sshd pid 2"]
    assert ssh.status is Status.PASS and ssh.expected[0]["rule"] == "exception 1"
    assert other.status is Status.FAIL and other.expected == on_loopback[0].expected  # port 2222: the default
    assert other.expected is on_loopback[0].expected


def test_outcomes_are_sorted_whatever_the_fact_order():
    listeners = [listener("127.0.0.1", 9000), listener("0.0.0.0", 22), listener("127.0.0.1", 80, protocol="udp")]
    subjects = [o.subject for o in run(listeners)]
    assert subjects == ["tcp 0.0.0.0:22 owner unknown", "tcp 127.0.0.1:9000 owner unknown", "udp 127.0.0.1:80 owner unknown"]


def test_v6only_allowed_by_ipv6_any_but_dual_stack_is_not():
    listeners = [listener("::", 443, v6only=True, processes=proc("nginx", 10)),
                 listener("::", 444, v6only=False, processes=proc("nginx", 10)),
                 listener("::", 445, v6only=None, processes=proc("nginx", 10))]
    statuses = [o.status for o in run(listeners, allow=["::/0"])]
    assert statuses == [Status.PASS, Status.FAIL, Status.FAIL]


def test_mapped_wildcard_is_judged_as_ipv4_wildcard():
    outcomes = run([listener("::ffff:0.0.0.0", 25, processes=proc("exim4", 31))], allow=["loopback", "::/0"])
    assert outcomes[0].status == Status.FAIL
    assert "IPv4-mapped wildcard" in outcomes[0].message
    assert run([listener("::ffff:0.0.0.0", 25, processes=proc("exim4", 31))], allow=["0.0.0.0/0"])[0].status == Status.PASS


def test_protocol_filter_skips_other_listeners_but_names_them():
    outcomes = run([listener("0.0.0.0", 53, protocol="udp"), listener("127.0.0.1", 53)], protocols=["tcp"])
    assert [(o.subject, o.status) for o in outcomes] == [
        ("tcp 127.0.0.1:53 owner unknown", Status.PASS),
        ("listeners (protocols not judged)", Status.NOT_APPLICABLE),
    ]
    assert "udp 0.0.0.0:53 owner unknown" in outcomes[1].message and "judges only tcp" in outcomes[1].message


def test_no_listeners_is_one_pass():
    outcomes = run([])
    assert len(outcomes) == 1 and outcomes[0].status == Status.PASS
    assert outcomes[0].message == "no tcp, udp, udplite, sctp, dccp, mptcp or raw listeners were found"


# ------------------------------------------------------------------ exceptions

CORP_EXCEPTIONS = [
    {"match": {"process": "sshd", "ports": [22], "protocol": "tcp"}, "allow": ["any"], "reason": "management"},
    {"match": {"process": "postgres", "ports": ["5432-5433"]}, "allow": ["loopback", "private"], "reason": "app tier"},
]


def test_first_matching_exception_decides():
    listeners = [
        listener("0.0.0.0", 22, processes=proc("sshd", 600)),
        listener("::", 22, v6only=False, processes=proc("sshd", 600)),
        listener("10.0.0.5", 5432, processes=proc("postgres", 812, "postgres")),
        listener("0.0.0.0", 5433, processes=proc("postgres", 813, "postgres")),
        listener("0.0.0.0", 2222, processes=proc("sshd", 601)),  # sshd, but not on port 22: default applies
    ]
    outcomes = by_subject(run(listeners, exceptions=CORP_EXCEPTIONS))
    assert outcomes["tcp 0.0.0.0:22 sshd pid 600"].status == Status.PASS
    assert outcomes["tcp [::]:22 sshd pid 600"].status == Status.PASS
    assert outcomes["tcp 10.0.0.5:5432 postgres pid 812"].status == Status.PASS
    pg = outcomes["tcp 0.0.0.0:5433 postgres pid 813"]
    assert pg.status == Status.FAIL
    assert pg.expected[0]["rule"] == "exception 2" and pg.expected[0]["reason"] == "app tier"
    assert "exception 2 (app tier) allows loopback, private" in pg.message
    assert outcomes["tcp 0.0.0.0:2222 sshd pid 601"].status == Status.FAIL


def test_exception_order_matters():
    deny_first = [{"match": {"ports": [8080]}, "allow": [], "reason": "never expose 8080"},
                  {"match": {"process": "java"}, "allow": ["any"], "reason": "app"}]
    listeners = [listener("127.0.0.1", 8080, processes=proc("java", 5)), listener("0.0.0.0", 8081, processes=proc("java", 5))]
    outcomes = run(listeners, exceptions=deny_first)
    assert [o.status for o in outcomes] == [Status.FAIL, Status.PASS]
    assert "nothing" in outcomes[0].message
    swapped = run(listeners, exceptions=list(reversed(deny_first)))
    assert [o.status for o in swapped] == [Status.PASS, Status.PASS]


def test_exe_and_glob_match():
    exc = [{"match": {"exe": "/opt/app/*/bin/server"}, "allow": ["any"], "reason": "app"}]
    ok = listener("0.0.0.0", 7000, processes=proc("server", 9, exe="/opt/app/v2/bin/server"))
    other = listener("0.0.0.0", 7001, processes=proc("server", 10, exe="/tmp/server"))
    assert [o.status for o in run([ok, other], exceptions=exc)] == [Status.PASS, Status.FAIL]


def test_any_process_holding_the_socket_can_match():
    # systemd socket activation: pid 1 and the service both hold the socket.
    shared = listener("0.0.0.0", 22, processes=proc("systemd", 1) + proc("sshd", 600))
    assert run([shared], exceptions=CORP_EXCEPTIONS)[0].status == Status.PASS


# ------------------------------------------------------------------ unknown owners: tri-state

def test_user_match_uses_the_kernel_owner_when_the_process_is_unknown():
    exc = [{"match": {"user": "postgres"}, "allow": ["any"], "reason": "db"}]
    known_user = listener("0.0.0.0", 5432, uid=105, user="postgres", owner_reason="permission denied")
    other_user = listener("0.0.0.0", 5433, uid=1000, user="alice", owner_reason="permission denied")
    by_uid = listener("0.0.0.0", 5434, uid=105, owner_reason="permission denied")
    outcomes = run([known_user, other_user, by_uid], exceptions=exc + [{"match": {"user": "105"}, "allow": ["any"], "reason": "db"}])
    assert [o.status for o in outcomes] == [Status.PASS, Status.FAIL, Status.PASS]


def test_unknown_owner_with_disagreeing_rules_is_not_reviewed_with_the_owner_reason():
    owner_unknown = listener("0.0.0.0", 22, owner_reason="pid not visible: not running as root")
    outcome = run([owner_unknown], exceptions=CORP_EXCEPTIONS)[0]
    assert outcome.status == Status.NOT_REVIEWED
    assert "pid not visible: not running as root" in outcome.reason
    assert "exception 1 would allow it" in outcome.reason and "the default allow list would not" in outcome.reason
    assert [e["rule"] for e in outcome.expected] == ["exception 1", "the default allow list"]


def test_unknown_owner_is_decided_when_every_candidate_rule_agrees():
    exc = [{"match": {"process": "sshd"}, "allow": ["loopback"], "reason": "local only"}]
    wildcard = listener("0.0.0.0", 22, owner_reason="permission denied")
    loop = listener("127.0.0.1", 23, owner_reason="permission denied")
    fail, ok = run([wildcard, loop], exceptions=exc)
    assert fail.status == Status.FAIL and "every rule that could apply" in fail.message
    assert "owner not identified: permission denied" in fail.message
    assert ok.status == Status.PASS


def test_unknown_owner_does_not_match_a_port_it_is_not_on():
    # The exception is for port 22; for port 8080 its process field does not matter: default decides.
    outcome = run([listener("0.0.0.0", 8080, owner_reason="permission denied")], exceptions=CORP_EXCEPTIONS)[0]
    assert outcome.status == Status.FAIL
    assert [e["rule"] for e in outcome.expected] == ["the default allow list"]


def test_unknown_owner_is_never_silently_allowed_by_a_later_exception():
    # Owner unknown: exception 1 (deny) might match, so exception 2's allow cannot decide alone.
    exceptions = [{"match": {"process": "telnetd"}, "allow": [], "reason": "banned"},
                  {"match": {"ports": [23]}, "allow": ["any"], "reason": "legacy"}]
    outcome = run([listener("0.0.0.0", 23, owner_reason="permission denied")], exceptions=exceptions)[0]
    assert outcome.status == Status.NOT_REVIEWED
    assert [e["rule"] for e in outcome.expected] == ["exception 1", "exception 2"]


def test_process_with_unreadable_exe_is_unknown_for_exe_matches():
    exc = [{"match": {"exe": "/usr/sbin/sshd"}, "allow": ["any"], "reason": "ssh"}]
    hidden_exe = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=600, name="sshd", exe=None)])
    outcome = run([hidden_exe], exceptions=exc)[0]
    assert outcome.status == Status.NOT_REVIEWED
    assert "owner not identified" in outcome.reason
    # With the collector's gap for the missing detail, the reason says what could not be read.
    gap = Gap(section="sockets", field="listeners/0/processes/0/exe", reason="exe of pid 600: permission denied")
    snap = snapshot(listeners=[hidden_exe], gaps=[gap])
    outcome = net_bind_addresses.run(snap, BindAddressParams(exceptions=exc))[0]
    assert outcome.status == Status.NOT_REVIEWED
    assert "details of the owning process could not be read: exe of pid 600: permission denied" in outcome.reason


def test_uid_without_a_name_cannot_decide_a_name_pattern():
    exc = [{"match": {"user": "postgres"}, "allow": ["any"], "reason": "db"}]
    outcome = run([listener("0.0.0.0", 5432, uid=105, owner_reason="permission denied")], exceptions=exc)[0]
    assert outcome.status == Status.NOT_REVIEWED


def test_declared_listener_offline_is_judged_the_same_way():
    declared = listener("0.0.0.0", 8080, declared_by="/etc/systemd/system/app.socket")
    loop = listener("127.0.0.1", 8081, declared_by="/etc/systemd/system/app2.socket")
    # an image's boot configuration, as a root collection reads it (none of it turns route_localnet on)
    image = snapshot(listeners=[declared, loop], time_wait=None, source="root", sysctl=SysctlFacts(persistent={}))
    fail, ok = net_bind_addresses.run(image, BindAddressParams())
    assert fail.status == Status.FAIL and fail.subject == "tcp 0.0.0.0:8080 declared by /etc/systemd/system/app.socket"
    assert fail.subject_detail["declared_by"] == "/etc/systemd/system/app.socket"
    assert ok.status == Status.PASS
    exc = [{"match": {"process": "app"}, "allow": ["any"], "reason": "app"}]
    unsure = net_bind_addresses.run(snapshot(listeners=[declared], time_wait=None, source="root"), BindAddressParams(exceptions=exc))[0]
    assert unsure.status == Status.NOT_REVIEWED and "/etc/systemd/system/app.socket" in unsure.reason


# ------------------------------------------------------------------ missing facts

def test_missing_listeners_is_not_reviewed_with_the_collector_reason():
    snap = snapshot(listeners=None, time_wait=0, gaps=[Gap(section="sockets", field="listeners", reason="netlink: permission denied")])
    outcomes = net_bind_addresses.run(snap, BindAddressParams())
    assert [(o.status, o.reason) for o in outcomes] == [(Status.NOT_REVIEWED, "netlink: permission denied")]


def test_missing_listeners_offline_is_not_applicable():
    snap = snapshot(listeners=None, time_wait=None, source="root",
                    gaps=[Gap(section="sockets", field="listeners", reason="offline image: no live sockets", kind=GapKind.NOT_APPLICABLE)])
    outcome = net_bind_addresses.run(snap, BindAddressParams())[0]
    assert outcome.status == Status.NOT_APPLICABLE and outcome.reason == "offline image: no live sockets"


def test_partly_unreadable_listeners_are_not_reviewed_and_no_empty_pass():
    snap = snapshot(listeners=[], gaps=[Gap(section="sockets", field="listeners", reason="/proc/net/udp6: permission denied")])
    outcomes = net_bind_addresses.run(snap, BindAddressParams())
    assert [o.status for o in outcomes] == [Status.NOT_REVIEWED]
    assert "/proc/net/udp6: permission denied" in outcomes[0].reason


def test_a_per_listener_owner_gap_does_not_make_the_list_incomplete():
    snap = snapshot(listeners=[listener("127.0.0.1", 80, owner_reason="permission denied")],
                    gaps=[Gap(section="sockets", field="listeners/0/processes", reason="permission denied")])
    assert [o.status for o in net_bind_addresses.run(snap, BindAddressParams())] == [Status.PASS]


def test_missing_section_through_the_engine_is_not_reviewed():
    policy = Policy(id="p", version="1", owner="o", description="", waivers=[], sources=[], rules=[
        ResolvedRule(id="bind", check="net.bind_addresses", params={}, severity=Severity.HIGH,
                     controls=["CM-7"], enabled=True, source="p.yaml:1")])
    snap = snapshot(listeners=None, time_wait=None, gaps=[Gap(section="sockets", reason="collector crashed")])
    result = evaluate(policy, snap, build_registry([net_bind_addresses]), today=date(2026, 11, 1))
    assert [(f.status, f.reason) for f in result.findings] == [(Status.NOT_REVIEWED, "collector crashed")]
    assert result.exit_code == 3


# ------------------------------------------------------------------ params validation

@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"allow": ["loopback", "10.0.0.1/8"]}, "'10.0.0.1/8' has host bits set"),
        ({"allow": ["localhost"]}, "'localhost' is neither a named set"),
        ({"exceptions": [{"match": {"process": "x"}, "allow": ["300.0.0.0/8"], "reason": "r"}]}, "'300.0.0.0/8'"),
        ({"exceptions": [{"match": {}, "allow": ["any"], "reason": "r"}]}, "at least one of process, exe, user, ports, protocol"),
        ({"exceptions": [{"match": {"ports": ["90-80"]}, "allow": ["any"], "reason": "r"}]}, "runs backwards"),
        ({"exceptions": [{"match": {"ports": [70000]}, "allow": ["any"], "reason": "r"}]}, "0 to 65535"),
        ({"exceptions": [{"match": {"ports": ["http"]}, "allow": ["any"], "reason": "r"}]}, "'http' is not a port"),
        ({"exceptions": [{"match": {"ports": []}, "allow": ["any"], "reason": "r"}]}, "ports is empty"),
        ({"exceptions": [{"match": {"ports": [22]}, "allow": ["any"]}]}, "reason"),
        ({"exceptions": [{"match": {"process": "x", "pid": 3}, "allow": ["any"], "reason": "r"}]}, "pid"),
        ({"protocols": ["quic"]}, "protocols"),
        ({"protocols": []}, "protocols"),
        ({"alow": ["any"]}, "alow"),
    ],
)
def test_params_validation_errors_name_the_problem(params, words):
    with pytest.raises(ValidationError) as info:
        BindAddressParams.model_validate(params)
    assert words in str(info.value)


def test_bad_cidr_error_points_at_the_entry():
    with pytest.raises(ValidationError) as info:
        BindAddressParams.model_validate({"allow": ["loopback", "10.0.0.0/33"]})
    (error,) = info.value.errors()
    assert error["loc"] == ("allow", 1)


def test_spec_declares_what_explain_shows():
    spec = net_bind_addresses
    assert spec.name == "net.bind_addresses" and spec.version == "1.26.0" and spec.uses == ("netns", "sysctl")
    assert spec.controls == ("CM-7", "SC-7", "SC-7(5)", "CM-6")
    assert BindAddressParams().allow == ["loopback"]
    for name, field in BindAddressParams.model_fields.items():
        assert field.description, name
    assert "dual-stack" in spec.notes and "first" in spec.notes
    build_registry([spec])  # every declared control exists in the shipped catalog
