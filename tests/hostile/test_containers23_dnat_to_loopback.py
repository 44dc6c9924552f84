"""Hostile judging, false fails: a published port whose DNAT target is a loopback address.

``iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 127.0.0.1:8080`` (or
nft's ``dnat to 127.0.0.1``) rewrites the destination before the route lookup, and
ip_route_input_slow then drops a 127.0.0.0/8 destination that came from an interface as a martian
unless IN_DEV_NET_ROUTE_LOCALNET (net.ipv4.conf.all.route_localnet OR the interface's own) is on.
The host's own processes never pass this DNAT (theirs is the nat OUTPUT chain).  So with
route_localnet off on every link the port reaches no one beyond the host; lbaudit judged it at
0.0.0.0/0 all the same and failed ``allow: [loopback]``.  Now it is judged at its target (127.0.0.1)
when every interface IP input happens on has route_localnet off, as today (every address of the
rule) when one has it on, and not_reviewed (never passed) where the setting or the interfaces could
not be read and the port is not allowed at every address.  A rewrite after the route lookup (an nft
``ip daddr set 127.0.0.1`` in an input chain, delivered whatever route_localnet says) or one whose
hook is not known (a regular chain, an older snapshot) is judged as before.

``test_the_kernel_drops_the_dnat_to_loopback_exactly_when_lbaudit_says_so`` proves it on the running
kernel with real iptables rules in a real namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.nat import dedupe, parse_iptables_save, parse_nft_ruleset
from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace, PublishedPort
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8"], route_localnet=False)
ETH0 = NetInterface(name="eth0", index=2, kind="physical", up=True, addresses=["10.0.0.5/24"], route_localnet=False)
DNAT = PublishedPort(source="nat", protocol="tcp", host_address="0.0.0.0", host_port=8080, target_address="127.0.0.1",
                     target_port=8080, origin="iptables-save -t nat:5", before_routing=True)
SUBJECT = "published tcp 0.0.0.0:8080 -> 127.0.0.1:8080"


def _judged(port: PublishedPort = DNAT, interfaces: list[NetInterface] | None = None,
            allow: tuple[str, ...] = ("loopback",)):
    current = NetNamespace(inode=4026531840, device=4, current=True, pids=[1],
                           interfaces=[LO, ETH0] if interfaces is None else interfaces)
    if interfaces == []:
        current = current.model_copy(update={"interfaces": None})
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current], published=[port], published_sources=["nat"]))
    [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate({"allow": list(allow)}))
                 if o.subject.startswith("published ")]
    return outcome


def test_route_localnet_off_everywhere_judges_the_port_where_its_target_is():
    outcome = _judged()
    assert (outcome.subject, outcome.status) == (SUBJECT, Status.PASS), outcome.message
    assert "martian" in outcome.message and outcome.observed["loopback_target"]["state"] == "dropped"
    # judged at its target, which the allow list is still asked about
    assert _judged(allow=("10.0.0.0/8",)).status == Status.FAIL
    # a bridge port's own setting is not asked: IP input happens on the bridge
    bridge = NetInterface(name="br0", index=3, kind="bridge", up=True, addresses=["10.1.0.1/24"], route_localnet=False)
    port = NetInterface(name="veth1", index=4, kind="veth", master="br0", route_localnet=True)
    assert _judged(interfaces=[LO, bridge, port]).status == Status.PASS


def test_lo_with_route_localnet_behind_a_link_that_may_hand_it_packets_is_not_passed():
    """tc mirred or an nft ``fwd to "lo"`` puts what a link brings on lo with no route yet: the DNAT
    and the route lookup then happen on lo, whose route_localnet (all or lo's own) decides."""
    open_lo = LO.model_copy(update={"route_localnet": True})
    for hooks in (["tc ingress"], None):
        hooked = ETH0.model_copy(update={"ingress_hooks": hooks})
        outcome = _judged(interfaces=[open_lo, hooked])
        assert outcome.status == Status.NOT_REVIEWED and "ingress hook" in outcome.message, outcome.message
    # no hook on any link, or lo's route_localnet off: nothing reaches lo from a link
    assert _judged(interfaces=[open_lo, ETH0.model_copy(update={"ingress_hooks": []})]).status == Status.PASS
    assert _judged(interfaces=[LO, ETH0.model_copy(update={"ingress_hooks": ["tc ingress"]})]).status == Status.PASS


def test_route_localnet_on_any_link_makes_it_reachable_at_every_address():
    on = ETH0.model_copy(update={"route_localnet": True})
    outcome = _judged(interfaces=[LO, on])
    assert outcome.status == Status.FAIL, outcome.message
    assert "route_localnet=1 on eth0" in outcome.message
    # allowed at every address: nothing to doubt
    assert _judged(interfaces=[LO, on], allow=("0.0.0.0/0",)).status == Status.PASS


def test_a_setting_or_interfaces_not_read_is_not_reviewed_never_passed():
    unknown = _judged(interfaces=[LO, ETH0.model_copy(update={"route_localnet": None})])
    assert unknown.status == Status.NOT_REVIEWED, unknown.message
    assert "could not be read" in unknown.message
    unread = _judged(interfaces=[])
    assert unread.status == Status.NOT_REVIEWED and "were not read" in unread.message, unread.message
    # not allowed at its target either: a failure whatever route_localnet is
    assert _judged(interfaces=[], allow=("10.0.0.0/8",)).status == Status.FAIL


def test_control_rewrites_not_known_to_be_before_the_route_lookup_are_judged_at_their_address():
    # after it (an input chain: delivered whatever route_localnet), not known (an older snapshot,
    # a regular chain), an engine's port, an IPv6 target: every one as before
    for before in (False, None):
        assert _judged(DNAT.model_copy(update={"before_routing": before})).status == Status.FAIL
    engine = DNAT.model_copy(update={"source": "engine", "origin": "docker engine"})
    assert _judged(engine).status == Status.FAIL


def test_the_readers_say_where_the_rewrite_happens():
    listing = "*nat\n-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 127.0.0.1:8080\nCOMMIT\n"
    assert [p.before_routing for p in parse_iptables_save(listing, "ipv4", "iptables-save")] == [True]

    def ruleset(hook: str | None, statement: dict) -> dict:
        chain = {"family": "ip", "table": "t", "name": "c"}
        if hook is not None:
            chain.update(type="nat" if "dnat" in statement else "filter", hook=hook, prio=0)
        return {"nftables": [{"chain": chain}, {"rule": {"family": "ip", "table": "t", "chain": "c",
                                                         "expr": [statement]}}]}
    dnat = {"dnat": {"addr": "127.0.0.1", "port": 8080}}
    rewrite = {"mangle": {"key": {"payload": {"protocol": "ip", "field": "daddr"}}, "value": "127.0.0.1"}}
    assert {p.before_routing for p in parse_nft_ruleset(ruleset("prerouting", dnat))} == {True}
    assert {p.before_routing for p in parse_nft_ruleset(ruleset(None, dnat))} == {True}  # dnat: prerouting/output only
    assert {p.before_routing for p in parse_nft_ruleset(ruleset("prerouting", rewrite))} == {True}
    assert {p.before_routing for p in parse_nft_ruleset(ruleset("input", rewrite))} == {False}
    assert {p.before_routing for p in parse_nft_ruleset(ruleset(None, rewrite))} == {None}
    # the same port rewritten before the route lookup and after it: both kept, the group judged by both
    both = dedupe(parse_nft_ruleset(ruleset("prerouting", rewrite)) + parse_nft_ruleset(ruleset("input", rewrite)))
    assert sorted(str(p.before_routing) for p in both) == ["False", "False", "True", "True"]


SERVE = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(8)
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()
""")
CONNECT = textwrap.dedent("""
    import socket, sys
    try:
        socket.create_connection(("10.199.0.1", int(sys.argv[1])), timeout=2).close()
        print("connected")
    except OSError as exc:
        print(type(exc).__name__)
""")


def _published_statuses(host_ns: str, port: str, tmp_path: Path) -> dict[str, str]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text("id: localnet\nversion: '1'\nowner: Tests <tests@example.test>\ndescription: loopback\n"
                      "rules:\n  - id: loopback-only\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n")
    run = subprocess.run(["ip", "netns", "exec", host_ns, sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
                          str(policy), "--output", str(out), "-q"], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return {f["subject"]: f["status"] for f in json.loads(out.read_text())["result"]["findings"]
            if f["subject"].startswith("published ") and port in f["subject"]}


@pytest.mark.live
@pytest.mark.slow  # two namespaces, child interpreters and two real lbaudit runs
def test_the_kernel_drops_the_dnat_to_loopback_exactly_when_lbaudit_says_so(tmp_path: Path):
    require_namespaces()
    if shutil.which("iptables") is None:
        pytest.skip("iptables is not installed (Debian package iptables)")
    host_ns, peer_ns = unique_name("lb23h"), unique_name("lb23p")
    for name in (host_ns, peer_ns):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    serving = None
    try:
        ip("link", "add", "lb23a", "netns", host_ns, "type", "veth", "peer", "name", "lb23b", "netns", peer_ns)
        ip("-n", host_ns, "addr", "add", "10.199.0.1/24", "dev", "lb23a")
        ip("-n", host_ns, "link", "set", "lb23a", "up")
        ip("-n", peer_ns, "addr", "add", "10.199.0.2/24", "dev", "lb23b")
        ip("-n", peer_ns, "link", "set", "lb23b", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", host_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        subprocess.run(["ip", "netns", "exec", host_ns, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp",
                        "--dport", port, "-j", "DNAT", "--to-destination", f"127.0.0.1:{port}"],
                       check=True, capture_output=True, timeout=10)
        subject = f"published tcp 0.0.0.0:{port} -> 127.0.0.1:{port}"
        # route_localnet off: the kernel drops the neighbour's SYN as a martian; lbaudit passes it
        assert _in(host_ns, "print(open('/proc/sys/net/ipv4/conf/all/route_localnet').read().strip())") == "0"
        assert _in(peer_ns, CONNECT, port) == "TimeoutError"
        assert _published_statuses(host_ns, port, tmp_path) == {subject: "pass"}
        # route_localnet on the link: the neighbour connects; lbaudit fails it
        subprocess.run(["ip", "netns", "exec", host_ns, "sysctl", "-qw", "net.ipv4.conf.lb23a.route_localnet=1"],
                       check=True, timeout=10)
        assert _in(peer_ns, CONNECT, port) == "connected"
        assert _published_statuses(host_ns, port, tmp_path) == {subject: "fail"}
    finally:
        _stop(serving, host_ns, peer_ns)


RECEIVE = textwrap.dedent("""
    import select, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    sys.stdin.readline()  # the rules are in place and the neighbour is about to send
    ready, _, _ = select.select([s], [], [], 5)
    print(s.recvfrom(64)[1][0] if ready else "nothing", flush=True)
    sys.stdin.read()
""")
SEND = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(5):
        s.sendto(b"from-the-link", ("10.199.2.1", int(sys.argv[1]))); time.sleep(0.1)
""")


@pytest.mark.live
@pytest.mark.slow  # two namespaces, child interpreters and a real lbaudit run
def test_an_ingress_fwd_to_lo_delivers_the_dnat_by_los_route_localnet_and_lbaudit_does_not_pass_it(tmp_path: Path):
    require_namespaces()
    if shutil.which("iptables") is None or shutil.which("nft") is None:
        pytest.skip("iptables and nft are needed (Debian packages iptables, nftables)")
    host_ns, peer_ns = unique_name("lb23l"), unique_name("lb23m")
    for name in (host_ns, peer_ns):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    receiving = None
    try:
        ip("link", "add", "lb23la", "netns", host_ns, "type", "veth", "peer", "name", "lb23lb", "netns", peer_ns)
        ip("-n", host_ns, "addr", "add", "10.199.2.1/24", "dev", "lb23la")
        ip("-n", host_ns, "link", "set", "lb23la", "up")
        ip("-n", peer_ns, "addr", "add", "10.199.2.2/24", "dev", "lb23lb")
        ip("-n", peer_ns, "link", "set", "lb23lb", "up")
        receiving = subprocess.Popen(["ip", "netns", "exec", host_ns, sys.executable, "-c", RECEIVE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert receiving.stdout is not None and receiving.stdin is not None
        port = receiving.stdout.readline().strip()
        run = ["ip", "netns", "exec", host_ns]
        subprocess.run([*run, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "udp", "--dport", port, "-j", "DNAT",
                        "--to-destination", f"127.0.0.1:{port}"], check=True, capture_output=True, timeout=10)
        for command in (["add", "table", "netdev", "lb23"],
                        ["add", "chain", "netdev", "lb23", "in", "{ type filter hook ingress device lb23la priority 0; }"],
                        ["add", "rule", "netdev", "lb23", "in", "udp", "dport", port, "ether", "daddr", "set",
                         "00:00:00:00:00:00", "fwd", "to", "lo"]):
            made = subprocess.run([*run, "nft", *command], capture_output=True, text=True, timeout=10)
            if made.returncode != 0:
                pytest.skip(f"this kernel cannot take nft {' '.join(command[:3])}: {made.stderr.strip()}")
        # route_localnet on lo alone: the link's own is off
        subprocess.run([*run, "sysctl", "-qw", "net.ipv4.conf.lo.route_localnet=1"], check=True, timeout=10)
        assert _in(host_ns, "print(open('/proc/sys/net/ipv4/conf/lb23la/route_localnet').read().strip())") == "0"
        receiving.stdin.write("go\n")
        receiving.stdin.flush()
        _in(peer_ns, SEND, port)
        # the kernel: the datagram, handed to lo, DNAT'd on lo and routed by lo's route_localnet
        assert receiving.stdout.readline().strip() == "10.199.2.2"
        # lbaudit: not passed (before, judged at 127.0.0.1 as dropped from every link)
        subject = f"published udp 0.0.0.0:{port} -> 127.0.0.1:{port}"
        assert _published_statuses(host_ns, port, tmp_path) == {subject: "not_reviewed"}
    finally:
        if receiving is not None:
            receiving.kill()
            receiving.wait(timeout=10)
        for name in (host_ns, peer_ns):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
