"""Hostile corpus, false passes: a host bridge that also holds a veth into a namespace not found.

A container's veth into the host whose end there is a port of a bridge is reached from every other
port of that bridge.  A physical, macvlan or other link there makes it reached from beyond (LXC,
libvirt), but another veth port was taken for one into a container of this machine, whatever its
other end: a veth into a namespace lbaudit did not find (held by a socket in flight, an open
/proc/PID/net file, a sysfs mount; or paired wrongly by index before IFLA_LINK_NETNSID was read)
may lead anywhere, and the listener passed as "reachable only inside".  A veth port whose peer's
namespace is unknown now counts as a link beyond, as that namespace's own veth is judged.

``test_a_neighbour_in_an_unfound_namespace_bridged_with_the_container_connects_and_lbaudit_fails_it``
builds it on the running kernel with lbaudit's discovery and collector.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auditor.collect.netns import _match_veth_peers, discover
from auditor.model.facts import Listener
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import CONNECT_TO, SERVE_ON
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.hostile.test_netns12_forwarded_localnet import _namespace, judged
from tests.hostile.test_netns13_veth_peer_netnsid import HOLD_IN_FLIGHT
from tests.netns_env import ip, require_namespaces, unique_name


@pytest.mark.live
@pytest.mark.slow  # three namespaces, discovery of the whole machine, several child interpreters
def test_a_neighbour_in_an_unfound_namespace_bridged_with_the_container_connects_and_lbaudit_fails_it():
    require_namespaces()
    host, inner, outside = (unique_name(p) for p in ("lbt13j", "lbt13k", "lbt13l"))
    serving = holder = None
    try:
        for name in (host, inner, outside):
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        ip("-n", host, "link", "add", "lbt13br", "type", "bridge", "forward_delay", "0")
        for end, peer, name, address in (("lbt13hk", "lbt13k0", inner, "10.215.0.1/24"),
                                         ("lbt13hl", "lbt13l0", outside, "10.215.0.2/24")):
            ip("link", "add", end, "netns", host, "type", "veth", "peer", "name", peer, "netns", name)
            ip("-n", host, "link", "set", end, "master", "lbt13br")
            ip("-n", host, "link", "set", end, "up")
            ip("-n", name, "addr", "add", address, "dev", peer)
            ip("-n", name, "link", "set", peer, "up")
        ip("-n", host, "link", "set", "lbt13br", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", SERVE_ON, "0.0.0.0"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        connected = None
        for _ in range(20):  # the bridge forwards once its ports are up
            connected = _in(outside, CONNECT_TO, port, "10.215.0.1")
            if connected == "connected":
                break
        assert connected == "connected"  # the kernel's answer
        outside_inode = os.stat(f"/run/netns/{outside}").st_ino
        holder = subprocess.Popen([sys.executable, "-c", HOLD_IN_FLIGHT, f"/run/netns/{outside}"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        subprocess.run(["ip", "netns", "del", outside], check=True, capture_output=True, timeout=10)
        found, _current, _gaps = discover("/proc")
        try:
            assert outside_inode not in {inode for _device, inode in found}  # lbaudit's discovery misses it
        finally:
            for entry in found.values():
                if entry.fd is not None:
                    os.close(entry.fd)
        host_ns, _ = _namespace(host, inner, current=True)
        inner_ns, collected = _namespace(inner, host, entered=True, sysctl={}, pids=[serving.pid])
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["address"] == "0.0.0.0" and str(item["port"]) == port]
        host_ns, inner_ns = _match_veth_peers([host_ns, inner_ns.model_copy(update={"listeners": mine})])
        assert {i.name: i.peer_netns for i in host_ns.interfaces or [] if i.kind == "veth"} == {
            "lbt13hk": inner_ns.inode, "lbt13hl": None}
        [outcome] = judged(host_ns, inner_ns, allow=["loopback"])
        assert outcome.status == Status.FAIL
        assert outcome.observed["exposure"]["addresses"] == ["10.215.0.1"]  # type: ignore[index]
        assert "bridge lbt13br with lbt13hl (veth to an unknown namespace)" in outcome.message
    finally:
        if holder is not None:
            if holder.stdin:
                holder.stdin.close()
            holder.wait(timeout=10)
        _stop(serving, host, inner)
        subprocess.run(["ip", "netns", "del", outside], capture_output=True, timeout=10)
