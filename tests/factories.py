"""Builders of HostSnapshot fixtures for check tests: real model objects, no mocks."""

from __future__ import annotations

import struct
import subprocess
from datetime import datetime, timezone
from typing import Any

from auditor import __version__
from auditor.model.facts import (
    AuditDaemonProcess,
    AuditdConfig,
    AuditFacts,
    Facts,
    Gap,
    HostSnapshot,
    Listener,
    NamespaceFacts,
    Provenance,
    SocketCounts,
    SocketFacts,
    SysctlFacts,
    SysctlSetting,
    X32Abi,
)

FIXED_TIME = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)


def running_auditd(pid: int | None = 612, **config: Any) -> dict[str, Any]:
    """AuditFacts fields of a host whose auditd (this pid, registered with the kernel) writes what
    it receives: auditd.conf as Debian ships it, with ``config`` changed."""
    actions = {"max_log_file_action": "rotate", "space_left_action": "syslog", "admin_space_left_action": "suspend",
               "disk_full_action": "suspend", "disk_error_action": "suspend"}
    conf = AuditdConfig(origin="/etc/audit/auditd.conf", exists=True, actions=actions, log_format="enriched")
    process = AuditDaemonProcess(state="running", name="auditd", exe="/usr/sbin/auditd") if pid else None
    return {"auditd_pid": pid, "auditd_process": process, "auditd_config": conf.model_copy(update=config),
            "auditd_installed": True}

LINUX_DEFAULT_SYSCTLS = {
    "net.ipv4.ip_local_port_range": "32768 60999",
    "net.ipv4.ip_local_reserved_ports": "",
    "net.ipv4.tcp_fin_timeout": "60",
    "net.ipv4.tcp_fastopen": "1",
    "net.ipv4.tcp_tw_reuse": "2",
    "net.ipv4.tcp_max_tw_buckets": "262144",
    "net.ipv4.ip_unprivileged_port_start": "1024",
    "net.ipv6.bindv6only": "0",
}


def provenance(**overrides: Any) -> Provenance:
    values: dict[str, Any] = dict(
        source="live",
        hostname="web01.example.test",
        machine_id="0123456789abcdef0123456789abcdef",
        os="Debian GNU/Linux 12 (bookworm)",
        kernel="6.1.0-test",
        arch="x86_64",
        collected_at=FIXED_TIME,
        effective_uid=0,
        effective_user="root",
        privileged=True,
        tool_version=__version__,
    )
    values.update(overrides)
    return Provenance(**values)


def sysctl_facts(values: dict[str, str] | None = None, **overrides: str) -> SysctlFacts:
    merged = dict(LINUX_DEFAULT_SYSCTLS if values is None else values)
    merged.update({k.replace("__", "."): v for k, v in overrides.items()})
    return SysctlFacts(
        runtime={k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/")) for k, v in merged.items()}
    )


def listener(address: str, port: int, protocol: str = "tcp", **kw: Any) -> Listener:
    """A listener as sock_diag reports it on Linux 5.10+: not transparent unless ``transparent=True``
    (``transparent=None``: unknown, as before 5.10 or under the /proc/net fallback)."""
    family = "ipv6" if ":" in address else "ipv4"
    return Listener(protocol=protocol, family=family, address=address, port=port,
                    **{"transparent": False, **kw})


def snapshot(
    *,
    listeners: list[Listener] | None = None,
    time_wait: int | None | str = "default",
    sysctl: SysctlFacts | None | str = "default",
    audit: AuditFacts | None = None,
    gaps: list[Gap] | None = None,
    netns: NamespaceFacts | None | str = "default",
    **prov: Any,
) -> HostSnapshot:
    """A snapshot with Linux defaults; pass ``sysctl=None`` / ``audit=None`` for missing sections.
    By default no network namespace but the host's (``netns=None``: not collected, as in an old snapshot).
    An offline image's (``source="root"``) has by default what ``collect --root`` writes: no socket
    counts and no running sysctl values (a snapshot file holding them contradicts itself, exit 2)."""
    image = prov.get("source") == "root"
    if time_wait == "default":
        time_wait = None if image else 0
    if sysctl == "default":
        sysctl = SysctlFacts(runtime=None, persistent={}) if image else sysctl_facts()
    assert not isinstance(time_wait, str)
    sockets = None
    if listeners is not None or time_wait is not None:
        counts = SocketCounts(time_wait=time_wait, tcp_by_state={"TIME_WAIT": time_wait}) if time_wait is not None else None
        sockets = SocketFacts(listeners=listeners, counts=counts)
    return HostSnapshot(
        provenance=provenance(**prov),
        facts=Facts(sockets=sockets, sysctl=sysctl, audit=audit,  # type: ignore[arg-type]
                    netns=NamespaceFacts(published=[], published_sources=["nat"]) if netns == "default" else netns),  # type: ignore[arg-type]
        gaps=gaps or [],
    )


# The first bytes of an x86_64 ELF program: what lbaudit reads from an image's auditctl to know the
# image's machine (its syscall table); an image without it is of unknown machine, so not_reviewed.
ELF_X86_64 = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack("<HHI", 2, 62, 1)


# A kernel without the x32 ABI, as a compliant host has it: no audit rule can match an x32 syscall
# (audit.socket_logging fails b64 where x32 is usable, and is not_reviewed where that is not known).
X32_OFF = X32Abi(usable=False, source="syscall 0x40000027 (x32 getpid) failed with ENOSYS")
KERNEL_CONFIG_WITHOUT_X32 = "CONFIG_X86_64=y\n# CONFIG_X86_X32_ABI is not set\n"


def install_kernel_without_x32(root: Any) -> None:
    """Give the image at ``root`` a kernel configuration (/boot/config-6.1.0-test) without the x32
    ABI: offline, lbaudit reads x32 from the image's kernels."""
    boot = root / "boot"
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "config-6.1.0-test").write_text(KERNEL_CONFIG_WITHOUT_X32)


def loopback_only_policy(policy_id: str) -> str:
    """A policy of one rule, ``loopback-only``: every listener binds loopback."""
    return f"""\
id: {policy_id}
version: "1"
owner: Tests <tests@example.test>
description: listeners on loopback only
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
"""


# Audit rules that satisfy audit.socket_logging on both architectures: listen with bind (an unbound
# socket's listen binds it), and the sends that connect with TCP Fast Open (MSG_FASTOPEN) with connect.
# The backlog limit a compliant host's boot rules set (CIS asks for 8192): without a -b (or
# audit_backlog_limit= on the kernel command line) the kernel keeps its default of 64, which the
# persistent scopes of audit.socket_logging fail.
BOOT_BACKLOG_RULES = "-b 8192\n"

SOCKET_AUDIT_RULES = """\
-a always,exit -F arch=b64 -S bind,listen,connect,accept,accept4 -k net
-a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&0x20000000 -k net
-a always,exit -F arch=b64 -S sendmsg -F a2&0x20000000 -k net
-a always,exit -F arch=b32 -S bind,listen,connect,accept4 -k net
-a always,exit -F arch=b32 -S sendto,sendmmsg -F a3&0x20000000 -k net
-a always,exit -F arch=b32 -S sendmsg -F a2&0x20000000 -k net
-a always,exit -F arch=b32 -S socketcall -k net
"""


def wildcard_sshd_snapshot(path: Any) -> Any:
    """A snapshot file at ``path`` of one listener: sshd (root, pid 10) on every IPv4 address, port
    22, outside loopback (the host of the bind-exception hostile tests).  Returns ``path``."""
    from auditor.model.facts import ProcessInfo
    from auditor.storage.snapshot import snapshot_bytes

    sshd = [ProcessInfo(pid=10, name="sshd", exe="/usr/sbin/sshd", user="root")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=sshd)])))
    return path


# The shell says it runs, then stays (a last simple command would be exec'd).  Popen returns when
# the exec has begun, before the kernel has set the new command line up: /proc/PID/cmdline read then
# is empty (seen 3 times in 200), so each test reads the process only once it has written its line.
SHELL_WAITING = "echo; read line; :"


def started_shell(argv: list[str]) -> subprocess.Popen[bytes]:
    """A shell run under ``argv[0]``, blocked reading its stdin once its command line is in place."""
    child = subprocess.Popen(argv, executable="/bin/sh", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"\n"
    return child


# What applies sysctl.d when a Debian image without systemd-sysctl boots (sysvinit): procps' sysctl,
# run as `sysctl --system` by procps' init script, which an init program starts.  An image without
# one of them (a container image) has its sysctl values left unknown; an image fixture judged on its
# sysctl.d must carry them (or systemd-sysctl).  The program files are stubs: lbaudit never runs them.
PROCPS_INIT_SCRIPT = """#! /bin/sh
### BEGIN INIT INFO
# Provides:          procps
# Required-Start:    mountkernfs $local_fs
# Default-Start:     S
# Short-Description: Configure kernel parameters at boottime
### END INIT INFO
PROCPS_SYSCTL=/sbin/sysctl
case "$1" in
  start|restart|force-reload|reload) $PROCPS_SYSCTL -q --system ;;
esac
"""
PROCPS_BOOT_FILES = {"sbin/init": b"\x7fELF", "sbin/sysctl": b"\x7fELF", "etc/init.d/procps": PROCPS_INIT_SCRIPT.encode()}


def install_procps_boot(root: Any) -> Any:
    """Give the image at ``root`` what applies its sysctl.d at boot without systemd-sysctl
    (:data:`PROCPS_BOOT_FILES`); a file already there is kept.  Returns ``root``."""
    for name, data in PROCPS_BOOT_FILES.items():
        path = root / name
        if not path.exists() and not path.is_symlink():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return root
