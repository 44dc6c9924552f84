"""Hostile corpus, false alarms: a listener bound (SO_BINDTODEVICE) to the loopback device.

The kernel's socket lookup compares the device a packet came in on with the device a socket is
bound to, and TPROXY looks sockets up the same way; only what the namespace sends itself to an
address of lo (127.0.0.0/8, or one added to lo) counts as coming in on lo: a packet from the link
does not, whatever its address, nor one the namespace sends to the address of another of its
links.  A listener on 0.0.0.0 bound to lo is therefore reachable from inside its namespace only, yet lbaudit judged it at 0.0.0.0 ("does not
narrow the verdict") and failed it under ``allow: [loopback]``; a transparent one on 127.0.0.1
bound to lo failed as if TPROXY could hand it the link's connections.

The device is told by its kind, never its name: lo can be renamed and another link named ``lo``,
and a listener bound to that one is as reachable as any (the spoof case below stays a fail).

``test_the_link_cannot_reach_a_listener_bound_to_lo_and_lbaudit_passes_it`` proves it on the running
kernel: a peer namespace on a veth connects to the server's veth address and is refused by the
listeners bound to lo (a wildcard one, and a transparent one a tproxy rule points at), and served
by the same listeners unbound; a connection from inside the server to 127.0.0.1 reaches the wildcard
one bound to lo (and one to its veth address does not).  lbaudit, run in the server's namespace, passes exactly the two bound to
lo.
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
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace, ProcessInfo
from tests.factories import listener, loopback_only_policy, snapshot
from tests.hostile.test_judging_route_localnet import ETH0, HOST_INODE, LO, MACVLAN, _in, host
from tests.netns_env import ip, join_by_veth, require_namespaces, route_tproxy, unique_name

REPO = Path(__file__).resolve().parents[2]
POLICY = loopback_only_policy("bound-to-lo")
SERVER = "10.199.0.1"
# port: (address, device or "", transparent)
LISTENERS = {2011: ("0.0.0.0", "lo", 0), 2012: ("0.0.0.0", "", 0), 2013: ("127.0.0.1", "lo", 1),
             2014: ("127.0.0.1", "", 1)}
TPROXY_RULES = """
table ip lbt {
  chain pre {
    type filter hook prerouting priority mangle;
    tcp dport { 2013, 2014 } tproxy to 127.0.0.1 meta mark set 1 accept
  }
}
"""
# Listens as argv[1] (JSON: {port: [address, device, transparent]}) says, prints "ready", holds.
HOLD = textwrap.dedent("""
    import json, socket, sys
    held = []
    for port, (address, device, transparent) in json.loads(sys.argv[1]).items():
        s = socket.socket()
        if device:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        s.setsockopt(socket.SOL_IP, 19, transparent)  # IP_TRANSPARENT
        s.bind((address, int(port)))
        s.listen(8)
        held.append(s)
    print("ready", flush=True)
    sys.stdin.read()
""")
CONNECT = textwrap.dedent("""
    import json, socket, sys
    result = {}
    for port in sys.argv[2:]:
        c = socket.socket()
        c.settimeout(2)
        try:
            c.connect((sys.argv[1], int(port)))
            result[port] = "connected"
        except OSError as exc:
            result[port] = type(exc).__name__
        c.close()
    print(json.dumps(result))
""")


def _hold(name: str, listeners: dict) -> subprocess.Popen[str]:
    holding = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", HOLD, json.dumps(listeners)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holding.stdout is not None and holding.stdout.readline() == "ready\n"
    return holding


def _statuses(name: str, tmp_path: Path) -> dict[int, str]:
    """{port: status} of rule loopback-only's findings about this namespace's own TCP listeners,
    from a real ``lbaudit evaluate`` run in it."""
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text(POLICY)
    run = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
                          str(policy), "--output", str(out), "-q"], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    findings = json.loads(out.read_text())["result"]["findings"]
    return {f["subject_detail"]["port"]: f["status"] for f in findings
            if f["subject"].startswith("tcp ") and " in netns " not in f["subject"]}


@pytest.mark.live
@pytest.mark.slow  # three namespaces, child interpreters and two real lbaudit runs: about 3 s
def test_the_link_cannot_reach_a_listener_bound_to_lo_and_lbaudit_passes_it(tmp_path):
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables; scripts/bootstrap --test installs it)")
    server, peer, spoof = unique_name("lblos"), unique_name("lblop"), unique_name("lblox")
    for name in (server, peer, spoof):
        ip("netns", "add", name)
    held: list[subprocess.Popen[str]] = []
    try:
        join_by_veth(server, peer, "10.199.0", "lblov")
        route_tproxy(server, TPROXY_RULES)
        held.append(_hold(server, LISTENERS))
        ports = [str(port) for port in LISTENERS]
        from_link = json.loads(_in(peer, CONNECT, SERVER, *ports))
        from_inside = {address: json.loads(_in(server, CONNECT, address, "2011"))["2011"]
                       for address in ("127.0.0.1", SERVER)}
        # the kernel: the link is refused by the two bound to lo and served by the others
        assert from_link == {"2011": "ConnectionRefusedError", "2012": "connected",
                             "2013": "ConnectionRefusedError", "2014": "connected"}
        # what the namespace sends to an address of lo comes in on lo
        assert from_inside == {"127.0.0.1": "connected", SERVER: "ConnectionRefusedError"}
        # lbaudit: before, 2011 and 2013 failed too (judged at 0.0.0.0, and as transparent)
        assert _statuses(server, tmp_path) == {2011: "pass", 2012: "fail", 2013: "pass", 2014: "fail"}

        # a link named lo that is not the loopback device (lo renamed): bound to it is no narrower
        ip("-n", spoof, "link", "set", "lo", "name", "realo")
        ip("-n", spoof, "link", "set", "realo", "up")
        ip("-n", spoof, "link", "add", "lo", "type", "veth", "peer", "name", "lo1")
        ip("-n", spoof, "addr", "add", "10.199.1.1/24", "dev", "lo")
        ip("-n", spoof, "link", "set", "lo", "up")
        ip("-n", spoof, "link", "set", "lo1", "up")
        held.append(_hold(spoof, {2011: ("0.0.0.0", "lo", 0)}))
        assert _statuses(spoof, tmp_path) == {2011: "fail"}
    finally:
        for holding in held:
            if holding.stdin:
                holding.stdin.close()
            holding.wait(timeout=10)
        for name in (server, peer, spoof):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


# ---------------------------------------------------------------- judging, from snapshots

def _wildcard(interface: str | None = "lo", address: str = "0.0.0.0", port: int = 8080, **kw: object) -> Listener:
    return listener(address, port, interface=interface, processes=[ProcessInfo(pid=4242, name="app")], **kw)


def _judged(snap, **params: object) -> dict[str, tuple[str, object]]:
    return {o.subject: (o.status.value, o.observed.get("accepts_networks"))  # type: ignore[union-attr]
            for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.startswith("tcp ")}


# The links' ingress hooks read, and none: a hook (or hooks not read) may put a link's packets on lo
# (tests/hostile/test_docker21_lo_device_redirect.py)
ETH0_READ = ETH0.model_copy(update={"ingress_hooks": []})


def test_a_wildcard_bound_to_the_loopback_device_is_judged_at_loopback():
    found = _judged(host(_wildcard(), _wildcard(address="::", v6only=False, port=8081),
                         _wildcard(address="::", v6only=True, port=8082), _wildcard(transparent=True, port=8083),
                         _wildcard(interface=None, port=8084), eth0=ETH0_READ))
    assert found == {"tcp 0.0.0.0:8080 app pid 4242": ("pass", ["127.0.0.0/8"]),
                     "tcp [::]:8081 app pid 4242": ("pass", ["::1/128", "127.0.0.0/8"]),
                     "tcp [::]:8082 app pid 4242": ("pass", ["::1/128"]),
                     "tcp 0.0.0.0:8083 app pid 4242": ("pass", ["127.0.0.0/8"]),  # TPROXY looks up by device too
                     "tcp 0.0.0.0:8084 app pid 4242": ("fail", ["0.0.0.0/0"])}  # the control: not bound to lo


def test_a_policy_that_does_not_allow_loopback_still_fails_it():
    assert _judged(host(_wildcard(), eth0=ETH0_READ), allow=["10.0.0.0/8"]) == {"tcp 0.0.0.0:8080 app pid 4242": ("fail", ["127.0.0.0/8"])}


def test_a_link_named_lo_that_is_not_the_loopback_device_narrows_nothing():
    renamed = LO.model_copy(update={"name": "realo"})
    fake = NetInterface(name="lo", index=7, kind="veth", up=True, addresses=["10.0.0.9/24"], route_localnet=False)
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[renamed, ETH0, fake])
    snap = snapshot(listeners=[_wildcard()], netns=NamespaceFacts(namespaces=[current], published=[],
                                                                  published_sources=["nat"]))
    assert _judged(snap) == {"tcp 0.0.0.0:8080 app pid 4242": ("fail", ["0.0.0.0/0"])}


def test_without_the_interfaces_the_loopback_device_cannot_be_told_and_the_address_decides():
    assert _judged(snapshot(listeners=[_wildcard()], netns=None)) == {
        "tcp 0.0.0.0:8080 app pid 4242": ("fail", ["0.0.0.0/0"])}


def test_in_another_namespace_it_is_reachable_only_inside_whatever_its_links():
    inner = NetNamespace(inode=4026532300, device=4, pids=[4242], entered=True,
                         interfaces=[LO, MACVLAN.model_copy(update={"ingress_hooks": []})],
                         listeners=[_wildcard(), _wildcard(interface=None, port=8084)], sysctl={})
    found = {o.subject: (o.status.value, o.reason) for o in net_bind_addresses.run(host(others=(inner,)), BindAddressParams())
             if o.subject.startswith("tcp ")}
    assert found == {
        "tcp 0.0.0.0:8080 app pid 4242 in netns net:[4026532300]": (
            "pass", "reachable only inside namespace net:[4026532300] (bound to its loopback device lo)"),
        # the control: the macvlan reaches the unbound one
        "tcp 0.0.0.0:8084 app pid 4242 in netns net:[4026532300]": ("fail", None)}
