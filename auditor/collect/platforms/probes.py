"""The probes of each platform: the file each writes in a bundle, the command that produces it
(fixed arguments: native collection runs exactly these, without a shell), and the capture script
``lbaudit capture`` prints, which runs the same commands on a host where lbaudit cannot.

The file names are part of the bundle format (README "Captured bundles"); ``ver.txt`` (the Windows
build, for the provenance) was added to the list the format started with, then the udp/ipv6 dynamic
range, the excluded port ranges and macOS's ``audit -c`` (``added_later``: a bundle without them is from an older script).
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.collect.platforms.windows import TCPIP_KEY

TCPIP_KEY_SHORT = TCPIP_KEY.replace("HKEY_LOCAL_MACHINE", "HKLM")


# The most bytes a bundle file of a probe may hold.  A listing of sockets or processes (netstat,
# tasklist, lsof), the audit policy, audit_control and audit_user grow with the host, and 32 MiB is
# far above any real host's; every other probe prints a few lines whatever the host (a name, a
# version, two numbers, a registry key's values, an exit code) or a few dozen (the excluded port
# ranges: blocks an administrator, Hyper-V, WinNAT or Docker reserve, each a row of about 30 bytes),
# and 1 MiB is hundreds of times those.  At 32 MiB each, the fifteen short files of a Windows bundle
# took minutes to replay: netsh's title was searched line by line for the line of dashes that ends
# it (9 s a file), and a dynamic range's two numbers among 400,000 lines.
LISTING_BYTES = 32 * 1024 * 1024
SHORT_OUTPUT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Probe:
    file: str
    argv: tuple[str, ...]  # what native collection runs ({file} is a path lbaudit chooses)
    script: str  # the line of the capture script that writes ``file`` into $Out / "$out"
    optional: bool = False  # its absence is a fact (audit_control), not a gap
    added_later: bool = False  # not written by the first capture scripts: its absence says to capture again
    exit_code: bool = False  # its exit code is the answer: kept on the output's last line (``echo $?``)
    max_bytes: int = SHORT_OUTPUT_BYTES  # the most its bundle file may hold (LISTING_BYTES for a listing)


WINDOWS_PROBES: tuple[Probe, ...] = (
    Probe("hostname.txt", ("hostname.exe",), "Save 'hostname.txt' { hostname.exe }"),
    Probe("ver.txt", ("cmd.exe", "/d", "/c", "ver"), "Save 'ver.txt' { cmd.exe /d /c ver }"),
    Probe("netsh-dynamicport-tcp.txt", ("netsh.exe", "int", "ipv4", "show", "dynamicport", "tcp"),
          "Save 'netsh-dynamicport-tcp.txt' { netsh.exe int ipv4 show dynamicport tcp }"),
    Probe("netsh-dynamicport-tcp6.txt", ("netsh.exe", "int", "ipv6", "show", "dynamicport", "tcp"),
          "Save 'netsh-dynamicport-tcp6.txt' { netsh.exe int ipv6 show dynamicport tcp }"),
    Probe("netsh-dynamicport-udp.txt", ("netsh.exe", "int", "ipv4", "show", "dynamicport", "udp"),
          "Save 'netsh-dynamicport-udp.txt' { netsh.exe int ipv4 show dynamicport udp }"),
    Probe("netsh-dynamicport-udp6.txt", ("netsh.exe", "int", "ipv6", "show", "dynamicport", "udp"),
          "Save 'netsh-dynamicport-udp6.txt' { netsh.exe int ipv6 show dynamicport udp }", added_later=True),
    *(Probe(f"netsh-excludedportrange-{protocol}{suffix}.txt",
            ("netsh.exe", "int", family, "show", "excludedportrange", f"protocol={protocol}"),
            f"Save 'netsh-excludedportrange-{protocol}{suffix}.txt' "
            f"{{ netsh.exe int {family} show excludedportrange protocol={protocol} }}", added_later=True)
      for protocol in ("tcp", "udp") for family, suffix in (("ipv4", ""), ("ipv6", "6"))),
    # The processes on both sides of netstat: a PID reused between netstat and tasklist would name
    # another program's listener (assemble._reused_pid).
    Probe("tasklist-before.csv", ("tasklist.exe", "/fo", "csv", "/nh"),
          "Save 'tasklist-before.csv' { tasklist.exe /fo csv /nh }", added_later=True, max_bytes=LISTING_BYTES),
    Probe("netstat-ano.txt", ("netstat.exe", "-ano"), "Save 'netstat-ano.txt' { netstat.exe -ano }",
          max_bytes=LISTING_BYTES),
    Probe("tasklist.csv", ("tasklist.exe", "/fo", "csv", "/nh"), "Save 'tasklist.csv' { tasklist.exe /fo csv /nh }",
          max_bytes=LISTING_BYTES),
    Probe("tcpip-parameters.txt", ("reg.exe", "query", TCPIP_KEY_SHORT),
          f"Save 'tcpip-parameters.txt' {{ reg.exe query '{TCPIP_KEY_SHORT}' }}"),
    Probe("auditpol-backup.csv", ("auditpol.exe", "/backup", "/file:{file}"),
          # One quoted argument: a bare /file:(...) is two in PowerShell (the path a separate argument,
          # PowerShell issue 13488), and auditpol then refuses the empty /file: into Out-Null.
          "$AuditpolFile = Join-Path $Out 'auditpol-backup.csv'; "
          "auditpol.exe /backup \"/file:$AuditpolFile\" | Out-Null", max_bytes=LISTING_BYTES),
)

MACOS_PROBES: tuple[Probe, ...] = (
    Probe("hostname.txt", ("hostname",), 'hostname > "$out/hostname.txt"'),
    Probe("sw_vers.txt", ("sw_vers",), 'sw_vers > "$out/sw_vers.txt"'),
    Probe("sysctl.txt", ("sysctl", "net.inet.ip.portrange", "net.inet.tcp.msl"),
          'sysctl net.inet.ip.portrange net.inet.tcp.msl > "$out/sysctl.txt"'),
    # +c 0: whole command names (lsof cuts them to 9 characters otherwise: macos.name_may_be_cut)
    Probe("lsof-tcp-listen.txt", ("lsof", "+c", "0", "-nP", "-iTCP", "-sTCP:LISTEN"),
          'lsof +c 0 -nP -iTCP -sTCP:LISTEN > "$out/lsof-tcp-listen.txt"', max_bytes=LISTING_BYTES),
    Probe("lsof-udp.txt", ("lsof", "+c", "0", "-nP", "-iUDP"), 'lsof +c 0 -nP -iUDP > "$out/lsof-udp.txt"',
          max_bytes=LISTING_BYTES),
    # lsof run without root lists only its own user's sockets, silently: who ran it is part of the answer
    Probe("id-u.txt", ("id", "-u"), 'id -u > "$out/id-u.txt"', added_later=True),
    Probe("audit_control", (), 'if [ -f /etc/security/audit_control ]; then '
          'cp /etc/security/audit_control "$out/audit_control"; fi', optional=True, max_bytes=LISTING_BYTES),
    # Per-user masks: a "never" class is taken from that user's login sessions (libbsm getfauditflags).
    # Absent on the host, it is absent from the bundle; a bundle without audit-condition.txt is from a
    # script older than this line, and its absence there says nothing (assemble._macos_audit_user).
    Probe("audit_user", (), 'if [ -f /etc/security/audit_user ]; then '
          'cp /etc/security/audit_user "$out/audit_user"; fi', optional=True, max_bytes=LISTING_BYTES),
    Probe("auditd-launchctl.txt", ("launchctl", "print", "system/com.apple.auditd"),
          'launchctl print system/com.apple.auditd > "$out/auditd-launchctl.txt" 2>&1; '
          'echo $? >> "$out/auditd-launchctl.txt"', exit_code=True),
    # Whether the kernel audits: launchd starts auditd on demand and auditd exits when idle with the
    # kernel still auditing, so neither launchctl's "loaded" nor a running auditd says it.  audit(8)'s
    # -c "exit[s] successfully only if auditing is enabled in the kernel".
    Probe("audit-condition.txt", ("audit", "-c"),
          'audit -c > "$out/audit-condition.txt" 2>&1; echo $? >> "$out/audit-condition.txt"',
          added_later=True, exit_code=True),
)

PROBES: dict[str, tuple[Probe, ...]] = {"windows": WINDOWS_PROBES, "macos": MACOS_PROBES}
AUDIT_CONTROL_PATH = "/etc/security/audit_control"
AUDIT_USER_PATH = "/etc/security/audit_user"
# The files the macOS capture copies (probes without a command): where native collection reads each.
COPIED_FILES = {"audit_control": AUDIT_CONTROL_PATH, "audit_user": AUDIT_USER_PATH}


def bundle_files(platform: str) -> tuple[str, ...]:
    return tuple(probe.file for probe in PROBES[platform])


def capture_script(platform: str) -> str:
    """The PowerShell (windows) or sh (macos) script that writes a bundle for ``lbaudit collect --replay``."""
    if platform == "windows":
        lines = [
            "# lbaudit capture for Windows: run in an elevated PowerShell (auditpol needs Administrator).",
            "# Writes one file per probe into a directory; give it to: lbaudit collect --replay DIR --output S",
            "param([string]$Out = \"lbaudit-bundle-$env:COMPUTERNAME\")",
            # A new directory, never one that exists: files left in it by another capture (an
            # audit_control this host no longer has) would be replayed as this host's, and a link
            # planted in it would be written through with Administrator rights.
            "if (Test-Path -LiteralPath $Out) { Write-Error \"lbaudit capture: $Out exists; give a new directory\"; exit 2 }",
            "New-Item -ItemType Directory -Path $Out -ErrorAction Stop | Out-Null",
            # absolute: auditpol resolves a relative /file: against the process's directory, which
            # PowerShell's current location need not be
            "$Out = (Resolve-Path -LiteralPath $Out).ProviderPath",
            "function Save([string]$Name, [scriptblock]$Probe) {",
            "    & $Probe 2>&1 | Out-File -Encoding utf8 -FilePath (Join-Path $Out $Name)",
            "}",
            *(probe.script for probe in WINDOWS_PROBES),
            "Write-Output \"bundle written to $Out\"",
        ]
    elif platform == "macos":
        lines = [
            "#!/bin/sh",
            "# lbaudit capture for macOS: run with sudo (lsof sees other users' sockets only as root).",
            "# Writes one file per probe into a directory; give it to: lbaudit collect --replay DIR --output S",
            'out="${1:-lbaudit-bundle-$(hostname -s)}"',
            "umask 077",
            # A new directory, never one that exists (mkdir without -p): files left in it by another
            # capture (an audit_control this host no longer has) would be replayed as this host's,
            # and a link planted in it (hostname.txt -> /etc/sudoers) would be written through as root.
            'mkdir "$out" || { echo "lbaudit capture: $out exists or cannot be created; give a new directory" >&2; exit 2; }',
            *(probe.script for probe in MACOS_PROBES),
            'echo "bundle written to $out"',
        ]
    else:
        raise ValueError(f"no capture script for platform {platform!r} (windows or macos)")
    return "\n".join(lines) + "\n"
