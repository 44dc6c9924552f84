"""Hostile corpus, class 3 of issue 8: every transport that can listen is collected and judged.

A listener of a transport lbaudit did not collect (UDP-Lite, SCTP, DCCP, MPTCP) used to be absent
from the report with exit 0: nothing said it was not looked at.  Each case here opens real sockets
(or builds a real /proc-like directory for the fallback) and asserts the exact status or exit code
of the real CLI under the shipped policies/corp.yaml.

Transports the running kernel lacks are skipped with the reason; their absence is itself a case
(a not_applicable gap, never silence).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect import CollectContext
from auditor.collect.sockets import (
    DCCP,
    SCTP,
    collect_sockets,
    listeners_from_rows,
    read_optional_netlink,
    read_optional_proc_net,
)
from auditor.model.facts import Facts, GapKind, HostSnapshot, NamespaceFacts, SocketFacts
from auditor.model.result import Status
from tests.cli import run_cli
from tests.factories import provenance
from tests.netenv import ipv6_loopback_available

REPO = Path(__file__).resolve().parents[2]
CORP = REPO / "policies" / "corp.yaml"
IPPROTO_UDPLITE = 136
IPPROTO_SCTP = 132
IPPROTO_DCCP = 33
IPPROTO_MPTCP = 262
SOCK_DCCP = 6  # not in the socket module: include/linux/net.h
UNSUPPORTED = (errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT, errno.EAFNOSUPPORT, errno.ENOPROTOOPT, errno.EINVAL)


def _socket_or_skip(family: int, kind: int, protocol: int, label: str) -> socket.socket:
    """A socket of ``protocol``; as root, ask modprobe once (SCTP, DCCP) before skipping."""
    try:
        return socket.socket(family, kind, protocol)
    except OSError as exc:
        if exc.errno not in UNSUPPORTED:
            raise
        first = exc
    module = {IPPROTO_SCTP: "sctp", IPPROTO_DCCP: "dccp"}.get(protocol)
    modprobe = shutil.which("modprobe")
    if module and modprobe and os.geteuid() == 0:
        subprocess.run([modprobe, "-q", module], capture_output=True, timeout=30, check=False)
        try:
            return socket.socket(family, kind, protocol)
        except OSError as exc:
            first = exc
    pytest.skip(f"this kernel has no {label} sockets ({first.strerror}); it cannot be tested here")


def _evaluate(tmp_path: Path, policy: Path = CORP) -> tuple[int, list[dict]]:
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--output", out, "-q", cwd=REPO)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(out.read_text())["result"]["findings"]


def _mine(findings: list[dict], rule: str, protocol: str, port: int) -> list[dict]:
    return [f for f in findings if f["rule_id"] == rule and f["subject_detail"].get("port") == port
            and f["subject_detail"].get("protocol") == protocol]


def _on_port(findings: list[dict], rule: str, port: int) -> list[dict]:
    return [f for f in findings if f["rule_id"] == rule and f["subject_detail"].get("port") == port]


# ---------------------------------------------------------------- UDP-Lite

@pytest.fixture
def udplite() -> Iterator[dict[str, int]]:
    """Bound UDP-Lite sockets: {bind address: port}."""
    binds = [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1")]
    if ipv6_loopback_available():
        binds += [(socket.AF_INET6, "::"), (socket.AF_INET6, "::1")]
    with ExitStack() as stack:
        ports = {}
        for family, address in binds:
            sock = stack.enter_context(_socket_or_skip(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE, "UDP-Lite"))
            sock.bind((address, 0))
            ports[address] = sock.getsockname()[1]
        yield ports


@pytest.mark.live
def test_udplite_wildcard_fails_and_loopback_passes_under_corp_policy(udplite, tmp_path):
    code, findings = _evaluate(tmp_path)
    assert code == 1  # the wildcard UDP-Lite listeners alone make the run non-compliant
    pid = f"pid {os.getpid()}"
    for address, port in udplite.items():
        mine = _mine(findings, "listeners-loopback-only", "udplite", port)
        assert len(mine) == 1, f"udplite {address}:{port}: {mine}"
        expected = "fail" if address in ("0.0.0.0", "::") else "pass"
        assert mine[0]["status"] == expected, mine[0]["message"]
        assert mine[0]["subject"].startswith("udplite ") and pid in mine[0]["subject"]
        # and it is not reported under another protocol name
        assert len(_on_port(findings, "listeners-loopback-only", port)) == 1


@pytest.mark.live
def test_udplite_listener_is_collected_with_its_protocol_owner_and_v6only(udplite):
    facts, gaps = collect_sockets(CollectContext(sections=frozenset({"sockets"})))
    found = {(l.address, l.port): l for l in facts.listeners if l.protocol == "udplite"}
    for address, port in udplite.items():
        listener = found[(address, port)]
        assert [p.pid for p in listener.processes] == [os.getpid()]
        assert listener.v6only == (False if address == "::" else None if "." in address else listener.v6only)
    assert not [g for g in gaps if g.field == "listeners/udplite"]


@pytest.mark.live
def test_a_policy_that_names_only_tcp_and_udp_does_not_make_udplite_vanish(udplite, tmp_path):
    policy = tmp_path / "old.yaml"
    policy.write_text("id: old\nversion: '1'\nowner: tests\nrules:\n"
                      "  - id: bind\n    check: net.bind_addresses\n"
                      "    params: {allow: [loopback], protocols: [tcp, udp]}\n")
    _code, findings = _evaluate(tmp_path, policy)
    noted = [f for f in findings if f["subject"] == "listeners (protocols not judged)"]
    assert [f["status"] for f in noted] == ["not_applicable"]
    assert f"udplite 0.0.0.0:{udplite['0.0.0.0']} " in noted[0]["reason"]


# ---------------------------------------------------------------- MPTCP

@pytest.fixture
def mptcp() -> Iterator[dict[str, int]]:
    """Listening MPTCP sockets: {bind address: port}."""
    binds = [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1")]
    if ipv6_loopback_available():
        binds += [(socket.AF_INET6, "::1")]
    with ExitStack() as stack:
        ports = {}
        for family, address in binds:
            sock = stack.enter_context(_socket_or_skip(family, socket.SOCK_STREAM, IPPROTO_MPTCP, "MPTCP"))
            sock.bind((address, 0))
            sock.listen()
            ports[address] = sock.getsockname()[1]
        yield ports


@pytest.mark.live
def test_mptcp_wildcard_fails_once_as_mptcp_not_twice_with_its_tcp_subflow(mptcp, tmp_path):
    code, findings = _evaluate(tmp_path)
    assert code == 1
    for address, port in mptcp.items():
        on_port = _on_port(findings, "listeners-loopback-only", port)
        # one finding per MPTCP listener: its TCP subflow listener (same port, same inode) is not
        # judged a second time, and the finding names the transport that was opened
        assert [(f["subject_detail"]["protocol"], f["status"]) for f in on_port] == [
            ("mptcp", "fail" if address == "0.0.0.0" else "pass")], on_port


@pytest.mark.live
def test_an_exception_for_protocol_tcp_does_not_reach_an_mptcp_listener(mptcp, tmp_path):
    exe = os.readlink("/proc/self/exe")
    port = mptcp["0.0.0.0"]
    policy = tmp_path / "tcp-exception.yaml"
    policy.write_text("id: tcp-exception\nversion: '1'\nowner: tests\nrules:\n"
                      "  - id: bind\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n"
                      f"      exceptions:\n        - match: {{exe: '{exe}', ports: [{port}], protocol: tcp}}\n"
                      "          allow: [any]\n          reason: a TCP service\n")
    code, findings = _evaluate(tmp_path, policy)
    assert code == 1
    assert [f["status"] for f in _mine(findings, "bind", "mptcp", port)] == ["fail"]


@pytest.mark.live
def test_mptcp_listener_on_an_ephemeral_port_still_fails_the_ephemeral_range_check(mptcp, tmp_path):
    # Ports from bind(0) come from ip_local_port_range: before MPTCP was told apart, its listener was
    # judged as tcp here; now named mptcp, it must still be judged by default.
    _code, findings = _evaluate(tmp_path)
    port = mptcp["127.0.0.1"]
    assert [f["status"] for f in _mine(findings, "ephemeral-pool", "mptcp", port)] == ["fail"]


# ---------------------------------------------------------------- SCTP and DCCP

def _listen(family: int, protocol: int, label: str, address: str, stack: ExitStack, kind: int = socket.SOCK_STREAM) -> int:
    sock = stack.enter_context(_socket_or_skip(family, kind, protocol, label))
    sock.bind((address, 0))
    sock.listen()
    return sock.getsockname()[1]


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_SEQPACKET], ids=["one-to-one", "one-to-many"])
@pytest.mark.live
def test_sctp_wildcard_fails_and_loopback_passes(kind, tmp_path):
    with ExitStack() as stack:
        wildcard = _listen(socket.AF_INET, IPPROTO_SCTP, "SCTP", "0.0.0.0", stack, kind)
        loopback = _listen(socket.AF_INET, IPPROTO_SCTP, "SCTP", "127.0.0.1", stack, kind)
        code, findings = _evaluate(tmp_path)
    assert code == 1
    assert [f["status"] for f in _mine(findings, "listeners-loopback-only", "sctp", wildcard)] == ["fail"]
    assert [f["status"] for f in _mine(findings, "listeners-loopback-only", "sctp", loopback)] == ["pass"]


@pytest.mark.live
def test_dccp_wildcard_fails_and_loopback_passes(tmp_path):
    with ExitStack() as stack:
        wildcard = _listen(socket.AF_INET, IPPROTO_DCCP, "DCCP", "0.0.0.0", stack, SOCK_DCCP)
        loopback = _listen(socket.AF_INET, IPPROTO_DCCP, "DCCP", "127.0.0.1", stack, SOCK_DCCP)
        code, findings = _evaluate(tmp_path)
    assert code == 1
    assert [f["status"] for f in _mine(findings, "listeners-loopback-only", "dccp", wildcard)] == ["fail"]
    assert [f["status"] for f in _mine(findings, "listeners-loopback-only", "dccp", loopback)] == ["pass"]


def _kernel_has(names: tuple[str, ...]) -> bool:
    with open("/proc/net/protocols") as handle:
        return bool(set(names) & {line.split()[0] for line in handle.read().splitlines()[1:] if line.split()})


@pytest.mark.parametrize("transport", [SCTP, DCCP], ids=lambda t: t.name)
@pytest.mark.live
def test_a_transport_this_kernel_lacks_is_a_not_applicable_gap_not_silence(transport):
    if _kernel_has(transport.kernel_names):
        pytest.skip(f"this kernel has {transport.label}: its listeners are collected (see the tests above)")
    facts, gaps = collect_sockets(CollectContext(sections=frozenset({"sockets"})))
    mine = [g for g in gaps if g.field == f"listeners/{transport.name}"]
    assert [g.kind for g in mine] == [GapKind.NOT_APPLICABLE]
    assert "not available in this kernel" in mine[0].reason
    snapshot = HostSnapshot(provenance=provenance(), facts=Facts(sockets=facts), gaps=gaps)
    collection = [o for o in net_bind_addresses.run(snapshot, BindAddressParams()) if o.subject == "listeners (collection)"]
    assert [o.status for o in collection] == [Status.NOT_APPLICABLE]
    assert f"no {transport.label} socket can exist" in collection[0].reason


# ---------------------------------------------------------------- the /proc/net fallback

PROTOCOLS_HEADER = "protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\n"
UDP_HEADER = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
# 0.0.0.0:5353, unconnected (07), uid 0, inode 4242 (little-endian host order as the kernel prints it)
UDPLITE_WILDCARD = "  1: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n"


def _fake_proc(tmp_path: Path, protocols: list[str], files: dict[str, str]) -> str:
    """A /proc-like directory whose kernel has ``protocols``, and raw sockets (every kernel has them:
    RAW, RAWv6 and their tables, empty), and ``files`` under net/."""
    net = tmp_path / "proc" / "net"
    net.mkdir(parents=True)
    (net / "protocols").write_text(PROTOCOLS_HEADER + "".join(f"{name:<9} 1344      0       0   NI       0   yes  kernel\n"
                                                            for name in [*protocols, "RAW", "RAWv6"]))
    (net / "if_inet6").write_text("")
    for name, text in {"raw": UDP_HEADER, "raw6": UDP_HEADER, **files}.items():
        (net / name).parent.mkdir(parents=True, exist_ok=True)
        (net / name).write_text(text)
    return str(tmp_path / "proc")


def _judge(read, listeners_rows=()):
    facts = SocketFacts(listeners=listeners_from_rows(list(listeners_rows) + read.rows))
    # no other network namespace: these cases are about the host's own transports
    snapshot = HostSnapshot(provenance=provenance(), gaps=read.gaps,
                            facts=Facts(sockets=facts, netns=NamespaceFacts(published=[], published_sources=["nat"])))
    return net_bind_addresses.run(snapshot, BindAddressParams())


@pytest.mark.skipif(sys.byteorder != "little", reason="the fixture row is written as a little-endian kernel prints it")
def test_fallback_reads_udplite_and_says_which_transports_it_cannot_see(tmp_path):
    # The kernel has UDP-Lite and DCCP but not SCTP; /proc/net has no DCCP table at all.
    proc = _fake_proc(tmp_path, ["UDP", "UDP-Lite", "DCCP", "TCP"],
                      {"udplite": UDP_HEADER + UDPLITE_WILDCARD, "udplite6": UDP_HEADER})
    read = read_optional_proc_net(proc, why="netlink sock_diag unavailable: test")
    assert [(r.protocol, r.address, r.port) for r in read.rows] == [("udplite", "0.0.0.0", 5353)]
    kinds = {g.field: g.kind for g in read.gaps}
    assert kinds == {"listeners/sctp": GapKind.NOT_APPLICABLE, "listeners/dccp": GapKind.UNREADABLE,
                     "listeners/mptcp": GapKind.NOT_APPLICABLE}
    outcomes = {o.subject: o.status for o in _judge(read)}
    # the wildcard UDP-Lite row fails; the DCCP listeners it cannot see make the list not reviewed
    assert outcomes == {"udplite 0.0.0.0:5353 owner unknown": Status.FAIL,
                        "listeners (collection)": Status.NOT_REVIEWED}


def test_fallback_with_sctp_in_the_kernel_but_no_eps_table_is_not_reviewed(tmp_path):
    proc = _fake_proc(tmp_path, ["SCTP", "UDP-Lite"], {"udplite": UDP_HEADER, "udplite6": UDP_HEADER})
    read = read_optional_proc_net(proc)
    sctp = [g for g in read.gaps if g.field == "listeners/sctp"]
    assert [g.kind for g in sctp] == [GapKind.UNREADABLE] and "eps" in sctp[0].reason
    assert [(o.subject, o.status) for o in _judge(read)] == [("listeners (collection)", Status.NOT_REVIEWED)]


def test_fallback_reads_sctp_endpoints_one_listener_per_bound_address(tmp_path):
    eps = (" ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n"
           "       0        0 2   10  31   9899      0 31337 10.0.0.5 127.0.0.1 \n"
           "       0        0 1   10  12   36412     0 31338 0000:0000:0000:0000:0000:0000:0000:0001 \n")
    proc = _fake_proc(tmp_path, ["SCTP", "SCTPv6", "UDP-Lite"],
                      {"sctp/eps": eps, "udplite": UDP_HEADER, "udplite6": UDP_HEADER})
    read = read_optional_proc_net(proc)
    assert {g.field: g.kind for g in read.gaps} == {
        "listeners/dccp": GapKind.NOT_APPLICABLE, "listeners/mptcp": GapKind.NOT_APPLICABLE}
    outcomes = {o.subject: o.status for o in _judge(read)}
    assert outcomes == {
        "sctp 10.0.0.5:9899 owner unknown": Status.FAIL,
        "sctp 127.0.0.1:9899 owner unknown": Status.PASS,
        "sctp [::1]:36412 owner unknown": Status.PASS,
        "listeners (collection)": Status.NOT_APPLICABLE,
    }


def test_without_proc_net_protocols_an_absent_table_is_not_called_absent_from_the_kernel(tmp_path):
    proc = _fake_proc(tmp_path, [], {})
    os.unlink(f"{proc}/net/protocols")
    read = read_optional_proc_net(proc)
    assert {g.field: g.kind for g in read.gaps} == {
        f"listeners/{name}": GapKind.UNREADABLE for name in ("udplite", "sctp", "dccp", "mptcp")}
    assert all("unknown" in g.reason for g in read.gaps)


# ---------------------------------------------------------------- a dump that fails is not an absence

@pytest.mark.live
def test_a_failed_dump_of_a_transport_the_kernel_has_makes_the_rule_not_reviewed(tmp_path):
    # Every dump is given no time at all, so each one really fails (ETIMEDOUT, not ENOENT).  The
    # /proc-like directory says the kernel has DCCP, which has no /proc/net table: its listeners
    # cannot be seen by any means, and that must not read as "no DCCP listener".
    proc = _fake_proc(tmp_path, ["DCCP", "UDP-Lite"], {"udplite": UDP_HEADER, "udplite6": UDP_HEADER})
    read = read_optional_netlink(timeout=1e-9, proc=proc)
    dccp = [g for g in read.gaps if g.field == "listeners/dccp"]
    assert [g.kind for g in dccp] == [GapKind.UNREADABLE]
    assert "did not finish" in dccp[0].reason and "no DCCP table" in dccp[0].reason
    assert "udplite: " + f"{proc}/net/udplite,udplite6" in "; ".join(read.methods)  # fell back, and says so
    assert [(o.subject, o.status) for o in _judge(read)] == [("listeners (collection)", Status.NOT_REVIEWED)]
