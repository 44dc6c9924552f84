"""Hostile corpus, false passes: a transparent 127.0.0.1 listener whose transparency is unknown.

A TPROXY rule hands a transparent socket (IP_TRANSPARENT) connections to any address, whatever it
is bound to; lbaudit fails such a listener when it knows it is transparent.  The kernel says so only
through sock_diag (INET_DIAG_SOCKOPT, Linux 5.10+): under the /proc/net fallback (netlink sock_diag
unavailable: a seccomp filter, a sandbox) or on an older kernel it is unknown, and lbaudit recorded
"unknown" as it recorded "not transparent".  So a transparent listener on 127.0.0.1 served the whole
link through a TPROXY rule and passed ``allow: [loopback]``.

Now a listener records its transparency as set, clear or unknown (with the reason, a gap), each
namespace records its TPROXY rules (nft ``tproxy``, iptables ``-j TPROXY``; None when they could
not all be read), and a TCP/UDP/MPTCP listener whose transparency is unknown is not_reviewed when it
would pass as bound but not as transparent, in a namespace that has TPROXY rules or whose rules are
unknown.  Where the namespace is known to have none, it passes as before.

``test_unknown_transparency_behind_a_tproxy_rule_is_not_reviewed`` proves it on the running kernel:
two namespaces joined by a veth, an nft tproxy rule in the server's, a transparent listener on
127.0.0.1 that the peer reaches at the server's veth address, and lbaudit's collector run in the
server's namespace with sock_diag refused by a seccomp filter (the real /proc/net fallback).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.nat import parse_iptables_tproxy, parse_nft_tproxy
from auditor.collect.systemd_sockets import SocketUnit, parse_transparent, unit_listeners
from auditor.model.facts import HostSnapshot, Listener, NamespaceFacts, NetInterface, NetNamespace, TproxyRule
from auditor.model.result import Status
from auditor.storage.snapshot import parse_snapshot, snapshot_bytes
from tests.factories import listener, snapshot
from tests.hostile.test_judging_route_localnet import REPO, _in, _stop
from tests.hostile.test_listeners_transparent import CONNECT, PORT, TPROXY_RULES, _start
from tests.netns_env import ip, join_by_veth, require_namespaces, route_tproxy, unique_name

# A seccomp filter refusing socket(AF_NETLINK, *, NETLINK_SOCK_DIAG) with EPERM, and nothing else (nft
# and rtnetlink keep working): the collector then takes its /proc/net fallback, as on a host whose
# sandbox refuses sock_diag.  Then the collector, for the sockets and netns sections; prints the snapshot.
COLLECT_WITHOUT_SOCK_DIAG = """
import ctypes, platform, struct, sys
if sys.argv[1] == "fallback":
    arch, number = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}[platform.machine()]
    def op(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)
    LOAD, EQUALS, RETURN = 0x20, 0x15, 0x06
    program = b"".join([
        op(LOAD, 4), op(EQUALS, arch, 0, 7),     # seccomp_data.arch: another ABI is let through
        op(LOAD, 0), op(EQUALS, number, 0, 5),   # nr: socket
        op(LOAD, 16), op(EQUALS, 16, 0, 3),      # args[0]: AF_NETLINK
        op(LOAD, 32), op(EQUALS, 4, 0, 1),       # args[2]: NETLINK_SOCK_DIAG
        op(RETURN, 0x00050000 | 1),              # SECCOMP_RET_ERRNO | EPERM
        op(RETURN, 0x7FFF0000),                  # SECCOMP_RET_ALLOW
    ])
    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(Program(len(program) // 8, program)), 0, 0) == 0, ctypes.get_errno()
from auditor.collect.live import collect_live
from auditor.storage.snapshot import snapshot_bytes
sys.stdout.buffer.write(snapshot_bytes(collect_live(frozenset({"sockets", "netns"}))))
"""
IPTABLES_TPROXY = ["-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", str(PORT), "-j", "TPROXY",
                   "--on-port", str(PORT), "--on-ip", "127.0.0.1", "--tproxy-mark", "1"]


def _judged(server_ns: str, how: str) -> tuple[Listener, HostSnapshot, tuple[str, str | None]]:
    """The listener on PORT as lbaudit's collector reads it in ``server_ns`` (``how``: "netlink" or
    "fallback"), and net.bind_addresses' (status, reason) for it."""
    taken = parse_snapshot(_in(server_ns, COLLECT_WITHOUT_SOCK_DIAG, how).encode(), "collected.json")
    assert taken.facts.sockets is not None and taken.facts.sockets.listeners is not None
    [ours] = [item for item in taken.facts.sockets.listeners if item.port == PORT and item.protocol == "tcp"]
    assert ours.address == "127.0.0.1"
    [outcome] = [o for o in net_bind_addresses.run(taken, BindAddressParams())
                 if o.subject.startswith(f"tcp 127.0.0.1:{PORT} ")]
    return ours, taken, (outcome.status.value, outcome.reason)


@pytest.mark.live
@pytest.mark.slow  # two namespaces, a listener and collectors in child interpreters, about 5 s
def test_unknown_transparency_behind_a_tproxy_rule_is_not_reviewed():
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables; scripts/bootstrap --test installs it)")
    server_ns, peer_ns = unique_name("lbtus"), unique_name("lbtup")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        join_by_veth(server_ns, peer_ns, "10.197.0", "lbtuv")
        route_tproxy(server_ns, TPROXY_RULES)
        serving = _start(server_ns, 1)
        # the kernel: the link reaches the transparent 127.0.0.1 listener through the rule
        assert _in(peer_ns, CONNECT, "10.197.0.1", str(PORT)) == "served"

        ours, _taken, verdict = _judged(server_ns, "netlink")
        if ours.transparent is None:
            pytest.skip("this kernel does not report IP_TRANSPARENT (INET_DIAG_SOCKOPT, Linux 5.10+)")
        assert (ours.transparent, verdict[0]) == (True, "fail")  # known: judged at every address

        ours, taken, verdict = _judged(server_ns, "fallback")
        assert taken.facts.sockets is not None and taken.facts.sockets.counts is not None
        assert "/proc/net/tcp" in taken.facts.sockets.counts.method  # the fallback did read it
        assert ours.transparent is None
        assert taken.facts.netns is not None and taken.facts.netns.current is not None
        assert [(r.origin, r.family, r.protocol, r.port) for r in taken.facts.netns.current.tproxy or []] == [
            ("nft -j list ruleset: table ip lbt chain pre", "ipv4", "tcp", PORT)]
        # before: pass (unknown read as not transparent)
        assert verdict == ("not_reviewed",
                           "whether it is transparent (IP_TRANSPARENT) is unknown (tcp 127.0.0.1:2004: IP_TRANSPARENT is "
                           "not shown in /proc/net (netlink sock_diag unavailable: [Errno 1] Operation not permitted)), "
                           "and its network namespace has TPROXY rules (nft -j list ruleset: table ip lbt chain pre): "
                           "a TPROXY rule hands a transparent socket connections to any address, at which it would "
                           "not be allowed")

        # from the host: the collector's child enters the namespace and reads its rules there
        from_host = parse_snapshot(subprocess.run(
            [sys.executable, "-c", COLLECT_WITHOUT_SOCK_DIAG, "fallback"], capture_output=True, timeout=120, check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)}).stdout, "from-host.json")
        assert from_host.facts.netns is not None
        [there] = [ns for ns in from_host.facts.netns.namespaces if server_ns in ns.names]
        assert [r.origin for r in there.tproxy or []] == ["nft -j list ruleset: table ip lbt chain pre"]
        [outcome] = [o for o in net_bind_addresses.run(from_host, BindAddressParams(scope="every_namespace"))
                     if o.subject.startswith(f"tcp 127.0.0.1:{PORT} ") and o.subject.endswith(f"in netns {server_ns}")]
        assert outcome.status == Status.NOT_REVIEWED and "IP_TRANSPARENT is not shown in /proc/net" in str(outcome.reason)

        # no TPROXY rule left, and every reader ran: nothing can hand it another address, so it passes
        ip("netns", "exec", server_ns, "nft", "delete", "table", "ip", "lbt")
        assert _in(peer_ns, CONNECT, "10.197.0.1", str(PORT)) == "ConnectionRefusedError"
        ours, taken, verdict = _judged(server_ns, "fallback")
        assert taken.facts.netns is not None and taken.facts.netns.current is not None
        assert (ours.transparent, taken.facts.netns.current.tproxy, verdict) == (None, [], ("pass", None))

        # an iptables TPROXY target in the mangle table is a TPROXY rule too
        if shutil.which("iptables") is not None:
            ip("netns", "exec", server_ns, "iptables", *IPTABLES_TPROXY)
            assert _in(peer_ns, CONNECT, "10.197.0.1", str(PORT)) == "served"
            ours, taken, verdict = _judged(server_ns, "fallback")
            assert taken.facts.netns is not None and taken.facts.netns.current is not None
            # nft shows the iptables-nft target by name (not its port); iptables-save shows it whole
            assert [(r.origin.split(":")[0], r.family, r.protocol, r.port)
                    for r in taken.facts.netns.current.tproxy or []] == [
                ("nft -j list ruleset", "ipv4", "tcp", None), ("iptables-save", "ipv4", "tcp", PORT)]
            assert verdict[0] == "not_reviewed" and "its network namespace has TPROXY rules (iptables-save:" in str(verdict[1])
    finally:
        _stop(serving, server_ns, peer_ns)


def _host(tproxy: list[TproxyRule] | None) -> NamespaceFacts:
    lo = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"])
    return NamespaceFacts(namespaces=[NetNamespace(inode=1, device=4, current=True, entered=True, tproxy=tproxy,
                                                   interfaces=[lo])],
                          published=[], published_sources=["nat"])


RULE = TproxyRule(origin="nft -j list ruleset: table ip lbt chain pre", family="ipv4", protocol="tcp", port=2004)


@pytest.mark.parametrize(("tproxy", "transparent", "status"), [
    ([RULE], None, Status.NOT_REVIEWED),  # before: pass
    (None, None, Status.NOT_REVIEWED),  # rules unknown: before, pass
    ([], None, Status.PASS),  # known to have none: nothing hands it another address
    ([RULE], False, Status.PASS),  # known clear
    ([RULE], True, Status.FAIL),  # known set
])
def test_unknown_transparency_is_judged_by_whether_a_tproxy_rule_can_reach_it(tproxy, transparent, status):
    held = [listener("127.0.0.1", 2004, transparent=transparent), listener("127.0.0.1", 2005, "udplite", transparent=None),
            listener("0.0.0.0", 22, transparent=None)]
    outcomes = {o.subject: o.status for o in net_bind_addresses.run(snapshot(listeners=held, netns=_host(tproxy)),
                                                                    BindAddressParams(allow=["loopback"]))}
    assert outcomes == {"tcp 127.0.0.1:2004 owner unknown": status,
                        "udplite 127.0.0.1:2005 owner unknown": Status.PASS,  # TPROXY hands UDP-Lite nothing
                        "tcp 0.0.0.0:22 owner unknown": Status.FAIL}  # fails at its own address anyway


def test_a_snapshot_of_format_1_1_holds_transparency_only_when_set():
    written = snapshot(listeners=[listener("127.0.0.1", 2004, transparent=None)], netns=_host([]))
    data = json.loads(snapshot_bytes(written))
    data["schema_version"] = "1.1"
    del data["facts"]["netns"]["namespaces"][0]["tproxy"]  # 1.1 had no such field
    old = parse_snapshot(json.dumps(data).encode(), "old.json")
    [outcome] = net_bind_addresses.run(old, BindAddressParams())
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason is not None and outcome.reason.startswith(
        "whether it is transparent (IP_TRANSPARENT) is unknown (a snapshot of format 1.1 records IP_TRANSPARENT only "
        "when it is set, and how its sockets were collected is not recorded), and its network namespace's TPROXY rules "
        "are unknown (a snapshot of format 1.1 does not hold them)")


def test_tproxy_rules_are_read_from_nft_and_iptables_save():
    document = {"nftables": [
        {"rule": {"family": "ip", "table": "lbt", "chain": "pre", "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 2004}},
            {"tproxy": {"addr": "127.0.0.1", "port": 2004}}]}},
        {"rule": {"family": "inet", "table": "t2", "chain": "pre", "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}},
            {"tproxy": {"family": "ip6", "addr": "::1"}}]}},
        {"rule": {"family": "ip", "table": "mangle", "chain": "PREROUTING", "expr": [{"xt": {"type": "target", "name": "TPROXY"}}]}},
        {"rule": {"family": "ip", "table": "mangle", "chain": "PREROUTING", "expr": [{"xt": None}]}},
        {"rule": {"family": "ip", "table": "nat", "chain": "pre", "expr": [{"dnat": {"addr": "10.0.0.2"}}]}},
    ]}
    rules, opaque = parse_nft_tproxy(document)
    assert [(r.family, r.protocol, r.port) for r in rules] == [("ipv4", "tcp", 2004), ("ipv6", "udp", None),
                                                                ("ipv4", None, None)]
    assert opaque == 1  # an iptables-nft target nft does not name: only iptables-save can say what it is
    saved = ("*mangle\n:PREROUTING ACCEPT [0:0]\n"
             "-A PREROUTING -p tcp -m tcp --dport 81 -j TPROXY --on-port 8081 --on-ip 0.0.0.0 --tproxy-mark 0x1/0xffffffff\n"
             "-A PREROUTING ! -p udp -j TPROXY --tproxy-mark 0x1\n-A PREROUTING -p tcp -j MARK --set-mark 1\nCOMMIT\n")
    assert [(r.origin, r.protocol, r.port) for r in parse_iptables_tproxy(saved, "ipv4", "iptables-save")] == [
        ("iptables-save:3 (table mangle)", "tcp", 8081), ("iptables-save:4 (table mangle)", None, None)]


def test_a_socket_unit_says_whether_its_sockets_are_transparent():
    assert [parse_transparent(v) for v in ("", "yes", "off", "maybe")] == [False, True, False, None]
    unit = SocketUnit(name="p.socket", path="/etc/systemd/system/p.socket",
                      listens=[("ListenStream", "127.0.0.1:3128", "/etc/systemd/system/p.socket")])
    assert [item.transparent for item in unit_listeners(unit, False)[0]] == [False]
    unit.transparent = True
    assert [item.transparent for item in unit_listeners(unit, False)[0]] == [True]
