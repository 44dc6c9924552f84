"""Hostile corpus, false passes: a UDP or raw listener on the wildcard in another namespace, which
the link reaches by broadcast and multicast.

With scope ``effective`` a listener in another namespace is judged at the namespace's addresses its
outward links deliver.  But a UDP, UDP-Lite or raw socket on the wildcard (0.0.0.0, or a dual-stack
``::``) also takes what the link sends to the limited broadcast 255.255.255.255 (ip_route_input
delivers it from any interface, with or without an address: a DHCP client's DISCOVER comes from
0.0.0.0), to a directed broadcast of the namespace's subnets, and to any multicast group its links
join (every IPv4 interface joins 224.0.0.1, every IPv6 one ff02::1; IP_MULTICAST_ALL, on by default,
hands a wildcard socket the groups others joined there too).  lbaudit left these out: a UDP
0.0.0.0 listener in a namespace whose outward link had no IPv4 address was "reachable only
inside" and passed ``allow: [loopback]``, and one beside 10.201.0.2/24 passed
``allow: [loopback, 10.201.0.0/24]`` though it takes 255.255.255.255 and 224.0.0.1 from the link.
TCP, SCTP, DCCP and MPTCP take neither (tcp_v4_rcv drops what is not PACKET_HOST), nor does a
socket bound to a unicast address (the lookup matches it against the destination).

``test_the_link_reaches_a_wildcard_udp_listener_by_broadcast_and_lbaudit_fails_it`` proves it on the
running kernel: a peer namespace on a veth sends to 255.255.255.255 and 224.0.0.1 (and ff02::1),
and the wildcard UDP and raw sockets of a namespace whose end has no IPv4 address get them, a UDP
socket on 127.0.0.1 nothing; lbaudit, judging the namespace as its own collector reads it, now fails
the wildcard ones and passes the other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NetNamespace
from auditor.model.result import Status
from tests.factories import listener
from tests.hostile.test_falsepass_netns_weak_host import INNER, LO, MACVLAN, container, judged
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

NO_IPV4 = MACVLAN.model_copy(update={"addresses": []})


def _udp(address: str, protocol: str = "udp", **kw) -> Listener:
    return listener(address, 5353 if protocol != "raw" else 253, protocol, uid=0, user="root", inode=78, **kw)


def test_a_wildcard_udp_listener_behind_a_link_without_ipv4_is_reached_by_broadcast():
    for protocol in ("udp", "udplite", "raw"):
        [outcome] = judged(container(_udp("0.0.0.0", protocol), interfaces=[LO, NO_IPV4]), allow=["loopback"])
        assert outcome.status == Status.FAIL, (protocol, outcome.message)
        assert outcome.observed["exposure"]["addresses"] == ["255.255.255.255", "224.0.0.0/4"]  # type: ignore[index]
        assert "broadcast" in outcome.message and "multicast" in outcome.message


def test_a_wildcard_udp_listener_is_judged_at_the_broadcasts_and_groups_beside_its_addresses():
    [outcome] = judged(container(_udp("0.0.0.0"), interfaces=[LO, MACVLAN]), allow=["loopback", "10.201.0.0/24"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == [  # type: ignore[index]
        "10.201.0.2", "255.255.255.255", "10.201.0.255", "224.0.0.0/4"]
    # a dual-stack :: takes IPv6 multicast too
    v6 = MACVLAN.model_copy(update={"addresses": ["10.201.0.2/24", "fe80::5/64"]})
    [dual] = judged(container(_udp("::", v6only=False), interfaces=[LO, v6]), allow=["loopback", "private", "link-local"])
    assert dual.status == Status.FAIL
    assert {"255.255.255.255", "224.0.0.0/4", "ff00::/8"} <= set(dual.observed["exposure"]["addresses"])  # type: ignore[index]
    # allowed there too, it passes
    [allowed] = judged(container(_udp("0.0.0.0"), interfaces=[LO, MACVLAN]),
                       allow=["loopback", "10.201.0.0/24", "255.255.255.255/32", "224.0.0.0/4"])
    assert allowed.status == Status.PASS


def test_control_cases_are_judged_as_before():
    # TCP takes no broadcast or multicast
    [tcp] = judged(container(listener("0.0.0.0", 8080, uid=0, inode=77), interfaces=[LO, MACVLAN]),
                   allow=["loopback", "10.201.0.0/24"])
    assert tcp.status == Status.PASS
    [tcp_no_ipv4] = judged(container(listener("0.0.0.0", 8080, uid=0, inode=77), interfaces=[LO, NO_IPV4]),
                           allow=["loopback"])
    assert tcp_no_ipv4.status == Status.PASS
    # bound to a unicast address: the lookup matches the destination against it
    [unicast] = judged(container(_udp("10.201.0.2"), interfaces=[LO, MACVLAN]), allow=["loopback", "10.201.0.0/24"])
    assert unicast.status == Status.PASS
    # an IPv4 socket takes no IPv6 multicast, a v6only one no IPv4 broadcast
    [four] = judged(container(_udp("0.0.0.0"), interfaces=[LO, MACVLAN]), allow=["10.201.0.0/24", "255.255.255.255/32",
                                                                               "224.0.0.0/4"])
    assert four.status == Status.PASS
    # no outward link, or bound to lo: nothing from a link
    [inside] = judged(container(_udp("0.0.0.0"), interfaces=[LO]), allow=["loopback"])
    assert inside.status == Status.PASS
    [on_lo] = judged(container(_udp("0.0.0.0", interface="lo"),  # NO_IPV4's ingress hooks read, and none
                               interfaces=[LO, NO_IPV4.model_copy(update={"ingress_hooks": []})]), allow=["loopback"])
    assert on_lo.status == Status.PASS


HOLD = textwrap.dedent("""
    import json, select, socket, sys
    wild = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); wild.bind(("0.0.0.0", 0))
    local = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); local.bind(("127.0.0.1", 0))
    wild6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    wild6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); wild6.bind(("::", wild.getsockname()[1]))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
    names = {wild: "udp 0.0.0.0", local: "udp 127.0.0.1", wild6: "udp ::", raw: "raw 0.0.0.0"}
    print(wild.getsockname()[1], local.getsockname()[1], flush=True)
    got = set()
    sys.stdin.readline()  # the peer has sent
    while True:
        ready, _, _ = select.select(list(names), [], [], 1.0)
        if not ready:
            break
        for sock in ready:
            got.add(names[sock] + " " + sock.recv(100)[-5:].decode())
    print(json.dumps(sorted(got)), flush=True)
    sys.stdin.read()
""")
SEND = textwrap.dedent("""
    import socket, sys
    port, device = int(sys.argv[1]), sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    s.sendto(b"bcast", ("255.255.255.255", port))
    s.sendto(b"mcast", ("224.0.0.1", port))
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    r.sendto(b"bcast", ("255.255.255.255", 0))
    six = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    six.sendto(b"mcas6", ("ff02::1", port, 0, socket.if_nametoindex(device)))
""")


@pytest.mark.live
@pytest.mark.slow  # two namespaces, duplicate address detection on the peer's link-local address
def test_the_link_reaches_a_wildcard_udp_listener_by_broadcast_and_lbaudit_fails_it():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbb17s"), unique_name("lbb17p")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbb17a", "netns", server_ns, "type", "veth", "peer", "name", "lbb17b", "netns", peer_ns)
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", server_ns, "link", "set", "lbb17a", "up")  # no IPv4 address: only broadcast and multicast reach it
        ip("-n", peer_ns, "addr", "add", "10.198.0.2/24", "dev", "lbb17b")
        ip("-n", peer_ns, "link", "set", "lbb17b", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", HOLD],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None and serving.stdin is not None
        port, local_port = serving.stdout.readline().split()
        collected = json.loads(_in(server_ns, COLLECT))
        interfaces = _interfaces(collected["interfaces"])
        assert all(a.startswith("fe80:") for i in interfaces if i.name == "lbb17a" for a in i.addresses)
        for _ in range(40):  # the peer's IPv6 link-local source address must be past DAD
            if "tentative" not in subprocess.run(["ip", "-n", peer_ns, "-6", "addr", "show", "dev", "lbb17b"],
                                                 capture_output=True, text=True, timeout=10).stdout:
                break
            time.sleep(0.25)
        _in(peer_ns, SEND, port, "lbb17b")
        serving.stdin.write("sent\n")
        serving.stdin.flush()
        received = set(json.loads(serving.stdout.readline()))
        # the kernel: the wildcard sockets get the link's broadcast and multicast, 127.0.0.1 nothing
        assert {"udp 0.0.0.0 bcast", "udp 0.0.0.0 mcast", "raw 0.0.0.0 bcast", "udp :: mcas6"} <= received, received
        assert not any(entry.startswith("udp 127.0.0.1") for entry in received), received
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if str(item["port"]) in (port, local_port, "253")]
        assert {(l.protocol, l.address) for l in mine} == {("udp", "0.0.0.0"), ("udp", "127.0.0.1"), ("udp", "::"),
                                                           ("raw", "0.0.0.0")}
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True, interfaces=interfaces,
                             listeners=mine, sysctl={}, local_routes=collected["local_routes"])
        statuses = {(o.subject_detail["protocol"], o.subject_detail["address"]): o.status
                    for o in judged(inner, allow=["loopback"])}
        # before: the IPv4 wildcards passed, "reachable only inside"
        assert statuses == {("udp", "0.0.0.0"): Status.FAIL, ("raw", "0.0.0.0"): Status.FAIL,
                            ("udp", "::"): Status.FAIL, ("udp", "127.0.0.1"): Status.PASS}
    finally:
        _stop(serving, server_ns, peer_ns)
