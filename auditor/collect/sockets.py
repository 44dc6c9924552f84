"""Live sockets: listeners with their owning processes, and counts by TCP state.

The cost must not grow with TIME_WAIT sockets, which a busy host holds by the tens of thousands:

* TCP listeners come from a netlink sock_diag dump that asks the kernel for the LISTEN state only.
  Asking for every state but TIME_WAIT was measured to grow with TIME_WAIT anyway (ratio 1.9 at
  20,000): the kernel must walk the connection table to skip them.  The LISTEN-only dump reads
  the listening hash alone and stays flat;
* counts come from kernel counters, one line each whatever the number of sockets: TIME_WAIT is the
  ``tw`` field of /proc/net/sockstat, ESTABLISHED + CLOSE_WAIT is ``CurrEstab`` of /proc/net/snmp;
* UDP sockets (never in TIME_WAIT) come from a dump of every UDP state;
* processes are looked up for listeners only, by scanning ``/proc/[pid]/fd`` (cost grows with open
  file descriptors, which TIME_WAIT sockets do not have) and asking psutil for process details.

When netlink is unavailable the /proc/net tables are parsed instead (they do list TIME_WAIT rows,
so that fallback is slower on such hosts, and it cannot see IPV6_V6ONLY).  An owner that cannot be
identified is never guessed: the listener keeps ``processes=[]``, an ``owner_reason`` and a Gap.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import socket
from dataclasses import dataclass
from functools import lru_cache

import psutil

from auditor.collect import CollectContext, netlink
from auditor.collect.cmdline import cmdline_fields
from auditor.collect.systemd_sockets import collect_declared_sockets
from auditor.collect.parsers.proc_net import (
    STATE_CLOSE,
    STATE_LISTEN,
    STATE_NEW_SYN_RECV,
    STATE_SYN_RECV,
    STATE_TIME_WAIT,
    established_count,
    parse_proc_net,
    parse_snmp,
    parse_sockstat,
    time_wait_count,
)
from auditor.model.facts import Gap, GapKind, Listener, ProcessInfo, SocketCounts, SocketFacts

PROC = "/proc"
PROTOCOLS = (("tcp", socket.IPPROTO_TCP), ("udp", socket.IPPROTO_UDP))
FAMILIES = (("ipv4", socket.AF_INET, ""), ("ipv6", socket.AF_INET6, "6"))
# The kernel-side state filter of each dump: TCP listeners only; every UDP socket.
TCP_LISTEN_ONLY = 1 << STATE_LISTEN
ESTABLISHED_KEY = "ESTABLISHED+CLOSE_WAIT"  # what tcpCurrEstab counts (RFC 1213)

METHOD_NETLINK = "netlink sock_diag (TCP: LISTEN state only; UDP: all)"
METHOD_SOCKSTAT = "/proc/net/sockstat (TIME_WAIT) and /proc/net/snmp (CurrEstab)"
METHOD_OWNERS = "/proc/[pid]/fd and psutil (listeners only)"


@dataclass(frozen=True)
class SocketRow:
    """One socket, from either source, in the shape the collector needs."""

    protocol: str  # "tcp" | "udp"
    family: str  # "ipv4" | "ipv6"
    state: int
    address: str
    port: int
    uid: int
    inode: int
    v6only: bool | None
    interface_index: int = 0

    @property
    def is_listener(self) -> bool:
        if self.protocol == "tcp":
            return self.state == STATE_LISTEN
        return self.state == STATE_CLOSE and self.port != 0  # bound, unconnected UDP


# ---------------------------------------------------------------- sources

def read_sockets_netlink(timeout: float = 10.0) -> list[SocketRow]:
    """TCP listeners and every UDP socket, from sock_diag.  Raises OSError."""
    rows = []
    for protocol, proto_number in PROTOCOLS:
        for family, family_number, _suffix in FAMILIES:
            states = TCP_LISTEN_ONLY if protocol == "tcp" else netlink.STATES_WITHOUT_TIME_WAIT
            for entry in netlink.dump(family_number, proto_number, states=states, timeout=timeout):
                rows.append(
                    SocketRow(protocol, family, entry.state, entry.src, entry.sport, entry.uid, entry.inode,
                              entry.v6only, entry.interface_index)
                )
    return rows


def _ipv6_disabled(proc: str) -> bool:
    return not os.path.exists(f"{proc}/net/if_inet6")


def read_sockets_proc_net(proc: str = PROC) -> list[SocketRow]:
    """Every TCP/UDP socket except TIME_WAIT ones, from /proc/net.  Raises OSError or ValueError."""
    rows = []
    for protocol, _number in PROTOCOLS:
        for family, _family_number, suffix in FAMILIES:
            path = f"{proc}/net/{protocol}{suffix}"
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                if suffix and _ipv6_disabled(proc):
                    continue  # IPv6 is disabled: there are no IPv6 sockets to miss
                raise
            for entry in parse_proc_net(text):
                if protocol == "tcp" and entry.state == STATE_TIME_WAIT:
                    continue  # counted from sockstat, as with netlink
                rows.append(SocketRow(protocol, family, entry.state, entry.local_address, entry.local_port,
                                      entry.uid, entry.inode, None))
    return rows


def read_time_wait(proc: str = PROC) -> int:
    """TIME_WAIT sockets (IPv4 and IPv6) from /proc/net/sockstat.  Raises OSError or ValueError."""
    with open(f"{proc}/net/sockstat", encoding="utf-8") as handle:
        return time_wait_count(parse_sockstat(handle.read()))


def read_established(proc: str = PROC) -> int:
    """ESTABLISHED + CLOSE_WAIT connections from /proc/net/snmp.  Raises OSError or ValueError."""
    with open(f"{proc}/net/snmp", encoding="utf-8") as handle:
        return established_count(parse_snmp(handle.read()))


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
    return (listener.protocol, listener.family, ipaddress.ip_address(listener.address).packed, listener.port,
            listener.inode or 0)


def listeners_from_rows(rows: list[SocketRow]) -> list[Listener]:
    """Listeners (no processes yet), in deterministic order."""
    listeners = [
        Listener(protocol=row.protocol, family=row.family, address=row.address, port=row.port,
                 v6only=row.v6only if row.family == "ipv6" else None, interface=_interface_name(row.interface_index),
                 uid=row.uid, user=_user_name(row.uid), inode=row.inode)
        for row in rows
        if row.is_listener
    ]
    return sorted(listeners, key=_sort_key)


@dataclass
class FdScan:
    owners: dict[int, list[int]]  # socket inode -> pids holding it
    unreadable: dict[int, int]  # pid -> uid of a process whose fd table could not be read


def scan_socket_owners(inodes: set[int], proc: str = PROC) -> FdScan:
    """Find the processes holding the given socket inodes through the ``/proc/[pid]/fd`` symlinks."""
    owners: dict[int, set[int]] = {}
    unreadable: dict[int, int] = {}
    with os.scandir(proc) as entries:
        pids = sorted(int(entry.name) for entry in entries if entry.name.isdigit())
    for pid in pids:
        fd_dir = f"{proc}/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except FileNotFoundError:
            continue  # exited meanwhile
        except OSError:
            try:
                unreadable[pid] = os.stat(f"{proc}/{pid}").st_uid
            except OSError:
                continue
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:[") and target.endswith("]"):
                inode = int(target[8:-1])
                if inode in inodes:
                    owners.setdefault(inode, set()).add(pid)
    return FdScan({inode: sorted(pids) for inode, pids in owners.items()}, unreadable)


def describe_process(pid: int, record_cmdline: bool = False) -> tuple[ProcessInfo, dict[str, str]]:
    """psutil details of one process, and ``{field: reason}`` for each detail it could not read.

    Of the command line only argv[0] and its SHA-256 are kept unless ``record_cmdline``."""
    missing: dict[str, str] = {}
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        reason = "process exited during collection"
        return ProcessInfo(pid=pid), {name: reason for name in ("name", "exe", "user", "cmdline")}
    values: dict[str, object] = {}
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
    values.update(cmdline_fields(values.pop("cmdline", None), record_cmdline))  # type: ignore[arg-type]
    return ProcessInfo(pid=pid, **values), missing


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
    gaps: list[Gap] = []
    scan: FdScan | None = None
    scan_failure = ""
    try:
        scan = scan_socket_owners({listener.inode for listener in listeners if listener.inode}, proc)
    except OSError as exc:
        scan_failure = f"owner not attributable: {proc} not readable: {exc.strerror or exc}"
    result = []
    for index, listener in enumerate(listeners):
        pids = scan.owners.get(listener.inode or 0, []) if scan else []
        if not pids:
            why = _unattributed_reason(listener, scan) if scan else scan_failure
            gaps.append(Gap(section="sockets", field=f"listeners/{index}/processes",
                            reason=f"{listener.protocol} {listener.endpoint}: {why}"))
            result.append(listener.model_copy(update={"owner_reason": why}))
            continue
        if scan is not None and scan.unreadable:
            # A socket can be shared (fork, fd passing): a process whose fd table could not be read
            # may hold it too, so the holders seen are not known to be all of them.
            gaps.append(Gap(section="sockets", field=f"listeners/{index}/processes",
                            reason=f"{listener.protocol} {listener.endpoint}: other processes may hold it too: "
                                   f"/proc/<pid>/fd not readable for {len(scan.unreadable)} processes"))
        processes = []
        for position, pid in enumerate(pids):
            info, missing = describe_process(pid, record_cmdline)
            processes.append(info)
            for name, why in sorted(missing.items()):
                gaps.append(Gap(section="sockets", field=f"listeners/{index}/processes/{position}/{name}", reason=why))
        result.append(listener.model_copy(update={"processes": processes}))
    return result, gaps


def _v6only_gaps(listeners: list[Listener], why: str) -> list[Gap]:
    return [
        Gap(section="sockets", field=f"listeners/{index}/v6only", reason=f"{l.protocol} {l.endpoint}: {why}")
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


def collect_sockets(ctx: CollectContext) -> tuple[SocketFacts | None, list[Gap]]:
    if not ctx.live:
        return collect_declared_sockets(ctx)  # listeners declared by systemd socket units; no counts
    gaps: list[Gap] = []
    methods: list[str] = []
    rows: list[SocketRow] | None
    v6only_reason = "the kernel did not report IPV6_V6ONLY (INET_DIAG_SKV6ONLY)"
    try:
        rows = read_sockets_netlink(timeout=ctx.command_timeout)
        methods.append(METHOD_NETLINK)
    except OSError as netlink_error:
        unavailable = f"netlink sock_diag unavailable: {netlink_error}"
        v6only_reason = f"IPV6_V6ONLY is not shown in /proc/net/tcp6 or udp6 ({unavailable})"
        try:
            rows = read_sockets_proc_net()
            methods.append(f"/proc/net/tcp,tcp6,udp,udp6 ({unavailable})")
        except (OSError, ValueError) as proc_error:
            rows = None
            reason = f"{unavailable}; /proc/net fallback failed: {proc_error}"
            gaps += [Gap(section="sockets", field="listeners", reason=reason),
                     Gap(section="sockets", field="counts/tcp_by_state/LISTEN", reason=reason)]

    try:
        time_wait: int | None = read_time_wait()
        methods.append(METHOD_SOCKSTAT)
    except (OSError, ValueError) as exc:
        time_wait = None
        gaps.append(Gap(section="sockets", field="counts", reason=f"/proc/net/sockstat: {exc}"))

    try:
        established: int | None = read_established()
    except (OSError, ValueError) as exc:
        established = None
        gaps.append(Gap(section="sockets", field=f"counts/tcp_by_state/{ESTABLISHED_KEY}",
                        reason=f"/proc/net/snmp: {exc}"))

    listeners = None
    if rows is not None:
        listeners = listeners_from_rows(rows)
        gaps += _v6only_gaps(listeners, v6only_reason)
        listeners, owner_gaps = attribute_owners(listeners, record_cmdline=ctx.record_cmdline)
        gaps += owner_gaps
        methods.append(METHOD_OWNERS)

    counts = None
    if time_wait is not None:
        counts = SocketCounts(
            time_wait=time_wait,
            tcp_by_state=count_states(rows, time_wait, established),
            udp_sockets=sum(1 for row in rows if row.protocol == "udp") if rows is not None else None,
            method="; ".join(methods),
        )
    return SocketFacts(listeners=listeners, counts=counts), gaps
