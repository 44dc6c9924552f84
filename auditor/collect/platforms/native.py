"""Native collection on a Windows or macOS host: the bundle's probes, run here.

Each probe runs with fixed arguments, no shell and a timeout (:func:`auditor.collect.programs.run_command`,
looked up only in the OS's own program directories); its output goes through the same parsers as a
replayed bundle (:func:`.assemble.snapshot_from_outputs`).  Listeners and their owners come from
psutil instead of netstat/lsof text: run as SYSTEM (Windows) or root (macOS, where psutil needs it);
a PID whose process cannot be read (``AccessDenied``) is a gap on that listener, never dropped.

The command runner and the psutil module are parameters, so that the dispatch is tested on Linux
(CI) with both replaced; lbaudit itself always passes the real ones.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from auditor.collect.platforms import native_platform as native_platform  # re-exported: its home is the package
from auditor.collect.platforms.assemble import ProbeOutput, snapshot_from_outputs
from auditor.collect.platforms.bundle import MAX_PROBE_BYTES
from auditor.collect.platforms.probes import COPIED_FILES, PROBES
from auditor.collect.programs import SAFE_PATH, CommandResult, run_command
from auditor.model.facts import Gap, Listener, ProcessInfo
from auditor.safeio import read_regular

Runner = Callable[[list[str], float], CommandResult]
def system_runner(platform: str) -> Runner:
    """Run probes from the OS's own program directories only (never $PATH)."""
    if platform == "windows":
        system_root = os.environ.get("SystemRoot", r"C:\Windows")
        directories = (os.path.join(system_root, "System32"),)
        extra = {"SystemRoot": system_root}  # Windows tools do not start without it
        return lambda argv, timeout: run_command(argv, timeout, directories, extra)
    return lambda argv, timeout: run_command(argv, timeout, SAFE_PATH)


def _run_probe(argv: tuple[str, ...], file: str, runner: Runner, timeout: float, exit_code: bool = False) -> ProbeOutput:
    origin = " ".join(argv)
    if exit_code:
        # Its exit code is the answer (launchctl 113: not loaded; audit -c 0: the kernel audits), kept
        # on the last line as the capture does.
        result = runner(list(argv), timeout)
        if result.returncode is None:
            return ProbeOutput(None, origin, result.failure or "did not run")
        text = f"{result.stdout}{result.stderr}\n{result.returncode}\n"
        return ProbeOutput(text.encode("utf-8"), origin)
    if any("{file}" in arg for arg in argv):
        # auditpol /backup writes a file: into a private directory lbaudit creates and removes
        with tempfile.TemporaryDirectory(prefix="lbaudit-") as directory:
            path = Path(directory) / file
            result = runner([arg.replace("{file}", str(path)) for arg in argv], timeout)
            if not result.ok:
                return ProbeOutput(None, origin, result.failure)
            try:
                return ProbeOutput(read_regular(path, MAX_PROBE_BYTES, follow_symlinks=False), origin)
            except OSError as exc:
                return ProbeOutput(None, origin, f"wrote no readable {file}: {exc.strerror or exc}")
    result = runner(list(argv), timeout)
    if not result.ok:
        return ProbeOutput(None, origin, result.failure)
    return ProbeOutput(result.stdout.encode("utf-8"), origin)


def _read_copied(path: str) -> ProbeOutput:
    """A file the capture copies (audit_control, audit_user), read where it lives."""
    try:
        return ProbeOutput(read_regular(path, MAX_PROBE_BYTES), path)
    except FileNotFoundError:
        return ProbeOutput(None, path, "absent")
    except OSError as exc:
        return ProbeOutput(None, path, exc.strerror or str(exc))


def psutil_listeners(psutil: Any) -> tuple[list[Listener] | None, list[Gap]]:
    """Listening TCP and bound, unconnected UDP sockets with their owners, from ``psutil``."""
    listed_at = time.time()  # a process created after this may hold the PID of the socket's ended owner
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return None, [Gap(section="sockets", path=("listeners",),
                          reason="psutil.net_connections: access denied (run as SYSTEM on Windows, root on macOS)")]
    grouped: dict[tuple[str, str, str, int], set[int | None]] = {}
    for conn in connections:
        protocol = "tcp" if conn.type == socket.SOCK_STREAM else "udp" if conn.type == socket.SOCK_DGRAM else None
        if protocol is None or not conn.laddr:
            continue
        if protocol == "tcp" and conn.status != psutil.CONN_LISTEN:
            continue
        if protocol == "udp" and conn.raddr:
            continue  # connected: a client, not a listener
        family = "ipv6" if conn.family == socket.AF_INET6 else "ipv4"
        grouped.setdefault((protocol, family, conn.laddr.ip, conn.laddr.port), set()).add(conn.pid)
    listeners: list[Listener] = []
    gaps: list[Gap] = []
    for (protocol, family, address, port), pids in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][3], item[0][2])):
        index = len(listeners)
        known = sorted(pid for pid in pids if pid is not None)
        processes = []
        for number, pid in enumerate(known):
            try:
                process = psutil.Process(pid)  # psutil keeps its creation time: is_running() compares it
                name = process.name()
                started = process.create_time()
                if started > listed_at or not process.is_running():
                    # Windows and macOS give an ended process's PID to the next one: the name of a
                    # process younger than the socket list is proof of nothing about its owner.
                    name = None
                    gaps.append(Gap(section="sockets", path=("listeners", index, "processes", number, "name"),
                                    reason=f"psutil: pid {pid} is a process started after the socket list was "
                                           "taken: the socket's owner may have ended and its PID been given to it"))
            except psutil.AccessDenied:
                name = None
                gaps.append(Gap(section="sockets", path=("listeners", index, "processes", number, "name"),
                                reason=f"psutil: access denied for pid {pid} (not running as SYSTEM/root?)"))
            except psutil.NoSuchProcess:
                name = None
                gaps.append(Gap(section="sockets", path=("listeners", index, "processes", number, "name"),
                                reason=f"psutil: pid {pid} ended before its name was read"))
            processes.append(ProcessInfo(pid=pid, name=name))
        owner_reason = None
        if None in pids:
            owner_reason = "psutil reported no PID for this socket: its owner could not be seen (access denied)"
            gaps.append(Gap(section="sockets", path=("listeners", index, "processes"), reason=owner_reason))
        listeners.append(Listener(protocol=protocol, family=family, address=address, port=port,  # type: ignore[arg-type]
                                  processes=processes, owner_reason=owner_reason if not processes else None))
    return listeners, gaps


def collect_native(platform: str, sections: frozenset[str], *, runner: Runner | None = None, psutil: Any = None,
                   timeout: float = 10.0, read_audit_control: Callable[[], ProbeOutput] | None = None,
                   read_audit_user: Callable[[], ProbeOutput] | None = None) -> Any:
    """The snapshot of ``sections`` of this Windows or macOS host."""
    from auditor import __version__

    runner = runner or system_runner(platform)
    if psutil is None:
        import psutil as psutil_module

        psutil = psutil_module
    outputs: dict[str, ProbeOutput] = {}
    for probe in PROBES[platform]:
        if probe.file in ("netstat-ano.txt", "tasklist.csv", "tasklist-before.csv", "lsof-tcp-listen.txt", "lsof-udp.txt") and "sockets" not in sections:
            continue
        if probe.file in ("lsof-tcp-listen.txt", "lsof-udp.txt", "tasklist.csv", "tasklist-before.csv", "id-u.txt"):
            continue  # psutil gives the listeners and their owners (and says when it may not see them)
        if not probe.argv:
            reader = {"audit_control": read_audit_control, "audit_user": read_audit_user}.get(probe.file)
            outputs[probe.file] = reader() if reader else _read_copied(COPIED_FILES[probe.file])
            continue
        outputs[probe.file] = _run_probe(probe.argv, probe.file, runner, timeout, probe.exit_code)
    override = psutil_listeners(psutil) if "sockets" in sections else None
    try:
        user = os.getlogin()
    except OSError:
        user = None
    provenance = {"source": "live", "target_kind": "local", "target_id": "local", "tool_version": __version__,
                  "effective_user": user, "arch": _machine()}
    return snapshot_from_outputs(platform, outputs, sections, provenance=provenance,
                                 collected_at=datetime.now(timezone.utc).replace(microsecond=0),
                                 listeners_override=override, how="collected natively")


def _machine() -> str | None:
    import platform as platform_module

    return platform_module.machine() or None
