"""Hostile corpus, false passes: a listener bound to the loopback device that a BPF sk_lookup
program hands datagrams from a link.

A UDP socket on 0.0.0.0 bound (SO_BINDTODEVICE) to lo is reachable from inside its namespace only:
the kernel's socket lookup compares the device a packet came in on with the socket's, and TPROXY
looks sockets up the same way, so lbaudit judges it at the loopback networks alone, a pass under
``allow: [loopback]``, transparent or not.  An ``sk_lookup`` program is not that lookup: it runs
before it and assigns whichever socket of its SOCKMAP it likes (``bpf_sk_assign``), and the kernel
checks the socket's protocol, family and state but not the device it is bound to: the socket
receives the link's datagrams.  lbaudit judged a
steered listener "as if transparent", and a transparent one bound to lo is still judged at
loopback: the pass stood (``steered`` gap and all) while a peer across a veth sent it a datagram.

Now a listener an sk_lookup program may steer (or whose namespace's programs could not be listed)
is judged as one neither its address nor its device bounds: ``not_reviewed`` unless allowed at
every address of its family, from inside its namespace and from the host alike.  A TPROXY doubt
keeps the device binding (TPROXY's lookup honours it: tests/hostile/test_listeners_bound_to_lo.py).

``test_sk_lookup_reaches_a_listener_bound_to_lo_and_lbaudit_does_not_pass_it`` proves it on the
running kernel with a real BPF program and link (loaded through bpf(2) by hand: no compiler).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.test_listen13_sk_lookup import HOLDER, REPO, _evaluate
from tests.netns_env import ip, join_by_veth, require_namespaces, unique_name

# HOLDER's program and link, for a UDP socket on 0.0.0.0 bound to lo: it prints whom each datagram
# came from.  (A TCP listener bound to lo is handed the SYN too, but its request socket inherits the
# binding, so the handshake's last ACK from the link finds no socket: the device does bound TCP.)
BOUND_TO_LO = HOLDER.replace(
    'listener = socket.socket()\nlistener.bind(("127.0.0.1", 0))\nlistener.listen()',
    'listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
    'listener.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")\n'
    'listener.bind(("0.0.0.0", 0))').replace(
    'connection, peer = listener.accept()\n    print(peer[0], flush=True)\n    connection.close()',
    '_data, peer = listener.recvfrom(64)\n    print(peer[0], flush=True)')
SEND = "import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', (sys.argv[1], 7777))"


@pytest.mark.live
@pytest.mark.slow  # two namespaces, a BPF program, child interpreters and two real lbaudit runs: about 5 s
def test_sk_lookup_reaches_a_listener_bound_to_lo_and_lbaudit_does_not_pass_it(tmp_path):
    assert "SO_BINDTODEVICE" in BOUND_TO_LO and "recvfrom" in BOUND_TO_LO
    require_namespaces()
    server, peer = unique_name("lbdsl"), unique_name("lbdsp")
    ip("netns", "add", server)
    ip("netns", "add", peer)
    holder = None
    try:
        join_by_veth(server, peer, "10.193.0", "lbds")
        holder = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", BOUND_TO_LO],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
                                  env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
        assert holder.stdin is not None and holder.stdout is not None
        first = holder.stdout.readline()
        if first.startswith("unsupported"):
            pytest.skip(f"this kernel cannot attach an sk_lookup program: {first.strip()}")
        port = int(first)
        holder.stdin.write("accept\n")
        holder.stdin.flush()
        subprocess.run(["ip", "netns", "exec", peer, sys.executable, "-c", SEND, "10.193.0.1"], check=True, timeout=30)
        # the kernel: a datagram from the link, to the veth's address, reaches the socket bound to lo
        assert holder.stdout.readline() == "10.193.0.2\n"

        _code, findings = _evaluate(["ip", "netns", "exec", server], tmp_path)
        owner = f"{Path(f'/proc/{holder.pid}/comm').read_text().strip()} pid {holder.pid}"
        subject = f"udp 0.0.0.0:{port} {owner}"
        [steered] = [f for f in findings if f["subject"] == subject]
        # before: "pass", "... only what arrives on the loopback device lo (SO_BINDTODEVICE) ..., which is allowed"
        assert steered["status"] == "not_reviewed"
        assert ": a BPF sk_lookup program is attached to its network namespace (link " in steered["reason"]
        assert steered["observed"]["accepts_networks_if_transparent"] == ["0.0.0.0/0"]

        # from the host, lbaudit enters the namespace: the same listener, the same doubt
        _code, host_findings = _evaluate([], tmp_path)
        there = {f["subject"]: f["status"] for f in host_findings if f["subject"] == f"{subject} in netns {server}"}
        assert there == {f"{subject} in netns {server}": "not_reviewed"}
    finally:
        if holder is not None and holder.stdin:
            holder.stdin.close()
            holder.wait(timeout=10)
        for name in (server, peer):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
