"""Probe outputs -> a :class:`~auditor.model.facts.HostSnapshot` of a Windows or macOS host.

The same function turns a replayed bundle and a native run into facts: each probe output arrives
as :class:`ProbeOutput` (its bytes, or why there are none), is decoded (:mod:`.text`), parsed
(:mod:`.windows`, :mod:`.macos`), and becomes facts in the sections whose meaning is the same on
every OS (listeners, ephemeral ranges, TIME_WAIT parameters, audit state), with the platform.
A missing, empty or unparseable output is a :class:`~auditor.model.facts.Gap` for exactly the facts
it would have given, with the reason; it never turns into an empty list that would pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.collect.platforms import macos, windows
from auditor.collect.platforms.probes import AUDIT_CONTROL_PATH
from auditor.collect.platforms.text import UndecodableOutput, decode_output, refuse_too_many_lines
from auditor.model.facts import (
    PLATFORM_NAMES,
    SECTIONS,
    AuditFacts,
    DynamicPortRange,
    Facts,
    Gap,
    GapKind,
    HostSnapshot,
    Listener,
    MacosAudit,
    MacosAuditUser,
    PortSpan,
    ProcessInfo,
    Provenance,
    SocketCounts,
    SocketFacts,
    SysctlFacts,
    SysctlSetting,
    WindowsAuditPolicy,
)

MAX_BAD_LINES_SHOWN = 3
# Files the capture copies or a tool writes, not output a command prints: an administrator's
# audit_control may well lack its final line end.  Every other probe output ends its last line
# with one (:func:`windows.cut_off`), so a last line without one is where the capture was cut off.
_WRITTEN_FILES = frozenset({"audit_control", "auditpol-backup.csv"})
# Outputs whose parser keeps the rows before a cut and marks its listing incomplete (the TIME_WAIT
# count unknown, the listeners a gap) rather than refusing the whole output.
_READ_UP_TO_A_CUT = frozenset({"netstat-ano.txt"})
# Files a program on the host reads byte by byte (libbsm reads audit_control): judged on those
# bytes, never decoded like a command's output, whose BOM, UTF-16 and CRLF the program does not undo.
_READ_AS_BYTES = {"audit_control": macos.control_text}


@dataclass(frozen=True)
class ProbeOutput:
    """One probe's raw output: ``data``, or ``None`` and why (``missing``).  ``origin`` says where
    it came from: ``"bundle file netstat-ano.txt"`` or ``"netstat.exe -ano"`` run natively."""

    data: bytes | None
    origin: str
    missing: str | None = None


@dataclass
class _Reader:
    outputs: dict[str, ProbeOutput]
    encodings: dict[str, str] = field(default_factory=dict)  # file -> how it was decoded

    def text(self, name: str) -> tuple[str | None, str | None]:
        """(text, None) or (None, why it cannot be used)."""
        output = self.outputs.get(name)
        if output is None:
            return None, f"{name}: not in the bundle"
        if output.data is None:
            return None, f"{output.origin}: {output.missing or 'no output'}"
        if not output.data.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
            return None, f"{output.origin}: empty"
        if name in _READ_AS_BYTES:
            text = _READ_AS_BYTES[name](output.data)
            try:
                refuse_too_many_lines(text, ("\n",))  # cut into libbsm's lines whole, per entry read
            except UndecodableOutput as exc:
                return None, f"{output.origin}: {exc}"
            self.encodings[name] = "bytes as read on the host"
            return text, None
        try:
            decoded = decode_output(output.data)
        except UndecodableOutput as exc:
            return None, f"{output.origin}: {exc}"
        self.encodings[name] = decoded.encoding
        return decoded.text, None

    def parsed(self, name: str, parse: Any, *args: Any) -> tuple[Any, str | None]:
        text, why = self.text(name)
        if text is None:
            return None, why
        if name not in _WRITTEN_FILES | _READ_UP_TO_A_CUT and (partial := windows.cut_off(text)) is not None:
            # Any prefix of a value parses as a value: net.inet.tcp.msl 1500 of 15000 (a 3 s TIME_WAIT),
            # portrange.last 6553 of 65535 (a range counted down, three times the pool), a dynamic
            # port range's count, the excluded port ranges with the rows after the cut missing.
            return None, f"{self.outputs[name].origin}: not understood: {windows.cut_off_message(partial)}"
        try:
            return parse(text, *args), None
        except (windows.ProbeParseError, ValueError) as exc:
            return None, f"{self.outputs[name].origin}: not understood: {exc}"

    def origin(self, name: str) -> str:
        output = self.outputs.get(name)
        return output.origin if output else name

    def method(self, *names: str) -> str:
        return ", ".join(f"{self.origin(n)} ({self.encodings[n]})" for n in names if n in self.encodings)


def _bad(lines: list[str]) -> str:
    shown = "; ".join(lines[:MAX_BAD_LINES_SHOWN])
    return shown + (f" (and {len(lines) - MAX_BAD_LINES_SHOWN} more)" if len(lines) > MAX_BAD_LINES_SHOWN else "")


# ------------------------------------------------------------------ Windows

def _tasklist(r: _Reader, name: str) -> tuple[dict[int, str], str | None]:
    """{PID: image name} of one tasklist capture, and why names are missing from it (None: none are)."""
    parsed, why = r.parsed(name, windows.parse_tasklist)
    if parsed is None:
        return {}, why
    names, bad = parsed
    return names, (f"{r.origin(name)}: rows not understood: {_bad(bad)}" if bad else None)


def _reused_pid(r: _Reader, pid: int, name: str, before: dict[int, str], before_why: str | None) -> str | None:
    """Why the image tasklist names after netstat ran may not be the process netstat saw holding
    the socket (None: it is).

    netstat -ano gives PIDs and tasklist names them, moments apart, and Windows hands the PID of an
    ended process to the next one it starts: a listener whose process ended between the two would
    take another program's name, and so another program's exception.  Neither tool prints when a
    process started, so the capture lists the processes on both sides of netstat: a PID with one
    image in both lists is that image's throughout (barring two reuses of one PID, the second by
    the same image, within seconds); one with another image, or absent before, is not proven."""
    if before_why is not None and pid not in before:
        return (f"PID {pid} is {name} in {r.origin('tasklist.csv')}, listed after netstat, and whether it was another "
                f"process when netstat listed the socket (Windows reuses the PIDs of ended processes) cannot be "
                f"ruled out without the list taken before it: {before_why}")
    if pid not in before:
        return (f"PID {pid} is not in {r.origin('tasklist-before.csv')}, listed before netstat, and is {name} in "
                f"{r.origin('tasklist.csv')}, listed after it: the process started during the capture, and whether "
                "it or an earlier holder of its PID held the socket cannot be told")
    if before[pid].casefold() != name.casefold():
        return (f"PID {pid} is {before[pid]} in {r.origin('tasklist-before.csv')}, listed before netstat, and {name} "
                f"in {r.origin('tasklist.csv')}, listed after it: the process ended and Windows gave its PID to "
                "another, and which of them held the socket cannot be told")
    return None


def _windows_sockets(r: _Reader, listeners_override: Any = None) -> tuple[SocketFacts, list[Gap]]:
    gaps: list[Gap] = []
    table, why = r.parsed("netstat-ano.txt", windows.parse_netstat)
    counts = None
    # A capture with rows not understood (cut off, rows of another form) is incomplete already, and
    # says why: the kinds it lacks may be in those rows, so it is not called narrowed.
    missing = windows.netstat_kinds_missing(table) if table is not None and not table.bad_lines else []
    narrowed = (f"{r.origin('netstat-ano.txt')}: no row of {', '.join(windows.kind_name(*k) for k in missing)}: "
                "netstat -ano lists TCP and UDP over IPv4 and IPv6, and every Windows holds sockets of each (RPC "
                "on 0.0.0.0:135 and [::]:135, LLMNR and mDNS over UDP), so the capture was narrowed (netstat -ano "
                "-p tcp lists TCP over IPv4 alone) and such sockets are missing from it (capture the host again "
                "with the capture script)")
    if table is None:
        gaps.append(Gap(section="sockets", path=("counts",), reason=why))
    elif any(protocol == "tcp" for protocol, _ in missing):
        # TIME_WAIT rows of the missing TCP family are missing from the count too: a lower bound.
        gaps.append(Gap(section="sockets", path=("counts",), reason=narrowed))
    elif table.bad_lines:
        # A row not understood may be a TIME_WAIT row: the count is then only a lower bound.
        gaps.append(Gap(section="sockets", path=("counts",),
                        reason=f"{r.origin('netstat-ano.txt')}: rows not understood, TIME_WAIT rows may be missing "
                               f"from the count: {_bad(table.bad_lines)}"))
    else:
        how = ("TCP rows in state TIME_WAIT" if table.time_wait_exact else
               "TCP rows owned by no process (PID 0), state names not in English: TIME_WAIT or another closing state")
        counts = SocketCounts(time_wait=table.time_wait, tcp_by_state={"TIME_WAIT": table.time_wait},
                              method=f"{r.origin('netstat-ano.txt')}: {how}")
    if listeners_override is not None:  # native: psutil saw the listeners and their owners
        listeners, listener_gaps = listeners_override
        return SocketFacts(platform="windows", listeners=listeners, counts=counts), gaps + listener_gaps
    if table is None:
        gaps.append(Gap(section="sockets", path=("listeners",), reason=why))
        return SocketFacts(platform="windows", listeners=None, counts=counts), gaps
    if table.bad_lines:
        gaps.append(Gap(section="sockets", path=("listeners",),
                        reason=f"{r.origin('netstat-ano.txt')}: rows not understood, listeners may be missing: "
                               f"{_bad(table.bad_lines)}"))
    for protocol, family in missing:
        gaps.append(Gap(section="sockets", path=("listeners", protocol, family), reason=narrowed))
    pid_names, names_why = _tasklist(r, "tasklist.csv")
    names_before, before_why = _tasklist(r, "tasklist-before.csv")
    listeners: list[Listener] = []
    for sock in table.listeners:
        index = len(listeners)
        name = pid_names.get(sock.pid)
        reason = None
        if name is None:
            reason = names_why or (f"PID {sock.pid} is not in {r.origin('tasklist.csv')} "
                                   "(the process ended between the two probes?)")
        elif (why := _reused_pid(r, sock.pid, name, names_before, before_why)) is not None:
            name, reason = None, why
        listeners.append(Listener(protocol=sock.protocol, family=sock.family, address=sock.address, port=sock.port,
                                  processes=[ProcessInfo(pid=sock.pid, name=name)]))
        if reason is not None:
            gaps.append(Gap(section="sockets", path=("listeners", index, "processes", 0, "name"), reason=reason))
    return SocketFacts(platform="windows", listeners=listeners, counts=counts), gaps


_WINDOWS_RANGES = tuple((f"netsh-dynamicport-{protocol}{suffix}.txt", f"netsh-excludedportrange-{protocol}{suffix}.txt",
                         protocol, family)
                        for protocol in ("tcp", "udp") for family, suffix in (("ipv4", ""), ("ipv6", "6")))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _windows_sysctl(r: _Reader) -> tuple[SysctlFacts, list[Gap]]:
    gaps: list[Gap] = [Gap(section="sysctl", path=("persistent",), kind=GapKind.NOT_APPLICABLE,
                           reason="Windows has no sysctl configuration files: the registry and netsh hold the "
                                  "running and the configured value alike")]
    ranges: list[DynamicPortRange] = []
    for name, excluded_name, protocol, family in _WINDOWS_RANGES:
        parsed, why = r.parsed(name, windows.parse_dynamicport, protocol)
        if parsed is None:
            gaps.append(Gap(section="sysctl", path=("dynamic_ports", protocol, family), reason=why))
            continue
        start, count = parsed
        # Ports excluded from the range are never handed out: without them the pool's size is unknown.
        excluded, why = r.parsed(excluded_name, windows.parse_excludedportrange, protocol)
        if excluded is None:
            gaps.append(Gap(section="sysctl", path=("dynamic_ports", protocol, family, "excluded"), reason=why))
        ranges.append(DynamicPortRange(protocol=protocol, family=family, start=start, count=count,
                                       origin=r.origin(name),
                                       excluded=None if excluded is None else
                                       [PortSpan(first=a, last=b) for a, b in _merged(excluded)]))
    runtime: dict[str, SysctlSetting] | None = None
    values, why = r.parsed("tcpip-parameters.txt", windows.parse_reg_query)
    if values is None:
        gaps.append(Gap(section="sysctl", path=("runtime",), reason=why))
    else:
        runtime = {}
        for value_name in windows.TCPIP_VALUES:
            if value_name not in values:
                continue  # not set: the OS default applies (the checks say which)
            try:
                number = windows.registry_dword(value_name, values[value_name])
            except windows.ProbeParseError as exc:
                gaps.append(Gap(section="sysctl", path=("runtime", value_name),
                                reason=f"{r.origin('tcpip-parameters.txt')}: {exc}"))
                continue
            kind, data = values[value_name]
            runtime[value_name] = SysctlSetting(
                value=str(number), origin=f"{r.origin('tcpip-parameters.txt')}: {windows.TCPIP_KEY}\\{value_name} "
                                          f"{kind} {data}")
    # An unreadable range is a gap; the ranges read are facts (None when none could be read).
    return SysctlFacts(platform="windows", dynamic_ports=ranges or None,
                       runtime=runtime, persistent=None), gaps


def _windows_audit_unseen(reason: str) -> tuple[AuditFacts, list[Gap]]:
    """No Windows audit facts, and the gap that says why (the audit policy was not read, or is not this host's)."""
    return AuditFacts(platform="windows"), [Gap(section="audit", path=("windows",), reason=reason)]


def _windows_audit(r: _Reader) -> tuple[AuditFacts, list[Gap]]:
    parsed, why = r.parsed("auditpol-backup.csv", windows.parse_auditpol_backup)
    if parsed is None:
        return _windows_audit_unseen(why)
    rows, bad, machines = parsed
    # A backup names the machine it was taken on: one copied from another host (a golden image's, a
    # mixed-up support case) would judge that host's policy as this one's.
    hostname, hostname_why = r.parsed("hostname.txt", windows.parse_hostname)
    if len(machines) > 1:
        return _windows_audit_unseen(
            f"{r.origin('auditpol-backup.csv')}: rows of more than one machine ({', '.join(sorted(machines))}): "
            "not one host's audit policy")
    machine = next(iter(machines), "")
    if not machine:  # auditpol /backup names the machine; a Group Policy audit.csv leaves it empty
        return _windows_audit_unseen(
            f"{r.origin('auditpol-backup.csv')}: its rows name no machine (a Group Policy audit.csv, not the "
            "output of auditpol /backup on this host): what the host runs cannot be told from it")
    if hostname is None:
        # Without the host's own name a backup copied from another machine cannot be told from its own.
        return _windows_audit_unseen(
            f"{r.origin('auditpol-backup.csv')}: taken on {machine}, and whether that is this host cannot be "
            f"told: {hostname_why}")
    if not windows.same_machine(machine, hostname):
        return _windows_audit_unseen(
            f"{r.origin('auditpol-backup.csv')}: taken on {machine}, not on {hostname} "
            f"({r.origin('hostname.txt')}): the audit policy of another host")
    gaps = []
    if bad:
        gaps.append(Gap(section="audit", path=("windows", "problems"),
                        reason=f"{r.origin('auditpol-backup.csv')}: rows not understood: {_bad(bad)}"))
    return AuditFacts(platform="windows", windows=WindowsAuditPolicy(subcategories=rows,
                                                                     origin=r.origin("auditpol-backup.csv"))), gaps


# ------------------------------------------------------------------ macOS

_LSOF_FILES = {"tcp": "lsof-tcp-listen.txt", "udp": "lsof-udp.txt"}


def _macos_sockets(r: _Reader, listeners_override: Any = None) -> tuple[SocketFacts, list[Gap]]:
    gaps = [Gap(section="sockets", path=("counts",),
                reason="the macOS probes list listeners and bound UDP sockets only (lsof): the TIME_WAIT count "
                       "is not captured")]
    if listeners_override is not None:
        listeners, listener_gaps = listeners_override
        return SocketFacts(platform="macos", listeners=listeners), gaps + listener_gaps
    found: list[macos.LsofSocket] = []
    for protocol, name in _LSOF_FILES.items():
        text, why = r.text(name)
        if text is None:
            gaps.append(Gap(section="sockets", path=("listeners", protocol), reason=why))
            continue
        try:
            table = macos.parse_lsof(text, protocol)
        except windows.ProbeParseError as exc:
            gaps.append(Gap(section="sockets", path=("listeners", protocol),
                            reason=f"{r.origin(name)}: not understood: {exc}"))
            continue
        if table.bad_lines:
            gaps.append(Gap(section="sockets", path=("listeners", protocol),
                            reason=f"{r.origin(name)}: rows not understood, listeners may be missing: "
                                   f"{_bad(table.bad_lines)}"))
        found += table.sockets
    if not found and len([g for g in gaps if g.path[:1] == ("listeners",)]) == 2:
        return SocketFacts(platform="macos", listeners=None), gaps  # neither listing could be read
    # lsof shows other users' sockets only to root, and says nothing when it cannot: a listing made
    # as another user lacks the root daemons' listeners (sshd's *:22) without a single error.
    uid, why = r.parsed("id-u.txt", macos.parse_uid)
    if uid is None:
        gaps.append(Gap(section="sockets", path=("listeners",),
                        reason=f"whether lsof ran as root (and so saw every user's sockets) is unknown: {why}"))
    elif uid != 0:
        gaps.append(Gap(section="sockets", path=("listeners",),
                        reason=f"{r.origin('id-u.txt')}: the capture ran as uid {uid}, not root: lsof listed only "
                               "the sockets of that user's processes (run the capture script with sudo)"))
    # One socket held by several processes (inherited across fork) is one listener with every holder.
    grouped: dict[tuple, list[macos.LsofSocket]] = {}
    for sock in found:
        grouped.setdefault((sock.protocol, sock.family, sock.address, sock.port, sock.device), []).append(sock)
    # A name lsof may have cut is no name: "com.apple" of com.apple.WebKit matches an exception for
    # "com.apple*" written for another program, and two programs share their first 9 characters.
    widest = max((sock.command_width for sock in found), default=0)
    listeners = []
    for (protocol, family, address, port, _device), holders in grouped.items():
        index = len(listeners)
        by_pid = {s.pid: s for s in holders}
        processes = []
        for number, pid in enumerate(sorted(by_pid)):
            holder = by_pid[pid]
            cut = macos.name_may_be_cut(holder, widest)
            processes.append(ProcessInfo(pid=pid, name=None if cut else holder.command, user=holder.user))
            if cut:
                gaps.append(Gap(section="sockets", path=("listeners", index, "processes", number, "name"),
                                reason=f"{r.origin(_LSOF_FILES[holder.protocol])} line {holder.line}: {cut}"))
        listeners.append(Listener(protocol=protocol, family=family, address=address, port=port,
                                  user=holders[0].user, processes=processes))
    return SocketFacts(platform="macos", listeners=listeners), gaps


def _macos_sysctl(r: _Reader) -> tuple[SysctlFacts, list[Gap]]:
    gaps = [Gap(section="sysctl", path=("persistent",), kind=GapKind.NOT_APPLICABLE,
                reason="the macOS probes read running values only (sysctl); /etc/sysctl.conf is not compared")]
    values, why = r.parsed("sysctl.txt", macos.parse_sysctl)
    if values is None:
        return SysctlFacts(platform="macos", runtime=None), gaps + [Gap(section="sysctl", path=("runtime",), reason=why)]
    runtime = {key: SysctlSetting(value=value, origin=f"{r.origin('sysctl.txt')}: {key}") for key, value in values.items()}
    for key in (macos.PORTRANGE_FIRST, macos.PORTRANGE_LAST, macos.TCP_MSL):
        if key not in runtime:
            gaps.append(Gap(section="sysctl", path=("runtime", key), reason=f"{r.origin('sysctl.txt')}: no {key} line"))
    return SysctlFacts(platform="macos", runtime=runtime), gaps


def _macos_audit(r: _Reader) -> tuple[AuditFacts, list[Gap]]:
    gaps: list[Gap] = []
    loaded: bool | None = None
    exit_code: int | None = None
    parsed, why = r.parsed("auditd-launchctl.txt", macos.parse_launchctl)
    if parsed is None:
        gaps.append(Gap(section="audit", path=("macos", "auditd_loaded"), reason=why))
    else:
        exit_code = parsed[0]
        if exit_code == 0:
            loaded = True
        elif exit_code == macos.LAUNCHCTL_NOT_FOUND:
            loaded = False
        else:
            gaps.append(Gap(section="audit", path=("macos", "auditd_loaded"),
                            reason=f"{r.origin('auditd-launchctl.txt')}: launchctl exited {exit_code} "
                                   f"({parsed[1] or 'no message'}), which says neither loaded nor unknown"))
    kernel_auditing: bool | None = None
    condition_exit: int | None = None
    parsed, why = r.parsed("audit-condition.txt", macos.parse_launchctl)
    if parsed is None:
        gaps.append(Gap(section="audit", path=("macos", "kernel_auditing"), reason=why))
    else:
        condition_exit, said = parsed
        if condition_exit == 0:
            kernel_auditing = True
        elif not said:
            kernel_auditing = False  # audit(8): -c exits successfully only if the kernel audits
        else:
            # An error (not root) or a usage message (an audit(8) without -c): no answer about the kernel.
            gaps.append(Gap(section="audit", path=("macos", "kernel_auditing"),
                            reason=f"{r.origin('audit-condition.txt')}: audit -c exited {condition_exit} and said "
                                   f"{said!r}: an error, not whether the kernel audits"))
    flags: list[str] | None = None
    naflags: list[str] | None = None
    present: bool | None
    control = r.outputs.get("audit_control")
    if control is not None and control.data is None and control.missing == "absent":
        present = False  # the file does not exist on the host (the capture copies it only if it does)
    else:
        present = True
        flags, why = r.parsed("audit_control", macos.parse_audit_control)
        if flags is None:
            present = None if control is None or control.data is None else True
            gaps.append(Gap(section="audit", path=("macos", "flags"), reason=why))
        else:
            naflags, why = r.parsed("audit_control", macos.parse_audit_control_naflags)
            if naflags is None:
                gaps.append(Gap(section="audit", path=("macos", "naflags"), reason=why))
    audit_user, why = _macos_audit_user(r)
    if why is not None:
        gaps.append(Gap(section="audit", path=("macos", "audit_user"), reason=why))
    origin = (f"{r.origin('auditd-launchctl.txt')}; {r.origin('audit-condition.txt')}; {r.origin('audit_control')}; "
              f"{r.origin('audit_user')}")
    return AuditFacts(platform="macos", macos=MacosAudit(auditd_loaded=loaded, launchctl_exit=exit_code,
                                                         kernel_auditing=kernel_auditing,
                                                         audit_condition_exit=condition_exit,
                                                         audit_control_present=present, flags=flags,
                                                         naflags=naflags, audit_user=audit_user, origin=origin)), gaps


def _macos_audit_user(r: _Reader) -> tuple[list[MacosAuditUser] | None, str | None]:
    """The audit_user entries libbsm reaches ([] when the host has no such file), or None and why.

    The capture copies the file only where it exists, and scripts before the one that copies it did
    not write audit-condition.txt either: a bundle without both is from an older script, and the
    file's absence from it says nothing about the host."""
    output = r.outputs.get("audit_user")
    if output is None:
        return None, "audit_user: not in the bundle"
    if output.data is None:
        condition = r.outputs.get("audit-condition.txt")
        if output.missing == "absent" and condition is not None and not (
                condition.data is None and (condition.missing or "").startswith("missing from the bundle")):
            return [], None  # absent on the host: no per-user masks
        if output.missing == "absent":
            return None, (f"{output.origin}: not in the bundle, and whether the host has one cannot be told: the capture "
                          "script that copies it also writes audit-condition.txt, which is missing too (written by an "
                          "older lbaudit capture script? capture the host again with this version's script)")
        return None, f"{output.origin}: {output.missing or 'no output'}"
    text = macos.control_text(output.data)
    try:
        refuse_too_many_lines(text, ("\n",))
    except UndecodableOutput as exc:
        return None, f"{output.origin}: {exc}"
    r.encodings["audit_user"] = "bytes as read on the host"
    try:
        entries = macos.parse_audit_user(text)
    except windows.ProbeParseError as exc:
        return None, f"{output.origin}: not understood: {exc}"
    return [MacosAuditUser(name=name[:64], always=always, never=never) for name, always, never in entries], None


# ------------------------------------------------------------------ the snapshot

def _gap_order(gap: Gap) -> tuple:
    # the order of auditor.collect.live.gap_sort_key (not imported: it loads the Linux collectors)
    return (SECTIONS.index(gap.section), tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in gap.path),
            gap.reason, gap.kind.value)


_BUILDERS = {
    "windows": {"sockets": _windows_sockets, "sysctl": _windows_sysctl, "audit": _windows_audit},
    "macos": {"sockets": _macos_sockets, "sysctl": _macos_sysctl, "audit": _macos_audit},
}
_METHOD_FILES = {
    "windows": {"sockets": ("tasklist-before.csv", "netstat-ano.txt", "tasklist.csv"),
                "sysctl": (*(f for names in _WINDOWS_RANGES for f in names[:2]), "tcpip-parameters.txt"),
                "audit": ("auditpol-backup.csv",)},
    "macos": {"sockets": ("lsof-tcp-listen.txt", "lsof-udp.txt", "id-u.txt"), "sysctl": ("sysctl.txt",),
              "audit": ("auditd-launchctl.txt", "audit-condition.txt", "audit_control", "audit_user")},
}


def _identity(platform: str, r: _Reader) -> tuple[str, str | None, str | None]:
    """(host name, OS name, OS build) from the probes; unreadable ones stay unknown."""
    hostname, _ = r.parsed("hostname.txt", windows.parse_hostname)
    if platform == "windows":
        build, _ = r.parsed("ver.txt", windows.parse_ver)
        return hostname or "unknown", "Microsoft Windows" + (f" {build}" if build else ""), build
    versions, _ = r.parsed("sw_vers.txt", macos.parse_sw_vers)
    if versions is None:
        return hostname or "unknown", "macOS", None
    name = f"{versions.get('ProductName', 'macOS')} {versions.get('ProductVersion', '')}".strip()
    return hostname or "unknown", name, versions.get("BuildVersion")


def snapshot_from_outputs(platform: str, outputs: dict[str, ProbeOutput], sections: frozenset[str], *,
                          provenance: dict[str, Any], collected_at: datetime,
                          listeners_override: Any = None, how: str) -> HostSnapshot:
    """The snapshot of ``sections`` from one platform's probe outputs.  ``provenance`` holds the
    fields that depend on how the outputs were obtained (source, target, user); ``how`` prefixes
    each section's method ("replayed from bundle DIR" or "run natively")."""
    reader = _Reader(outputs)
    facts: dict[str, Any] = {}
    gaps: list[Gap] = []
    methods: dict[str, str] = {}
    for section in SECTIONS:
        builder = _BUILDERS[platform].get(section)
        if section not in sections or builder is None:
            continue  # (network namespaces are Linux's: no Windows or macOS probe gives them)
        if section == "sockets":
            value, section_gaps = builder(reader, listeners_override)
        else:
            value, section_gaps = builder(reader)
        facts[section] = value
        gaps += section_gaps
        files = reader.method(*_METHOD_FILES[platform][section])
        if section == "sockets" and listeners_override is not None:
            files = "psutil.net_connections (listeners and owners)" + (f", {files}" if files else "")
        methods[section] = f"{PLATFORM_NAMES[platform]}, {how}: {files or 'nothing readable (see gaps)'}"
    hostname, os_name, build = _identity(platform, reader)
    return HostSnapshot(
        provenance=Provenance(hostname=hostname, os=os_name, os_build=build, platform=platform,  # type: ignore[arg-type]
                              collected_at=collected_at, methods=dict(sorted(methods.items())), **provenance),
        facts=Facts(**facts),
        gaps=sorted(gaps, key=_gap_order),
    )


def summarize_platform_section(section: str, facts: Any) -> str | None:
    """The ``lbaudit collect`` line of a Windows or macOS section (None: the Linux line fits)."""
    if section == "sysctl" and facts.platform == "windows":
        ranges = len(facts.dynamic_ports or [])
        values = "?" if facts.runtime is None else str(len(facts.runtime))
        return f"{ranges} dynamic port ranges, {values} TCP/IP registry values set"
    if section == "sysctl":
        return f"sysctls {'-' if facts.runtime is None else len(facts.runtime)} running"
    if section == "audit" and facts.platform == "windows":
        rows = "?" if facts.windows is None else str(len(facts.windows.subcategories))
        return f"audit policy: {rows} subcategories"
    if section == "audit":
        bsm = facts.macos
        if bsm is None:
            return "audit(4): unknown"
        loaded = {True: "loaded", False: "not loaded", None: "unknown"}[bsm.auditd_loaded]
        control = {True: "present", False: "absent", None: "unreadable"}[bsm.audit_control_present]
        kernel = {True: "on", False: "off", None: "unknown"}[bsm.kernel_auditing]
        return f"audit(4): auditd {loaded}, kernel auditing {kernel}, audit_control {control}"
    return None


__all__ = ["AUDIT_CONTROL_PATH", "ProbeOutput", "snapshot_from_outputs", "summarize_platform_section"]
