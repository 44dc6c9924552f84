"""Hostile corpus, false passes: a raw socket that the link reaches, and that lbaudit did not list.

An unconnected raw socket (``socket(AF_INET, SOCK_RAW, 253)``) receives every packet of its IP
protocol addressed to the address it is bound to (any, when unbound), from whichever interface it
came in on: a VRRP daemon (protocol 112), a routing daemon (OSPF, 89), a tunnel endpoint.  ``ss -lw``
lists it (``0.0.0.0:ipproto-253``); lbaudit left raw sockets out ("they bind no port"), so a policy
that allows only loopback passed a host whose raw service took packets from anywhere, and said
"no listeners were found" of a namespace that held one.

``test_the_link_reaches_an_unbound_raw_socket_and_lbaudit_fails_it`` proves it on the running
kernel: a peer namespace sends a protocol-253 packet over a veth and the unbound raw socket gets
it, while the one bound to 127.0.0.1 does not; lbaudit run in the namespace (and from the host, for
the namespace) fails the first and passes the second.  Raw sockets are now collected (sock_diag,
else /proc/net/raw{,6}) and judged like UDP ones, their port being the IP protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams
from auditor.collect.sockets import listeners_from_rows, read_optional_proc_net
from tests.factories import loopback_only_policy
from tests.netns_env import ip, join_by_veth, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]
POLICY = loopback_only_policy("raw")
# Opens raw protocol-253 sockets, unbound and on 127.0.0.1, prints "ready"; then, for each
# line read, prints which of them received a packet since.
RAW_HOLDER = textwrap.dedent("""
    import select, socket, sys
    wild = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
    local = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
    local.bind(("127.0.0.1", 0))
    print("ready", flush=True)
    for _line in sys.stdin:
        ready, _, _ = select.select([wild, local], [], [], 1.0)
        got = sorted("wild" if s is wild else "local" for s in ready)
        for s in ready:
            s.recv(2048)
        print(" ".join(got) or "nothing", flush=True)
""")
SEND = textwrap.dedent("""
    import socket, sys
    socket.socket(socket.AF_INET, socket.SOCK_RAW, 253).sendto(b"hello", (sys.argv[1], 0))
""")


def _evaluate(argv: list[str], tmp_path: Path) -> tuple[int, list[dict]]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text(POLICY)
    run = subprocess.run([*argv, sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy),
                          "--output", str(out), "-q"], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, json.loads(out.read_text())["result"]["findings"]


@pytest.mark.live
@pytest.mark.slow  # two namespaces, child interpreters and two real lbaudit runs: about 4 s
def test_the_link_reaches_an_unbound_raw_socket_and_lbaudit_fails_it(tmp_path):
    require_namespaces()
    server, peer = unique_name("lbraws"), unique_name("lbrawp")
    ip("netns", "add", server)
    ip("netns", "add", peer)
    holder = None
    try:
        join_by_veth(server, peer, "10.197.0", "lbrv")
        holder = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", RAW_HOLDER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline() == "ready\n"
        subprocess.run(["ip", "netns", "exec", peer, sys.executable, "-c", SEND, "10.197.0.1"], check=True, timeout=30)
        holder.stdin.write("what came?\n")
        holder.stdin.flush()
        # the kernel: a packet from the link reaches the unbound raw socket, not the one on 127.0.0.1
        assert holder.stdout.readline() == "wild\n"

        code, findings = _evaluate(["ip", "netns", "exec", server], tmp_path)
        owner = f"{Path(f'/proc/{holder.pid}/comm').read_text().strip()} pid {holder.pid}"
        inside = {f["subject"]: f["status"] for f in findings if f["subject"].startswith("raw ")}
        # before: {} (no raw listener was collected), and the rule passed: "no listeners were found"
        assert inside == {f"raw 0.0.0.0:253 {owner}": "fail", f"raw 127.0.0.1:253 {owner}": "pass"}
        assert code in (1, 3)  # 3 only when another namespace of this host could not be read
        [wild] = [f for f in findings if f["subject"] == f"raw 0.0.0.0:253 {owner}"]
        assert wild["observed"]["accepts_networks"] == ["0.0.0.0/0"]
        assert wild["message"].startswith(f"raw 0.0.0.0:253 ({owner}) accepts all IPv4 addresses")
        assert [f for f in findings if f["subject"] == "listeners"] == []

        # from the host, lbaudit enters the namespace: the same sockets, judged at what its veth (to
        # another namespace, so reaching beyond) delivers
        _code, host_findings = _evaluate([], tmp_path)
        there = {f["subject"]: f["status"] for f in host_findings
                 if f["subject"].startswith("raw ") and f["subject"].endswith(f"in netns {server}")}
        assert there == {f"raw 0.0.0.0:253 {owner} in netns {server}": "fail",
                         f"raw 127.0.0.1:253 {owner} in netns {server}": "pass"}
    finally:
        if holder is not None and holder.stdin:
            holder.stdin.close()
            holder.wait(timeout=10)
        for name in (server, peer):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_raw_sockets_are_read_from_proc_net_raw_when_sock_diag_has_no_raw_handler(tmp_path):
    """/proc/net/raw{,6}: an unconnected raw socket (state 07) is a listener whose port is its
    protocol; a connected one (01) is not; an IPv6 one never receives IPv4 (v6only)."""
    net = tmp_path / "net"
    net.mkdir()
    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    (net / "raw").write_text(
        head
        + "   3: 00000000:00FD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 501 2 0 0\n"
        + "   1: 0100007F:0001 0100007F:0000 01 00000000:00000000 00:00000000 00000000     0        0 502 2 0 0\n")
    (net / "raw6").write_text(
        head + "  58: 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07 "
               "00000000:00000000 00:00000000 00000000     0        0 503 2 0 0\n")
    (net / "protocols").write_text("protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\n"
                                   "RAWv6     1168      1      -1   NI       0   yes  kernel      y  y  y  n  y  y  y  n  y  y  y  y  n  y  y  y  y  n  n\n"
                                   "RAW       1000      2      -1   NI       0   yes  kernel      y  y  y  n  y  y  y  n  y  y  y  y  n  y  y  y  y  n  n\n")
    read = read_optional_proc_net(str(tmp_path), why="netlink sock_diag unavailable: test")
    raw = [(l.protocol, l.family, l.address, l.port, l.v6only, l.inode)
           for l in listeners_from_rows([row for row in read.rows if row.protocol == "raw"])]
    assert raw == [("raw", "ipv4", "0.0.0.0", 253, None, 501), ("raw", "ipv6", "::", 58, True, 503)]
    assert "raw: " + f"{tmp_path}/net/raw,raw6 (netlink sock_diag unavailable: test)" in read.methods
    assert not [g for g in read.gaps if g.path == ("listeners", "raw")]


def test_the_ephemeral_range_check_refuses_raw_sockets_whose_number_is_no_port():
    assert "raw" not in EphemeralRangeParams().protocols
    with pytest.raises(ValueError, match="raw sockets have no port"):
        EphemeralRangeParams(protocols=["tcp", "raw"])
