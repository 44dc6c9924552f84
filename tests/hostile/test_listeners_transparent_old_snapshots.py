"""Hostile corpus, fail closed but exact: the IP_TRANSPARENT of a listener in a snapshot of format 1.1.

Format 1.1 records a listener's ``transparent`` only when it is set.  net.bind_addresses read every
absent one as unknown, so each loopback TCP/UDP/MPTCP listener of a stored 1.1 snapshot (its TPROXY
rules being unrecorded too) was not_reviewed, and evaluating any of them was exit 3, although most
say enough: the collector that wrote ``transparent`` read it from sock_diag's INET_DIAG_SOCKOPT,
which Linux sends for every socket from 5.10, and wrote the field (``null`` when clear) on every
listener; the provenance records the kernel release and whether each transport came from netlink
sock_diag or /proc/net.

Now an absent transparency is clear only when all of these say the attribute was read: format 1.1,
the listener's ``transparent`` field present, a running host, Linux 5.10 or later, its transport
dumped by netlink sock_diag in its own namespace's method.  Anything else stays unknown, naming why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import HostSnapshot, Listener, NamespaceFacts, NetInterface, NetNamespace, SocketCounts
from auditor.storage.snapshot import parse_snapshot, snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

# The sockets methods the collector writing format 1.1 recorded (auditor.collect.sockets then).
NETLINK = ("netlink sock_diag (TCP: LISTEN state only; UDP: all); other transports: udplite: netlink; sctp: netlink; "
           "dccp: netlink; mptcp: netlink; raw: /proc/net/raw,raw6 (sock_diag has no raw IP handler (ENOENT)); "
           "/proc/[pid]/fd and psutil (listeners only); /proc/net/sockstat (TIME_WAIT) and /proc/net/snmp (CurrEstab)")
UNAVAILABLE = "netlink sock_diag unavailable: [Errno 1] Operation not permitted"
FALLBACK = (f"/proc/net/tcp,tcp6,udp,udp6 ({UNAVAILABLE}); other transports: udplite: /proc/net/udplite,udplite6 "
            f"({UNAVAILABLE}); sctp: not present; dccp: not present; mptcp: as tcp (subflow listeners); "
            f"raw: /proc/net/raw,raw6 ({UNAVAILABLE}); /proc/[pid]/fd and psutil (listeners only); "
            "/proc/net/sockstat (TIME_WAIT) and /proc/net/snmp (CurrEstab)")
# TCP and UDP dumped by sock_diag, UDP-Lite read from /proc/net (no UDP-Lite handler), MPTCP not dumped
PER_PROTOCOL = ("netlink sock_diag (TCP: LISTEN state only; UDP: all); other transports: udplite: "
                "/proc/net/udplite,udplite6 (sock_diag has no UDP-Lite handler (ENOENT)); sctp: netlink; dccp: netlink; "
                "mptcp: none in use (/proc/net/protocols); /proc/[pid]/fd and psutil (listeners only)")

RULES = "its network namespace's TPROXY rules are unknown (a snapshot of format 1.1 does not hold them)"
HEAD = "a snapshot of format 1.1 records IP_TRANSPARENT only when it is set"
WOULD = ": a TPROXY rule hands a transparent socket connections to any address, at which it would not be allowed"


def _passed(endpoint: str, protocol: str = "tcp") -> tuple[str, str]:
    return ("pass", f"{protocol} {endpoint} (owner unknown) accepts 127.0.0.1 only, which is allowed: the default allow "
                    "list allows loopback (127.0.0.0/8, ::1/128)")



def _unknown(why: str) -> str:
    return f"whether it is transparent (IP_TRANSPARENT) is unknown ({HEAD}, {why}), and {RULES}{WOULD}"


def _as_written(taken: HostSnapshot, version: str = "1.1", drop_transparent: bool = False) -> HostSnapshot:
    """``taken`` written, then read back as a file of ``version`` (which held no TPROXY rules)."""
    data = json.loads(snapshot_bytes(taken))
    data["schema_version"] = version
    for ns in data["facts"]["netns"]["namespaces"]:
        del ns["tproxy"]
    if drop_transparent:  # as the collectors before the one that read INET_DIAG_SOCKOPT wrote it
        for item in data["facts"]["sockets"]["listeners"]:
            del item["transparent"]
    return parse_snapshot(json.dumps(data).encode(), "stored.json")


def _old(held: list[Listener], kernel: str | None, method: str | None, others: list[NetNamespace] | None = None,
         source: str = "live", **kw: Any) -> HostSnapshot:
    # A collector of format 1.1 set transparent only when the kernel said so; every other is None
    held = [item.model_copy(update={"transparent": item.transparent or None}) for item in held]
    # its interfaces read (loopback only): one that could not be read leaves route_localnet unknown
    lo = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"])
    netns = NamespaceFacts(namespaces=[NetNamespace(inode=1, device=4, current=True, entered=True, interfaces=[lo]),
                                       *(others or [])],
                           published=[], published_sources=["nat"])
    taken = snapshot(listeners=held, netns=netns, kernel=kernel, methods={} if method is None else {"sockets": method},
                     source=source)
    return _as_written(taken, **kw)


def _verdicts(taken: HostSnapshot) -> dict[str, tuple[str, str | None]]:
    """Each outcome's status, with its reason (not_reviewed) or its message (pass, fail)."""
    return {o.subject: (o.status.value, o.reason if o.reason is not None else o.message)
            for o in net_bind_addresses.run(taken, BindAddressParams(allow=["loopback"]))}


LOOPBACK = "tcp 127.0.0.1:2004 owner unknown"


def test_linux_6_1_through_netlink_read_it_clear():
    # before: not_reviewed ("a snapshot of format 1.1 records IP_TRANSPARENT only when it is set")
    assert _verdicts(_old([listener("127.0.0.1", 2004), listener("127.0.0.1", 53, "udp")], "6.1.0-18-amd64", NETLINK)) == {
        LOOPBACK: _passed("127.0.0.1:2004"), "udp 127.0.0.1:53 owner unknown": _passed("127.0.0.1:53", "udp")}


@pytest.mark.parametrize(("kernel", "method", "why"), [
    ("5.4.0-150-generic", NETLINK,
     "and Linux 5.4 (kernel release '5.4.0-150-generic') does not report it (INET_DIAG_SOCKOPT, Linux 5.10+)"),
    ("5.9.16", NETLINK, "and Linux 5.9 (kernel release '5.9.16') does not report it (INET_DIAG_SOCKOPT, Linux 5.10+)"),
    ("6.1.0-18-amd64", FALLBACK,
     f"and its tcp sockets were not read through netlink sock_diag (/proc/net/tcp,tcp6,udp,udp6 ({UNAVAILABLE}))"),
    ("Linux-6.1", NETLINK, "and its kernel release 'Linux-6.1' does not name a version (major.minor)"),
    ("6", NETLINK, "and its kernel release '6' does not name a version (major.minor)"),
    ("61.0", NETLINK, None),  # a version, however large: read as the kernel numbers it
    (None, NETLINK, "and its kernel release is not recorded"),
    ("6.1.0-18-amd64", None, "and how its sockets were collected is not recorded"),
    ("6.1.0-18-amd64", "netlink sock_diag or /proc/net (see gaps)",
     "and its tcp sockets were not read through netlink sock_diag (netlink sock_diag or /proc/net (see gaps))"),
])
def test_a_kernel_or_method_that_did_not_report_it_leaves_it_unknown(kernel, method, why):
    verdicts = _verdicts(_old([listener("127.0.0.1", 2004)], kernel, method))
    assert verdicts == {LOOPBACK: _passed("127.0.0.1:2004") if why is None else ("not_reviewed", _unknown(why))}


def test_linux_5_10_through_netlink_read_it_clear():
    assert _verdicts(_old([listener("127.0.0.1", 2004)], "5.10.0", NETLINK)) == {LOOPBACK: _passed("127.0.0.1:2004")}


def test_a_transparent_listener_recorded_fails_as_transparent():
    verdicts = _verdicts(_old([listener("127.0.0.1", 2004, transparent=True), listener("127.0.0.1", 2005)],
                              "6.1.0-18-amd64", NETLINK))
    assert verdicts["tcp 127.0.0.1:2005 owner unknown"] == _passed("127.0.0.1:2005")
    status, reason = verdicts[LOOPBACK]
    assert (status, reason) == ("fail", "tcp 127.0.0.1:2004 (owner unknown) accepts 127.0.0.1 only as bound, but it is "
                                        "transparent (IP_TRANSPARENT), so TPROXY rules can hand it connections to all "
                                        "IPv4 addresses (IPv4 wildcard 0.0.0.0), which is not allowed: the default allow "
                                        "list allows loopback (127.0.0.0/8, ::1/128)")


def test_each_transport_by_how_it_was_read():
    held = [listener("127.0.0.1", 2004), listener("127.0.0.1", 2005, "udplite"), listener("127.0.0.1", 2006, "mptcp")]
    assert _verdicts(_old(held, "6.1.0-18-amd64", PER_PROTOCOL)) == {
        LOOPBACK: _passed("127.0.0.1:2004"),  # tcp: netlink
        "udplite 127.0.0.1:2005 owner unknown": _passed("127.0.0.1:2005", "udplite"),  # /proc/net, but TPROXY hands UDP-Lite nothing
        "mptcp 127.0.0.1:2006 owner unknown": ("not_reviewed", _unknown(
            "and its mptcp sockets were not read through netlink sock_diag (mptcp: none in use (/proc/net/protocols))")),
    }
    # the same listeners where MPTCP was dumped too
    assert _verdicts(_old(held, "6.1.0-18-amd64", NETLINK))["mptcp 127.0.0.1:2006 owner unknown"] == _passed("127.0.0.1:2006", "mptcp")


def test_a_collector_that_wrote_no_transparent_field_did_not_read_it():
    # format 1.1 before the collector read INET_DIAG_SOCKOPT: the same kernel and method, no field
    verdicts = _verdicts(_old([listener("127.0.0.1", 2004)], "6.1.0-18-amd64", NETLINK, drop_transparent=True))
    assert verdicts == {LOOPBACK: ("not_reviewed", _unknown(
        "and this listener has no transparent field: its collector did not read IP_TRANSPARENT"))}


def test_no_collector_of_format_1_0_read_it():
    verdicts = _verdicts(_old([listener("127.0.0.1", 2004)], "6.1.0-18-amd64", NETLINK, version="1.0"))
    assert verdicts == {LOOPBACK: ("not_reviewed", _unknown("and no collector that wrote format 1.0 read it")
                                   .replace("format 1.1", "format 1.0"))}


def test_facts_not_from_a_running_host_leave_it_unknown():
    verdicts = _verdicts(_old([listener("127.0.0.1", 2004)], "6.1.0-18-amd64", NETLINK, source="replay"))
    assert verdicts == {LOOPBACK: ("not_reviewed", _unknown(
        "and its facts were not collected from a running host (collected from: replay)"))}


def _namespace(method: str | None) -> NetNamespace:
    # a link out, so that a transparent listener would be reached from it (a TPROXY rule there)
    lo = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"])
    out = NetInterface(name="out0", index=2, kind="macvlan", link_kind="macvlan", up=True,
                       addresses=["10.201.0.2/24"], route_localnet=False)
    return NetNamespace(inode=7, device=4, names=["blue"], entered=True, interfaces=[lo, out],
                        listeners=[Listener(protocol="tcp", family="ipv4", address="127.0.0.1", port=2004)],
                        counts=None if method is None else SocketCounts(time_wait=0, tcp_by_state={"TIME_WAIT": 0},
                                                                       method=method))


@pytest.mark.parametrize(("method", "why"), [
    (NETLINK, None),
    (FALLBACK, f"and its tcp sockets were not read through netlink sock_diag (/proc/net/tcp,tcp6,udp,udp6 ({UNAVAILABLE}))"),
    (None, "and how its sockets were collected is not recorded"),
])
def test_another_namespace_by_its_own_method(method, why):
    # the host's listeners were dumped through netlink; the namespace's own method decides for its own
    verdicts = _verdicts(_old([listener("127.0.0.1", 2004)], "6.1.0-18-amd64", NETLINK, [_namespace(method)]))
    blue = {k: v for k, v in verdicts.items() if "blue" in k and k.startswith("tcp")}
    assert verdicts[LOOPBACK] == _passed("127.0.0.1:2004")
    [(subject, verdict)] = blue.items()
    assert subject == "tcp 127.0.0.1:2004 owner unknown in netns blue"
    assert verdict == (("pass", "reachable only inside namespace blue (outward interfaces out0 (macvlan macvlan) "
                                "deliver none of the addresses it accepts)")
                       if why is None else ("not_reviewed", _unknown(why)))


POLICY = """\
id: stored-snapshots
version: "1"
owner: tests
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
"""


@pytest.mark.parametrize(("drop_transparent", "code", "line"), [
    (False, 0, "bind | high | pass | tcp 127.0.0.1:2004 owner unknown | tcp 127.0.0.1:2004 (owner unknown) accepts "
               "127.0.0.1 only, which is allowed"),  # before: exit 3
    (True, 3, "bind | high | not_reviewed | tcp 127.0.0.1:2004 owner unknown | whether it is transparent "
              "(IP_TRANSPARENT) is unknown (a snapshot of format 1.1 records IP_TRANSPARENT only when it is set, and "
              "this listener has no transparent field: its collector did not read IP_TRANSPARENT)"),
])
def test_evaluating_a_stored_snapshot_file(tmp_path, drop_transparent, code, line):
    taken = _old([listener("127.0.0.1", 2004)], "6.1.0-18-amd64", NETLINK, drop_transparent=drop_transparent)
    data = json.loads(snapshot_bytes(taken))
    data["provenance"]["source"] = "live"  # as the host wrote it (reading it back said "snapshot")
    for key in ("source_detail", "source_sha256", "source_signature", "target_kind", "target_id", "collected_from"):
        data["provenance"].pop(key, None)
    data["schema_version"] = "1.1"
    for ns in data["facts"]["netns"]["namespaces"]:
        ns.pop("tproxy", None)
    if drop_transparent:  # writing the model again wrote every listener's field, null
        for item in data["facts"]["sockets"]["listeners"]:
            item.pop("transparent", None)
    (tmp_path / "host.snapshot.json").write_text(json.dumps(data))
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "host.snapshot.json")
    assert result.returncode == code, result.stderr
    [row] = [row for row in result.stdout.splitlines() if "127.0.0.1:2004" in row]
    assert row.startswith(line)
