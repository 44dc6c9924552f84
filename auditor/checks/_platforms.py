"""How the network checks read the facts of a Windows or macOS host (pure).

The checks keep one meaning per finding on every OS; what differs is where the numbers come from:

* the ephemeral (dynamic) port range: Linux ``net.ipv4.ip_local_port_range`` minus
  ``ip_local_reserved_ports`` (:mod:`._sysctl`); Windows one range per protocol and IP family from
  ``netsh int ipv4|ipv6 show dynamicport tcp|udp``, plus the legacy ``MaxUserPort`` registry value;
  macOS ``net.inet.ip.portrange.first``-``last`` for every protocol and family;
* how long a closed connection holds its port: Linux a fixed 60 s; Windows ``TcpTimedWaitDelay``
  (unset: 120 s); macOS 2 x ``net.inet.tcp.msl`` (milliseconds) and up to 22 s more, until XNU's
  PCB garbage collector frees it (:data:`MACOS_REAPER_LATENESS_SECONDS`);
* socket logging: Linux auditd rules; Windows the "Filtering Platform Connection" audit
  subcategory; macOS audit(4) with the network class.
"""

from __future__ import annotations

from fractions import Fraction

from auditor.checks._sysctl import EphemeralPool, PoolLookup, SysctlValueError, lookup, parse_int, with_held_ports
from auditor.model.base import json_pointer
from auditor.model.facts import PLATFORM_NAMES, HostSnapshot
from auditor.model.records import record

# TcpTimedWaitDelay when the registry does not set it.  Microsoft's TCP/IP registry reference
# (Windows Server 2003 and later, "TcpTimedWaitDelay": REG_DWORD, default 0x78 = 120 seconds,
# range 30-300); Windows 2000 used 240 s, which no supported Windows does.
WINDOWS_TIME_WAIT_DEFAULT = 120
WINDOWS_TIME_WAIT_RANGE = (30, 300)
WINDOWS_TIME_WAIT_SOURCE = ("TcpTimedWaitDelay is not set, so the Windows default applies: 120 s (Microsoft's "
                            "TCP/IP registry reference, Windows Server 2003 and later: 0x78)")
# The range MaxUserPort bounded before Windows Vista: 1025 up to it (KB 929851).
MAX_USER_PORT_LOW = 1025
# MaxUserPort's documented valid range (REG_DWORD 5000-65534, KB 196271 and the TCP/IP registry
# reference); what the stack does with another value (clamped? the default 5000?) is not documented.
MAX_USER_PORT_RANGE = (5000, 65534)
MACOS_FIRST = "net.inet.ip.portrange.first"
MACOS_LAST = "net.inet.ip.portrange.last"
MACOS_RANGE_FLOOR = 1024  # IPPORT_RESERVED: XNU clamps portrange.first/last to 1024-65535
MACOS_MSL = "net.inet.tcp.msl"
# How long after 2 x MSL a macOS port may still be held.  XNU (apple-oss-distributions/xnu, the same
# from xnu-2422, OS X 10.9, to xnu-11417, macOS 15) runs no timer that ends TIME_WAIT:
# bsd/netinet/tcp_timer.c add_to_time_wait_locked only records when 2 x MSL is over
# (t_timer[TCPT_2MSL] = tcp_now + 2 * tcp_msl) and queues the socket on tcp_tw_tailq; the port is
# freed when the PCB garbage collector next runs and finds that time past (tcp_gc ->
# tcp_garbage_collect -> tcp_close, in_pcbdispose -> in_pcbremlists, bsd/netinet/in_pcb.c), and a
# connect() does not reap an expired one itself (in_pcblookup_local_and_cleanup disposes only PCBs
# already closed).  While any socket is in TIME_WAIT, tcp_gc asks for a lazy run again (intimer_lazy
# += ipi_twcount), and in_pcb.c inpcb_timeout / _inpcb_sched_timeout arm it due 1 s after the run
# with inpcb_timeout_lazy = 10 s of leeway (thread_call_enter_delayed_with_leeway,
# THREAD_CALL_DELAY_LEEWAY: it fires by the deadline plus the leeway, osfmk/kern/thread_call.c): a
# run can come 11 s after the one that just missed 2 x MSL.  And tcp_gc gives up a run whose
# try-lock of the PCB list fails when the one before completed (tcp_gc_done), so one more 11 s can
# pass before the run that blocks for the lock and frees it: 22 s.  Not counted (as Linux's
# softirq): how long the thread-call worker waits for a CPU, a busy lock, a content filter that
# defers the socket's entry to TIME_WAIT (cfil_sock_tcp_add_time_wait), a peer's retransmitted FIN
# that restarts 2 x MSL.  Collector runs other closes ask for (INPCB_TIMER_FAST) only come sooner.
# Which connections share a port held in TIME_WAIT.  Linux's connect() gives one port to
# connections to different destinations (the figure is per (source, destination, port) tuple);
# XNU's does not: in_pcbbind (bsd/netinet/in_pcb.c), for connect()'s implicit bind, forces wild = 1
# ("we always use an unused port") and looks the port up by local address and port alone
# (in_pcblookup_local_and_cleanup), and in6_pcbsetport (bsd/netinet6/in6_src.c) does the same unless
# the socket sets SO_REUSEADDR or SO_REUSEPORT: a port in TIME_WAIT is given to no other outgoing
# connection, whatever its destination.
MACOS_RATE_SCOPE = ("per source address (macOS gives a port held in TIME_WAIT to no new connection, whatever its "
                    "destination: the rate to declare is the host's total rate of new outgoing connections)")
MACOS_REAPER_DUE_SECONDS = 1
MACOS_REAPER_LEEWAY_SECONDS = 10  # inpcb_timeout_lazy
MACOS_REAPER_RUNS = 2  # the run tcp_gc gives up on a busy lock, and the next
MACOS_REAPER_LATENESS_SECONDS = MACOS_REAPER_RUNS * (MACOS_REAPER_DUE_SECONDS + MACOS_REAPER_LEEWAY_SECONDS)
TCPIP_PARAMETERS = r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
WINDOWS_RANGE_PROBES = {(protocol, family): f"netsh int {family} show dynamicport {protocol}"
                        for protocol in ("tcp", "udp") for family in ("ipv4", "ipv6")}


def platform_of(snapshot: HostSnapshot) -> str:
    return snapshot.provenance.platform


def os_name(snapshot: HostSnapshot) -> str:
    return PLATFORM_NAMES.get(snapshot.provenance.platform, snapshot.provenance.platform)


@record
class PortRange:
    """One ephemeral range of a non-Linux host and the sockets it serves."""

    label: str  # "tcp/ipv4 dynamic port range", "ephemeral port range"
    protocol: str | None  # None: every protocol
    family: str | None  # None: both families
    lookup: PoolLookup
    source: str  # the command or setting it comes from

    def serves(self, protocol: str, family: str) -> bool:
        return self.protocol in (None, protocol) and self.family in (None, family)


def _gap_reason(snapshot: HostSnapshot, section: str, *paths: tuple) -> str | None:
    reasons = sorted({g.reason for g in snapshot.gaps if g.section == section and g.path in paths})
    return "; ".join(reasons) or None


def port_ranges(snapshot: HostSnapshot) -> list[PortRange]:
    """The ranges of a Windows or macOS snapshot (Linux has one, from :func:`._sysctl.ephemeral_pool`)."""
    sysctl = snapshot.facts.sysctl
    if platform_of(snapshot) == "windows":
        found = {(r.protocol, r.family): (i, r) for i, r in enumerate((sysctl.dynamic_ports if sysctl else None) or [])}
        ranges = []
        for (protocol, family), command in WINDOWS_RANGE_PROBES.items():
            label = f"{protocol}/{family} dynamic port range"
            if (protocol, family) in found:
                index, item = found[(protocol, family)]
                pointer = json_pointer("facts", "sysctl", "dynamic_ports", index)
                if item.excluded is None:
                    # Hyper-V, WSL and Docker exclude blocks of thousands of ports from inside the
                    # range: without the exclusions neither the pool's size nor a listener's
                    # collision with it is known.
                    reason = (_gap_reason(snapshot, "sysctl", ("dynamic_ports", protocol, family, "excluded"))
                              or "its excluded port ranges were not collected (a snapshot written before lbaudit "
                                 "read them)")
                    ranges.append(PortRange(label, protocol, family, PoolLookup(
                        None, item.start, item.high, pointer,
                        f"the {label} is {item.start}-{item.high}, but the ports excluded from it "
                        f"(netsh int {family} show excludedportrange protocol={protocol}) are unknown: {reason}"),
                        command))
                    continue
                pool = EphemeralPool(item.start, item.high, tuple((s.first, s.last) for s in item.excluded), (pointer,))
                if protocol == "tcp":
                    # Ports TCP listeners of this family hold are never handed out either (a UDP
                    # range keeps its size, as Linux's: a UDP client's port looks like a service's).
                    pool = with_held_ports(snapshot, pool, (family,))
                ranges.append(PortRange(label, protocol, family, PoolLookup(pool, item.start, item.high, pointer, None),
                                        command))
                continue
            reason = (_gap_reason(snapshot, "sysctl", (), ("dynamic_ports",), ("dynamic_ports", protocol, family))
                      or f"the {label} was not collected (no reason recorded)")
            ranges.append(PortRange(label, protocol, family, PoolLookup(None, None, None, None, reason), command))
        return ranges
    first, last = lookup(snapshot, MACOS_FIRST), lookup(snapshot, MACOS_LAST)
    label, source = "ephemeral port range", f"sysctl {MACOS_FIRST} / {MACOS_LAST}"
    if first.setting is None or last.setting is None:
        reason = "; ".join(sorted({x.missing_reason for x in (first, last) if x.missing_reason}))
        return [PortRange(label, None, None, PoolLookup(None, None, None, None, reason), source)]
    try:
        low = parse_int(MACOS_FIRST, first.setting.value)
        high = parse_int(MACOS_LAST, last.setting.value)
    except SysctlValueError as exc:
        return [PortRange(label, None, None, PoolLookup(None, None, None, first.pointer, f"malformed value: {exc}"),
                          source)]
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        return [PortRange(label, None, None, PoolLookup(None, None, None, first.pointer,
                                                        f"{MACOS_FIRST}-{MACOS_LAST} = {low}-{high} is not a port range"),
                          source)]
    if min(low, high) < MACOS_RANGE_FLOOR:
        # XNU clamps both ends to 1024-65535 on every write (sysctl_net_ipport_check), so no running
        # macOS reads back a lower end: judged as written, first 0 made a pool of 65,536 ports, the
        # reserved ones among them, that passed a headroom the real pool fails.
        return [PortRange(label, None, None, PoolLookup(None, None, None, first.pointer,
                                                        f"{MACOS_FIRST}-{MACOS_LAST} = {low}-{high}, but macOS holds "
                                                        f"only {MACOS_RANGE_FLOOR}-65535 in them (the kernel clamps "
                                                        "every write): not the running value of a macOS host"),
                          source)]
    evidence = tuple(p for p in (first.pointer, last.pointer) if p)
    if low > high:
        # BSD's in_pcbbind takes first > last as the same ports counted down: the range is last-first.
        low, high = high, low
        source = f"{source}, first > last: counted down"
    # One range for both families: the ports of whichever family's TCP listeners hold more are gone
    # from the pool of a connection of that family.
    pool = with_held_ports(snapshot, EphemeralPool(low, high, (), evidence), ("ipv4", "ipv6"))
    return [PortRange(label, None, None, PoolLookup(pool, low, high, first.pointer, None), source)]


def _registry_unread(snapshot: HostSnapshot, name: str) -> str | None:
    """Why the Tcpip\\Parameters value ``name`` of a Windows snapshot is unknown, or None when the
    registry was read and does not set it (the Windows default then applies).  A value is "not set"
    only where the registry values were read: with no ``runtime`` at all (a snapshot from another
    collector, or stitched by hand, that records no gap for it) the default would be judged for a
    registry nobody read."""
    unread = _gap_reason(snapshot, "sysctl", (), ("runtime",), ("runtime", name))
    if unread:
        return unread
    sysctl = snapshot.facts.sysctl
    if sysctl is None or sysctl.runtime is None:
        return f"the TCP/IP registry values ({TCPIP_PARAMETERS}) were not collected (no reason recorded)"
    return None


@record
class MaxUserPort:
    value: int | None  # None: not set (no finding) or unreadable (reason)
    pointer: str | None
    reason: str | None


def max_user_port(snapshot: HostSnapshot) -> MaxUserPort:
    found = lookup(snapshot, "MaxUserPort")
    if found.setting is None:
        return MaxUserPort(None, None, _registry_unread(snapshot, "MaxUserPort"))
    try:
        value = parse_int("MaxUserPort", found.setting.value)
    except SysctlValueError as exc:
        return MaxUserPort(None, found.pointer, f"malformed value: {exc}")
    low, high = MAX_USER_PORT_RANGE
    if not low <= value <= high:
        # Judged as written, 0x1869f (99,999) passed a legacy pool of 98,975 ports that no port
        # number can hold, where the stack may well use its default 1025-5000.
        return MaxUserPort(None, found.pointer, f"MaxUserPort = {value} is outside the range Windows documents "
                                                f"({low}-{high}); what range the stack then uses is not documented")
    return MaxUserPort(value, found.pointer, None)


def max_user_port_pool(snapshot: HostSnapshot, max_user_port: int, pointer: str | None) -> EphemeralPool:
    """The range 1025-MaxUserPort as a pool, less the ports TCP listeners of either family hold in it
    (RDP's 3389 sits inside 1025-5000), which no outgoing connection gets there either."""
    pool = EphemeralPool(MAX_USER_PORT_LOW, max_user_port, (), (pointer,) if pointer else ())
    return with_held_ports(snapshot, pool, ("ipv4", "ipv6"))


@record
class TimeWait:
    """How long a closed connection holds its port on this host, and where that comes from."""

    seconds: float | None
    source: str  # "TcpTimedWaitDelay = 30 s (registry)", "macOS: 2 x net.inet.tcp.msl (15000 ms) = 30 s, ..."
    evidence: tuple[str, ...]
    reason: str | None  # why seconds is None


def time_wait(snapshot: HostSnapshot) -> TimeWait:
    platform = platform_of(snapshot)
    if platform == "windows":
        found = lookup(snapshot, "TcpTimedWaitDelay")
        if found.setting is None:
            unread = _registry_unread(snapshot, "TcpTimedWaitDelay")
            if unread:
                return TimeWait(None, "", (), unread)
            return TimeWait(WINDOWS_TIME_WAIT_DEFAULT, WINDOWS_TIME_WAIT_SOURCE, ("/facts/sysctl/runtime",), None)
        try:
            value = parse_int("TcpTimedWaitDelay", found.setting.value)
        except SysctlValueError as exc:
            return TimeWait(None, "", (), f"malformed value: {exc}")
        if not WINDOWS_TIME_WAIT_RANGE[0] <= value <= WINDOWS_TIME_WAIT_RANGE[1]:
            # Windows documents no behaviour outside its range (clamped? the default?): judging the
            # headroom on the value as written would pass a TIME_WAIT the stack does not use.
            low, high = WINDOWS_TIME_WAIT_RANGE
            return TimeWait(None, "", (found.pointer,) if found.pointer else (),
                            f"TcpTimedWaitDelay = {value} s is outside the range Windows documents ({low}-{high} s); "
                            "what TIME_WAIT the stack then uses is not documented")
        return TimeWait(value, f"TcpTimedWaitDelay = {value} s (registry)", (found.pointer,) if found.pointer else (), None)
    found = lookup(snapshot, MACOS_MSL)
    if found.setting is None:
        return TimeWait(None, "", (), found.missing_reason)
    try:
        msl = parse_int(MACOS_MSL, found.setting.value)
    except SysctlValueError as exc:
        return TimeWait(None, "", (), f"malformed value: {exc}")
    if msl <= 0:
        return TimeWait(None, "", (), f"{MACOS_MSL} = {msl}: not a duration")
    # Counted as exactly 2 x MSL, 400 connections/s held 12,000 of the default 16,383-port pool (73%)
    # and passed a maximum of 80%: at the worst they hold 20,800 (MACOS_REAPER_LATENESS_SECONDS).
    two_msl = Fraction(2 * msl, 1000)
    hold = two_msl + MACOS_REAPER_LATENESS_SECONDS
    source = (f"macOS: 2 x {MACOS_MSL} ({msl} ms) = {_seconds(two_msl)} s, after which the port is freed only when "
              f"the kernel's PCB garbage collector (tcp_gc) next runs: up to {MACOS_REAPER_LATENESS_SECONDS} s later "
              f"(it runs {MACOS_REAPER_DUE_SECONDS} s after its last run with {MACOS_REAPER_LEEWAY_SECONDS} s leeway, "
              f"and gives up one run when its lock is busy)")
    return TimeWait(float(hold), source, (found.pointer,) if found.pointer else (), None)


def _seconds(value: Fraction) -> str:
    """A number of seconds as the decimal it is (milliseconds at most: 30, 30.001)."""
    whole, part = divmod(value, 1)
    return str(whole) if not part else f"{float(value):.3f}".rstrip("0")
