"""Listen addresses that systemd ``.socket`` units declare, read under a root.

An offline image has no running sockets, but a socket unit states what will listen once it boots:
``ListenStream=`` (TCP) and ``ListenDatagram=`` (UDP), with ``BindIPv6Only=`` and
``BindToDevice=``.  Per systemd.socket(5): a bare port ``80`` listens on ``[::]`` (both IPv6 and,
unless ``BindIPv6Only=ipv6-only``, IPv4); ``127.0.0.1:8080`` is IPv4; ``[::1]:443`` IPv6 with an
optional ``%scope`` after the port; unix paths (``/run/x.sock``, ``@abstract``), ``vsock:`` and
netlink addresses are not network listeners and are skipped.  An empty assignment resets the list.

Units are looked up as systemd does (systemd.unit(5), src/shared/dropin.c), across the whole system
unit search path: ``/etc/systemd/system.control``, ``/run/systemd/system.control``,
``/run/systemd/transient``, ``/run/systemd/generator.early``, ``/etc/systemd/system``,
``/etc/systemd/system.attached``, ``/run/systemd/system``, ``/run/systemd/system.attached``,
``/run/systemd/generator``, ``/usr/local/lib/systemd/system``, ``/usr/lib/systemd/system``,
``/lib/systemd/system``, ``/run/systemd/generator.late`` (in an offline image not those under /run,
which a tmpfs covers at boot: :func:`boot_unit_dirs`).  A unit in an earlier directory hides one
of the same name in a later one; a symlink to ``/dev/null`` or an empty file masks it; a symlink to
a file outside the path (``systemctl link``) is the unit, one to another unit name is an alias.

Drop-ins ``*.conf`` come from, per unit directory in that order, ``<unit>.d/``, the template's
``foo@.socket.d/`` for an instance, each dash prefix ``foo-bar-.socket.d/``, ``foo-.socket.d/``; then
the same for each alias; then the type-wide ``socket.d/`` of every directory.  A file name met first
wins (a ``/dev/null`` link of that name masks the rest), and the winners apply in lexicographic
order of file name.

A unit with ``WantedBy=``, ``RequiredBy=`` or ``UpheldBy=`` in its unit file listens only if it is
enabled: linked, by its name or an alias, from a ``.wants/``, ``.requires/`` or ``.upholds/``
directory of any unit in any unit directory (PID 1 reads those of every directory, vendor ones
included), or given an alias link; or if a unit the boot starts depends on it (``Requires=``,
``Wants=``, a service's ``Sockets=``, ...).  A static unit may be pulled in by another unit, so it
counts.
An image that has not booted yet (``/etc/machine-id`` missing or ``uninitialized``) is
enabled further at its first boot: PID 1 applies the presets (``systemctl preset-all``,
systemd.preset(5)), which enable every unit with an ``[Install]`` section that no preset line
disables, and the ``Also=`` units of each, transitively (:func:`enabled_at_first_boot`).
Template units count through their enabled instances (``foo@bar.socket``).  Specifiers that the unit
name decides (``%n %N %p %P %i %I %j %J %f %%``) are expanded; a value that starts with a path
specifier (``%t/podman.sock``) is a unix socket; any other specifier makes that one value unknown
(a gap), never the whole list.  What generators write at boot cannot be known offline.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import field
from pathlib import Path

from auditor.collect import CollectContext, rootfs
from auditor.collect.sysctl import read_boot_sysctls
from auditor.collect.sysctl_d import ConfigFile, select_files, systemd_version
from auditor.domain.sysctl import configured_setting, systemd_lines
from auditor.model.facts import Gap, GapKind, Listener, SocketFacts
from auditor.model.records import mutable_record, record

# The system unit search path of systemd.unit(5), highest priority first; /lib/systemd/system is
# where split-/usr systems (Debian up to 12) keep units, and where merged-/usr ones link /usr/lib.
UNIT_DIRS = (
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
    "/run/systemd/generator.late",
)
# The user manager's search path (systemd.unit(5), user mode) without the directories of one user's
# home or runtime directory: every user's systemd (user@UID.service, at login, at boot when the user
# lingers) starts the socket units enabled here (systemctl --global enable), and a user socket may
# listen on any address.
USER_UNIT_DIRS = (
    "/etc/xdg/systemd/user",
    "/etc/systemd/user",
    "/run/systemd/user",
    "/usr/local/share/systemd/user",
    "/usr/share/systemd/user",
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/user",
)
LISTEN_PROTOCOLS = {"ListenStream": "tcp", "ListenDatagram": "udp"}
# Every Listen*= of systemd.socket(5): an empty one resets them all; only the two above can be IP.
LISTEN_KEYS = ("ListenStream", "ListenDatagram", "ListenSequentialPacket", "ListenFIFO", "ListenSpecial",
               "ListenNetlink", "ListenMessageQueue", "ListenUSBFunction")
# The Listen*= whose value is a socket address (IP, unix path, vsock); the others never are.
SOCKET_ADDRESS_KEYS = ("ListenStream", "ListenDatagram", "ListenSequentialPacket")
INSTALL_KEYS = ("WantedBy", "RequiredBy", "UpheldBy")
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\@-]+\.(service|socket|target|timer|path|mount|automount|swap|slice|scope|device)")
# Dependencies that start the unit named along with the unit that names them (systemd.unit(5),
# systemd.service(5) Sockets=, systemd.timer(5) and systemd.path(5) Unit=).
DEPENDENCY_KEYS = {("Unit", "Wants"), ("Unit", "Requires"), ("Unit", "Requisite"), ("Unit", "BindsTo"),
                   ("Unit", "Upholds"), ("Unit", "OnSuccess"), ("Unit", "OnFailure"), ("Service", "Sockets"),
                   ("Timer", "Unit"), ("Path", "Unit")}
# What the boot starts whatever is enabled: the default target (through its alias link) and the
# targets every system reaches on the way.
BOOT_TARGETS = ("default.target", "sysinit.target", "basic.target", "sockets.target")
# Directories whose links add a dependency that starts the linked unit along with their unit.
DEPENDENCY_DIRS = (".wants", ".requires", ".upholds")
OWNER_REASON = "declared by a systemd socket unit in an offline root; no process holds it yet"


class ListenValueError(ValueError):
    pass


# ---------------------------------------------------------------- pure parsing

@record
class UnitEntry:
    section: str
    key: str
    value: str
    line: int


# What systemd strips from both ends of a line, a key and a value (WHITESPACE of
# src/basic/string-util.h), and nothing else: Python's str.strip() also strips a form feed, a
# vertical tab and a no-break space, so "\f[Unit]" was a section header to lbaudit and a line
# systemd ignores ("Missing '='"), the [Socket] before it still open.
SYSTEMD_WHITESPACE = " \t\n\r"
UTF8_BOM = "\ufeff"
# ".include PATH" (systemd before 246): an entry of this section (no section name can hold a NUL,
# which ends a line) whose value is PATH; no section of a unit, so every reader passes it by.
INCLUDE_SECTION, INCLUDE_KEY = "\0", ".include"


def _ends_in_backslash(line: str) -> bool:
    """Whether ``line`` is continued: its last character a backslash that no backslash before it
    escapes (``C:\\\\`` is not continued), as config_parse() counts them; no white space after it."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def parse_unit_file(text: str) -> list[UnitEntry]:
    """``[Section]`` / ``Key=Value`` lines of a unit file, as systemd's config_parse()
    (src/shared/conf-parser.c) reads them: ``#`` and ``;`` start comment lines, also inside a
    continuation; a UTF-8 byte order mark is skipped (the first one met); a line whose last
    character is an unescaped backslash is continued (that backslash becomes a space, the next
    line is appended as it stands), a continuation still open at the end of the file is parsed;
    only " \\t\\n\\r" is white space."""
    entries: list[UnitEntry] = []
    section = ""
    continuation: str | None = None
    start = 0
    bom_seen = False

    def parse_line(logical: str, number: int) -> None:
        nonlocal section
        line = logical.strip(SYSTEMD_WHITESPACE)
        if not line:
            return
        if line.startswith(INCLUDE_KEY + " "):
            entries.append(UnitEntry(INCLUDE_SECTION, INCLUDE_KEY, line[len(INCLUDE_KEY):].strip(SYSTEMD_WHITESPACE), number))
            return
        if line.startswith("["):
            if line.endswith("]"):  # else systemd refuses the whole file; read on, the wider view
                section = line[1:-1]
            return
        key, equals, value = line.partition("=")
        if equals and key:
            entries.append(UnitEntry(section, key.strip(SYSTEMD_WHITESPACE), value.strip(SYSTEMD_WHITESPACE), number))

    for number, raw in enumerate(systemd_lines(text), start=1):  # "\r" and NUL end a line too
        if raw.lstrip(SYSTEMD_WHITESPACE)[:1] in ("#", ";"):
            continue
        line = raw
        if not bom_seen and raw.startswith(UTF8_BOM):
            line, bom_seen = raw[len(UTF8_BOM):], True
        if continuation is None:
            start = number
        logical = line if continuation is None else continuation + line
        if _ends_in_backslash(logical):
            continuation = logical[:-1] + " "
            continue
        continuation = None
        parse_line(logical, start)
    if continuation is not None:
        parse_line(continuation, start)
    return entries


@record
class ListenAddress:
    family: str  # "ipv4" or "ipv6"
    address: str
    port: int
    scope: str | None = None


# The port numbers systemd's parse_ip_port() reads (safe_atou16(): strtoul() of base 0, with the
# "0o" and "0b" prefixes too): "0443" is octal, port 291, not 443; "0x1bb" and "+443" are 443.
# Checked with systemd-socket-activate 252, which parses with PID 1's socket_address_parse().
_PORT_FORMS = ((re.compile(r"\+?0[xX]([0-9a-fA-F]+)"), 16), (re.compile(r"0[oO]([0-7]+)"), 8),
               (re.compile(r"0[bB]([01]+)"), 2), (re.compile(r"\+?0([0-7]+)"), 8),
               (re.compile(r"\+?([1-9][0-9]*)"), 10))


def _port_number(text: str) -> int | None:
    """The number systemd reads in ``text`` (any size), or None when it reads none there.
    parse_ip_port() refuses a leading space, tab, CR or LF, but strtoul() then skips any white space
    isspace() knows: ``0.0.0.0:\\f82`` is port 82 (and no "0o" or "0b" prefix after it)."""
    if text[:1] in SYSTEMD_WHITESPACE:
        return None
    number = text.lstrip(" \t\n\v\f\r")
    for form, base in _PORT_FORMS[:1] + _PORT_FORMS[3:] if number != text else _PORT_FORMS:
        match = form.fullmatch(number)
        if match is not None:
            digits = match.group(1).lstrip("0") or "0"
            return int(digits, base) if len(digits) <= 20 else 1 << 64  # int() refuses 4,300 digits
    return None


def _port(text: str, value: str) -> int:
    number = _port_number(text)
    if number is None or not 1 <= number <= 65535:
        raise ListenValueError(f"{value!r}: {text!r} is not a port number (1-65535) as systemd reads it")
    return number


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
    if _port_number(text) is not None:  # a port alone: systemd listens on [::] (or 0.0.0.0 without IPv6)
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


def parse_transparent(value: str) -> bool | None:
    """``Transparent=`` as systemd's parse_boolean reads it (empty: the default, false); None for a
    value it refuses, which it logs and skips, leaving what an earlier line set: not known here."""
    text = value.strip().lower()
    if text in ("", "0", "no", "n", "false", "f", "off"):
        return False
    if text in ("1", "yes", "y", "true", "t", "on"):
        return True
    return None


# Specifiers of systemd.unit(5) that the unit name alone decides, so they expand offline.
NAME_SPECIFIERS = "nNpPiIjJf"
# Specifiers that expand to an absolute path in the system manager (%t /run, %S /var/lib, %C
# /var/cache, %L /var/log, %E /etc, %T /tmp, %V /var/tmp, %h root's home): a listen value that
# starts with one is a unix socket path whatever the path is, never an IP listener.
PATH_SPECIFIERS = "tSCLEThV"


class UnknownSpecifier(ListenValueError):
    """A value holds a specifier that only the running system knows (%H host name, %m machine id...)."""


def _unescape(text: str) -> str:
    """systemd-escape reversed: ``\\xNN`` is a byte, ``-`` a ``/``."""
    out = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text.replace("-", "/"))
    return out


def name_specifiers(unit_name: str) -> dict[str, str]:
    """What %n %N %p %P %i %I %j %J %f expand to for ``unit_name`` (systemd.unit(5), Specifiers)."""
    stem = unit_name.rsplit(".", 1)[0]
    prefix, at, instance = stem.partition("@")
    last = prefix.rsplit("-", 1)[-1] if "-" in prefix else prefix
    return {
        "n": unit_name,
        "N": stem,
        "p": prefix,
        "P": _unescape(prefix),
        "i": instance,
        "I": _unescape(instance),
        "j": last,
        "J": _unescape(last),
        "f": "/" + (_unescape(instance) if at and instance else _unescape(prefix)).lstrip("/"),
    }


def expand_specifiers(value: str, unit_name: str) -> str | None:
    """``value`` with its specifiers expanded for ``unit_name``; ``None`` when it is a unix socket
    path whose directory only the running system knows (``%t/podman/podman.sock``).  Raises
    :class:`UnknownSpecifier` for any other specifier that cannot be expanded offline."""
    if len(value) >= 2 and value[0] == "%" and value[1] in PATH_SPECIFIERS:
        return None
    known = name_specifiers(unit_name)

    def one(match: re.Match[str]) -> str:
        spec = match.group(1)
        if spec == "%":
            return "%"
        if spec in known:
            return known[spec]
        raise UnknownSpecifier(f"{value!r}: specifier %{spec} cannot be expanded offline")

    return re.sub(r"%(.?)", one, value)


@mutable_record
class SocketUnit:
    """A socket unit after its drop-ins, as far as listening goes."""

    name: str  # "cockpit.socket" or an instance "foo@bar.socket"
    path: str  # the unit file inside the root
    listens: list[tuple[str, str, str]] = field(default_factory=list)  # (Listen key, value, origin path)
    bind_ipv6_only: str = "default"
    bind_to_device: str | None = None
    socket_protocol: str | None = None  # SocketProtocol=: udplite, sctp or mptcp instead of UDP / TCP
    # Transparent= (IP_TRANSPARENT): false unless set; None when its value is not a boolean systemd reads
    transparent: bool | None = False
    installable: bool = False  # the unit file has WantedBy=/RequiredBy=/UpheldBy=: listens only when enabled
    sources: list[str] = field(default_factory=list)  # the unit file and the drop-ins applied, in order


def apply_unit_entries(unit: SocketUnit, entries: list[UnitEntry], origin: str, *, main_file: bool) -> None:
    for entry in entries:
        # systemd reads [Install] for enablement only; a drop-in's [Install] never makes a static
        # unit disabled here, so a static unit stays counted (the wider exposure).
        if main_file and entry.section == "Install" and entry.key in INSTALL_KEYS and entry.value:
            unit.installable = True
        if entry.section != "Socket":
            continue
        if entry.key in LISTEN_KEYS:
            if entry.value == "":
                unit.listens = []  # an empty Listen*= of any kind resets every listen address
            else:
                unit.listens.append((entry.key, entry.value, origin))
        elif entry.key == "BindIPv6Only":
            unit.bind_ipv6_only = parse_bind_ipv6_only(entry.value) if entry.value else "default"
        elif entry.key == "BindToDevice":
            unit.bind_to_device = entry.value or None
        elif entry.key == "Transparent":
            unit.transparent = parse_transparent(entry.value)
        elif entry.key == "SocketProtocol":
            unit.socket_protocol = entry.value.strip().lower() or None


# SocketProtocol= (systemd.socket(5)) swaps the transport of the Listen lines it fits: UDP-Lite for
# datagram sockets, SCTP or MPTCP (systemd 255) for stream sockets.  A value that fits no line is
# left alone: systemd would fail to open that socket, and tcp/udp is judged the same way anyway.
SOCKET_PROTOCOLS = {("udp", "udplite"): "udplite", ("tcp", "sctp"): "sctp", ("tcp", "mptcp"): "mptcp"}


def unit_listeners(unit: SocketUnit, bindv6only: bool) -> tuple[list[Listener], list[str]]:
    """The listeners a unit declares, and the problems with values that could not be known (each
    names the file and the value; the other values are still returned).  ``bindv6only`` is the
    system default that ``BindIPv6Only=default`` follows (net.ipv6.bindv6only)."""
    listeners: list[Listener] = []
    problems: list[str] = []
    for key, raw, origin in unit.listens:
        if key not in SOCKET_ADDRESS_KEYS:
            continue  # FIFOs, special files, netlink, message queues, USB functions: never IP
        try:
            expanded = expand_specifiers(raw, unit.name)
            parsed = None if expanded is None else parse_listen_address(expanded)
        except ListenValueError as exc:
            problems.append(f"{origin}: {unit.name}: {key}={exc}")
            continue
        if parsed is None:
            continue
        protocol = LISTEN_PROTOCOLS.get(key)
        if protocol is not None:
            protocol = SOCKET_PROTOCOLS.get((protocol, unit.socket_protocol or ""), protocol)
        if protocol is None:  # ListenSequentialPacket= is AF_UNIX/vsock only; an IP value is not modelled
            problems.append(f"{origin}: {unit.name}: {key}={raw!r} is an IP address, which lbaudit does not model for {key}")
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
                transparent=unit.transparent,
                owner_reason=OWNER_REASON,
                declared_by=origin,
            )
        )
    return listeners, problems


# ---------------------------------------------------------------- unit names and drop-in directories (pure)

def template_of(name: str) -> str | None:
    """``foo@.socket`` for an instance ``foo@bar.socket``; None otherwise."""
    stem, dot, suffix = name.rpartition(".")
    prefix, at, instance = stem.partition("@")
    return f"{prefix}@.{suffix}" if at and instance else None


def dash_prefixes(name: str, most: int | None = None) -> list[str]:
    """The prefix names whose drop-ins a unit also takes, most specific first:
    ``foo-bar-baz.socket`` -> ``["foo-bar-.socket", "foo-.socket"]`` (systemd.unit(5); the name
    is cut after each dash, a trailing dash once, as src/shared/dropin.c does); with ``most``, the
    first that many only."""
    stem, _, suffix = name.rpartition(".")
    prefix = stem.partition("@")[0]
    found: list[str] = []
    while most is None or len(found) < most:
        chopped = False
        while True:
            dash = prefix.rfind("-")
            if dash <= 0:  # no dash, or only a leading one: done
                return found
            if dash + 1 < len(prefix) or chopped:
                prefix = prefix[: dash + 1]
                break
            prefix = prefix[:dash]  # a trailing dash is cut off once, then the next one counts
            chopped = True
        found.append(f"{prefix}.{suffix}")
    return found


@functools.lru_cache(maxsize=4096)
def dropin_dir_names(name: str) -> tuple[str, ...]:
    """``<name>.d`` directory names for one unit name in one unit directory, in systemd's order:
    the name, its template, then each dash prefix (with its own template).  Each prefix's names are
    made once (cached): a name of 100 dashes made every shorter prefix's names again at each level,
    and every one of them again for each unit directory and each alias, so 100 such aliases of one
    enabled socket held a collection for 5 minutes."""
    names = [f"{name}.d"]
    template = template_of(name)
    if template is not None:
        names += dropin_dir_names(template)
    for prefix in dash_prefixes(name, 1):  # the prefix recurses to the shorter prefixes itself
        names += dropin_dir_names(prefix)
    return tuple(dict.fromkeys(names))


def dropin_dirs(name: str, aliases: list[str], unit_type: str = "socket") -> tuple[str, ...]:
    """Every drop-in directory of a unit, in precedence order (a file name met first wins):
    for each unit directory the unit's own names, then its aliases', then the top-level
    ``socket.d/`` of every unit directory, the most generic, last."""
    dirs: list[str] = []
    for unit_name in [name, *aliases]:
        names = dropin_dir_names(unit_name)
        for directory in UNIT_DIRS:
            dirs += [f"{directory}/{d}" for d in names]
    dirs += [f"{directory}/{unit_type}.d" for directory in UNIT_DIRS]
    return tuple(dict.fromkeys(dirs))


# ---------------------------------------------------------------- reading under a root

@record
class UnitFiles:
    """The unit names under a root (every type): which file each loads, which names are aliases,
    and which names a dependency directory links."""

    files: dict[str, ConfigFile]  # name -> the file that wins (first unit directory that has it)
    alias_of: dict[str, str]  # alias name -> the unit name it links to
    enabled: set[str]  # names linked from any *.wants/, *.requires/ or *.upholds/ directory
    present: frozenset[str] = frozenset()  # "<unit dir>/<name>" of every entry in a unit directory
    present_names: frozenset[str] = frozenset()  # "<name>" of each of them
    # read from a running host's root (its mounts there), not an image's (see boot_unit_dirs)
    running: bool = True
    unit_dirs: tuple[str, ...] = UNIT_DIRS  # the search path read: the system manager's, or USER_UNIT_DIRS

    def dropin_dirs(self, name: str, aliases: list[str]) -> tuple[str, ...]:
        """The drop-in directories of ``name`` that exist, in precedence order (as
        :func:`dropin_dirs` orders them).  Only the names some unit directory holds are put
        together with each directory: making every candidate path first (each alias's dash prefixes
        in each of 13 directories) took 6 s and 651 MiB for one socket with 5,000 aliases of 60
        dashes, at each ask."""
        dirs: list[str] = []
        for unit_name in [name, *aliases]:
            names = [d for d in dropin_dir_names(unit_name) if d in self.present_names]
            for directory in self.unit_dirs:
                dirs += [path for d in names if (path := f"{directory}/{d}") in self.present]
        type_wide = f"{name.rpartition('.')[2]}.d"
        dirs += [path for directory in self.unit_dirs if (path := f"{directory}/{type_wide}") in self.present]
        return tuple(dict.fromkeys(dirs))

    def canonical(self, name: str) -> str:
        return self.alias_of.get(name, name)

    def file_of(self, name: str) -> ConfigFile | None:
        """The file ``name`` loads: its own, else its template's; None when there is none."""
        found = self.files.get(name)
        template = template_of(name)
        if found is None and template is not None:
            found = self.files.get(template)
        return found


def user_unit_dirs(home: str | None = None) -> tuple[str, ...]:
    """The user manager's search path (systemd.unit(5), user mode): :data:`USER_UNIT_DIRS`, and with
    ``home`` that user's own directories in their places: ``~/.config/systemd/user.control`` and
    ``~/.config/systemd/user`` first, ``~/.local/share/systemd/user`` after ``/run/systemd/user``
    (the $XDG_RUNTIME_DIR ones exist only while the user is logged in)."""
    if home is None:
        return USER_UNIT_DIRS
    home = home.rstrip("/")
    return (f"{home}/.config/systemd/user.control", f"{home}/.config/systemd/user", *USER_UNIT_DIRS[:3],
            f"{home}/.local/share/systemd/user", *USER_UNIT_DIRS[3:])


def boot_unit_dirs(running: bool, user: bool = False, home: str | None = None) -> tuple[str, ...]:
    """The unit directories the next boot reads under a root (the user manager's with ``user``, with
    the directories of the user whose home is ``home``): all of them on a running host (its /run
    holds what this boot's generators and runtime units made); in an offline image not its /run,
    which a tmpfs covers at boot: a mask, unit or enablement link left there is not there when it
    boots (what the boot's generators write there, the image cannot show)."""
    directories = user_unit_dirs(home) if user else UNIT_DIRS
    return directories if running else tuple(d for d in directories if not d.startswith("/run/"))


def _scan_units(root: Path, problems: list[str], running: bool = True, user: bool = False,
                home: str | None = None) -> UnitFiles:
    """The unit files under ``root`` (read once a collection: rootfs.read_once), adding the
    problems met to ``problems``; ``running``: see :func:`boot_unit_dirs`; ``user``: the user
    manager's search path instead of the system manager's (with ``home``: that user's)."""
    scan, found = rootfs.read_once(("systemd units", os.fspath(root), running, user, home),
                                   lambda: _read_units(root, running, user, home))
    problems += found
    return scan


def _read_units(root: Path, running: bool, user: bool = False, home: str | None = None) -> tuple[UnitFiles, list[str]]:
    problems: list[str] = []
    directories = boot_unit_dirs(running, user, home)
    found, list_problems = select_files(root, directories, suffix="")
    problems += list_problems
    files = [f for f in found if UNIT_NAME.fullmatch(f.name)]
    alias_of: dict[str, str] = {}
    for unit_file in files:
        if unit_file.masked or not unit_file.link:
            continue  # a plain file in a unit directory is the unit of its own name, no alias
        try:
            target = rootfs.resolve(root, unit_file.path).name
        except OSError as exc:
            problems.append(f"{unit_file.path}: {rootfs.describe_os_error(exc)}")
            continue
        if target != unit_file.name and UNIT_NAME.fullmatch(target):
            alias_of[unit_file.name] = target  # Alias= (or a link made by hand): the same unit by another name
    enabled: set[str] = set()
    present: set[str] = set()
    for directory in directories:
        for entry in rootfs.list_config_dir(root, directory, problems):
            present.add(f"{directory}/{entry}")
            if entry.endswith(DEPENDENCY_DIRS):
                listed = rootfs.list_config_dir(root, f"{directory}/{entry}", problems)
                enabled.update(n for n in listed if UNIT_NAME.fullmatch(n))
    return (UnitFiles({f.name: f for f in files}, alias_of, enabled, frozenset(present),
                      frozenset(path.rpartition("/")[2] for path in present), running,
                      user_unit_dirs(home) if user else UNIT_DIRS), problems)


# systemd parsed the file a ".include PATH" line names (relative: to the including file's directory)
# in its place, with its own sections, until 246 removed it (PR #16043): RHEL 7 and 8, Debian 10 and
# Ubuntu 20.04 still do.  Since then the line is ignored.
LAST_SYSTEMD_WITH_INCLUDE = 245
# Deeper than any real unit nests them: systemd itself had no bound (an include loop ran it out of files).
MAX_INCLUDE_DEPTH = 16


def _includes_apply(root: Path) -> bool:
    """Whether the systemd under ``root`` reads ``.include`` (its version unknown: taken as reading
    it, the wider view)."""
    version = systemd_version(root)
    return version is None or version <= LAST_SYSTEMD_WITH_INCLUDE


def _with_includes(root: Path, path: str, entries: list[UnitEntry], problems: list[str],
                   depth: int = 0) -> list[UnitEntry]:
    """``entries`` of the file ``path`` with each ``.include`` replaced by the entries of the file it
    names.  An absent file adds nothing (systemd skipped it); one that cannot be read, a link on
    its way to nothing, or nesting past :data:`MAX_INCLUDE_DEPTH` is a problem."""
    found: list[UnitEntry] = []
    for entry in entries:
        if entry.section != INCLUDE_SECTION:
            found.append(entry)
            continue
        target = entry.value if entry.value.startswith("/") else f"{path.rpartition('/')[0]}/{entry.value}"
        if depth >= MAX_INCLUDE_DEPTH:
            problems.append(f"{path}:{entry.line}: .include {entry.value}: more than {MAX_INCLUDE_DEPTH} nested "
                            ".include lines (a loop?)")
            continue
        try:
            text = rootfs.read_text(root, target)
        except FileNotFoundError:
            problem = rootfs.absence_problem(root, target)
            if problem is not None:
                problems.append(f"{problem} (included by {path})")
            continue
        except OSError as exc:
            problems.append(f"{target}: {rootfs.describe_os_error(exc)} (included by {path})")
            continue
        found += _with_includes(root, target, parse_unit_file(text), problems, depth + 1)
    return found


def _unit_sources(root: Path, scan: UnitFiles, name: str, unit_file: ConfigFile, aliases: list[str],
                  problems: list[str]) -> list[tuple[str, list[UnitEntry]]] | None:
    """The unit file and each of its drop-ins, in the order systemd applies them, with their
    entries; None when the unit is masked (an empty unit file, as a link to /dev/null does) or its
    file cannot be read (a problem then names it).  An unreadable drop-in is a problem and skipped;
    a dangling drop-in link is skipped, as systemd skips it, on a running host; in an image it is a
    problem (perhaps a mount the image does not carry, whose drop-in the booted host reads)."""
    try:
        text = rootfs.read_text(root, unit_file.path)
    except OSError as exc:
        problems.append(f"{unit_file.path}: {rootfs.describe_os_error(exc)}")
        return None
    if text == "":
        return None
    includes = _includes_apply(root)

    def parse(path: str, text: str) -> list[UnitEntry]:
        entries = parse_unit_file(text)
        return _with_includes(root, path, entries, problems) if includes else entries

    sources = [(unit_file.path, parse(unit_file.path, text))]
    dropins, dropin_problems = select_files(root, scan.dropin_dirs(name, aliases))
    problems += dropin_problems
    for dropin in dropins:
        if dropin.masked:
            continue
        try:
            sources.append((dropin.path, parse(dropin.path, rootfs.read_text(root, dropin.path))))
        except FileNotFoundError:
            problem = None if scan.running else rootfs.absence_problem(root, dropin.path)
            if problem is not None:
                problems.append(f"{problem} (a drop-in of {name})")
            continue
        except OSError as exc:
            problems.append(f"{dropin.path}: {rootfs.describe_os_error(exc)} (a drop-in of {name})")
    return sources


def _unit_entries(root: Path, scan: UnitFiles, name: str, unit_file: ConfigFile, aliases: list[str],
                  problems: list[str]) -> list[UnitEntry] | None:
    """The entries of a unit and its drop-ins in the order systemd applies them (see :func:`_unit_sources`)."""
    sources = _unit_sources(root, scan, name, unit_file, aliases, problems)
    return None if sources is None else [entry for _, entries in sources for entry in entries]


# ---------------------------------------------------------------- first boot (systemd.preset(5))

# Where presets are read, highest priority first (CONF_PATHS("systemd/system-preset") of
# src/shared/install.c; /lib on split-/usr systems); in an image not /run, which a tmpfs covers.
PRESET_DIRS = ("/etc/systemd/system-preset", "/run/systemd/system-preset", "/usr/local/lib/systemd/system-preset",
               "/usr/lib/systemd/system-preset", "/lib/systemd/system-preset")
# What an [Install] section holds that `systemctl preset` acts on: a unit with none of these is
# static, and presets leave it alone.
PRESET_INSTALL_KEYS = (*INSTALL_KEYS, "Alias", "Also", "DefaultInstance")
# The first line of /etc/machine-id that makes a boot the first one, besides a missing file (PID 1's
# log_execution_mode(), src/core/main.c: "missing or contains the value uninitialized"; an empty
# file is not a first boot: the machine ID is made, the presets are not applied).
FIRST_BOOT_MACHINE_ID = b"uninitialized"


@record
class PresetRule:
    action: str  # "enable" or "disable" ("ignore" lines are skipped: see parse_preset_file)
    pattern: str  # a glob (fnmatch, as systemd matches it with FNM_NOESCAPE)
    instances: tuple[str, ...] = ()  # "enable foo@.socket a b": the instances a template is enabled with
    origin: str = ""  # "/usr/lib/systemd/system-preset/90-x.preset:3"


def parse_preset_file(text: str, origin: str) -> list[PresetRule]:
    """The rules of one preset file in order, as src/shared/install.c read_presets() takes them: a
    line is stripped; empty lines and those starting with # or ; are comments; ``enable PATTERN
    [INSTANCE...]`` and ``disable PATTERN`` (the whole rest of the line) are rules; anything else is
    skipped, as systemd skips it with a warning.  ``ignore PATTERN`` (leave the unit as it is) is a
    rule of newer systemd only, and a line older ones skip, so that a later line or the default
    (enable) decides: which the image's systemd does is not known here, so it is skipped too, the
    wider exposure."""
    rules: list[PresetRule] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(SYSTEMD_WHITESPACE)
        if not line or line[0] in "#;":
            continue
        # first_word(): the verb, then the end of the line or whitespace ("enablefoo" is no rule)
        verb = next((v for v in ("enable", "disable", "ignore")
                     if line.startswith(v) and line[len(v):len(v) + 1] in ("", " ", "\t")), None)
        if verb is None or verb == "ignore":
            continue
        rest = line[len(verb):].lstrip(SYSTEMD_WHITESPACE)
        if verb == "enable":
            words = rest.split()
            if len(words) > 1 and not _is_template(words[0]):
                continue  # instances after a name that is no template: the line is refused (EINVAL)
            rules.append(PresetRule("enable", words[0] if words else "", tuple(words[1:]), f"{origin}:{number}"))
        else:
            rules.append(PresetRule(verb, rest, (), f"{origin}:{number}"))
    return rules


def _is_template(name: str) -> bool:
    """Whether ``name`` is a template unit name (``foo@.socket``), as unit_name_is_valid(UNIT_NAME_TEMPLATE)."""
    prefix, at, rest = name.partition("@")
    return bool(UNIT_NAME.fullmatch(name) and prefix and at and rest.startswith(".") and "@" not in rest)


def preset_for(rules: list[PresetRule], name: str) -> tuple[PresetRule | None, tuple[str, ...]]:
    """The first rule that matches the unit ``name``, with the instances it names for a template
    (src/shared/install.c query_presets()); (None, ()) when no rule does, and systemd then enables
    the unit ("Preset files don't specify rule for ... Enabling").  A template ``foo@.socket`` is
    matched by a rule for itself (with that rule's instances) or by a glob, never by a rule for one
    of its instances (``enable foo@bar.socket``); an instance ``foo@bar.socket`` by a rule for
    itself, a glob, or ``enable foo@.socket bar``."""
    return preset_matcher(rules)(name)


GLOB_CHARS = re.compile(r"[*?\[]")
# Glob rules per combined pattern: re compiles each chunk once, and matching a name tries them in C.
GLOB_CHUNK = 256


def glibc_glob(pattern: str) -> str:
    """``pattern`` for Python's fnmatch as glibc's fnmatch(3) reads it: ``[^...]`` is a negated set
    there too (Python reads the ^ as a member: "disable [^e]*" disabled exposed.socket to lbaudit,
    and systemd enabled it)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        i += 1
        if char != "[":
            out.append(char)
            continue
        end = i + 1 if i < len(pattern) and pattern[i] in "!^" else i
        end += 1 if end < len(pattern) and pattern[end] == "]" else 0
        end = pattern.find("]", end)
        if end < 0:
            out.append(char)  # no closing bracket: a plain [
            continue
        inner = pattern[i:end]
        out.append("[" + ("!" + inner[1:] if inner.startswith("^") else inner) + "]")
        i = end + 1
    return "".join(out)


def preset_matcher(rules: list[PresetRule]) -> Callable[[str], tuple[PresetRule | None, tuple[str, ...]]]:
    """:func:`preset_for` for many names against the same rules, each name in time about linear in
    the glob rules (in C) rather than in all the rules (in Python): 5,000 rules x 5,000 unit names
    took 32 s a collection, and a preset file has no bound on its lines."""
    exact: dict[str, int] = {}  # a pattern with no glob character -> the first rule of it
    instance_rules: dict[str, list[int]] = {}  # a template -> its rules that name instances
    globs: list[int] = []
    for index, rule in enumerate(rules):
        if not rule.pattern:
            continue
        if GLOB_CHARS.search(rule.pattern):
            globs.append(index)
        else:
            exact.setdefault(rule.pattern, index)
        if rule.instances:
            instance_rules.setdefault(rule.pattern, []).append(index)
    chunks: list[tuple[re.Pattern[str], list[int]]] = []
    for at in range(0, len(globs), GLOB_CHUNK):
        members = globs[at:at + GLOB_CHUNK]
        # fnmatch.translate() gives "(?s:...)\Z" with no group of its own (atomic groups only)
        alternatives = "|".join(f"({fnmatch.translate(glibc_glob(rules[i].pattern)).removesuffix(chr(92) + 'Z')})"
                                for i in members)
        chunks.append((re.compile(f"(?:{alternatives})\\Z"), members))

    def first_glob(name: str, before: int) -> int | None:
        for pattern, members in chunks:
            if members[0] >= before:
                return None
            found = pattern.match(name)
            if found is not None and found.lastindex is not None:
                return members[found.lastindex - 1]
        return None

    def match(name: str) -> tuple[PresetRule | None, tuple[str, ...]]:
        template = "@." in name
        best = exact.get(name, len(rules))
        # an instance is matched by its template's rule that names it (pattern_match_multiple_instances())
        if not template and (of := template_of(name)) is not None:
            instance = name[name.index("@") + 1: name.rindex(".")]
            best = min([best, *(i for i in instance_rules.get(of, []) if instance in rules[i].instances)])
        glob = first_glob(name, best)
        if glob is not None and glob < best:
            best = glob
        if best == len(rules):
            return None, ()
        rule = rules[best]
        if template and rule.pattern == name:
            return rule, rule.instances
        return rule, rule.instances if template else ()

    return match


def _first_boot(root: Path, problems: list[str]) -> bool:
    """Whether booting the image under ``root`` is its first boot: /etc/machine-id missing or its
    first line "uninitialized" (the kernel command line's systemd.condition_first_boot= is not
    known offline).  PID 1 assumes a first boot when it cannot read the file; one lbaudit cannot
    read counts as a first boot too, and adds a problem (PID 1 may read what lbaudit could not)."""
    try:
        content = rootfs.read_bytes(root, "/etc/machine-id", limit=4096)
    except FileNotFoundError:
        return True
    except OSError as exc:
        problems.append(f"/etc/machine-id: {rootfs.describe_os_error(exc)} (whether the image's first boot "
                        "enables units by its presets is not known)")
        return True
    # read_line() of src/basic/fileio.c ends a line at "\n", "\r", "\r\n" or a NUL: "uninitialized\r\n"
    # is a first boot to PID 1
    return re.split(rb"[\n\r\0]", content, maxsplit=1)[0] == FIRST_BOOT_MACHINE_ID


def _preset_rules(root: Path, problems: list[str]) -> list[PresetRule]:
    rules: list[PresetRule] = []
    files, list_problems = select_files(root, tuple(d for d in PRESET_DIRS if not d.startswith("/run/")),
                                        suffix=".preset")
    problems += list_problems
    for preset in files:
        if preset.masked:
            continue
        try:
            rules += parse_preset_file(rootfs.read_text(root, preset.path), preset.path)
        except OSError as exc:
            problems.append(f"{preset.path}: {rootfs.describe_os_error(exc)} (a preset file)")
    return rules


def enabled_at_first_boot(root: Path, scan: UnitFiles, enabled: set[str], problems: list[str]) -> set[str]:
    """The units the first boot of the image under ``root`` enables by its presets beyond
    ``enabled`` (none when it has booted before): each unit whose file has an ``[Install]`` section
    and that no preset rule disables first (no rule at all enables it), a template with
    the instances its rule names or else its ``DefaultInstance=``, and the ``Also=`` units of each
    (of an enabled unit too), and theirs in turn.  Only the unit's own file is read, as systemctl
    reads ``[Install]``."""
    if all(f.masked or n in scan.alias_of for n, f in scan.files.items()):
        return set()
    # A machine-id that cannot be read matters only when the presets would enable something more
    # (every unit enabled already, with no Also= beyond them: the first boot changes nothing).
    machine_id_problems: list[str] = []
    if not _first_boot(root, machine_id_problems):
        return set()
    # A preset file or unit file that cannot be read is a problem whatever else is found: it may
    # hold the line that enables a template's instance, or the Also= of a unit.
    own_problems: list[str] = []
    found = _presets_enable(root, scan, own_problems) - enabled
    if found or own_problems:
        problems += machine_id_problems + own_problems
    return found


def _presets_enable(root: Path, scan: UnitFiles, problems: list[str]) -> set[str]:
    """The units (canonical names) that ``preset-all`` installs under ``root``, as
    :func:`enabled_at_first_boot` describes them, enabled or not."""
    rules = _preset_rules(root, problems)
    preset_of = preset_matcher(rules)
    installs: dict[str, dict[str, list[str]] | None] = {}

    def install_of(name: str) -> dict[str, list[str]] | None:
        """The [Install] settings of the file ``name`` loads (its template's for an instance); None
        when there is no such file, it is masked, or it cannot be read (a problem then)."""
        unit_file = scan.file_of(scan.canonical(name))
        if unit_file is None or unit_file.masked:
            return None
        if unit_file.path not in installs:
            try:
                text = rootfs.read_text(root, unit_file.path)
            except OSError as exc:
                problems.append(f"{unit_file.path}: {rootfs.describe_os_error(exc)}")
                installs[unit_file.path] = None
            else:
                install: dict[str, list[str]] = {}
                for entry in parse_unit_file(text):
                    if entry.section == "Install" and entry.key in PRESET_INSTALL_KEYS and entry.value:
                        install.setdefault(entry.key, []).extend(entry.value.split())
                installs[unit_file.path] = install
        return installs[unit_file.path]

    def instances_of(name: str, install: dict[str, list[str]], instances: tuple[str, ...]) -> list[str]:
        if "@." not in name:
            return [name]
        # a template is enabled through instances: its rule's, else its DefaultInstance=, else none
        instances = instances or tuple(install.get("DefaultInstance", [])[-1:])
        stem, _, suffix = name.partition("@.")
        return [f"{stem}@{instance}.{suffix}" for instance in instances]

    # Every unit preset-all visits, enabled already or not: installing it again installs its Also=
    # units too (install_context_apply()), whatever their own presets say.
    queue: list[str] = []
    for name in sorted(n for n, f in scan.files.items() if not f.masked and n not in scan.alias_of):
        install = install_of(name)
        if not install:
            continue  # static (or unreadable): a preset does nothing to it
        rule, instances = preset_of(name)
        if rule is not None and rule.action != "enable":
            continue
        queue += instances_of(name, install, instances)
    # Each installed unit installs its Also= units, and those theirs (install_info_traverse()).
    added: set[str] = set()
    while queue:
        name = queue.pop()
        if name in added:
            continue
        added.add(name)
        install = install_of(name)
        for also in (install or {}).get("Also", []):
            if UNIT_NAME.fullmatch(also) and also not in added:
                also_install = install_of(also)
                queue += instances_of(also, also_install, ()) if also_install is not None else [also]
    return {scan.canonical(n) for n in added}


def _boot_enabled(root: Path, scan: UnitFiles, problems: list[str]) -> set[str]:
    """The units the next boot starts by enablement: linked from a dependency directory, given an
    alias link (systemctl is-enabled calls a unit enabled for that alone), and, in an image that has
    not booted yet, enabled by its presets at first boot."""
    enabled = {scan.canonical(n) for n in scan.enabled} | set(scan.alias_of.values())
    if not scan.running and scan.unit_dirs == UNIT_DIRS:  # PID 1's first boot presets the system units only
        enabled |= enabled_at_first_boot(root, scan, enabled, problems)
    return enabled


def _pulled_in(root: Path, scan: UnitFiles, aliases: dict[str, list[str]], problems: list[str],
               enabled: set[str]) -> set[str]:
    """Socket units that a unit the boot starts depends on (``Wants=``, ``Requires=``,
    ``Requisite=``, ``BindsTo=``, ``Upholds=``, ``OnSuccess=``, ``OnFailure=``, a service's
    ``Sockets=``, a timer's or path unit's ``Unit=``), followed from default.target, sockets.target
    and every unit of ``enabled``.  Such a socket listens even when its own ``[Install]`` is not enabled."""
    return _reached(root, scan, aliases, problems, enabled)[1]


def _reached(root: Path, scan: UnitFiles, aliases: dict[str, list[str]],
             problems: list[str], enabled: set[str]) -> tuple[set[str], set[str]]:
    """(every unit the boot starts as :func:`_pulled_in` follows them, the socket units among their dependencies)."""
    # ``enabled`` (:func:`_boot_enabled`) holds every linked unit already, by its canonical name
    seeds = set(enabled) | {scan.canonical(n) for n in BOOT_TARGETS}
    queue = sorted(seeds)
    seen = set(queue)
    sockets: set[str] = set()
    while queue:
        name = queue.pop()
        unit_file = scan.file_of(name)
        if unit_file is None or unit_file.masked:
            continue
        entries = _unit_entries(root, scan, name, unit_file, aliases.get(name, []), problems)
        for entry in entries or []:
            if (entry.section, entry.key) not in DEPENDENCY_KEYS:
                continue
            for dependency in entry.value.split():
                try:
                    dependency = scan.canonical(expand_specifiers(dependency, name) or dependency)
                except ListenValueError:
                    continue  # a name only the running system knows: not a unit file here either
                if not UNIT_NAME.fullmatch(dependency):
                    continue
                if dependency.endswith(".socket"):
                    sockets.add(dependency)
                if dependency not in seen:
                    seen.add(dependency)
                    queue.append(dependency)
    return seen, sockets


def unit_boot_state(root: Path, name: str, running: bool = True) -> tuple[str, list[str]]:
    """Whether the next boot starts the unit ``name`` under ``root``, as :func:`active_socket_units`
    judges socket units: "absent" (no unit file), "masked", "enabled" (linked from a dependency
    directory or an alias, or pulled in by a unit the boot starts), "disabled" (otherwise), or
    "unknown" (its file cannot be read); with the problems met."""
    problems: list[str] = []
    scan = _scan_units(root, problems, running)
    unit_file = scan.file_of(name)
    if unit_file is None:
        return "absent", problems
    if unit_file.masked:
        return "masked", problems
    aliases: dict[str, list[str]] = {}
    for alias, target in sorted(scan.alias_of.items()):
        aliases.setdefault(target, []).append(alias)
    before = len(problems)
    if _unit_entries(root, scan, name, unit_file, aliases.get(name, []), problems) is None:
        return ("unknown" if len(problems) > before else "masked"), problems  # unreadable, or an empty file
    enabled = _boot_enabled(root, scan, problems)
    if name in enabled or name in _reached(root, scan, aliases, problems, enabled)[0]:
        return "enabled", problems
    return "disabled", problems


def unit_list_setting(root: Path, name: str, section: str, key: str,
                      running: bool = True) -> tuple[list[str] | None, list[str]]:
    """The values of a list setting (``ExecStartPost=`` of ``[Service]``) of the unit ``name`` under
    ``root`` after its drop-ins, as systemd builds it: each assignment appends, an empty one
    empties the list.  None when there is no such unit, it is masked, or it cannot be read (a
    problem then says which); with the problems met."""
    problems: list[str] = []
    scan = _scan_units(root, problems, running)
    unit_file = scan.file_of(name)
    if unit_file is None or unit_file.masked:
        return None, problems
    aliases = [alias for alias, target in sorted(scan.alias_of.items()) if target == name]
    entries = _unit_entries(root, scan, name, unit_file, aliases, problems)
    if entries is None:
        return None, problems
    values: list[str] = []
    for entry in entries:
        if (entry.section, entry.key) == (section, key):
            values = values + [entry.value] if entry.value else []
    return values, problems


def _load_unit(root: Path, scan: UnitFiles, name: str, unit_file: ConfigFile, aliases: list[str],
               problems: list[str]) -> SocketUnit | None:
    """The unit after its drop-ins; None when it is masked (an empty unit file) or unreadable."""
    sources = _unit_sources(root, scan, name, unit_file, aliases, problems)
    if sources is None:
        return None
    unit = SocketUnit(name=name, path=unit_file.path)
    try:
        for index, (origin, entries) in enumerate(sources):
            apply_unit_entries(unit, entries, origin, main_file=index == 0)
            unit.sources.append(origin)
    except ListenValueError as exc:
        problems.append(f"{unit_file.path}: {name}: {exc}")
        return None
    return unit


def active_socket_units(root: Path, running: bool = True,
                        user: bool = False, home: str | None = None) -> tuple[list[tuple[SocketUnit, str | None]], list[str]]:
    """The socket units the next boot would start (enabled or static, not masked), each with its
    template instance (or None), and the problems met reading them.

    Enabled means linked, by its name or an alias, from a ``.wants/``, ``.requires/`` or
    ``.upholds/`` directory of any unit in any unit directory (PID 1 reads them all; ``systemctl
    is-enabled`` only those in /etc and /run), or given an alias link.  Whether the boot reaches the
    unit that wants it is not followed, so a unit wanted by a target that never starts is still
    counted (the wider exposure).  A socket that a started unit depends on is started too (see
    :func:`_pulled_in`).  A static unit (no ``WantedBy=``, ``RequiredBy=`` or ``UpheldBy=`` in its
    file) may be pulled in by another unit, so it counts.  With ``user``, the same of the units of
    every user's manager (:data:`USER_UNIT_DIRS`), and with ``home`` those of the user whose home
    directory it is (:func:`user_unit_dirs`).
    """
    problems: list[str] = []
    scan = _scan_units(root, problems, running, user, home)
    aliases: dict[str, list[str]] = {}
    for alias, target in sorted(scan.alias_of.items()):
        aliases.setdefault(target, []).append(alias)
    # systemctl enable links a unit's Alias= names next to it, and is-enabled calls the unit enabled
    # for such a link alone: counted too (the wider exposure).
    enabled = _boot_enabled(root, scan, problems)
    pulled = _pulled_in(root, scan, aliases, problems, enabled)
    sockets = {n for n in scan.files if n.endswith(".socket")}
    wanted = {n for n in sockets if "@." not in n and n not in scan.alias_of}
    wanted |= {n for n in enabled | pulled if n.endswith(".socket") and template_of(n) is not None}
    active: list[tuple[SocketUnit, str | None]] = []
    for name in sorted(wanted):
        unit_file = scan.file_of(name)
        if unit_file is None or unit_file.masked:
            continue  # no such unit (a dangling enablement link), or masked
        unit = _load_unit(root, scan, name, unit_file, aliases.get(name, []), problems)
        if unit is None:
            continue
        if unit.installable and name not in enabled and name not in pulled:
            continue  # installed but neither enabled nor pulled in: it will not listen at boot
        template = template_of(name)
        active.append((unit, None if template is None else name[name.index("@") + 1 : name.rindex(".")]))
    return active, problems


# The user unit directories of a home; a home that has none has no units of its own to read.
HOME_UNIT_DIRS = (".config/systemd/user.control", ".config/systemd/user", ".local/share/systemd/user")
# More users with their own unit directories than any image has: past it, the rest is a problem.
MAX_USER_HOMES = 1000


def user_homes(root: Path, problems: list[str]) -> list[str]:
    """The home directories (absolute, in /etc/passwd order, each once) of the users of the image
    under ``root`` that hold a user unit directory of their own (:data:`HOME_UNIT_DIRS`).  An
    /etc/passwd that cannot be read is a problem (its users' units are then not known); a missing
    one has no users to read."""
    try:
        text = rootfs.read_text(root, "/etc/passwd")
    except FileNotFoundError:
        return []
    except OSError as exc:
        problems.append(f"/etc/passwd: {rootfs.describe_os_error(exc)} (the users' own socket units are not known)")
        return []
    homes: list[str] = []
    seen: set[str] = set()  # beside the ordered list: a list's `in` made 100,000 homes quadratic
    for line in text.split("\n"):
        fields = line.split(":")
        home = fields[5] if len(fields) >= 7 else ""
        if not home.startswith("/"):
            continue  # no home, or a relative one: no directory of its own to read
        home = home.rstrip("/") or "/"
        if home in seen:
            continue
        seen.add(home)
        if any(rootfs.list_config_dir(root, f"{home}/{d}", problems) for d in HOME_UNIT_DIRS):
            if len(homes) == MAX_USER_HOMES:
                problems.append(f"/etc/passwd: more than {MAX_USER_HOMES} users have user unit directories; "
                                "those after are not read")
                break
            homes.append(home)
    return homes


def declared_listeners(root: Path, bindv6only: bool = False, running: bool = True) -> tuple[list[Listener], list[Gap]]:
    """Listeners declared by the socket units under ``root`` that would listen at boot.

    Fails closed without hiding what is known: a unit directory, unit file, drop-in or listen value
    that cannot be read or understood adds an ``unreadable`` gap naming it (the missing unit may
    listen anywhere, so "no listener does X" can no longer be claimed), and every listener that
    was read is still returned to be judged.
    """
    units, problems = active_socket_units(root, running)
    # every user's manager starts its own (at login, at boot when the user lingers): on any address
    # too, from the shared directories and from the user's own (systemctl --user enable)
    for home in [None, *user_homes(root, problems)]:
        user_units, user_problems = active_socket_units(root, running, user=True, home=home)
        units, problems = units + user_units, problems + user_problems
    listeners: list[Listener] = []
    for unit, _instance in units:
        found, value_problems = unit_listeners(unit, bindv6only)
        listeners += found
        problems += value_problems
    gaps: list[Gap] = []
    if problems:
        reason = "systemd socket units could not be read completely: " + "; ".join(sorted(set(problems)))
        gaps.append(Gap(section="sockets", field="listeners", reason=reason, kind=GapKind.UNREADABLE))
    unique = {(l.protocol, l.family, l.address, l.port, l.declared_by or "", l.interface or ""): l for l in listeners}
    return [unique[k] for k in sorted(unique)], gaps


def collect_declared_sockets(ctx: CollectContext) -> tuple[SocketFacts, list[Gap]]:
    """The sockets section of an offline root: declared listeners, no runtime counts.

    ``BindIPv6Only=default`` follows net.ipv6.bindv6only as the image configures it; when that is
    not set (or unreadable) the kernel default 0 applies, i.e. dual-stack, the wider exposure.
    """
    persistent, _ = read_boot_sysctls(ctx)  # the sysctl section's reading, made once a collection
    setting = configured_setting(persistent or {}, "net.ipv6.bindv6only")
    bindv6only = setting is not None and setting.value == "1"
    listeners, gaps = declared_listeners(ctx.root, bindv6only=bindv6only, running=ctx.target.runtime)
    gaps = gaps + [
        Gap(section="sockets", field="listeners", kind=GapKind.NOT_APPLICABLE,
            reason="offline root directory: only listeners declared by systemd socket units are known; "
                   "sockets that services open themselves, and units that systemd generators write at boot, "
                   "exist only on a running host"),
        Gap(section="sockets", field="counts", kind=GapKind.NOT_APPLICABLE,
            reason="socket counts (TIME_WAIT) exist only on a running host, not in an offline root directory"),
    ]
    return SocketFacts(listeners=listeners, counts=None), gaps
