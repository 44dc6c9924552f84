"""Hostile corpus, false passes: a loopback listener published by an nftables rule that rewrites
the destination address (``ip daddr set``), which no DNAT reader saw.

nftables can rewrite a packet's destination without the NAT engine: a payload statement,
``udp dport 5514 ip daddr set 127.0.0.1``, in a chain of any type.  In a chain hooked at ``input``
it runs after the route lookup (the packet was for this host's address, so it is delivered
locally, and route_localnet is never asked) and before the transport finds the socket: a datagram
a neighbour sends to the host's link address reaches a UDP listener on 127.0.0.1.  In
``prerouting`` (or a ``netdev`` ingress chain) it is a stateless NAT, forwarding to a container
as a DNAT does.  lbaudit read ``dnat`` statements, ``-j DNAT`` and ``-j NETMAP`` only: the
listener on 127.0.0.1 passed ``allow: [loopback]``, and no published port was recorded.  Now such a
rewrite (of ``ip daddr`` or ``ip6 daddr``, in a chain hooked at prerouting, input or ingress, or a
regular chain a jump may reach from one) is read as the DNAT it is: a published port at the
rule's destination (every address of the family where it names none) forwarded to the rewritten
address, judged at its host address like any other.
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

from auditor.collect.nat import parse_nft_ruleset
from tests.hostile.test_judging_route_localnet import _in
from tests.netns_env import ip, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]


def _document(hook: str | None, *expr: dict, family: str = "inet") -> dict:
    chain = {"family": family, "table": "m", "name": "c"}
    if hook is not None:
        chain.update(type="filter", hook=hook, prio=0, policy="accept")
    return {"nftables": [{"chain": chain}, {"rule": {"family": family, "table": "m", "chain": "c", "expr": list(expr)}}]}


UDP_5514 = {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 5514}}
TO_LOOPBACK = {"mangle": {"key": {"payload": {"protocol": "ip", "field": "daddr"}}, "value": "127.0.0.1"}}


def test_a_destination_rewrite_in_input_publishes_the_port_on_every_address():
    [port] = parse_nft_ruleset(_document("input", UDP_5514, TO_LOOPBACK))
    assert (port.protocol, port.host_address, port.host_port, port.host_port_end, port.target_address) == (
        "udp", "0.0.0.0", 5514, None, "127.0.0.1")
    assert "chain c" in port.origin
    # prerouting (stateless NAT to a container), a netdev ingress chain, a regular chain: all of them
    for hook, family in (("prerouting", "ip"), ("ingress", "netdev"), (None, "inet")):
        assert [p.host_port for p in parse_nft_ruleset(_document(hook, UDP_5514, TO_LOOPBACK, family=family))] == [5514]
    # an IPv6 rewrite, narrowed to one address and with the port rewritten too
    to_v6 = {"mangle": {"key": {"payload": {"protocol": "ip6", "field": "daddr"}}, "value": "::1"}}
    on = {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": "2001:db8::1"}}
    new_port = {"mangle": {"key": {"payload": {"protocol": "udp", "field": "dport"}}, "value": 53}}
    [v6] = parse_nft_ruleset(_document("input", on, UDP_5514, to_v6, new_port))
    assert (v6.host_address, v6.host_port, v6.target_address, v6.target_port) == ("2001:db8::1", 5514, "::1", 53)


def test_a_raw_rewrite_of_the_network_header_is_read_as_one_too():
    """``@nh,128,32 set 0x7f000001`` writes the IPv4 destination as raw bits (nft lists it so, not as
    ``ip daddr``); any raw write into where an IPv4 or IPv6 destination is counts, the address it
    writes known only for the whole IPv4 one."""
    raw = {"mangle": {"key": {"payload": {"base": "nh", "offset": 128, "len": 32}}, "value": 2130706433}}
    [port] = parse_nft_ruleset(_document("input", UDP_5514, raw))
    assert (port.host_address, port.host_port, port.target_address) == ("0.0.0.0", 5514, "127.0.0.1")
    part = {"mangle": {"key": {"payload": {"base": "nh", "offset": 200, "len": 8}}, "value": 1}}
    assert {(p.host_address, p.target_address) for p in parse_nft_ruleset(_document("input", UDP_5514, part))} == {
        ("::", None)}
    # the source address (bits 96-127 of an IPv4 header, 64-191 of an IPv6 one) is not it
    source = {"mangle": {"key": {"payload": {"base": "nh", "offset": 96, "len": 32}}, "value": 1}}
    assert parse_nft_ruleset(_document("input", UDP_5514, source)) == []
    # an ip6 table's network header is an IPv6 one: bits 128-159 are in its source
    assert parse_nft_ruleset(_document("input", UDP_5514, raw, family="ip6")) == []


def test_control_rewrites_that_take_nothing_from_a_link_publish_nothing():
    # output and postrouting see what this host sends; a source rewrite moves nothing to a listener
    assert parse_nft_ruleset(_document("output", UDP_5514, TO_LOOPBACK)) == []
    assert parse_nft_ruleset(_document("postrouting", UDP_5514, TO_LOOPBACK)) == []
    to_source = {"mangle": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "value": "127.0.0.1"}}
    assert parse_nft_ruleset(_document("input", UDP_5514, to_source)) == []


RECEIVE = textwrap.dedent("""
    import select, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    sys.stdin.readline()  # the rule is in place and the neighbour is about to send
    ready, _, _ = select.select([s], [], [], 10)
    print(s.recv(64).decode() if ready else "nothing", flush=True)
    sys.stdin.read()
""")
SEND = textwrap.dedent("""
    import socket, sys
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"from-the-link", ("10.198.0.1", int(sys.argv[1])))
""")


def _statuses(host_ns: str, port: str, tmp_path: Path) -> dict[str, str]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text("id: rewrite\nversion: '1'\nowner: Tests <tests@example.test>\ndescription: loopback\n"
                      "rules:\n  - id: loopback-only\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n")
    run = subprocess.run(["ip", "netns", "exec", host_ns, sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
                          str(policy), "--output", str(out), "-q"], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return {f["subject"]: f["status"] for f in json.loads(out.read_text())["result"]["findings"]
            if f"{port}" in f["subject"] and "in netns" not in f["subject"]}


@pytest.mark.live
@pytest.mark.slow  # two namespaces, child interpreters and two real lbaudit runs
@pytest.mark.parametrize("rewrite", [["ip", "daddr", "set", "127.0.0.1"], ["@nh,128,32", "set", "0x7f000001"]])
def test_an_input_rewrite_to_loopback_reaches_the_listener_and_lbaudit_does_not_pass_it(tmp_path, rewrite):
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    host, neighbour = unique_name("lbd21r"), unique_name("lbd21n")
    for name in (host, neighbour):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    receiving = None
    try:
        ip("link", "add", "lbd21r0", "netns", host, "type", "veth", "peer", "name", "lbd21r1", "netns", neighbour)
        ip("-n", host, "addr", "add", "10.198.0.1/24", "dev", "lbd21r0")
        ip("-n", host, "link", "set", "lbd21r0", "up")
        ip("-n", neighbour, "addr", "add", "10.198.0.2/24", "dev", "lbd21r1")
        ip("-n", neighbour, "link", "set", "lbd21r1", "up")
        # no route_localnet anywhere: 127.0.0.1 is not routed from the link
        assert _in(host, "print(open('/proc/sys/net/ipv4/conf/all/route_localnet').read().strip())") == "0"
        receiving = subprocess.Popen(["ip", "netns", "exec", host, sys.executable, "-c", RECEIVE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert receiving.stdout is not None and receiving.stdin is not None
        port = receiving.stdout.readline().strip()
        before = _statuses(host, port, tmp_path)
        assert set(before.values()) == {"pass"}, before  # no rule yet: on loopback only
        for command in (["add", "table", "inet", "lbd21"],
                        ["add", "chain", "inet", "lbd21", "in", "{ type filter hook input priority 0; }"],
                        ["add", "rule", "inet", "lbd21", "in", "udp", "dport", port, *rewrite]):
            made = subprocess.run(["ip", "netns", "exec", host, "nft", *command], capture_output=True, text=True,
                                  timeout=10)
            if made.returncode != 0:
                pytest.skip(f"this kernel cannot take nft {' '.join(command[:3])}: {made.stderr.strip()}")
        receiving.stdin.write("go\n")
        receiving.stdin.flush()
        _in(neighbour, SEND, port)
        # the kernel: the neighbour's datagram to the host's link address reaches the 127.0.0.1 listener
        assert receiving.stdout.readline().strip() == "from-the-link"
        # lbaudit: before, every finding about the port passed; now the rewrite is a published port
        # on every IPv4 address, which allow: [loopback] does not allow
        after = _statuses(host, port, tmp_path)
        published = {subject: status for subject, status in after.items() if subject.startswith("published ")}
        assert published == {f"published udp 0.0.0.0:{port} -> 127.0.0.1": "fail"}, after
    finally:
        if receiving is not None:
            receiving.kill()
            receiving.wait(timeout=10)
        for name in (host, neighbour):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_a_rewrite_to_loopback_is_the_hosts_own_listener_not_the_one_other_namespaces():
    """Every namespace has 127.0.0.1 on its lo: with one other namespace on the host, a port forwarded
    to 127.0.0.1 was named after that namespace's container ("-> container web")."""
    from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
    from auditor.model.facts import NamespaceFacts, NetNamespace, PublishedPort
    from auditor.model.result import Status
    from tests.collect.test_netns_parsers import CONTAINER
    from tests.factories import snapshot
    from tests.hostile.test_falsepass_netns_weak_host import LO

    rewrite = PublishedPort(source="nat", protocol="udp", host_address="0.0.0.0", host_port=5514,
                            target_address="127.0.0.1", origin="nft -j list ruleset: table inet m chain c")
    web = CONTAINER.model_copy(update={"interfaces": [LO, *(CONTAINER.interfaces or [])]})
    facts = NamespaceFacts(namespaces=[NetNamespace(inode=4026531840, device=4, current=True), web],
                           published=[rewrite], published_sources=["nat"])
    outcomes = net_bind_addresses.run(snapshot(listeners=[], netns=facts), BindAddressParams())
    assert [(o.subject, o.status) for o in outcomes if o.subject.startswith("published")] == [
        ("published udp 0.0.0.0:5514 -> 127.0.0.1", Status.FAIL)]
