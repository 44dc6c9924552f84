"""Hostile corpus, false passes: an IPv6 listener behind an outward interface that is DOWN.

lbaudit judges a namespace by its configured state: a DOWN interface's addresses count, since
bringing it up (``ip link set X up``) is all it takes.  But a DOWN interface usually has no IPv6
address yet: the kernel gives it a link-local one (fe80::/64 from its MAC) when it comes up.  A
listener on ``::`` in a namespace whose only link out is DOWN was "reachable only inside" and
passed; brought up, a neighbour on the link connects to it at fe80::...%link.  Now the link-local
address to come is judged (``fe80::`` stands for it), so it passes only where link-local is allowed.

``test_brought_up_the_link_reaches_the_listener_and_lbaudit_did_not_pass_it`` proves it: lbaudit's
own collector reads the namespace with the link DOWN, then the link is brought up and a neighbour
connects over IPv6 link-local.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NetNamespace
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import INNER, LO, MACVLAN, container, judged, web
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

DOWN = MACVLAN.model_copy(update={"up": False, "addresses": []})


def test_a_dual_stack_listener_behind_a_down_link_is_judged_at_its_link_local_address():
    [outcome] = judged(container(web("::"), interfaces=[LO, DOWN]), allow=["loopback"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["fe80::"]  # type: ignore[index]
    assert "out0 is DOWN: brought up, it gets an IPv6 link-local address (fe80::/64)" in outcome.message
    [allowed] = judged(container(web("::"), interfaces=[LO, DOWN]), allow=["loopback", "link-local"])
    assert allowed.status == Status.PASS


def test_control_cases_pass():
    # IPv4 only: no IPv4 address comes with bringing it up
    [four] = judged(container(web("0.0.0.0"), interfaces=[LO, DOWN]), allow=["loopback"])
    assert four.status == Status.PASS
    # up with no link-local (IPv6 disabled there or addr_gen_mode none): nothing to come
    [up] = judged(container(web("::"), interfaces=[LO, DOWN.model_copy(update={"up": True})]), allow=["loopback"])
    assert up.status == Status.PASS


SERVE_V6 = """
import socket, sys
s = socket.socket(socket.AF_INET6); s.bind(("::", 0)); s.listen(8); print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""
CONNECT_V6 = """
import socket, sys
port, address = int(sys.argv[1]), sys.argv[2]
for _ in range(40):  # the link-local address is usable once duplicate address detection is done
    c = socket.socket(socket.AF_INET6); c.settimeout(1.5)
    try:
        c.connect(socket.getaddrinfo(address, port, socket.AF_INET6)[0][4]); print("connected"); break
    except OSError as exc:
        last = type(exc).__name__
    import time; time.sleep(0.25)
else:
    print(last)
"""
LINK_LOCAL = """
import json, socket, subprocess, sys
out = subprocess.run(["ip", "-6", "-j", "addr", "show", "dev", sys.argv[1]], capture_output=True, text=True).stdout
print(next(a["local"] for i in json.loads(out) for a in i["addr_info"] if a["local"].startswith("fe80:")))
"""


@pytest.mark.live
@pytest.mark.slow  # two namespaces, duplicate address detection
def test_brought_up_the_link_reaches_the_listener_and_lbaudit_did_not_pass_it():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbt12s"), unique_name("lbt12p")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbt12a", "netns", server_ns, "type", "veth", "peer", "name", "lbt12b", "netns", peer_ns)
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", peer_ns, "link", "set", "lbt12b", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE_V6],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        collected = json.loads(_in(server_ns, COLLECT))  # lbt12a DOWN, no address
        interfaces = _interfaces(collected["interfaces"])
        assert [(i.up, i.addresses) for i in interfaces if i.name == "lbt12a"] == [(False, [])]
        mine = [Listener.model_validate(item) for item in collected["listeners"] if str(item["port"]) == port]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True, interfaces=interfaces,
                             listeners=mine, sysctl={}, local_routes=collected["local_routes"])
        [outcome] = judged(inner, allow=["loopback"])
        assert outcome.status == Status.FAIL
        ip("-n", server_ns, "link", "set", "lbt12a", "up")  # what its configuration allows any time
        time.sleep(0.5)
        address = _in(server_ns, LINK_LOCAL, "lbt12a")
        assert _in(peer_ns, CONNECT_V6, port, f"{address}%lbt12b") == "connected"
    finally:
        _stop(serving, server_ns, peer_ns)
