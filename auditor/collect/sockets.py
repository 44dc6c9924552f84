"""Live sockets: listeners with their owning processes, and counts by TCP state.

The cost must not grow with TIME_WAIT sockets, which a busy host holds by the tens of thousands:

* TCP listeners come from a netlink sock_diag dump that asks the kernel for the LISTEN state only.
  Asking for every state but TIME_WAIT was measured to grow with TIME_WAIT anyway (ratio 1.9 at
  20,000): the kernel must walk the connection table to skip them.  The LISTEN-only dump reads
  the listening hash alone and stays flat;
* counts come from kernel counters, one line each whatever the number of sockets: TIME_WAIT is the
  ``tw`` field of /proc/net/sockstat, ESTABLISHED + CLOSE_WAIT is ``CurrEstab`` of /proc/net/snmp;
* UDP sockets (never in TIME_WAIT) come from a dump of every UDP state;
* every other transport that can listen is dumped too: UDP-Lite like UDP; SCTP, DCCP and MPTCP for
  the LISTEN state only, like TCP.  A transport the kernel does not have (not in
  /proc/net/protocols, and sock_diag answers ENOENT) cannot have sockets: a not_applicable Gap
  says so.  One that the kernel has but whose dump fails is an unreadable Gap: its listeners may
  be missing, so "no listener does X" cannot be claimed.  lbaudit never loads a kernel module;
  the kernel may load a diag module by itself when asked, as it does for ``ss``;
* an MPTCP listener also has a TCP "subflow" listener in the TCP dump, on the same address and
  port; the kernel reports it with the MPTCP socket's inode.  It is reported once, as mptcp
  (:func:`listeners_from_rows`).  A subflow whose inode differs (not seen on the kernels tested)
  stays a tcp listener: reported twice rather than missed;
* raw (SOCK_RAW) sockets are dumped too, as ``ss -w`` lists them: an unconnected one receives every
  packet of its IP protocol addressed to the address it is bound to (any, unbound), from whichever
  interface it came in on (raw_v4_match, raw_v6_match), as a UDP socket does its port; so it is a
  listener whose "port" is that protocol number (253, or 255 for IPPROTO_RAW, which receives
  protocol 255).  An IPv6 one never receives IPv4 (v6only).  Kernels without raw_diag answer ENOENT
  and /proc/net/raw{,6} is read.  Packet (AF_PACKET) sockets bind no address: out of scope;
* processes are looked up for listeners only, by scanning ``/proc/[pid]/fd`` (cost grows with open
  file descriptors, which TIME_WAIT sockets do not have) and asking psutil for process details.

When netlink is unavailable the /proc/net tables are parsed instead (they do list TIME_WAIT rows,
so that fallback is slower on such hosts, and it cannot see IPV6_V6ONLY): tcp, udp and udplite
tables, raw sockets from /proc/net/raw and raw6, SCTP endpoints from /proc/net/sctp/eps.  DCCP has
no /proc/net table (a Gap when the kernel has DCCP), and MPTCP listeners show there only as their
TCP subflow (protocol tcp).  An owner that cannot be identified is never guessed: the listener
keeps ``processes=[]``, an ``owner_reason`` and a Gap.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import pwd
import socket
from dataclasses import field, replace
from functools import lru_cache
from typing import Callable

from auditor.collect import CollectContext, netlink, sk_lookup
from auditor.collect.cmdline import cmdline_fields
from auditor.collect.fdmounts import Mount, MountJudge
from auditor.collect.fdtables import FdTable, keep_tables, process_start, read_table, registered_files
from auditor.collect.parsers.proc_net import (
    STATE_CLOSE,
    STATE_LISTEN,
    STATE_TIME_WAIT,
    established_count,
    parse_proc_net,
    parse_sctp_eps,
    parse_snmp,
    parse_sockstat,
    time_wait_count,
)
from auditor.collect.procview import PROC_USER_INIT_INO, owning_user_namespace, unlisted_processes
from auditor.collect.systemd_sockets import collect_declared_sockets
from auditor.domain.netaddr import TPROXY_PROTOCOLS
from auditor.model.base import copy_with
from auditor.model.facts import (
    STEERED,
    Gap,
    GapKind,
    Listener,
    ProcessInfo,
    SocketCounts,
    SocketFacts,
    gap_at,
    listener_of_row,
)
from auditor.model.records import mutable_record, record
from auditor.safeio import read_regular

PROC = "/proc"
FAMILIES = (("ipv4", socket.AF_INET, ""), ("ipv6", socket.AF_INET6, "6"))
# The kernel-side state filter of each dump: listeners only for connection-oriented transports;
# every socket for the datagram ones (UDP has no TIME_WAIT).
TCP_LISTEN_ONLY = 1 << STATE_LISTEN
ESTABLISHED_KEY = "ESTABLISHED+CLOSE_WAIT"  # what tcpCurrEstab counts (RFC 1213)


@record
class Transport:
    """A transport protocol whose sockets can listen."""

    name: str  # Listener.protocol
    label: str  # as people write it
    number: int  # IPPROTO_*
    kernel_names: tuple[str, ...]  # its lines in /proc/net/protocols (IPv4, IPv6)
    datagram: bool  # a listener is a bound, unconnected socket (UDP) rather than one in LISTEN
    proc_table: str | None  # /proc/net/<table>{,6} in the format of /proc/net/tcp, when one exists

    @property
    def states(self) -> int:
        return netlink.STATES_WITHOUT_TIME_WAIT if self.datagram else TCP_LISTEN_ONLY


TCP = Transport("tcp", "TCP", socket.IPPROTO_TCP, ("TCP", "TCPv6"), False, "tcp")
UDP = Transport("udp", "UDP", socket.IPPROTO_UDP, ("UDP", "UDPv6"), True, "udp")
UDPLITE = Transport("udplite", "UDP-Lite", netlink.IPPROTO_UDPLITE, ("UDP-Lite", "UDPLITEv6"), True, "udplite")
SCTP = Transport("sctp", "SCTP", netlink.IPPROTO_SCTP, ("SCTP", "SCTPv6"), False, None)
DCCP = Transport("dccp", "DCCP", netlink.IPPROTO_DCCP, ("DCCP", "DCCPv6"), False, None)
MPTCP = Transport("mptcp", "MPTCP", netlink.IPPROTO_MPTCP, ("MPTCP", "MPTCPv6"), False, None)
# Raw sockets: "datagram" (a listener is a bound, unconnected one), their port the IP protocol.
RAW = Transport("raw", "raw IP", socket.IPPROTO_RAW, ("RAW", "RAWv6"), True, "raw")
# TCP and UDP are in every kernel: when they cannot be dumped, everything falls back to /proc/net.
CORE = (TCP, UDP)
# The others may be absent (not built, module not loaded, or removed as DCCP was in Linux 6.16);
# raw sockets are always there, but their diag handler (raw_diag) often is not: /proc/net/raw is read then.
OPTIONAL = (UDPLITE, SCTP, DCCP, MPTCP, RAW)
TRANSPORTS = CORE + OPTIONAL
DATAGRAM = frozenset(t.name for t in TRANSPORTS if t.datagram)
# Kept for callers that name the pairs: (name, IPPROTO_*) of the transports always present.
PROTOCOLS = tuple((t.name, t.number) for t in CORE)

METHOD_NETLINK = "netlink sock_diag (TCP: LISTEN state only; UDP: all)"
PROTOCOLS_LIMIT = 64 * 1024  # /proc/net/protocols: one short line per registered protocol
SCTP_EPS_LIMIT = 64 * 1024 * 1024  # one line per SCTP endpoint
# /proc/net/{tcp,udp,...}{,6}: 150 bytes a socket, so a million sockets; past it the table is a gap.
PROC_NET_TABLE_LIMIT = 256 * 1024 * 1024
COUNTERS_LIMIT = 64 * 1024  # /proc/net/sockstat and snmp: a few lines
METHOD_SOCKSTAT = "/proc/net/sockstat (TIME_WAIT) and /proc/net/snmp (CurrEstab)"
METHOD_OWNERS = "/proc/[pid]/fd and psutil (listeners only)"


@record
class SocketRow:
    """One socket, from either source, in the shape the collector needs."""

    protocol: str  # a Transport name: "tcp", "udp", "udplite", "sctp", "dccp", "mptcp", "raw"
    family: str  # "ipv4" | "ipv6"
    state: int
    address: str
    port: int
    uid: int
    inode: int
    v6only: bool | None
    interface_index: int = 0
    transparent: bool | None = None  # IP_TRANSPARENT; None: not reported (/proc/net, Linux before 5.10)

    @property
    def is_listener(self) -> bool:
        if self.protocol in DATAGRAM:
            # bound, unconnected UDP / UDP-Lite; an unconnected raw socket (its port: the IP protocol)
            return self.state == STATE_CLOSE and self.port != 0
        return self.state == STATE_LISTEN  # TCP, SCTP, DCCP, MPTCP: SCTP_SS_LISTENING is 10 too


# ---------------------------------------------------------------- sources

def _family_of(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def read_transport_netlink(transport: Transport, timeout: float = 10.0) -> list[SocketRow]:
    """One transport's sockets (listeners only, for the connection-oriented ones), from sock_diag.

    An SCTP endpoint may be bound to several addresses (sctp_bindx): it becomes one row per
    address, each judged on its own.  Raises OSError (errno ENOENT: no diag handler).
    """
    rows = []
    for family, family_number, _suffix in FAMILIES:
        for entry in netlink.dump(family_number, transport.number, states=transport.states, timeout=timeout):
            for address in entry.local_addresses or (entry.src,):
                row_family = _family_of(address) if entry.local_addresses else family
                rows.append(
                    SocketRow(transport.name, row_family, entry.state, address, entry.sport, entry.uid, entry.inode,
                              entry.v6only if row_family == "ipv6" else None, entry.interface_index,
                              entry.transparent)
                )
    return rows


def read_sockets_netlink(timeout: float = 10.0, transports: tuple[Transport, ...] = CORE) -> list[SocketRow]:
    """TCP listeners and every UDP socket (or the given transports), from sock_diag.  Raises OSError."""
    rows = []
    for transport in transports:
        rows += read_transport_netlink(transport, timeout)
    return rows


def kernel_protocols(proc: str = PROC) -> dict[str, int | None]:
    """The protocols the running kernel has registered, with their sockets in use in this network
    namespace (first and third columns of /proc/net/protocols; None when not a number).

    A transport built as a module that is not loaded is absent: then no socket of it can exist.
    Raises OSError or ValueError.
    """
    text = read_regular(f"{proc}/net/protocols", PROTOCOLS_LIMIT).decode("ascii", "replace")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("protocol"):
        raise ValueError(f"{proc}/net/protocols: no 'protocol' header line")
    found: dict[str, int | None] = {}
    for line in lines[1:]:
        fields = line.split()
        if fields:
            found[fields[0]] = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None
    return found


def _in_use(transport: Transport, proc: str) -> int | None:
    """Sockets of ``transport`` in use here, by the kernel's counter; None when it cannot be read."""
    try:
        counts = kernel_protocols(proc)
    except (OSError, ValueError):
        return None
    values = [counts.get(name) for name in transport.kernel_names if name in counts]
    if not values or any(value is None for value in values):
        return None
    return sum(value for value in values if value is not None)


def _has_transport(transport: Transport, proc: str) -> tuple[bool | None, str]:
    """Whether the kernel has ``transport`` (None when that cannot be told), and the evidence."""
    try:
        names = kernel_protocols(proc)
    except (OSError, ValueError) as exc:
        return None, f"whether the kernel has {transport.label} is unknown: {proc}/net/protocols: {exc}"
    present = sorted(set(transport.kernel_names) & names.keys())
    if present:
        return True, f"the kernel has {transport.label} ({', '.join(present)} in {proc}/net/protocols)"
    return False, (f"{transport.label} is not available in this kernel (no {' or '.join(transport.kernel_names)} "
                   f"in {proc}/net/protocols: not built, module not loaded, or removed): no {transport.label} "
                   f"socket can exist")


@mutable_record
class OptionalRead:
    """What the optional transports gave: rows, gaps, and how each was read (for provenance)."""

    rows: list[SocketRow]
    gaps: list[Gap]
    methods: list[str]


def _absent_or_unreadable(transport: Transport, why: str, proc: str, fallback: str | None = None) -> tuple[Gap, str]:
    """The Gap (and provenance note) for a transport that could not be read by any means here."""
    has, evidence = _has_transport(transport, proc)
    path = ("listeners", transport.name)
    if has is False:
        return Gap(section="sockets", path=path, reason=evidence, kind=GapKind.NOT_APPLICABLE), \
            f"{transport.name}: not in this kernel"
    if transport is MPTCP and has:
        # The TCP subflow of every MPTCP listener is in the TCP table: nothing is missed, but it
        # is labelled tcp, so an exception for protocol tcp reaches it.
        return Gap(section="sockets", path=path, kind=GapKind.NOT_APPLICABLE,
                   reason=f"MPTCP listeners are seen only as their TCP subflow listener, with protocol tcp: "
                          f"{why}"), "mptcp: as tcp (subflow listeners)"
    detail = f"; {fallback}" if fallback else ""
    return Gap(section="sockets", path=path,
               reason=f"{transport.label} listeners could not be read: {why}{detail} ({evidence})"), \
        f"{transport.name}: unreadable"


def read_optional_netlink(timeout: float = 10.0, proc: str = PROC,
                          transports: tuple[Transport, ...] = OPTIONAL) -> OptionalRead:
    """UDP-Lite, SCTP, DCCP and MPTCP (or the given ones) from sock_diag; each that fails is read
    from /proc/net when it has a table there, else it is a Gap (not_applicable when the kernel
    does not have it)."""
    result = OptionalRead([], [], [])
    for transport in transports:
        if transport is MPTCP and _in_use(transport, proc) == 0:
            # The MPTCP dump walks the whole token hash (milliseconds even when empty); the kernel's
            # in-use counter, raised by listen(), says when there is nothing to find.
            result.methods.append(f"mptcp: none in use ({proc}/net/protocols)")
            continue
        try:
            result.rows += read_transport_netlink(transport, timeout)
            result.methods.append(f"{transport.name}: netlink")
            continue
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                why = f"sock_diag has no {transport.label} handler (ENOENT)"
            else:
                why = f"netlink sock_diag {transport.label} dump failed: {exc}"
        _read_optional_proc(transport, proc, why, result)
    return result


def _read_optional_proc(transport: Transport, proc: str, why: str, result: OptionalRead) -> None:
    """Read one optional transport from /proc/net (after ``why`` netlink could not), into ``result``."""
    try:
        if transport.proc_table is not None:
            rows = _read_proc_table(transport, proc)
            source = f"{proc}/net/{transport.proc_table},{transport.proc_table}6"
        elif transport is SCTP:
            rows = _read_sctp_eps(proc)
            source = f"{proc}/net/sctp/eps"
        else:
            gap, note = _absent_or_unreadable(transport, why, proc, f"{proc}/net has no {transport.label} table")
            result.gaps.append(gap)
            result.methods.append(note)
            return
    except FileNotFoundError as exc:
        gap, note = _absent_or_unreadable(transport, why, proc, f"{exc.filename}: not present")
        result.gaps.append(gap)
        result.methods.append(note)
        return
    except (OSError, ValueError) as exc:
        result.gaps.append(Gap(section="sockets", path=("listeners", transport.name),
                               reason=f"{transport.label} listeners could not be read: {why}; {exc}"))
        result.methods.append(f"{transport.name}: unreadable")
        return
    result.rows += rows
    result.methods.append(f"{transport.name}: {source} ({why})")


def _ipv6_disabled(proc: str) -> bool:
    return not os.path.exists(f"{proc}/net/if_inet6")


def _read_proc_table(transport: Transport, proc: str) -> list[SocketRow]:
    """Every socket of ``transport`` except TIME_WAIT ones, from /proc/net/<table>{,6}.

    Raises OSError (FileNotFoundError when the IPv4 table is absent) or ValueError.
    """
    rows = []
    for family, _family_number, suffix in FAMILIES:
        path = f"{proc}/net/{transport.proc_table}{suffix}"
        try:
            text = read_regular(path, PROC_NET_TABLE_LIMIT).decode("ascii", "replace")
        except FileNotFoundError:
            if suffix and _ipv6_disabled(proc):
                continue  # IPv6 is disabled: there are no IPv6 sockets to miss
            raise
        for entry in parse_proc_net(text):
            if entry.state == STATE_TIME_WAIT:
                continue  # TCP: counted from sockstat, as with netlink
            rows.append(SocketRow(transport.name, family, entry.state, entry.local_address, entry.local_port,
                                  entry.uid, entry.inode, None))
    return rows


def _read_sctp_eps(proc: str) -> list[SocketRow]:
    """Listening SCTP endpoints from /proc/net/sctp/eps, one row per bound address."""
    path = f"{proc}/net/sctp/eps"
    text = read_regular(path, SCTP_EPS_LIMIT).decode("utf-8", "replace")
    rows = []
    for endpoint in parse_sctp_eps(text):
        for address in endpoint.local_addresses:
            rows.append(SocketRow("sctp", _family_of(address), endpoint.state, address, endpoint.local_port,
                                  endpoint.uid, endpoint.inode, None))
    return rows


def read_sockets_proc_net(proc: str = PROC) -> list[SocketRow]:
    """Every TCP/UDP socket except TIME_WAIT ones, from /proc/net.  Raises OSError or ValueError."""
    rows = []
    for transport in CORE:
        rows += _read_proc_table(transport, proc)
    return rows


def read_optional_proc_net(proc: str = PROC, why: str = "netlink sock_diag unavailable") -> OptionalRead:
    """UDP-Lite, SCTP, DCCP and MPTCP from /proc/net where it has them; a Gap for each it cannot see."""
    result = OptionalRead([], [], [])
    for transport in OPTIONAL:
        _read_optional_proc(transport, proc, why, result)
    return result


def read_time_wait(proc: str = PROC) -> int:
    """TIME_WAIT sockets (IPv4 and IPv6) from /proc/net/sockstat.  Raises OSError or ValueError."""
    return time_wait_count(parse_sockstat(read_kernel_lines(f"{proc}/net/sockstat")))


def read_kernel_lines(path: str) -> str:
    """A /proc/net counter file the kernel writes in whole lines (sockstat, snmp).  Raises OSError,
    or ValueError where the read does not end in a newline: empty or cut short, it may hold a number
    cut inside ("tw 12" of "tw 12345"), which would be counted as the kernel's."""
    raw = read_regular(path, COUNTERS_LIMIT)
    if not raw.endswith(b"\n"):
        raise ValueError(f"{'empty' if not raw else 'cut short'}: it does not end in the newline the kernel prints "
                         "after every line, so its counts are not the kernel's")
    return raw.decode("ascii", "replace")


def read_established(proc: str = PROC) -> int:
    """ESTABLISHED + CLOSE_WAIT connections from /proc/net/snmp.  Raises OSError or ValueError."""
    return established_count(parse_snmp(read_kernel_lines(f"{proc}/net/snmp")))


# ---------------------------------------------------------------- listeners and owners

@lru_cache(maxsize=256)
def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _interface_name(index: int) -> str | None:
    if not index:
        return None
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)  # the interface went away; its index is still the truth


def _sort_key(listener: Listener) -> tuple:
    return (listener.protocol, listener.family, _packed(listener.address), listener.port, listener.inode or 0)


@lru_cache(maxsize=4096)
def _packed(address: str) -> bytes:
    # Asked once per listener, about few distinct addresses.
    return ipaddress.ip_address(address).packed


def _mptcp_subflow_keys(rows: list[SocketRow]) -> set[tuple[str, str, int, int]]:
    """(family, address, port, inode) of each MPTCP listener: its TCP subflow listener has the same."""
    return {(row.family, row.address, row.port, row.inode)
            for row in rows if row.protocol == MPTCP.name and row.is_listener and row.inode}


def listeners_from_rows(rows: list[SocketRow]) -> list[Listener]:
    """Listeners (no processes yet), in deterministic order.

    The TCP subflow listener of an MPTCP listener (same address, port and inode) is left out: the
    MPTCP listener stands for both, so it is reported once and judged as mptcp.
    """
    subflows = _mptcp_subflow_keys(rows)
    users: dict[int, str | None] = {}  # asked once a uid: each getpwuid reads the password database

    def user_of(uid: int) -> str | None:
        if uid not in users:
            users[uid] = _user_name(uid)
        return users[uid]

    listeners = [
        listener_of_row(row.protocol, row.family, row.address, row.port,
                        # an IPv6 raw socket never receives IPv4 (raw_v4_input looks at IPv4 raw sockets
                        # only), whatever its IPV6_V6ONLY says
                        (True if row.protocol == RAW.name else row.v6only) if row.family == "ipv6" else None,
                        _interface_name(row.interface_index), row.uid, user_of(row.uid), row.inode, row.transparent)
        for row in rows
        if row.is_listener
        and not (row.protocol == TCP.name and (row.family, row.address, row.port, row.inode) in subflows)
    ]
    return sorted(listeners, key=_sort_key)


@mutable_record
class FdScan:
    owners: dict[int, list[int]]  # socket inode -> pids holding it
    unreadable: dict[int, int]  # pid -> uid of a process whose fd table could not be read
    # (pid, socket inode) -> the /proc link that showed it, read again once the process is described
    links: dict[tuple[int, int], str] = field(default_factory=dict, compare=False)


def _note_unreadable(unreadable: dict[int, int], proc: str, pid: int) -> None:
    """Record ``pid`` (by its owner's uid) as a process whose sockets cannot be seen; a process gone
    meanwhile holds nothing."""
    try:
        unreadable[pid] = os.stat(f"{proc}/{pid}").st_uid
    except OSError:
        pass


def scan_socket_owners(inodes: set[int], proc: str = PROC) -> FdScan:
    """Find the processes holding the given socket inodes through the ``/proc/[pid]/fd`` symlinks.

    Every descriptor of every process is read, not only until each inode has a holder: a socket
    may have several (systemd and the service it started, a server's workers), and each is
    recorded.  The kernel's ``readlink`` is most of the cost (about 2.5 us a descriptor on the
    development VM), so each table is read at C speed (:func:`auditor.collect.fdtables.read_table`)
    and the links compared whole with the texts the kernel writes for the wanted inodes (issue
    16).  The tables are kept for this collection's network namespace discovery, which would
    otherwise read every descriptor again."""
    owners: dict[int, set[int]] = {}
    unreadable: dict[int, int] = {}
    links: dict[tuple[int, int], str] = {}
    with os.scandir(proc) as entries:
        pids = sorted(int(entry.name) for entry in entries if entry.name.isascii() and entry.name.isdigit())
    if not inodes:
        # No listener needs an owner: nothing to look for in the host's descriptors.  (/proc itself
        # was listed above, so an unreadable /proc is still the failure it always was.)
        return FdScan({}, {})
    wanted = {f"socket:[{inode}]": inode for inode in inodes}  # the link text sockfs_dname writes
    tables: dict[int, FdTable | None] = {}
    for pid in pids:
        started = process_start(proc, pid)  # before the table: a pid reused between the two is a mismatch later
        table = read_table(proc, pid)
        if table is None:
            tables[pid] = None
            continue  # exited meanwhile
        tables[pid] = replace(table, started=started)  # kept for discovery, which checks it is still this process
        for part in table.parts():  # its own table, a thread's own, an io_uring's registered files
            if part.refused:
                # what it holds is unknown, as for a table that cannot be listed at all (the holders
                # read before the refused descriptor are still recorded)
                _note_unreadable(unreadable, proc, pid)
            if wanted.keys().isdisjoint(part.targets):
                continue
            for fd, target in zip(part.fds, part.targets):
                inode = wanted.get(target)
                if inode is not None:
                    owners.setdefault(inode, set()).add(pid)
                    links.setdefault((pid, inode), f"{part.fd_dir}/{fd}")
    keep_tables(proc, tables)
    return FdScan({inode: sorted(pids) for inode, pids in owners.items()}, unreadable, links)


def still_holds(scan: FdScan, pid: int, inode: int) -> bool:
    """Whether ``pid`` holds socket ``inode`` now, by the descriptor the scan found it through.

    Asked after the process was described: a holder that exited between the scan and then may
    have left its pid to another process, whose name and executable are not the holder's.  Only
    a process holding the socket has a descriptor that points at its inode."""
    link = scan.links.get((pid, inode))
    if link is None:
        return True  # a scan that did not record how (built by hand): nothing to read again
    return links_to_socket(link, inode)


def links_to_socket(link: str, inode: int) -> bool:
    """Whether the descriptor at ``link`` (``/proc/PID/fd/N``, a thread's ``/proc/PID/task/TID/fd/N``,
    or slot S of an io_uring's registered files, ``/proc/PID/fdinfo/RING/S``) still points at
    socket ``inode``: False once it was closed, or its number reused for another file."""
    fdinfo, _, slot = link.rpartition("/")
    if "/fdinfo/" in fdinfo:
        return (slot, f"socket:[{inode}]") in (registered_files(fdinfo) or ())
    try:
        return os.readlink(link) == f"socket:[{inode}]"
    except OSError:
        return False


def _files_of_the_host(proc: str, pid: int, known: dict[tuple[int, int], str | None]) -> str | None:
    """Why ``pid``'s executable path proves nothing about the host's file of that name, or None
    when it does: the path is the one its mount namespace sees, and a mount namespace of a user
    namespace other than the host's is one any user can make (``unshare --user --mount``) and
    mount anything of theirs at /usr/sbin/sshd in.  ``known``: the answer by mount namespace."""
    try:
        st = os.stat(f"{proc}/{pid}/ns/mnt")
    except OSError as exc:
        return f"its mount namespace could not be read ({exc.strerror or exc})"
    key = (st.st_dev, st.st_ino)
    if key in known:
        return known[key]
    why: str | None
    try:
        fd = os.open(f"{proc}/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        try:
            user_ns = owning_user_namespace(fd)
        finally:
            os.close(fd)
        why = None if user_ns == PROC_USER_INIT_INO else (
            f"it runs in mount namespace mnt:[{st.st_ino}] of user namespace user:[{user_ns}], not the host's: any "
            "user can make such a pair and mount a file of theirs at any path in it, so the path it gives proves "
            "nothing about the file of that name")
    except OSError as exc:
        why = f"the user namespace owning its mount namespace could not be read ({exc.strerror or exc})"
    known[key] = why
    return why


def describe_process(pid: int, record_cmdline: bool = False, proc: str = PROC,
                     mounts: dict[tuple[int, int], str | None] | None = None,
                     judge: MountJudge | None = None) -> tuple[ProcessInfo, dict[str, str]]:
    """psutil details of one process, and ``{field: reason}`` for each detail it could not read.
    ``mounts`` and ``judge``: what the processes described before learnt of their mount namespaces.

    Of the command line only argv[0] and its SHA-256 are kept unless ``record_cmdline``."""
    # psutil is imported by the first listener with an owner to describe, not by every run: a run
    # whose listeners have no visible owner (a --root image, a container) never needs it, and its
    # import is 38 M instructions, 3% of a whole evaluate (issue 16).
    import psutil

    missing: dict[str, str] = {}
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        reason = "process exited during collection"
        return ProcessInfo(pid=pid), {name: reason for name in ("name", "exe", "user", "cmdline")}
    values: dict[str, object] = {}
    with process.oneshot():  # name and user from one read of /proc/PID/stat and status
        for name, getter in (("name", process.name), ("exe", process.exe), ("user", process.username),
                             ("cmdline", process.cmdline)):
            try:
                value = getter()
            except psutil.AccessDenied:
                missing[name] = f"{name} of pid {pid}: permission denied"
                continue
            except psutil.ZombieProcess:
                missing[name] = f"{name} of pid {pid}: zombie process"
                continue
            except psutil.NoSuchProcess:
                missing[name] = f"{name} of pid {pid}: process exited during collection"
                continue
            if value in ("", None):
                missing[name] = f"{name} of pid {pid}: not reported by the kernel"
                continue
            values[name] = value
    # Two tests, each of which alone left a false pass: a mount namespace of a user namespace
    # other than the host's (any user can make one) proves no path at all, and any other path
    # proves the program only where it names the same file here (a container's, or a root-made
    # private mount's file the host lacks, is not the host's program of that name).
    if "exe" in values:
        untrusted = _files_of_the_host(proc, pid, {} if mounts is None else mounts)
        if untrusted is not None:
            missing["exe"] = f"exe of pid {pid} ({values.pop('exe')}): {untrusted}"
    exe = values.get("exe")
    if isinstance(exe, str):
        elsewhere = exe_elsewhere(pid, exe, proc, judge)
        if elsewhere is not None:
            del values["exe"]
            missing["exe"] = elsewhere
    values.update(cmdline_fields(values.pop("cmdline", None), record_cmdline))  # type: ignore[arg-type]
    return ProcessInfo(pid=pid, **values), missing


def exe_elsewhere(pid: int, exe: str, proc: str = PROC, judge: MountJudge | None = None) -> str | None:
    """Why ``exe`` (``readlink /proc/PID/exe``) does not prove here what the process runs, or None.

    The kernel gives the path of the running file as the process's own mount namespace sees it.
    Any user can make one (``unshare -Urm``) and bind-mount a file of theirs over a root-owned
    path there, and a container's paths are its image's: an interpreter bound over /usr/bin/true
    read as /usr/bin/true, and met an exception ``{exe: /usr/bin/true}`` on a listener in the host's
    network namespace.  The path proves the program only where it names that same file here (the
    device and inode of /proc/PID/exe); a deleted file (`` (deleted)``) names none.

    Neither file is stat'ed unless the running file's mount is of a file system the kernel
    answers for itself (:mod:`auditor.collect.fdmounts`): a program run from a FUSE file system
    whose server never answers (or a dead NFS) kept that stat, and the collection, waiting for ever.
    ``judge``: the collection's (each mount table read once for all the processes it describes)."""
    mount = (judge if judge is not None else MountJudge(proc)).executable_mount(f"{proc}/{pid}", exe)
    if not isinstance(mount, Mount) or not mount.answered_in_kernel:
        why = (f"a {mount.fstype} file system (mounted on {mount.point}), whose stat(2) may wait for ever on its "
               "server" if isinstance(mount, Mount) else mount)
        return f"exe of pid {pid}: {exe} could not be compared with the file it runs without waiting on it ({why})"
    try:
        running = os.stat(f"{proc}/{pid}/exe")
    except OSError as exc:
        return f"exe of pid {pid}: {exe} could not be compared with the file it runs ({exc.strerror or exc})"
    try:
        here = os.stat(exe)
    except FileNotFoundError:
        here = None
    except OSError as exc:  # a directory this run may not search (an unprivileged run, /root/...)
        return f"exe of pid {pid}: {exe} could not be compared with the file at that path here ({exc.strerror or exc})"
    if here is None or (here.st_dev, here.st_ino) != (running.st_dev, running.st_ino):
        return (f"exe of pid {pid}: {exe} is the path of what it runs as its own mount namespace sees it (a "
                "container's, or one any user can make with unshare), and here "
                + ("no file is at that path" if here is None else "that path is another file"))
    return None


def _unattributed_reason(listener: Listener, scan: FdScan) -> str:
    if not listener.inode:
        return "owner not attributable: the socket has no inode (held by the kernel, not by a process)"
    if scan.unreadable:
        same_uid = sorted(pid for pid, uid in scan.unreadable.items() if uid == listener.uid)
        examples = (same_uid or sorted(scan.unreadable))[:5]
        how = "without privileges" if os.geteuid() != 0 else "(permission denied even as root)"
        return (
            f"owner not attributable: /proc/<pid>/fd not readable {how} for {len(scan.unreadable)} processes "
            f"({len(same_uid)} with the socket's uid {listener.uid}; e.g. pids {', '.join(map(str, examples))})"
        )
    return (
        f"owner not attributable: no process visible here holds socket inode {listener.inode} "
        "(a kernel socket, a process in another PID namespace, or one that exited during collection)"
    )


def attribute_owners(listeners: list[Listener], proc: str = PROC,
                     record_cmdline: bool = False) -> tuple[list[Listener], list[Gap]]:
    """Fill ``processes`` (or ``owner_reason``) of each listener; one Gap per thing not seen."""
    scan: FdScan | None = None
    scan_failure = ""
    try:
        scan = scan_socket_owners({listener.inode for listener in listeners if listener.inode}, proc)
    except OSError as exc:
        scan_failure = f"owner not attributable: {proc} not readable: {exc.strerror or exc}"
    return attribute_scanned(listeners, scan, scan_failure, proc, record_cmdline)


def attribute_scanned(listeners: list[Listener], scan: FdScan | None, scan_failure: str = "", proc: str = PROC,
                      record_cmdline: bool = False) -> tuple[list[Listener], list[Gap]]:
    """:func:`attribute_owners` from a scan made already (None: it failed, ``scan_failure`` says why)."""
    gaps: list[Gap] = []
    unlisted = unlisted_processes(proc) if scan is not None and listeners else None
    result = []
    described: dict[int, tuple[ProcessInfo, dict[str, str]]] = {}
    mounts: dict[tuple[int, int], str | None] = {}  # whether each mount namespace's paths are the host's
    # One read of each mount table for all the processes described: a judge each re-read its
    # process's and the collector's, thousands of lines on a container host (mounts20).
    judge = MountJudge(proc)
    for index, listener in enumerate(listeners):
        pids = scan.owners.get(listener.inode or 0, []) if scan else []
        processes = []
        replaced = []
        for pid in pids:
            if pid not in described:  # a process holding many listeners is asked about once
                described[pid] = describe_process(pid, record_cmdline, proc, mounts, judge)
            if scan is not None and listener.inode and not still_holds(scan, pid, listener.inode):
                replaced.append(pid)
                continue
            processes.append(described[pid])
        if replaced:
            gaps.append(gap_at("sockets", ("listeners", index, "processes"),
                               f"{listener.protocol} {listener.endpoint}: pid {', '.join(map(str, replaced))} no "
                               "longer held it once described (exited, its pid perhaps reused by another "
                               "process): other processes may hold it"))
        if not processes:
            if replaced:
                why = (f"owner not attributable: pid {', '.join(map(str, replaced))} held socket inode {listener.inode} "
                       "but no longer did once described (exited, its pid perhaps reused by another process)")
            else:
                why = _unattributed_reason(listener, scan) if scan else scan_failure
            if unlisted and listener.inode:  # the holder may be a process this /proc does not list
                why = f"{why}; {unlisted}"
            if not replaced:
                gaps.append(gap_at("sockets", ("listeners", index, "processes"),
                                   f"{listener.protocol} {listener.endpoint}: {why}"))
            result.append(copy_with(listener, {"owner_reason": why}, held=True))
            continue
        if scan is not None and scan.unreadable:
            # A socket can be shared (fork, fd passing): a process whose fd table could not be read
            # may hold it too, so the holders seen are not known to be all of them.
            gaps.append(gap_at("sockets", ("listeners", index, "processes"),
                               f"{listener.protocol} {listener.endpoint}: other processes may hold it too: "
                               f"/proc/<pid>/fd not readable for {len(scan.unreadable)} processes"))
        if unlisted:  # nor may a process that /proc does not list at all
            gaps.append(gap_at("sockets", ("listeners", index, "processes"),
                               f"{listener.protocol} {listener.endpoint}: other processes may hold it too: {unlisted}"))
        for position, (_info, missing) in enumerate(processes):
            for name, why in sorted(missing.items()):
                gaps.append(gap_at("sockets", ("listeners", index, "processes", position, name), why))
        # copy_with: pydantic's model_copy was a third of attributing 5,000 listeners (issue 16).
        result.append(copy_with(listener, {"processes": [info for info, _missing in processes]}, held=True))
    return result, gaps


TRANSPARENT_UNREPORTED = "the kernel did not report IP_TRANSPARENT (INET_DIAG_SOCKOPT, Linux 5.10+)"


def transparent_unshown(unavailable: str) -> str:
    """Why the /proc/net fallback leaves a listener's transparency unknown."""
    return f"IP_TRANSPARENT is not shown in /proc/net ({unavailable})"


def transparent_gaps(listeners: list[Listener], why: str) -> list[Gap]:
    """A gap for each listener whose IP_TRANSPARENT is unknown, of a transport TPROXY can hand
    packets for any address (for the others it changes nothing that reaches them)."""
    return [
        gap_at("sockets", ("listeners", index, "transparent"), f"{l.protocol} {l.endpoint}: {why}")
        for index, l in enumerate(listeners)
        if l.transparent is None and l.protocol in TPROXY_PROTOCOLS
    ]


def steering_gaps(listeners: list[Listener]) -> list[Gap]:
    """A gap for each TCP, UDP or MPTCP listener of the calling thread's network namespace when a
    BPF sk_lookup program attached to it can hand the listener connections sent to any address and
    port (:mod:`sk_lookup`), or when whether one is attached could not be read: its address then
    does not bound what reaches it, as for a transparent socket under a TPROXY rule."""
    steered = [(i, l) for i, l in enumerate(listeners) if l.protocol in TPROXY_PROTOCOLS]
    if not steered:
        return []
    try:
        links = sk_lookup.attached_here()
    except sk_lookup.SkLookupError as exc:
        why = (f"whether a BPF sk_lookup program is attached to its network namespace is unknown ({exc.strerror}): "
               "one can hand it connections and datagrams sent to any address and port")
    else:
        if not links:
            return []
        named = "; ".join(f"link {link}, program {program}" for link, program in links)
        why = (f"a BPF sk_lookup program is attached to its network namespace ({named}): it can hand it "
               "connections and datagrams sent to any address and port")
    return [gap_at("sockets", ("listeners", i, STEERED), f"{l.protocol} {l.endpoint}: {why}") for i, l in steered]


def _v6only_gaps(listeners: list[Listener], why: str) -> list[Gap]:
    return [
        gap_at("sockets", ("listeners", index, "v6only"), f"{l.protocol} {l.endpoint}: {why}")
        for index, l in enumerate(listeners)
        if l.family == "ipv6" and l.v6only is None
    ]


# ---------------------------------------------------------------- counts and the collector

def count_states(rows: list[SocketRow] | None, time_wait: int, established: int | None) -> dict[str, int]:
    """Counts from kernel counters (and the listener dump), never from a walk over connections."""
    counts = {"TIME_WAIT": time_wait}
    if established is not None:
        counts[ESTABLISHED_KEY] = established
    if rows is not None:
        counts["LISTEN"] = sum(1 for row in rows if row.protocol == "tcp" and row.state == STATE_LISTEN)
    return counts


@mutable_record
class ListenerRead:
    """One read of the socket tables: the rows (None: unreadable), its gaps and how it was read."""

    rows: list[SocketRow] | None
    gaps: list[Gap]
    methods: list[str]
    v6only_reason: str
    transparent_reason: str = TRANSPARENT_UNREPORTED


def read_listener_rows(proc: str, timeout: float) -> ListenerRead:
    """Every transport's listeners (and UDP sockets) from sock_diag, else from /proc/net."""
    gaps: list[Gap] = []
    methods: list[str] = []
    rows: list[SocketRow] | None
    v6only_reason = "the kernel did not report IPV6_V6ONLY (INET_DIAG_SKV6ONLY)"
    transparent_reason = TRANSPARENT_UNREPORTED
    optional: OptionalRead | None = None
    try:
        rows = read_sockets_netlink(timeout=timeout)
        methods.append(METHOD_NETLINK)
        optional = read_optional_netlink(timeout=timeout, proc=proc)
    except OSError as netlink_error:
        unavailable = f"netlink sock_diag unavailable: {netlink_error}"
        v6only_reason = f"IPV6_V6ONLY is not shown in /proc/net/tcp6 or udp6 ({unavailable})"
        transparent_reason = transparent_unshown(unavailable)
        try:
            rows = read_sockets_proc_net(proc)
            methods.append(f"/proc/net/tcp,tcp6,udp,udp6 ({unavailable})")
            optional = read_optional_proc_net(proc, why=unavailable)
        except (OSError, ValueError) as proc_error:
            rows = None
            reason = f"{unavailable}; /proc/net fallback failed: {proc_error}"
            gaps += [Gap(section="sockets", field="listeners", reason=reason),
                     Gap(section="sockets", path=("counts", "tcp_by_state", "LISTEN"), reason=reason)]
    if rows is not None and optional is not None:
        rows = rows + optional.rows
        gaps += optional.gaps
        methods.append("other transports: " + "; ".join(optional.methods))
    return ListenerRead(rows, gaps, methods, v6only_reason, transparent_reason)


def _identities(rows: list[SocketRow]) -> set[tuple[str, str, str, int, int]]:
    """Each listener as one socket: a socket closed and another opened on the same address and
    port has a new inode."""
    return {(row.protocol, row.family, row.address, row.port, row.inode) for row in rows if row.is_listener}


def read_listener_identities(proc: str, timeout: float) -> set[tuple[str, str, str, int, int]] | None:
    """``_identities(read_listener_rows(proc, timeout).rows)`` when TCP and UDP can be dumped, each
    of their sockets parsed only as far as which socket it is (:func:`netlink.parse_diag_identity`),
    without a record of it; None when they cannot (the caller then reads the tables whole, as it
    always did, for the rows or the gaps of the fallback).  The read of the tables after the owner
    scan only compares them with the first: their whole parse, twice, was a fifth of collecting
    5,000 listeners (issue 16)."""
    identities = set()
    try:
        for transport in CORE:
            datagram = transport.name in DATAGRAM
            for family, family_number, _suffix in FAMILIES:
                for _family, state, src, port, inode, local_addresses in netlink.dump_identities(
                        family_number, transport.number, states=transport.states, timeout=timeout):
                    # SocketRow.is_listener, of each row read_transport_netlink makes of the socket
                    if not (state == STATE_CLOSE and port != 0 if datagram else state == STATE_LISTEN):
                        continue
                    for address in local_addresses or (src,):
                        identities.add((transport.name, _family_of(address) if local_addresses else family,
                                        address, port, inode))
        optional = read_optional_netlink(timeout=timeout, proc=proc)
    except OSError:
        return None
    return identities | _identities(optional.rows)


SETTLE_ROUNDS = 3  # reads of the tables around an owner scan before a list that keeps changing is a gap


def settled_listeners(read: Callable[[], ListenerRead], proc: str = PROC, record_cmdline: bool = False,
                      rounds: int = SETTLE_ROUNDS,
                      read_identities: Callable[[], set[tuple[str, str, str, int, int]] | None] | None = None,
                      ) -> tuple[ListenerRead, list[Listener] | None, list[Gap]]:
    """The listeners and their owners, as they were across the owner scan.

    The owners are found after the tables are read: a listener closed meanwhile has no holder left
    (its finding would rest on a socket that is gone), and one opened meanwhile (the same port
    reopened on the wildcard) is in no list.  The tables are read again after the scan: when they
    changed, the scan is done again on the new list; a list still changing after ``rounds`` scans
    is an unreadable Gap on the whole list, never a list taken as whole.  Returns the read the
    listeners come from, the listeners (None when unreadable), and the owner and list Gaps.
    ``read_identities``: the listeners' identities as ``read`` would give them, or None when it
    cannot tell them (``read`` is then made whole): what the read after the scan needs, unless the
    list changed.
    """
    current = read()
    for _round in range(rounds):
        if current.rows is None:
            return current, None, []
        attributed, gaps = attribute_owners(listeners_from_rows(current.rows), proc, record_cmdline=record_cmdline)
        before = _identities(current.rows)
        after = read_identities() if read_identities is not None else None
        if after is not None and after == before:
            return current, attributed, gaps
        # Changed (its rows are the next round's), or not told apart: read whole.
        again = read()
        if again.rows is None:
            return current, attributed, gaps + [Gap(
                section="sockets", field="listeners",
                reason="the listeners could not be read again after their owners were looked up, so listeners "
                       "opened meanwhile are unknown: " + "; ".join(g.reason for g in again.gaps))]
        after = _identities(again.rows)
        if before == after:
            return current, attributed, gaps
        if _round == rounds - 1:
            # Still changing: what was read is judged, but is not known to be the whole list.
            return current, attributed, gaps + [Gap(
                section="sockets", field="listeners",
                reason=f"the listeners kept changing while their owners were looked up ({rounds} owner scans, each "
                       f"between two reads of the socket tables; {len(after - before)} opened and "
                       f"{len(before - after)} closed between the last two): the list is not known to be whole")]
        current = again
    raise ValueError(f"rounds must be at least 1, not {rounds}")


def collect_sockets(ctx: CollectContext) -> tuple[SocketFacts | None, list[Gap]]:
    if not ctx.target.runtime:
        return collect_declared_sockets(ctx)  # listeners declared by systemd socket units; no counts
    # netlink opens in the target's network namespace (LocalHost: the caller's); /proc is the target's
    proc = ctx.target.proc
    read, listeners, owner_gaps = settled_listeners(lambda: read_listener_rows(proc, ctx.command_timeout), proc,
                                                    record_cmdline=ctx.record_cmdline,
                                                    read_identities=lambda: read_listener_identities(proc, ctx.command_timeout))
    rows, gaps, methods = read.rows, [*read.gaps], [*read.methods]

    try:
        time_wait: int | None = read_time_wait(proc)
        methods.append(METHOD_SOCKSTAT)
    except (OSError, ValueError) as exc:
        time_wait = None
        gaps.append(Gap(section="sockets", field="counts", reason=f"/proc/net/sockstat: {exc}"))

    try:
        established: int | None = read_established(proc)
    except (OSError, ValueError) as exc:
        established = None
        gaps.append(Gap(section="sockets", path=("counts", "tcp_by_state", ESTABLISHED_KEY),
                        reason=f"/proc/net/snmp: {exc}"))

    if listeners is not None:
        gaps += _v6only_gaps(listeners, read.v6only_reason)
        gaps += transparent_gaps(listeners, read.transparent_reason)
        gaps += steering_gaps(listeners)
        methods.append(METHOD_OWNERS)
    gaps += owner_gaps

    counts = None
    if time_wait is not None:
        counts = SocketCounts(
            time_wait=time_wait,
            tcp_by_state=count_states(rows, time_wait, established),
            udp_sockets=sum(1 for row in rows if row.protocol == "udp") if rows is not None else None,
            method="; ".join(methods),
        )
    return SocketFacts(listeners=listeners, counts=counts), gaps


def describe_sockets(facts: SocketFacts, ctx: CollectContext) -> str:
    """How the sockets were collected, for the provenance."""
    if not ctx.target.runtime:
        return f"systemd socket units under {ctx.root} (declared listeners)"
    return facts.counts.method if facts.counts is not None else "netlink sock_diag or /proc/net (see gaps)"


def summarize_sockets(facts: SocketFacts) -> str:
    """The `lbaudit collect` summary of the section."""
    return f"{'?' if facts.listeners is None else len(facts.listeners)} listeners"
