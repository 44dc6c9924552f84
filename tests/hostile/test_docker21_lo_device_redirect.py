"""Hostile corpus, false passes: a wildcard listener bound to the loopback device (SO_BINDTODEVICE
lo), reached from a link through an ingress hook that hands what arrives there to lo.

A socket bound to ``lo`` takes only what arrives on lo, and lbaudit judged such a listener at the
loopback networks whatever its address ("only what arrives on the loopback device: sent from inside
its network namespace").  But an ingress hook of a link can hand a packet to lo: an nftables
``netdev`` chain (``ether daddr set 00:00:00:00:00:00 fwd to "lo"``), a tc filter's ``mirred``, a
BPF program's ``bpf_redirect``.  The packet, still addressed to the link's address, then arrives on
lo and is delivered to ``0.0.0.0`` bound to lo: a neighbour's datagram reached the listener that
passed ``allow: [loopback]``.  Now, where a link of the listener's namespace has such a hook (or
whether it has could not be read), the device no longer bounds the judgement: a listener allowed as
bound to lo but not at its own address is not_reviewed, naming the link and the hook.
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
from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.hostile.test_judging_route_localnet import _in
from tests.netns_env import ip, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8"], route_localnet=False,
                  forwarding=False, forwarding_ipv6=False, ingress_hooks=[])
ETH0 = NetInterface(name="eth0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"], route_localnet=False,
                    forwarding=False, forwarding_ipv6=False, ingress_hooks=[])


def _status(bound, eth0: NetInterface = ETH0) -> tuple[Status, str]:
    current = NetNamespace(inode=4026531840, device=4, current=True, pids=[1], interfaces=[LO, eth0])
    snap = snapshot(listeners=[bound], netns=NamespaceFacts(namespaces=[current], published=[], published_sources=["nat"]))
    [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams(allow=["loopback"]))
                 if o.subject.startswith(f"{bound.protocol} {bound.address}:")]
    return outcome.status, outcome.message


def _on_lo(address: str):
    return listener(address, 5600, protocol="udp", uid=0, inode=91, interface="lo")


def test_a_hook_on_a_link_makes_a_lo_bound_wildcard_listener_not_reviewed():
    for hooks in (["tc clsact"], ["xdp"], ["nft ingress fwd (netdev t in)"]):
        status, message = _status(_on_lo("0.0.0.0"), ETH0.model_copy(update={"ingress_hooks": hooks}))
        assert status == Status.NOT_REVIEWED, (hooks, message)
        assert f"eth0 ({hooks[0]})" in message, message
    # not read: fail closed too
    status, message = _status(_on_lo("0.0.0.0"), ETH0.model_copy(update={"ingress_hooks": None}))
    assert status == Status.NOT_REVIEWED, message


def test_control_no_hook_or_a_loopback_address_still_passes():
    assert _status(_on_lo("0.0.0.0"))[0] == Status.PASS
    # bound to 127.0.0.1 too: what a hook hands to lo is addressed to the link, not to 127.0.0.1
    assert _status(_on_lo("127.0.0.1"), ETH0.model_copy(update={"ingress_hooks": ["tc clsact"]}))[0] == Status.PASS


RECEIVE = textwrap.dedent("""
    import select, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    s.bind(("0.0.0.0", 0))
    print(s.getsockname()[1], flush=True)
    sys.stdin.readline()  # the chain is in place and the neighbour is about to send
    ready, _, _ = select.select([s], [], [], 10)
    print(s.recv(64).decode() if ready else "nothing", flush=True)
    sys.stdin.read()
""")
SEND = textwrap.dedent("""
    import socket, sys
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"from-the-link", ("10.199.0.1", int(sys.argv[1])))
""")


def _statuses(host_ns: str, port: str, tmp_path: Path) -> dict[str, str]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text("id: lo\nversion: '1'\nowner: Tests <tests@example.test>\ndescription: loopback\n"
                      "rules:\n  - id: loopback-only\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n")
    run = subprocess.run(["ip", "netns", "exec", host_ns, sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
                          str(policy), "--output", str(out), "-q"], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return {f["subject"]: f["status"] for f in json.loads(out.read_text())["result"]["findings"]
            if f["subject"].startswith(f"udp 0.0.0.0:{port} ")}


@pytest.mark.live
@pytest.mark.slow  # two namespaces, child interpreters and two real lbaudit runs
def test_an_nft_fwd_to_lo_reaches_the_lo_bound_listener_and_lbaudit_does_not_pass_it(tmp_path):
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    host, neighbour = unique_name("lbd21l"), unique_name("lbd21m")
    for name in (host, neighbour):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    receiving = None
    try:
        ip("link", "add", "lbd21l0", "netns", host, "type", "veth", "peer", "name", "lbd21l1", "netns", neighbour)
        ip("-n", host, "addr", "add", "10.199.0.1/24", "dev", "lbd21l0")
        ip("-n", host, "link", "set", "lbd21l0", "up")
        ip("-n", neighbour, "addr", "add", "10.199.0.2/24", "dev", "lbd21l1")
        ip("-n", neighbour, "link", "set", "lbd21l1", "up")
        receiving = subprocess.Popen(["ip", "netns", "exec", host, sys.executable, "-c", RECEIVE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert receiving.stdout is not None and receiving.stdin is not None
        port = receiving.stdout.readline().strip()
        [(subject, before)] = _statuses(host, port, tmp_path).items()
        assert before == "pass"  # no hook yet: only what arrives on lo
        for command in (["add", "table", "netdev", "lbd21"],
                        ["add", "chain", "netdev", "lbd21", "in",
                         "{ type filter hook ingress device lbd21l0 priority 0; }"],
                        ["add", "rule", "netdev", "lbd21", "in", "udp", "dport", port, "ether", "daddr", "set",
                         "00:00:00:00:00:00", "fwd", "to", "lo"]):
            made = subprocess.run(["ip", "netns", "exec", host, "nft", *command], capture_output=True, text=True,
                                  timeout=10)
            if made.returncode != 0:
                pytest.skip(f"this kernel cannot take nft {' '.join(command[:3])}: {made.stderr.strip()}")
        receiving.stdin.write("go\n")
        receiving.stdin.flush()
        _in(neighbour, SEND, port)
        # the kernel: the neighbour's datagram to the link's address reaches the socket bound to lo
        assert receiving.stdout.readline().strip() == "from-the-link"
        # lbaudit: before, pass (bound to the loopback device); now not_reviewed, naming the hook
        assert _statuses(host, port, tmp_path) == {subject: "not_reviewed"}
    finally:
        if receiving is not None:
            receiving.kill()
            receiving.wait(timeout=10)
        for name in (host, neighbour):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


HOLD = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    s.bind(("0.0.0.0", 0))
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()
""")


@pytest.mark.live
@pytest.mark.slow  # a collection of every namespace of the machine
def test_another_namespaces_ingress_chains_are_read_where_a_listener_is_bound_to_its_lo():
    """The host's nftables ruleset is read for every run; another namespace's only where a listener
    there is bound to its loopback device (one program more there, as for TPROXY rules)."""
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    inner = unique_name("lbd21i")
    ip("netns", "add", inner)
    holding = None
    try:
        ip("-n", inner, "link", "set", "lo", "up")
        ip("-n", inner, "link", "add", "lbd21i0", "type", "veth", "peer", "name", "lbd21i1")
        for command in (["add", "table", "netdev", "lbd21"],
                        ["add", "chain", "netdev", "lbd21", "in", "{ type filter hook ingress device lbd21i0 priority 0; }"],
                        ["add", "rule", "netdev", "lbd21", "in", "fwd", "to", "lo"]):
            made = subprocess.run(["ip", "netns", "exec", inner, "nft", *command], capture_output=True, text=True,
                                  timeout=10)
            if made.returncode != 0:
                pytest.skip(f"this kernel cannot take nft {' '.join(command[:3])}: {made.stderr.strip()}")
        holding = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", HOLD], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        assert holding.stdout is not None
        holding.stdout.readline()
        from auditor.collect import CollectContext
        from auditor.collect.netns import collect_netns

        facts, _gaps = collect_netns(CollectContext())
        assert facts is not None
        [ns] = [n for n in facts.namespaces if inner in n.names]
        hooks = {i.name: i.ingress_hooks for i in ns.interfaces or []}
        assert hooks["lbd21i0"] == ["nft ingress fwd (netdev lbd21 in)"], hooks
    finally:
        if holding is not None:
            holding.kill()
            holding.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", inner], capture_output=True, timeout=10)
