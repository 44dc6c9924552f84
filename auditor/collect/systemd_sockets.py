"""Listen addresses that systemd ``.socket`` units declare, read under a root.

An offline image has no running sockets, but a socket unit states what will listen once it boots:
``ListenStream=`` (TCP) and ``ListenDatagram=`` (UDP), with ``BindIPv6Only=`` and
``BindToDevice=``.  Per systemd.socket(5): a bare port ``80`` listens on ``[::]`` (both IPv6 and,
unless ``BindIPv6Only=ipv6-only``, IPv4); ``127.0.0.1:8080`` is IPv4; ``[::1]:443`` IPv6 with an
optional ``%scope`` after the port; unix paths (``/run/x.sock``, ``@abstract``), ``vsock:`` and
netlink addresses are not network listeners and are skipped.  An empty assignment resets the list.

Units are looked up as systemd does: a unit in an earlier directory hides one of the same name in a
later directory, a symlink to ``/dev/null`` masks it, and drop-ins ``<unit>.d/*.conf`` are applied
in lexicographic order of file name.  A unit with an ``[Install]`` section (``WantedBy=``,
``RequiredBy=``) listens only if it is enabled, i.e. linked from a ``*.wants/`` or ``*.requires/``
directory; a static unit (no such section) may be pulled in by another unit, so it is counted.
Template units count through their enabled instances (``foo@bar.socket``), with ``%i`` expanded.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect import CollectContext, rootfs
from auditor.collect.sysctl_d import read_persistent_sysctls, select_files
from auditor.model.facts import Gap, GapKind, Listener, SocketFacts

UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
LISTEN_PROTOCOLS = {"ListenStream": "tcp", "ListenDatagram": "udp"}
INSTALL_KEYS = ("WantedBy", "RequiredBy", "UpheldBy")
OWNER_REASON = "declared by a systemd socket unit in an offline root; no process holds it yet"


class ListenValueError(ValueError):
    pass


# ---------------------------------------------------------------- pure parsing

@dataclass(frozen=True)
class UnitEntry:
    section: str
    key: str
    value: str
    line: int


def parse_unit_file(text: str) -> list[UnitEntry]:
    """``[Section]`` / ``Key=Value`` lines of a unit file.  A trailing backslash continues a line
    (joined with a space); ``#`` and ``;`` start comment lines, also inside a continuation."""
    entries: list[UnitEntry] = []
    section = ""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if pending and line[:1] in ("#", ";"):
            continue
        if not pending:
            start = number
            if not line or line[0] in "#;":
                continue
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        logical = " ".join(pending + [line]).strip() if pending else line
        pending = []
        if logical.startswith("[") and logical.endswith("]"):
            section = logical[1:-1].strip()
            continue
        key, equals, value = logical.partition("=")
        if equals:
            entries.append(UnitEntry(section, key.strip(), value.strip(), start))
    return entries


@dataclass(frozen=True)
class ListenAddress:
    family: str  # "ipv4" or "ipv6"
    address: str
    port: int
    scope: str | None = None


def _port(text: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise ListenValueError(f"{value!r}: {text!r} is not a port number (1-65535)")
    return int(text)


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    """Compressed, with an IPv4-mapped address as ``::ffff:a.b.c.d`` (as the kernel reports it)."""
    mapped = address.ipv4_mapped
    return f"::ffff:{mapped}" if mapped is not None else address.compressed


def parse_listen_address(value: str) -> ListenAddress | None:
    """An IP listen address of systemd.socket(5), or ``None`` for a non-IP one (unix, vsock,
    netlink).  Raises :class:`ListenValueError` for what systemd itself would reject."""
    text = value.strip()
    if text.startswith(("/", "@")) or text.startswith("vsock:"):
        return None
    if text.isdigit():
        return ListenAddress("ipv6", "::", _port(text, value))
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ListenValueError(f"{value!r}: expected [address]:port")
        port_text, _, scope = rest[1:].partition("%")
        host, _, inner_scope = host.partition("%")
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ListenValueError(f"{value!r}: {exc}") from None
        return ListenAddress("ipv6", _ipv6_text(address), _port(port_text, value), scope or inner_scope or None)
    host, colon, port_text = text.rpartition(":")
    if colon:
        try:
            address4 = ipaddress.IPv4Address(host)
        except ValueError:
            raise ListenValueError(f"{value!r}: not an IPv4 address:port, [IPv6]:port, port or path") from None
        return ListenAddress("ipv4", str(address4), _port(port_text, value))
    raise ListenValueError(f"{value!r}: not an IPv4 address:port, [IPv6]:port, port or path")


def parse_bind_ipv6_only(value: str) -> str:
    """``default``, ``both`` or ``ipv6-only`` (booleans are accepted as systemd does)."""
    text = value.strip().lower()
    if text in ("default", "both", "ipv6-only"):
        return text
    if text in ("1", "yes", "y", "true", "t", "on"):
        return "ipv6-only"
    if text in ("0", "no", "n", "false", "f", "off"):
        return "both"
    raise ListenValueError(f"BindIPv6Only={value!r}: expected default, both or ipv6-only")


def expand_specifiers(value: str, instance: str | None) -> str:
    """Expand ``%i``/``%I`` (instance) and ``%%``; any other specifier cannot be known offline."""
    def one(match: re.Match[str]) -> str:
        spec = match.group(1)
        if spec == "%":
            return "%"
        if spec in ("i", "I") and instance is not None:
            return instance
        raise ListenValueError(f"{value!r}: specifier %{spec} cannot be expanded offline")

    return re.sub(r"%(.)", one, value)


@dataclass
class SocketUnit:
    """A socket unit after its drop-ins, as far as listening goes."""

    name: str  # "cockpit.socket" or an instance "foo@bar.socket"
    path: str  # the unit file inside the root
    listens: list[tuple[str, str, str]] = field(default_factory=list)  # (protocol, value, origin path)
    bind_ipv6_only: str = "default"
    bind_to_device: str | None = None
    socket_protocol: str | None = None  # SocketProtocol=: udplite, sctp or mptcp instead of UDP / TCP
    installable: bool = False  # has WantedBy=/RequiredBy=/UpheldBy=: listens only when enabled


def apply_unit_entries(unit: SocketUnit, entries: list[UnitEntry], origin: str) -> None:
    for entry in entries:
        if entry.section == "Install" and entry.key in INSTALL_KEYS and entry.value:
            unit.installable = True
        if entry.section != "Socket":
            continue
        if entry.key in LISTEN_PROTOCOLS:
            if entry.value == "":
                unit.listens = []
            else:
                unit.listens.append((LISTEN_PROTOCOLS[entry.key], entry.value, origin))
        elif entry.key in ("ListenSequentialPacket", "ListenFIFO", "ListenSpecial", "ListenNetlink",
                           "ListenMessageQueue", "ListenUSBFunction"):
            continue  # never an IP listener
        elif entry.key == "BindIPv6Only":
            unit.bind_ipv6_only = parse_bind_ipv6_only(entry.value) if entry.value else "default"
        elif entry.key == "BindToDevice":
            unit.bind_to_device = entry.value or None
        elif entry.key == "SocketProtocol":
            unit.socket_protocol = entry.value.strip().lower() or None


# SocketProtocol= (systemd.socket(5)) swaps the transport of the Listen lines it fits: UDP-Lite for
# datagram sockets, SCTP or MPTCP (systemd 255) for stream sockets.  A value that fits no line is
# left alone: systemd would fail to open that socket, and tcp/udp is judged the same way anyway.
SOCKET_PROTOCOLS = {("udp", "udplite"): "udplite", ("tcp", "sctp"): "sctp", ("tcp", "mptcp"): "mptcp"}


def unit_listeners(unit: SocketUnit, instance: str | None, bindv6only: bool) -> list[Listener]:
    """The listeners a unit declares; ``bindv6only`` is the system default that
    ``BindIPv6Only=default`` follows (net.ipv6.bindv6only)."""
    listeners: list[Listener] = []
    for declared, raw, origin in unit.listens:
        protocol = SOCKET_PROTOCOLS.get((declared, unit.socket_protocol or ""), declared)
        parsed = parse_listen_address(expand_specifiers(raw, instance))
        if parsed is None:
            continue
        v6only: bool | None = None
        if parsed.family == "ipv6":
            v6only = {"ipv6-only": True, "both": False}.get(unit.bind_ipv6_only, bindv6only)
        listeners.append(
            Listener(
                protocol=protocol,  # type: ignore[arg-type]
                family=parsed.family,  # type: ignore[arg-type]
                address=parsed.address,
                port=parsed.port,
                v6only=v6only,
                interface=unit.bind_to_device,
                owner_reason=OWNER_REASON,
                declared_by=origin,
            )
        )
    return listeners


# ---------------------------------------------------------------- reading under a root

def _enabled_names(root: Path, problems: list[str]) -> set[str]:
    """Socket unit names linked from any ``*.wants/`` or ``*.requires/`` directory."""
    names: set[str] = set()
    for directory in UNIT_DIRS:
        for entry in rootfs.list_config_dir(root, directory, problems):
            if entry.endswith((".wants", ".requires")):
                listed = rootfs.list_config_dir(root, f"{directory}/{entry}", problems)
                names.update(n for n in listed if n.endswith(".socket"))
    return names


def _load_unit(root: Path, name: str, file_name: str, path: str, problems: list[str]) -> SocketUnit | None:
    unit = SocketUnit(name=name, path=path)
    # an instance takes the drop-ins of its template too ("foo@.socket.d" and "foo@bar.socket.d")
    dropin_dirs = tuple(f"{d}/{n}.d" for n in dict.fromkeys((file_name, name)) for d in UNIT_DIRS)
    try:
        apply_unit_entries(unit, parse_unit_file(rootfs.read_text(root, path)), path)
        dropins, dropin_problems = select_files(root, dropin_dirs)
        problems += dropin_problems
        for dropin in dropins:
            if not dropin.masked:
                apply_unit_entries(unit, parse_unit_file(rootfs.read_text(root, dropin.path)), dropin.path)
    except ListenValueError as exc:
        problems.append(f"{path}: {exc}")
        return None
    except OSError as exc:
        problems.append(f"{path}: {rootfs.describe_os_error(exc)}")
        return None
    return unit


def active_socket_units(root: Path) -> tuple[list[tuple[SocketUnit, str | None]], list[str]]:
    """The socket units that would be started at boot (enabled or static, not masked), each with
    its template instance (or None), and the problems met reading them."""
    problems: list[str] = []
    files, list_problems = select_files(root, UNIT_DIRS, suffix=".socket")
    problems += list_problems
    enabled = _enabled_names(root, problems)
    by_name = {f.name: f for f in files}
    wanted: list[tuple[str, str | None]] = [(f.name, None) for f in files if "@" not in f.name]
    for name in sorted(enabled):
        prefix, at, rest = name.partition("@")
        if at and rest != ".socket":
            wanted.append((f"{prefix}@.socket", rest[: -len(".socket")]))
    active: list[tuple[SocketUnit, str | None]] = []
    for file_name, instance in wanted:
        unit_file = by_name.get(file_name)
        if unit_file is None or unit_file.masked:
            continue
        instance_name = file_name if instance is None else file_name.replace("@.", f"@{instance}.", 1)
        unit = _load_unit(root, instance_name, file_name, unit_file.path, problems)
        if unit is None:
            continue
        if unit.installable and instance_name not in enabled:
            continue  # installed but not enabled: it will not listen at boot
        active.append((unit, instance))
    return active, problems


def declared_listeners(root: Path, bindv6only: bool = False) -> tuple[list[Listener] | None, list[Gap]]:
    """Listeners declared by the socket units under ``root`` that would listen at boot.

    Fails closed: a unit directory, unit file or listen address that cannot be read or understood
    makes the result ``None`` with an ``unreadable`` gap, since the missing unit may listen anywhere.
    """
    units, problems = active_socket_units(root)
    listeners: list[Listener] = []
    for unit, instance in units:
        try:
            listeners += unit_listeners(unit, instance, bindv6only)
        except ListenValueError as exc:
            problems.append(f"{unit.path}: {exc}")
    if problems:
        reason = "systemd socket units could not be read completely: " + "; ".join(sorted(problems))
        return None, [Gap(section="sockets", field="listeners", reason=reason, kind=GapKind.UNREADABLE)]
    unique = {(l.protocol, l.family, l.address, l.port, l.declared_by or "", l.interface or ""): l for l in listeners}
    return [unique[k] for k in sorted(unique)], []


def collect_declared_sockets(ctx: CollectContext) -> tuple[SocketFacts, list[Gap]]:
    """The sockets section of an offline root: declared listeners, no runtime counts.

    ``BindIPv6Only=default`` follows net.ipv6.bindv6only as the image configures it; when that is
    not set (or unreadable) the kernel default 0 applies, i.e. dual-stack, the wider exposure.
    """
    persistent, _ = read_persistent_sysctls(ctx.root)
    setting = (persistent or {}).get("net.ipv6.bindv6only")
    bindv6only = setting is not None and setting.value == "1"
    listeners, gaps = declared_listeners(ctx.root, bindv6only=bindv6only)
    gaps = gaps + [
        Gap(section="sockets", field="listeners", kind=GapKind.NOT_APPLICABLE,
            reason="offline root directory: only listeners declared by systemd socket units are known; "
                   "sockets that services open themselves exist only on a running host"),
        Gap(section="sockets", field="counts", kind=GapKind.NOT_APPLICABLE,
            reason="socket counts (TIME_WAIT) exist only on a running host, not in an offline root directory"),
    ]
    return SocketFacts(listeners=listeners, counts=None), gaps
