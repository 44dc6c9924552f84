"""The net checks over the netns section: each namespace judged on its own findings, effective
exposure by interface kind, the scope parameter, namespace and workload selectors, and what is
said when namespaces could not be seen.  Snapshots are built from the model (tests/factories.py)."""

from __future__ import annotations

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import (
    Gap,
    GapKind,
    NamespaceFacts,
    NetInterface,
    NetNamespace,
    ProcessInfo,
    SocketCounts,
    SysctlSetting,
    Workload,
)
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, listener, snapshot

HOST_INODE = 4026531840
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"])


def sysctls(**overrides: str) -> dict[str, SysctlSetting]:
    values = {**LINUX_DEFAULT_SYSCTLS, **{k.replace("__", "."): v for k, v in overrides.items()}}
    return {k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/")) for k, v in values.items()}


def host_namespace() -> NetNamespace:
    return NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1],
                        interfaces=[LO, NetInterface(name="eth0", index=2, kind="physical", addresses=["192.0.2.2/24"],
                                                 route_localnet=False, forwarding=False, forwarding_ipv6=False, ingress_hooks=[])])


def namespace(inode: int = 4026532300, interfaces: list[NetInterface] | None = None, names: list[str] | None = None,
              listeners: list | None = None, workloads: list[Workload] | None = None, entered: bool = True,
              **sysctl_overrides: str) -> NetNamespace:
    return NetNamespace(
        inode=inode, device=4, names=names or [], pids=[4242], entered=entered,
        interfaces=[LO] if interfaces is None else interfaces,
        listeners=(listeners if listeners is not None else []) if entered else None,
        counts=SocketCounts(time_wait=0, tcp_by_state={"TIME_WAIT": 0}) if entered else None,
        sysctl=sysctls(**sysctl_overrides) if entered else None,
        workloads=workloads or [],
        local_routes=[] if entered else None,  # read, and none but those of its interfaces' addresses
    )


def with_namespaces(*others: NetNamespace, gaps: list[Gap] | None = None, host_listeners: list | None = None):
    return snapshot(listeners=host_listeners or [], gaps=gaps,
                    netns=NamespaceFacts(namespaces=[host_namespace(), *others], published=[],
                                         published_sources=["nat"]))


def web(address: str = "0.0.0.0", port: int = 8080):
    return listener(address, port, processes=[ProcessInfo(pid=4242, name="httpd")], uid=0, user="root", inode=77)


MACVLAN = NetInterface(name="out0", index=5, kind="macvlan", link_kind="macvlan", addresses=["10.201.0.2/24"],
                       route_localnet=False)  # read as 0 (None: not read, and 127.0.0.0/8 may reach it)


def bind(snap, **params):
    return net_bind_addresses.run(snap, BindAddressParams.model_validate(params))


def about(outcomes, label):
    return [o for o in outcomes if o.subject.endswith(f" in netns {label}")]


# ---------------------------------------------------------------- exposure

def test_loopback_only_namespace_passes_as_reachable_only_inside_and_fails_when_every_namespace_is_judged():
    snap = with_namespaces(namespace(listeners=[web()]))
    [effective] = about(bind(snap), "net:[4026532300]")
    assert effective.status == Status.PASS
    assert effective.reason == "reachable only inside namespace net:[4026532300] (loopback, or a veth into the host and no other interface)"
    assert effective.subject == "tcp 0.0.0.0:8080 httpd pid 4242 in netns net:[4026532300]"
    assert effective.key == "tcp 0.0.0.0:8080 httpd netns net:[4026532300]"
    assert effective.evidence == ["/facts/netns/namespaces/1/listeners/0"]
    [every] = about(bind(snap, scope="every_namespace"), "net:[4026532300]")
    assert every.status == Status.FAIL


def test_a_veth_into_the_host_stays_inside_but_one_to_an_unknown_namespace_is_judged_at_its_address():
    into_host = NetInterface(name="eth0", index=3, kind="veth", addresses=["172.17.0.2/16"], peer_index=9,
                             peer_in_other_netns=True, peer_netns=HOST_INODE)
    unknown = into_host.model_copy(update={"peer_netns": None})
    assert about(bind(with_namespaces(namespace(interfaces=[LO, into_host], listeners=[web()]))),
                 "net:[4026532300]")[0].status == Status.PASS
    [outcome] = about(bind(with_namespaces(namespace(interfaces=[LO, unknown], listeners=[web()]))), "net:[4026532300]")
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["172.17.0.2"]  # type: ignore[index]


def test_macvlan_exposure_is_judged_at_the_interface_address_and_only_for_addresses_the_listener_accepts():
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=[web(), web("127.0.0.1", 9000)]))
    statuses = {o.subject_detail["port"]: o.status for o in about(bind(snap), "net:[4026532300]")}
    assert statuses == {8080: Status.FAIL, 9000: Status.PASS}
    assert {o.subject_detail["port"]: o.status
            for o in about(bind(snap, allow=["loopback", "10.201.0.0/24"]), "net:[4026532300]")} == {
        8080: Status.PASS, 9000: Status.PASS}


def test_a_bridge_is_outward_only_when_one_of_its_ports_is():
    bridge = NetInterface(name="br0", index=4, kind="bridge", addresses=["10.9.0.1/24"])
    inner = NetInterface(name="v0", index=6, kind="veth", master="br0", peer_index=10, peer_in_other_netns=True,
                         peer_netns=HOST_INODE)
    physical = NetInterface(name="enp1", index=7, kind="physical", master="br0")
    inside = with_namespaces(namespace(interfaces=[LO, bridge, inner], listeners=[web()]))
    assert about(bind(inside), "net:[4026532300]")[0].status == Status.PASS
    outside = with_namespaces(namespace(interfaces=[LO, bridge, inner, physical], listeners=[web()]))
    [outcome] = about(bind(outside), "net:[4026532300]")
    assert outcome.status == Status.FAIL and outcome.observed["exposure"]["addresses"] == ["10.9.0.1"]  # type: ignore[index]


def test_unreadable_interfaces_judge_the_listener_as_if_on_the_host():
    snap = with_namespaces(namespace(interfaces=None, listeners=[web()]).model_copy(update={"interfaces": None}))
    [outcome] = about(bind(snap), "net:[4026532300]")
    assert outcome.status == Status.FAIL
    assert "could not be read: judged as if on the host" in outcome.message


# ---------------------------------------------------------------- selectors and labels

def test_namespace_selector_matches_name_inode_and_host():
    ns = namespace(names=["blue"], interfaces=[LO, MACVLAN], listeners=[web()])
    snap = with_namespaces(ns, host_listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=1, name="sshd")])])
    for selector in ("blue", "4026532300", "net:[4026532300]", "bl*"):
        params = {"exceptions": [{"match": {"namespace": selector}, "allow": ["any"], "reason": "lab"}]}
        assert [o.status for o in about(bind(snap, **params), "blue")] == [Status.PASS], selector
    host = {"exceptions": [{"match": {"namespace": "host"}, "allow": ["any"], "reason": "host sshd"}]}
    outcomes = bind(snap, **host)
    assert [o.status for o in outcomes if o.subject == "tcp 0.0.0.0:22 sshd pid 1"] == [Status.PASS]
    assert [o.status for o in about(outcomes, "blue")] == [Status.FAIL]


def test_container_and_image_selectors_and_an_unnamed_container_is_undecided():
    named = Workload(runtime="docker", id="a" * 64, name="web", image="nginx:1.27", pids=[4242])
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=[web()], workloads=[named]))
    label = "container web"
    for match in ({"container": "web"}, {"image": "nginx:*"}):
        params = {"exceptions": [{"match": match, "allow": ["any"], "reason": "published web"}]}
        assert [o.status for o in about(bind(snap, **params), label)] == [Status.PASS], match
    other = {"exceptions": [{"match": {"container": "db"}, "allow": ["any"], "reason": "db"}]}
    assert [o.status for o in about(bind(snap, **other), label)] == [Status.FAIL]
    # a container seen only through its cgroup: its name is unknown, and the rules disagree
    unnamed = named.model_copy(update={"name": None, "image": None})
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=[web()], workloads=[unnamed]))
    params = {"exceptions": [{"match": {"container": "web"}, "allow": ["any"], "reason": "web"}]}
    [outcome] = about(bind(snap, **params), "net:[4026532300]")
    assert outcome.status == Status.NOT_REVIEWED


def test_pod_and_k8s_namespace_selectors():
    pod = Workload(runtime="kubernetes", id="b" * 64, name="app", pod="web-7d9", k8s_namespace="shop", pids=[4242])
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=[web()], workloads=[pod]))
    ok = {"exceptions": [{"match": {"pod": "web-*", "k8s_namespace": "shop"}, "allow": ["any"], "reason": "ingress"}]}
    assert [o.status for o in about(bind(snap, **ok), "container app")] == [Status.PASS]
    wrong = {"exceptions": [{"match": {"k8s_namespace": "kube-system"}, "allow": ["any"], "reason": "system"}]}
    assert [o.status for o in about(bind(snap, **wrong), "container app")] == [Status.FAIL]


def test_host_listeners_keep_their_subjects_and_ids():
    snap = with_namespaces(namespace(listeners=[web()]), host_listeners=[listener("127.0.0.1", 5432)])
    outcomes = bind(snap)
    assert [o.subject for o in outcomes if " in netns " not in o.subject] == ["tcp 127.0.0.1:5432 owner unknown"]
    assert outcomes[0].key == "tcp 127.0.0.1:5432 owner unknown"


# ---------------------------------------------------------------- what could not be seen

def test_an_old_snapshot_without_namespaces_is_not_reviewed_for_them():
    snap = snapshot(listeners=[listener("127.0.0.1", 5432)], netns=None)
    outcomes = bind(snap)
    assert [(o.subject, o.status) for o in outcomes] == [
        ("tcp 127.0.0.1:5432 owner unknown", Status.PASS),
        ("listeners in other network namespaces", Status.NOT_REVIEWED)]
    assert "did not collect them" in (outcomes[1].reason or "")
    ephemeral = net_ephemeral_port_range.run(snap, EphemeralRangeParams())
    assert [(o.subject, o.status) for o in ephemeral if "namespaces" in o.subject] == [
        ("settings of other network namespaces", Status.NOT_REVIEWED)]


def test_an_offline_root_has_no_namespaces():
    gap = Gap(section="netns", kind=GapKind.NOT_APPLICABLE, reason="an offline root directory has no running network namespaces")
    snap = snapshot(listeners=[], netns=None, gaps=[gap], source="root")
    assert [(o.subject, o.status) for o in bind(snap) if "namespaces" in o.subject] == [
        ("listeners in other network namespaces", Status.NOT_APPLICABLE)]


def test_a_namespace_that_could_not_be_entered_is_not_reviewed_everywhere():
    ns = namespace(names=["red"], entered=False)
    gap = Gap(section="netns", path=("namespaces", 1), reason="network namespace net:[4026532300] could not be entered: "
                                                             "PermissionError: [Errno 1] Operation not permitted")
    snap = with_namespaces(ns, gaps=[gap])
    assert [(o.subject, o.status, o.reason) for o in about(bind(snap), "red")] == [
        ("listeners in netns red", Status.NOT_REVIEWED, gap.reason)]
    ephemeral = about(net_ephemeral_port_range.run(snap, EphemeralRangeParams()), "red")
    assert {o.status for o in ephemeral} == {Status.NOT_REVIEWED} and len(ephemeral) == 3
    time_wait = about(net_time_wait.run(snap, TimeWaitParams(max_fin_timeout=60)), "red")
    assert [(o.subject, o.status) for o in time_wait] == [("sysctl net.ipv4.tcp_fin_timeout in netns red", Status.NOT_REVIEWED)]


def test_processes_whose_namespace_could_not_be_read_make_discovery_not_reviewed():
    gap = Gap(section="netns", path=("namespaces",), reason="the network namespace of 3 processes could not be read")
    outcomes = bind(with_namespaces(gaps=[gap]))
    assert [(o.subject, o.status) for o in outcomes if "namespaces" in o.subject] == [
        ("listeners in other network namespaces (discovery)", Status.NOT_REVIEWED)]


def test_each_namespace_judges_its_own_range_and_time_wait_settings():
    snap = with_namespaces(namespace(names=["small"], net__ipv4__ip_local_port_range="40000 40100",
                                     net__ipv4__tcp_fin_timeout="90"))
    outcomes = {o.subject: o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams())}
    assert outcomes["ephemeral port pool"].status == Status.PASS
    small = outcomes["ephemeral port pool in netns small"]
    assert small.status == Status.FAIL and small.subject_detail["netns"] == "small"
    assert small.evidence == ["/facts/netns/namespaces/1/sysctl/net.ipv4.ip_local_port_range",
                              "/facts/netns/namespaces/1/sysctl/net.ipv4.ip_local_reserved_ports"]
    time_wait = {o.subject: o.status for o in net_time_wait.run(snap, TimeWaitParams(max_fin_timeout=60))}
    assert time_wait == {"sysctl net.ipv4.tcp_fin_timeout": Status.PASS,
                         "sysctl net.ipv4.tcp_fin_timeout in netns small": Status.FAIL}
