"""Hostile corpus, false passes: a namespace behind a veth the host does not forward to, reached
through a tc (or XDP) redirect on the host's link.

With scope ``effective``, a listener of a namespace whose only link is a veth into the host is
"reachable only inside" unless the host forwards what arrives from beyond (net.ipv4.conf.X.forwarding).
But a tc ingress filter on the host's link (``tc filter add dev eth0 ingress ... action mirred
egress redirect dev vethX``, or a BPF classifier's bpf_redirect / bpf_redirect_peer, as Cilium's
and Calico's eBPF data planes do; an XDP program's XDP_REDIRECT) hands what arrives there straight
to the veth, before IP input, whatever the forwarding settings say (and past the FORWARD rules).
lbaudit did not look: the listener passed ``allow: [loopback]`` while a neighbour on the host's
link reached it.  Now the host's links are read with their tc ingress qdisc and XDP program, and a
veth into a namespace behind a link that has one is judged as one the host may forward to: a
listener that would pass but is not allowed at the namespace's addresses is not_reviewed, naming the
link and the hook (what the programs do is not read: fail closed).  A tcx link names its interface
by index alone, so an interface of the host with the index of one hooked in another namespace is
taken as hooked too.

``test_a_tc_redirect_on_the_hosts_link_reaches_the_namespace_and_lbaudit_does_not_pass_it`` proves
it on the running kernel, for a tc filter (mirred) and for a tcx BPF link (bpf_redirect, Linux 6.6+,
which needs no qdisc and is found among the kernel's BPF links): a third namespace stands for the host (forwarding off), its link to a
"world" namespace (which forwards what arrives on a tunnel of its own, so the link leads beyond the
machine) redirects to the veth of a container namespace; a datagram from the world reaches the
container's listener, and lbaudit, run in the "host", no longer passes it.
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

from auditor.model.facts import NetInterface
from auditor.model.result import Status
from tests.factories import listener
from tests.hostile.test_falsepass_netns_weak_host import INNER, INTO_HOST, LO, container
from tests.hostile.test_judging_route_localnet import _in
from tests.netns_env import ip, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]
HOST_LINK = NetInterface(name="eth0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"],
                         route_localnet=False, forwarding=False, forwarding_ipv6=False, ingress_hooks=[])


def _judged_with(inner, host_link: NetInterface, **params):
    from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
    from auditor.model.facts import NamespaceFacts, NetNamespace
    from tests.factories import snapshot
    from tests.hostile.test_judging_route_localnet import HOST_INODE

    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, host_link])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.endswith(f"in netns net:[{INNER}]")]


def test_a_hook_on_the_hosts_link_makes_a_routed_veth_reachable():
    for hooks in (["tc clsact"], ["tc ingress"], ["xdp"]):
        [outcome] = _judged_with(container(listener("172.17.0.2", 8080, uid=0, inode=77), interfaces=[LO, INTO_HOST]),
                                 HOST_LINK.model_copy(update={"ingress_hooks": hooks}), allow=["loopback"])
        assert outcome.status == Status.NOT_REVIEWED, (hooks, outcome.message)
        assert f"eth0 ({hooks[0]}) can redirect" in outcome.message
        assert outcome.observed["exposure"]["if_forwarded"] == ["172.17.0.2"]  # type: ignore[index]
    # not read (a snapshot before the hooks were recorded): fail closed too
    [unread] = _judged_with(container(listener("172.17.0.2", 8080, uid=0, inode=77), interfaces=[LO, INTO_HOST]),
                            HOST_LINK.model_copy(update={"ingress_hooks": None}), allow=["loopback"])
    assert unread.status == Status.NOT_REVIEWED
    assert "could not be read" in unread.message


def test_a_hook_on_a_port_of_the_hosts_bridge_counts_too():
    """A NIC enslaved to the host's bridge runs its own tc ingress filters before the bridge takes
    the frame: the bridge is the link beyond, its port holds the hook."""
    bridge = HOST_LINK.model_copy(update={"name": "br0", "index": 4, "kind": "bridge"})
    port = HOST_LINK.model_copy(update={"name": "enp1", "index": 5, "master": "br0", "addresses": [],
                                        "ingress_hooks": ["tc clsact"]})
    from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
    from auditor.model.facts import NamespaceFacts, NetNamespace
    from tests.factories import snapshot
    from tests.hostile.test_judging_route_localnet import HOST_INODE

    web = listener("172.17.0.2", 8080, uid=0, inode=77)
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, bridge, port])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, container(web, interfaces=[LO, INTO_HOST])],
                                                       published=[], published_sources=["nat"]))
    [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams(allow=["loopback"]))
                 if o.subject.endswith(f"in netns net:[{INNER}]")]
    assert outcome.status == Status.NOT_REVIEWED
    assert "enp1 (tc clsact) can redirect" in outcome.message


def test_control_cases():
    web = listener("172.17.0.2", 8080, uid=0, inode=77)
    # no hook, no forwarding: reachable only inside
    [inside] = _judged_with(container(web, interfaces=[LO, INTO_HOST]), HOST_LINK, allow=["loopback"])
    assert inside.status == Status.PASS
    # a hook, but the listener is allowed where the redirect can take it
    [allowed] = _judged_with(container(web, interfaces=[LO, INTO_HOST]),
                             HOST_LINK.model_copy(update={"ingress_hooks": ["tc clsact"]}),
                             allow=["loopback", "172.16.0.0/12"])
    assert allowed.status == Status.PASS
    # a hook on the loopback device brings nothing from beyond
    hooked_lo = LO.model_copy(update={"ingress_hooks": ["tc clsact"]})
    from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
    from auditor.model.facts import NamespaceFacts, NetNamespace
    from tests.factories import snapshot
    from tests.hostile.test_judging_route_localnet import HOST_INODE

    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[hooked_lo, HOST_LINK])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, container(web, interfaces=[LO, INTO_HOST])],
                                                       published=[], published_sources=["nat"]))
    [on_lo] = [o for o in net_bind_addresses.run(snap, BindAddressParams(allow=["loopback"]))
               if o.subject.endswith(f"in netns net:[{INNER}]")]
    assert on_lo.status == Status.PASS


RECEIVE = textwrap.dedent("""
    import select, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.196.1.2", 0))
    print(s.getsockname()[1], flush=True)
    sys.stdin.readline()  # the hook is in place and the world is about to send
    ready, _, _ = select.select([s], [], [], 10)
    print(s.recv(64).decode() if ready else "nothing", flush=True)
    sys.stdin.read()
""")
SEND = textwrap.dedent("""
    import socket, sys
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"from-beyond", ("10.196.1.2", int(sys.argv[1])))
""")


# Holds a tcx ingress BPF link (Linux 6.6+) on interface argv[1] whose program redirects every packet
# to interface argv[2] (bpf_redirect); prints "linked", or "unsupported: why".
TCX = textwrap.dedent("""
    import ctypes, os, signal, socket, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    def bpf(command, attr):
        buffer = ctypes.create_string_buffer(attr, 128)
        result = libc.syscall(321, command, buffer, 128)  # x86_64
        if result < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return result
    target = socket.if_nametoindex(sys.argv[2])
    insns = b"".join(struct.pack("=BBhi", *insn) for insn in (
        (0xb7, 1, 0, target), (0xb7, 2, 0, 0), (0x85, 0, 0, 23), (0x95, 0, 0, 0)))  # return bpf_redirect(target, 0)
    code, license = ctypes.create_string_buffer(insns, len(insns)), ctypes.create_string_buffer(b"GPL")
    try:
        program = bpf(5, struct.pack("=IIQQIIQII16sII", 3, 4, ctypes.addressof(code), ctypes.addressof(license),
                                     0, 0, 0, 0, 0, b"", 0, 46))  # BPF_PROG_LOAD, sched_cls, BPF_TCX_INGRESS
        bpf(28, struct.pack("=IIII", program, socket.if_nametoindex(sys.argv[1]), 46, 0))  # BPF_LINK_CREATE
    except OSError as exc:
        print("unsupported:", exc, flush=True)
        sys.exit(0)
    print("linked", flush=True)
    signal.pause()
""")


def _statuses(host_ns: str, container_ns: str, tmp_path: Path) -> dict[str, str]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text("id: tc\nversion: '1'\nowner: Tests <tests@example.test>\ndescription: loopback\n"
                      "rules:\n  - id: loopback-only\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n")
    run = subprocess.run(["ip", "netns", "exec", host_ns, sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
                          str(policy), "--output", str(out), "-q"], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return {f["subject"]: f["status"] for f in json.loads(out.read_text())["result"]["findings"]
            if f["subject"].startswith("udp 10.196.1.2:") and f["subject"].endswith(f"in netns {container_ns}")}


@pytest.mark.live
@pytest.mark.slow  # three namespaces, child interpreters and two real lbaudit runs
@pytest.mark.parametrize("hook", ["tc", "tcx"])
def test_a_tc_redirect_on_the_hosts_link_reaches_the_namespace_and_lbaudit_does_not_pass_it(tmp_path, hook):
    require_namespaces()
    if hook == "tc" and shutil.which("tc") is None:
        pytest.skip("tc is not installed (Debian package iproute2)")
    if hook == "tcx" and os.uname().machine != "x86_64":
        pytest.skip("the tcx loader calls bpf(2) by its x86_64 number")
    host, world, inner = unique_name("lbtch"), unique_name("lbtcw"), unique_name("lbtcc")
    for name in (host, world, inner):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    receiving = linked = None
    try:
        ip("link", "add", "lbtcw0", "netns", host, "type", "veth", "peer", "name", "lbtcw1", "netns", world)
        ip("link", "add", "lbtcc0", "netns", host, "type", "veth", "peer", "name", "lbtcc1", "netns", inner)
        ip("-n", host, "addr", "add", "10.196.0.1/24", "dev", "lbtcw0")
        ip("-n", host, "link", "set", "lbtcw0", "up")
        ip("-n", host, "addr", "add", "10.196.1.1/24", "dev", "lbtcc0")
        ip("-n", host, "link", "set", "lbtcc0", "up")
        ip("-n", world, "addr", "add", "10.196.0.2/24", "dev", "lbtcw1")
        ip("-n", world, "link", "set", "lbtcw1", "up")
        ip("-n", world, "route", "add", "10.196.1.0/24", "via", "10.196.0.1")
        # the world forwards what arrives on a tunnel of its own: the host's link to it leads beyond
        ip("-n", world, "tuntap", "add", "lbtct", "mode", "tun")
        subprocess.run(["ip", "netns", "exec", world, "sysctl", "-qw", "net.ipv4.conf.all.forwarding=1"], check=True,
                       timeout=10)
        # the container's end takes the host link's MAC: the redirected frame is addressed to it
        mac = json.loads(subprocess.run(["ip", "-n", host, "-j", "link", "show", "lbtcw0"], check=True,
                                        capture_output=True, text=True, timeout=10).stdout)[0]["address"]
        ip("-n", inner, "link", "set", "lbtcc1", "address", mac)
        ip("-n", inner, "addr", "add", "10.196.1.2/24", "dev", "lbtcc1")
        ip("-n", inner, "link", "set", "lbtcc1", "up")
        assert _in(host, "print(open('/proc/sys/net/ipv4/ip_forward').read().strip())") == "0"
        receiving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", RECEIVE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert receiving.stdout is not None
        port = receiving.stdout.readline().strip()
        [(subject, before)] = _statuses(host, inner, tmp_path).items()
        assert before == "pass"  # no redirect yet: the host does not forward, reachable only inside
        if hook == "tc":
            for command in (["qdisc", "add", "dev", "lbtcw0", "clsact"],
                            ["filter", "add", "dev", "lbtcw0", "ingress", "protocol", "ip", "u32", "match", "ip", "dst",
                             "10.196.1.2/32", "action", "mirred", "egress", "redirect", "dev", "lbtcc0"]):
                made = subprocess.run(["ip", "netns", "exec", host, "tc", *command], capture_output=True, text=True,
                                      timeout=10)
                if made.returncode != 0:
                    pytest.skip(f"this kernel cannot run tc {command[0]} {command[3]}: {made.stderr.strip()}")
        else:
            # every packet is redirected, ARP too: the world knows the host's MAC without asking
            ip("-n", world, "neigh", "add", "10.196.0.1", "lladdr", mac, "dev", "lbtcw1")
            linked = subprocess.Popen(["ip", "netns", "exec", host, sys.executable, "-c", TCX, "lbtcw0", "lbtcc0"],
                                      stdout=subprocess.PIPE, text=True)
            assert linked.stdout is not None
            answer = linked.stdout.readline().strip()
            if answer != "linked":
                pytest.skip(f"this kernel cannot attach a tcx program: {answer}")
        assert receiving.stdin is not None
        receiving.stdin.write("go\n")
        receiving.stdin.flush()
        _in(world, SEND, port)
        # the kernel: what the world sends reaches the container, though the host does not forward
        assert receiving.stdout.readline().strip() == "from-beyond"
        # lbaudit: before, pass ("reachable only inside"); now not_reviewed, naming the hook
        assert _statuses(host, inner, tmp_path) == {subject: "not_reviewed"}
    finally:
        for process in (receiving, linked):
            if process is not None:
                process.kill()
                process.wait(timeout=10)
        for name in (host, world, inner):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
