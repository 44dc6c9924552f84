"""Native collection on Windows and macOS, tested on Linux: the command runner and psutil are the
two things replaced (CI has neither a Windows nor a macOS host), everything else is the code that
runs there: which probes run with which argv, how their outputs reach the parsers, and how psutil's
listeners, owners and AccessDenied become facts and gaps."""

from __future__ import annotations

import socket
from collections import namedtuple
from pathlib import Path

from auditor.collect.platforms.assemble import ProbeOutput
from auditor.collect.platforms.native import collect_native, native_platform
from auditor.collect.programs import CommandResult
from auditor.model.facts import SECTIONS

BUNDLES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"
ALL = frozenset(SECTIONS)
Addr = namedtuple("Addr", "ip port")
Conn = namedtuple("Conn", "fd family type laddr raddr status pid")


class AccessDenied(Exception):
    pass


class NoSuchProcess(Exception):
    pass


class Psutil:
    """The slice of psutil native collection uses: net_connections, Process(pid).name(), errors."""

    AccessDenied = AccessDenied
    NoSuchProcess = NoSuchProcess
    CONN_LISTEN = "LISTEN"

    def __init__(self, connections, names, denied=frozenset(), refuse_all=False, started=None):
        self.connections, self.names, self.denied, self.refuse_all = connections, names, denied, refuse_all
        self.started = started or {}  # pid -> creation time (default: long before the socket list)

    def net_connections(self, kind):
        assert kind == "inet"
        if self.refuse_all:
            raise AccessDenied()
        return self.connections

    def Process(self, pid):  # noqa: N802 - psutil's name
        outer = self

        class Process:
            def name(self):
                if pid in outer.denied:
                    raise AccessDenied()
                if pid not in outer.names:
                    raise NoSuchProcess()
                return outer.names[pid]

            def create_time(self):
                return outer.started.get(pid, 1_000_000_000.0)

            def is_running(self):
                return pid in outer.names

        return Process()


def bundle_runner(bundle: str, calls: list):
    """A runner answering each probe's argv with that probe's file of a fixture bundle."""
    by_argv = {
        ("hostname.exe",): "hostname.txt", ("cmd.exe", "/d", "/c", "ver"): "ver.txt",
        ("netsh.exe", "int", "ipv4", "show", "dynamicport", "tcp"): "netsh-dynamicport-tcp.txt",
        ("netsh.exe", "int", "ipv6", "show", "dynamicport", "tcp"): "netsh-dynamicport-tcp6.txt",
        ("netsh.exe", "int", "ipv4", "show", "dynamicport", "udp"): "netsh-dynamicport-udp.txt",
        ("netsh.exe", "int", "ipv6", "show", "dynamicport", "udp"): "netsh-dynamicport-udp6.txt",
        **{("netsh.exe", "int", family, "show", "excludedportrange", f"protocol={protocol}"):
           f"netsh-excludedportrange-{protocol}{suffix}.txt"
           for protocol in ("tcp", "udp") for family, suffix in (("ipv4", ""), ("ipv6", "6"))},
        ("netstat.exe", "-ano"): "netstat-ano.txt",
        ("reg.exe", "query", r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"): "tcpip-parameters.txt",
        ("hostname",): "hostname.txt", ("sw_vers",): "sw_vers.txt",
        ("sysctl", "net.inet.ip.portrange", "net.inet.tcp.msl"): "sysctl.txt",
    }

    def run(argv, timeout):
        calls.append(tuple(argv))
        assert timeout == 7.0
        if argv[0] == "auditpol.exe":  # writes the backup where lbaudit asked
            target = Path(argv[2].removeprefix("/file:"))
            target.write_bytes((BUNDLES / bundle / "auditpol-backup.csv").read_bytes())
            return CommandResult(tuple(argv), "x", 0, "The command was successfully executed.\r\n", "", None, 0.1)
        if tuple(argv) == ("audit", "-c"):  # auditing is not enabled in the kernel: exits 1, says nothing
            return CommandResult(tuple(argv), "x", 1, "", "", "exit status 1", 0.1)
        if argv[0] == "launchctl":
            return CommandResult(tuple(argv), "x", 113, "", 'Could not find service "com.apple.auditd"\n',
                                 "exit status 113", 0.1)
        text = (BUNDLES / bundle / by_argv[tuple(argv)]).read_bytes().decode("utf-8")
        return CommandResult(tuple(argv), "x", 0, text, "", None, 0.1)

    return run


def test_lbaudit_collects_natively_only_on_windows_and_macos():
    assert native_platform("win32") == "windows"
    assert native_platform("darwin") == "macos"
    assert native_platform("linux") is None


def test_windows_native_runs_the_probes_and_takes_listeners_from_psutil():
    calls: list = []
    psutil = Psutil([
        Conn(1, socket.AF_INET, socket.SOCK_STREAM, Addr("0.0.0.0", 3389), (), "LISTEN", 1096),
        Conn(2, socket.AF_INET6, socket.SOCK_STREAM, Addr("::", 3389), (), "LISTEN", 1096),
        Conn(3, socket.AF_INET, socket.SOCK_STREAM, Addr("127.0.0.1", 8080), (), "LISTEN", 3120),
        Conn(4, socket.AF_INET, socket.SOCK_STREAM, Addr("10.0.0.5", 50000), Addr("1.2.3.4", 443), "ESTABLISHED", 9),
        Conn(5, socket.AF_INET, socket.SOCK_DGRAM, Addr("0.0.0.0", 123), (), "NONE", 1432),
        Conn(6, socket.AF_INET, socket.SOCK_DGRAM, Addr("10.0.0.5", 5000), Addr("8.8.8.8", 53), "NONE", 9),
        Conn(7, socket.AF_INET, socket.SOCK_STREAM, Addr("0.0.0.0", 445), (), "LISTEN", None),
    ], {1096: "svchost.exe", 1432: "svchost.exe"}, denied={3120})
    snapshot = collect_native("windows", ALL, runner=bundle_runner("windows-default-en", calls), psutil=psutil,
                              timeout=7.0)
    assert ("netstat.exe", "-ano") in calls and ("tasklist.exe", "/fo", "csv", "/nh") not in calls
    assert any(c[0] == "auditpol.exe" and c[1] == "/backup" for c in calls)
    prov = snapshot.provenance
    assert (prov.platform, prov.source, prov.os_build, prov.hostname) == ("windows", "live", "10.0.20348.2340", "WIN-SRV01")
    assert prov.methods["sockets"].startswith("Windows, collected natively: psutil.net_connections")
    listed = {(l.protocol, l.address, l.port): l for l in snapshot.facts.sockets.listeners}
    assert set(listed) == {("tcp", "0.0.0.0", 3389), ("tcp", "::", 3389), ("tcp", "127.0.0.1", 8080),
                           ("udp", "0.0.0.0", 123), ("tcp", "0.0.0.0", 445)}  # no client sockets
    assert listed[("tcp", "0.0.0.0", 3389)].processes[0].name == "svchost.exe"
    # AccessDenied on a pid: the listener stays, its name is a gap with the reason
    index = snapshot.facts.sockets.listeners.index(listed[("tcp", "127.0.0.1", 8080)])
    [denied] = [g for g in snapshot.gaps if g.path[:2] == ("listeners", index)]
    assert "access denied for pid 3120" in denied.reason
    assert listed[("tcp", "0.0.0.0", 445)].owner_reason.startswith("psutil reported no PID")
    assert [r.start for r in snapshot.facts.sysctl.dynamic_ports] == [49152, 49152, 49152, 49152]
    assert [[(s.first, s.last) for s in r.excluded] for r in snapshot.facts.sysctl.dynamic_ports] == [
        [(5357, 5357)], [(5357, 5357)], [], []]
    assert snapshot.facts.audit.windows.subcategories
    assert snapshot.facts.sockets.counts.time_wait == 2  # from netstat -ano, run natively


def test_macos_native_reads_audit_control_and_launchctl_exit_code():
    calls: list = []
    psutil = Psutil([Conn(1, socket.AF_INET, socket.SOCK_STREAM, Addr("0.0.0.0", 7000), (), "LISTEN", 498)],
                    {498: "ControlCenter"})
    snapshot = collect_native("macos", ALL, runner=bundle_runner("macos-default", calls), psutil=psutil, timeout=7.0,
                              read_audit_control=lambda: ProbeOutput(None, "/etc/security/audit_control", "absent"),
                              read_audit_user=lambda: ProbeOutput(b"root:lo:no\n", "/etc/security/audit_user"))
    assert not [argv for argv in calls if argv[0] == "lsof"]  # psutil replaces lsof
    bsm = snapshot.facts.audit.macos
    assert (bsm.auditd_loaded, bsm.launchctl_exit, bsm.audit_control_present) == (False, 113, False)
    assert (bsm.kernel_auditing, bsm.audit_condition_exit) == (False, 1)  # its exit code kept, as the capture does
    assert [(u.name, u.always, u.never) for u in bsm.audit_user] == [("root", ["lo"], ["no"])]
    assert snapshot.facts.sysctl.runtime["net.inet.tcp.msl"].value == "15000"
    assert [(l.address, l.port, l.processes[0].name) for l in snapshot.facts.sockets.listeners] == [
        ("0.0.0.0", 7000, "ControlCenter")]


def test_psutil_refusing_the_connection_list_is_a_gap_not_an_empty_list():
    snapshot = collect_native("macos", frozenset({"sockets"}), runner=bundle_runner("macos-default", []),
                              psutil=Psutil([], {}, refuse_all=True), timeout=7.0)
    assert snapshot.facts.sockets.listeners is None
    assert any(g.path == ("listeners",) and "access denied" in g.reason for g in snapshot.gaps)


def test_a_probe_that_fails_natively_is_a_gap_with_its_reason():
    def failing(argv, timeout):
        return CommandResult(tuple(argv), None, None, "", "", "command not found in C:\\Windows\\System32", 0.0)

    snapshot = collect_native("windows", frozenset({"sysctl", "audit"}), runner=failing, psutil=Psutil([], {}),
                              timeout=7.0)
    reasons = {g.path: g.reason for g in snapshot.gaps}
    assert reasons[("dynamic_ports", "tcp", "ipv4")] == (
        "netsh.exe int ipv4 show dynamicport tcp: command not found in C:\\Windows\\System32")
    assert ("windows",) in reasons and snapshot.facts.audit.windows is None
    assert snapshot.provenance.hostname == "unknown"
