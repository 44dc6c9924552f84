"""The netns section and the net checks against namespaces these tests create: named ones
(``ip netns add``), unnamed ones (``unshare --net``), veth pairs into the host, macvlan and ipvlan
links, listeners and sysctls inside.  No traffic is sent; only addresses inside the tests' own
namespaces are configured."""

from __future__ import annotations

# Imported before the child drops to nobody: the collector imports ctypes only when it enters a
# namespace, and an interpreter installed under a root-only home (pyenv in a 0700 /root) cannot be
# read by nobody; the test is about the namespace, not about where Python was installed.
import ctypes  # noqa: F401
import os
import socket

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect import CollectContext
from auditor.collect.netns import collect_netns
from auditor.collect.sockets import collect_sockets
from auditor.collect.sysctl import collect_sysctl
from auditor.model.facts import Facts, Gap, HostSnapshot, NamespaceFacts, NetNamespace, SocketFacts
from auditor.model.result import Status
from tests.factories import provenance
from tests.netns_env import (
    listeners_in,
    macvlan_in,
    named_namespace,
    namespace_inode_of,
    ss_listeners,
    sysctl_in,
    unnamed_namespace_listeners,
    veth_to_host,
)
from tests.privileges import run_as_unprivileged, unexplained_gaps

pytestmark = pytest.mark.live


def live_snapshot(sections: frozenset[str] = frozenset({"sockets", "sysctl", "netns"})) -> HostSnapshot:
    ctx = CollectContext(sections=sections)
    facts: dict[str, object] = {}
    gaps = []
    for name, collect in (("sockets", collect_sockets), ("sysctl", collect_sysctl), ("netns", collect_netns)):
        if name in sections:
            facts[name], found = collect(ctx)
            gaps += found
    return HostSnapshot(provenance=provenance(), facts=Facts(**facts), gaps=gaps)


def namespace_named(snapshot: HostSnapshot, name: str) -> tuple[int, NetNamespace]:
    assert snapshot.facts.netns is not None
    found = [(i, ns) for i, ns in enumerate(snapshot.facts.netns.namespaces) if name in ns.names]
    assert len(found) == 1, [ns.names for ns in snapshot.facts.netns.namespaces]
    return found[0]


def namespace_with_inode(snapshot: HostSnapshot, inode: int) -> tuple[int, NetNamespace]:
    assert snapshot.facts.netns is not None
    found = [(i, ns) for i, ns in enumerate(snapshot.facts.netns.namespaces) if ns.inode == inode]
    assert len(found) == 1
    return found[0]


def outcomes_about(outcomes, label: str):
    return [o for o in outcomes if o.subject.endswith(f" in netns {label}")]


def test_listener_set_of_a_named_namespace_is_what_ss_shows():
    with named_namespace() as name, listeners_in(name, "tcp:0.0.0.0", "tcp:127.0.0.1", "udp:0.0.0.0", "tcp:::") as held:
        snapshot = live_snapshot(frozenset({"netns"}))
        expected = ss_listeners(name)
        index, ns = namespace_named(snapshot, name)
    assert ns.entered and not ns.current and held.pid in ns.pids
    seen = {(l.protocol, l.address, l.port) for l in ns.listeners or []}
    assert seen == expected
    assert {(p, a) for p, a in held.ports} <= {(l.protocol, l.address) for l in ns.listeners or []}
    # owners come from the parent's one scan of /proc/PID/fd
    assert all(held.pid in [p.pid for p in l.processes] for l in ns.listeners or [])
    assert [i.name for i in ns.interfaces or []] == ["lo"] and ns.interfaces[0].kind == "loopback"  # type: ignore[index]
    assert ns.counts is not None and ns.counts.tcp_by_state["LISTEN"] == 3
    assert ns.sysctl is not None and "net.ipv4.ip_local_port_range" in ns.sysctl
    assert not unexplained_gaps([g for g in snapshot.gaps if g.path[:2] == ("namespaces", index)
                                 and g.kind.value == "unreadable"], {l.inode or 0 for l in ns.listeners or []})


def test_the_collector_never_enters_a_namespace_itself():
    before = os.stat("/proc/thread-self/ns/net").st_ino
    with named_namespace() as name, listeners_in(name, "tcp:0.0.0.0"):
        snapshot = live_snapshot(frozenset({"netns"}))
        namespace_named(snapshot, name)
    assert os.stat("/proc/thread-self/ns/net").st_ino == before
    current = snapshot.facts.netns.current  # type: ignore[union-attr]
    assert current is not None and current.inode == before and current.listeners is None


def test_wildcard_listener_in_an_unnamed_namespace_is_seen_and_fails_when_every_namespace_is_judged():
    with unnamed_namespace_listeners("tcp:0.0.0.0") as held:
        inode = namespace_inode_of(held.pid)
        snapshot = live_snapshot()
    index, ns = namespace_with_inode(snapshot, inode)
    port = held.ports[("tcp", "0.0.0.0")]
    assert ns.names == [] and ns.label == f"net:[{inode}]"
    assert [(l.address, l.port) for l in ns.listeners or []] == [("0.0.0.0", port)]

    effective = outcomes_about(net_bind_addresses.run(snapshot, BindAddressParams()), ns.label)
    assert [(o.status, o.subject_detail["port"]) for o in effective] == [(Status.PASS, port)]
    assert effective[0].reason == f"reachable only inside namespace net:[{inode}] " \
                                  "(loopback, or a veth into the host and no other interface)"
    assert effective[0].evidence == [f"/facts/netns/namespaces/{index}/listeners/0"]

    every = outcomes_about(net_bind_addresses.run(snapshot, BindAddressParams(scope="every_namespace")), ns.label)
    assert [(o.status, o.subject_detail["netns_inode"]) for o in every] == [(Status.FAIL, inode)]
    assert every[0].subject.startswith(f"tcp 0.0.0.0:{port} ") and every[0].subject.endswith(
        f" pid {held.pid} in netns net:[{inode}]")
    assert every[0].key == f"tcp 0.0.0.0:{port} {ns.listeners[0].processes[0].name} netns net:[{inode}]"  # type: ignore[index]


def test_a_namespace_with_a_101_port_range_fails_on_its_own_finding_while_the_host_passes():
    with named_namespace() as name:
        sysctl_in(name, "net.ipv4.ip_local_port_range", "40000 40100")
        snapshot = live_snapshot()
    outcomes = net_ephemeral_port_range.run(snapshot, EphemeralRangeParams())
    by_subject = {o.subject: o for o in outcomes}
    host = _host_pool_size(snapshot)
    assert by_subject["ephemeral port pool"].status == (Status.PASS if host >= 16384 else Status.FAIL)
    index, _ns = namespace_named(snapshot, name)
    ours = by_subject[f"ephemeral port pool in netns {name}"]
    assert ours.status == Status.FAIL
    assert ours.observed["span"] == 101 and "101 ports" in ours.message  # type: ignore[index]
    assert ours.evidence[0] == f"/facts/netns/namespaces/{index}/sysctl/net.ipv4.ip_local_port_range"
    assert by_subject[f"ephemeral port range bounds in netns {name}"].status == Status.PASS


def _host_pool_size(snapshot: HostSnapshot) -> int:
    low, high = map(int, snapshot.facts.sysctl.runtime["net.ipv4.ip_local_port_range"].value.split())  # type: ignore[union-attr,index]
    return high - low + 1


def test_time_wait_settings_are_judged_per_namespace():
    with named_namespace() as name:
        sysctl_in(name, "net.ipv4.tcp_fin_timeout", "90")
        snapshot = live_snapshot()
    outcomes = net_time_wait.run(snapshot, TimeWaitParams(max_fin_timeout=60))
    statuses = {o.subject: o.status for o in outcomes}
    assert statuses[f"sysctl net.ipv4.tcp_fin_timeout in netns {name}"] == Status.FAIL
    host = int(snapshot.facts.sysctl.runtime["net.ipv4.tcp_fin_timeout"].value)  # type: ignore[union-attr,index]
    assert statuses["sysctl net.ipv4.tcp_fin_timeout"] == (Status.PASS if host <= 60 else Status.FAIL)


@pytest.mark.parametrize("kind", ["macvlan", "ipvlan"])
def test_a_listener_behind_a_macvlan_or_ipvlan_is_judged_at_that_interfaces_address(kind):
    with named_namespace() as name:
        macvlan_in(name, "10.201.0.2/24", kind)
        with listeners_in(name, "tcp:0.0.0.0", "tcp:127.0.0.1") as held:
            snapshot = live_snapshot()
    _index, ns = namespace_named(snapshot, name)
    assert {i.name: i.kind for i in ns.interfaces or []}["out0"] == kind
    outcomes = outcomes_about(net_bind_addresses.run(snapshot, BindAddressParams()), name)
    by_port = {o.subject_detail["port"]: o for o in outcomes}
    wildcard = by_port[held.ports[("tcp", "0.0.0.0")]]
    assert wildcard.status == Status.FAIL
    assert wildcard.observed["exposure"]["addresses"] == ["10.201.0.2"]  # type: ignore[index]
    assert by_port[held.ports[("tcp", "127.0.0.1")]].status == Status.PASS
    allowed = BindAddressParams.model_validate(
        {"exceptions": [{"match": {"namespace": name}, "allow": ["10.201.0.0/24"], "reason": "test network"}]})
    again = {o.subject_detail["port"]: o.status for o in outcomes_about(net_bind_addresses.run(snapshot, allowed), name)}
    assert again[held.ports[("tcp", "0.0.0.0")]] == Status.PASS


def test_a_veth_into_the_host_keeps_a_wildcard_listener_inside():
    host_inode = os.stat("/proc/self/ns/net").st_ino
    with named_namespace() as name, veth_to_host(name, "10.202.0.2/24") as host_end:
        with listeners_in(name, "tcp:0.0.0.0") as held:
            snapshot = live_snapshot()
    _index, ns = namespace_named(snapshot, name)
    eth0 = next(i for i in ns.interfaces or [] if i.name == "eth0")
    assert eth0.kind == "veth" and eth0.peer_netns == host_inode and "10.202.0.2/24" in eth0.addresses
    host = snapshot.facts.netns.current  # type: ignore[union-attr]
    assert any(i.name == host_end and i.peer_netns == ns.inode for i in host.interfaces or [])  # type: ignore[union-attr]
    [outcome] = outcomes_about(net_bind_addresses.run(snapshot, BindAddressParams()), name)
    assert outcome.status == Status.PASS and outcome.subject_detail["port"] == held.ports[("tcp", "0.0.0.0")]
    assert outcome.reason is not None and outcome.reason.startswith(f"reachable only inside namespace {name}")


def _collect_as_nobody() -> dict:
    facts, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    return {"facts": None if facts is None else facts.model_dump(mode="json"),
            "gaps": [g.model_dump(mode="json") for g in gaps]}


@pytest.mark.root
def test_unreadable_namespaces_are_gaps_and_nobody_never_passes_them():
    with named_namespace() as name, listeners_in(name, "tcp:127.0.0.1"):
        with unnamed_namespace_listeners("tcp:0.0.0.0"):
            data = run_as_unprivileged(_collect_as_nobody)
    facts = NamespaceFacts.model_validate(data["facts"])
    gaps = [Gap.model_validate(g) for g in data["gaps"]]
    snapshot = HostSnapshot(provenance=provenance(privileged=False, effective_uid=65534, effective_user="nobody"),
                            facts=Facts(netns=facts, sockets=SocketFacts(listeners=[])), gaps=gaps)
    index, ns = namespace_named(snapshot, name)
    assert not ns.entered and ns.listeners is None
    [gap] = [g for g in gaps if g.path == ("namespaces", index)]
    assert "could not be entered" in gap.reason and "Operation not permitted" in gap.reason
    assert any(g.path == ("namespaces",) and "permission denied" in g.reason for g in gaps)
    outcomes = net_bind_addresses.run(snapshot, BindAddressParams(scope="every_namespace"))
    mine = outcomes_about(outcomes, name)
    assert [(o.subject, o.status) for o in mine] == [(f"listeners in netns {name}", Status.NOT_REVIEWED)]
    discovery = [o for o in outcomes if o.subject == "listeners in other network namespaces (discovery)"]
    assert [o.status for o in discovery] == [Status.NOT_REVIEWED]
    assert not [o for o in outcomes if " in netns " in o.subject and o.status == Status.PASS]


def test_a_dnat_rule_with_no_listener_is_an_exposure_judged_at_its_host_address(tmp_path):
    """NAT without a container runtime: an nft DNAT rule inside a namespace the test made, to an
    address of a second one, with lbaudit run inside the first (its "host")."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (scripts/bootstrap --test installs nftables)")
    repo = Path(__file__).resolve().parents[2]
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: nat\nversion: '1'\nowner: tests\nrules:\n  - id: bind\n    check: net.bind_addresses\n"
                      "    params:\n      allow: [loopback]\n")
    with named_namespace() as gateway, named_namespace() as inner:
        subprocess.run(["ip", "-n", gateway, "link", "add", "gw0", "type", "veth", "peer", "name", "eth0",
                        "netns", inner], check=True, timeout=10)
        for name, device, address in ((gateway, "gw0", "10.203.0.1/24"), (inner, "eth0", "10.203.0.2/24")):
            subprocess.run(["ip", "-n", name, "addr", "add", address, "dev", device], check=True, timeout=10)
            subprocess.run(["ip", "-n", name, "link", "set", device, "up"], check=True, timeout=10)
        rules = ("add table ip lbt; add chain ip lbt pre { type nat hook prerouting priority -100; }; "
                 "add rule ip lbt pre tcp dport 18081 dnat to 10.203.0.2:80")
        subprocess.run(["ip", "netns", "exec", gateway, "nft", rules], check=True, timeout=10)
        evidence = tmp_path / "evidence.json"
        run = subprocess.run(["ip", "netns", "exec", gateway, sys.executable, "-m", "auditor.cli", "evaluate",
                              "--policy", str(policy), "-o", str(evidence)],
                             env={"PYTHONPATH": str(repo), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                             capture_output=True, text=True, timeout=300)
    assert run.returncode in (1, 3), run.stderr
    findings = json.loads(evidence.read_text())["result"]["findings"]
    published = [f for f in findings if f["subject"].startswith("published ")]
    assert [(f["subject"], f["status"]) for f in published] == [
        ("published tcp 0.0.0.0:18081 -> 10.203.0.2:80", "fail")]
    assert published[0]["observed"]["sources"] == ["nat"]
    assert published[0]["observed"]["origins"][0].startswith("nft -j list ruleset: table ip lbt chain pre")


@pytest.mark.live
def test_tproxy_rules_are_not_read_where_every_listener_s_transparency_is_known():
    """Reading a namespace's TPROXY rules is two programs (nft, iptables-save) in each namespace
    entered (2.4 -> 6.7 ms of CPU a namespace, over the 5 ms target); they matter only to a TCP,
    UDP or MPTCP listener whose IP_TRANSPARENT is unknown.  On a kernel that reports it (5.10+,
    through sock_diag) nothing is run, and nothing is missing (no gap)."""
    from auditor.collect.netns import read_here
    from auditor.collect.targets import LocalHost

    ran: list[str] = []

    class CountingHost(LocalHost):
        def run(self, argv, timeout):  # type: ignore[no-untyped-def]
            ran.append(argv[0])
            return super().run(argv, timeout)

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        here = read_here(10.0, CountingHost())
    listeners = here["listeners"]
    assert listeners is not None and any(l["port"] == port for l in listeners)
    if any(l["transparent"] is None and l["protocol"] in ("tcp", "udp", "mptcp") for l in listeners):
        pytest.skip("this kernel does not report IP_TRANSPARENT through sock_diag (Linux < 5.10)")
    assert ran == []
    assert here["tproxy"] is None and here["tproxy_unknown"] == []


@pytest.mark.live  # runs programs, if only the test's own scripts
def test_the_nat_and_tproxy_readers_of_one_namespace_run_each_listing_program_once(tmp_path):
    """Both list the same tables (every iptables-save's, nft's ruleset): five more programs, ~18 ms
    of every evaluate, when each reader ran its own.  The nat table is read out of the whole
    listing with the line numbers `iptables-save -t nat` shows."""
    from auditor.collect.nat import ListedOnce, read_nat, read_tproxy
    from auditor.collect.targets import LocalHost

    programs, log = tmp_path / "bin", tmp_path / "ran.log"
    programs.mkdir()
    listing = ("# Generated by iptables-save\n*mangle\n-A PREROUTING -p tcp --dport 80 -j TPROXY --on-port 8080\n"
               "COMMIT\n# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n"
               "-A DOCKER -p tcp --dport 8081 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n")
    (tmp_path / "iptables.txt").write_text(listing)
    (tmp_path / "nft.json").write_text('{"nftables": []}')
    for name, output in (("iptables-save", "iptables.txt"), ("nft", "nft.json")):
        script = programs / name
        script.write_text(f"#!/bin/sh\necho {name} >> {log}\nexec /bin/cat {tmp_path / output}\n")
        script.chmod(0o755)
    listed = ListedOnce(LocalHost(program_path=(str(programs),), proc=str(tmp_path / "noproc")))
    rules, _unknown, _read = read_tproxy(listed, 30)
    ports, gaps, _read = read_nat(listed, 30)
    assert sorted(log.read_text().split()) == ["iptables-save", "nft"]
    assert [(r.protocol, r.port) for r in rules or []] == [("tcp", 8080)]
    assert gaps == [] and [(p.host_port, p.origin) for p in ports or []] == [(8081, "iptables-save -t nat:4")]
