"""Parsers of the macOS probe outputs (pure; :class:`ProbeParseError` with a reason fit for a gap).

``lsof +c 0 -nP`` prints whole command names (``+c 0``, see :func:`name_may_be_cut`), addresses
numerically (``-n``) and ports as numbers (``-P``): ``*:7000`` is the wildcard of the socket's family
(``TYPE`` IPv4: 0.0.0.0; IPv6: ::), ``[::1]:631`` an IPv6 address.  ``launchctl print`` is captured
with its exit code on the last line: 0 means the service is loaded, 113 that launchd does not know
it ("Could not find service").
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from auditor.collect.platforms.windows import MAX_ROWS, ProbeParseError, cut_off, cut_off_message, pid_out_of_range
from auditor.domain import platform_audit

PORTRANGE_FIRST = "net.inet.ip.portrange.first"
PORTRANGE_LAST = "net.inet.ip.portrange.last"
TCP_MSL = "net.inet.tcp.msl"  # milliseconds; TIME_WAIT lasts 2 x MSL
LAUNCHCTL_NOT_FOUND = 113  # "Could not find service ... in domain for system"

__all__ = ["ProbeParseError", "parse_sw_vers", "parse_uid", "parse_sysctl", "parse_lsof", "parse_audit_control", "parse_audit_control_naflags",
           "control_text", "parse_launchctl", "name_may_be_cut", "parse_audit_user"]


def parse_sw_vers(text: str) -> dict[str, str]:
    """``sw_vers``: ``ProductName:\\tmacOS`` lines -> {ProductName, ProductVersion, BuildVersion}."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z]{1,40}", key.strip()):
            values[key.strip()] = value.strip()[:100]
    if "ProductVersion" not in values:
        raise ProbeParseError("no ProductVersion line: not the output of sw_vers")
    return values


def parse_uid(text: str) -> int:
    """``id -u``: the numeric user id the capture ran as (0: root)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or not re.fullmatch(r"[0-9]{1,10}", lines[0]):
        raise ProbeParseError("expected one number: not the output of id -u")
    return int(lines[0])


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl name...``: ``net.inet.tcp.msl: 15000`` lines -> {name: value}.  sysctl prints each
    name once: a name printed twice cannot be told from another capture pasted in, so it is refused."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", key):
            if key in values:
                raise ProbeParseError(f"line {number}: {key} is printed a second time: which value holds cannot be told")
            values[key] = " ".join(value.split())[:200]
    if not values:
        raise ProbeParseError("no 'name: value' lines: not the output of sysctl")
    return values


@dataclass(frozen=True)
class LsofSocket:
    command: str
    pid: int
    user: str
    protocol: str  # tcp or udp
    family: str
    address: str
    port: int
    device: str  # the socket's kernel address: one socket held by several processes shares it
    line: int
    command_width: int = 0  # characters of the name lsof cut to its width (\xNN: one), see name_may_be_cut


@dataclass
class LsofTable:
    sockets: list[LsofSocket] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)


_LSOF_ROW = re.compile(
    r"^(?P<command>\S+)\s+(?P<pid>[0-9]{1,10})\s+(?P<user>\S+)\s+(?P<fd>\S+)\s+(?P<type>IPv4|IPv6)\s+"
    r"(?P<device>\S+)\s+(?:\S+\s+)?(?P<node>TCP|UDP)\s+(?P<name>\S+)(?:\s+\((?P<state>[A-Z_]+)\))?\s*$")
_LSOF_NAME = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+(?:%[0-9A-Za-z]+)?)\]|(?P<v4>[0-9.]+)|(?P<star>\*)):(?P<port>[0-9]{1,5}|\*)$")


def _unescape(command: str) -> str:
    # lsof writes non-printable bytes of a command name as \xNN (a space is \x20)
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), command)


def parse_lsof(text: str, protocol: str) -> LsofTable:
    """``lsof +c 0 -nP -iTCP -sTCP:LISTEN`` (``protocol`` tcp) or ``lsof +c 0 -nP -iUDP`` (udp) -> sockets;
    UDP sockets with a peer (``a->b``) are connected clients, not listeners, and are left out.  The
    header with no row under it is refused: lsof prints nothing when no socket matches."""
    table = LsofTable()
    rows = 0
    header = False
    lines = text.splitlines()
    if (partial := cut_off(text)) is not None:
        lines.pop()  # never read as a row: a prefix of one parses with a wrong port (*:70 of *:7000)
        table.bad_lines.append(f"line {len(lines) + 1}: {cut_off_message(partial)}")
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("COMMAND "):
            header = header or bool(stripped)
            continue
        rows += 1
        if rows > MAX_ROWS:
            raise ProbeParseError(f"more than {MAX_ROWS:,} rows")
        match = _LSOF_ROW.match(stripped)
        if match is None:
            if "->" in stripped and protocol == "udp":
                continue  # a connected UDP socket whose NAME did not fit the pattern: not a listener either
            table.bad_lines.append(f"line {number}: not an lsof -nP socket row: {stripped[:120]!r}")
            continue
        if match.group("node").lower() != protocol:
            table.bad_lines.append(f"line {number}: a {match.group('node')} row in the {protocol} listing")
            continue
        name = match.group("name")
        if "->" in name:
            continue  # connected: has a peer
        if protocol == "tcp" and match.group("state") not in (None, "LISTEN"):
            continue
        if protocol == "udp" and name == "*:*":
            continue  # a UDP socket not bound to a port yet: it receives nothing, listens nowhere
        where = _LSOF_NAME.match(name)
        if where is None or where.group("port") == "*":
            table.bad_lines.append(f"line {number}: {name[:80]!r} is not address:port")
            continue
        family = "ipv6" if match.group("type") == "IPv6" else "ipv4"
        if where.group("star"):
            address = "::" if family == "ipv6" else "0.0.0.0"
        else:
            raw = where.group("v6") or where.group("v4")
            host, _, zone = raw.partition("%")
            try:
                parsed = ipaddress.ip_address(host)
            except ValueError:
                table.bad_lines.append(f"line {number}: {host[:60]!r} is not an IP address")
                continue
            # an IPv6 socket may show an IPv4-mapped peer; its own family is what TYPE says
            if parsed.version == 4 and family == "ipv6":
                address = f"::ffff:{parsed}"
            elif parsed.version == 6 and family == "ipv4":
                table.bad_lines.append(f"line {number}: an IPv6 address on an IPv4 socket")
                continue
            else:
                address = str(parsed) + (f"%{zone}" if zone else "")
        if pid_out_of_range(int(match.group("pid"))):
            table.bad_lines.append(f"line {number}: PID {match.group('pid')} out of range")
            continue
        port = int(where.group("port"))
        if port > 65535:
            table.bad_lines.append(f"line {number}: port {port} out of range")
            continue
        # lsof cuts the name, then escapes it: a \x20 of "Google Ch" is one of its 9 characters
        command = _unescape(match.group("command"))
        table.sockets.append(LsofSocket(command[:64], int(match.group("pid")), match.group("user")[:64], protocol,
                                        family, address, port, match.group("device")[:40], number, len(command)))
    if header and rows == 0 and not table.bad_lines:
        # Read as "no sockets", a listing cut off after its first line passed every row it lost.
        raise ProbeParseError("lsof's header and no row: lsof prints its header only above a first row (and nothing "
                              "when no socket matches), so the listing was cut off after it")
    return table


# lsof cuts every command name to one width: 9 characters unless told otherwise (+c w), the whole
# name the kernel keeps with +c 0, which the capture script gives.  The kernel keeps p_name, the
# executable's base name cut to 2 x MAXCOMLEN, of which proc_pidinfo hands lsof 31 characters.
LSOF_DEFAULT_WIDTH = 9
KERNEL_NAME_WIDTH = 31


def name_may_be_cut(sock: LsofSocket, widest: int) -> str | None:
    """Why the command name lsof printed for ``sock`` may be the start of a longer one (None: it
    is whole).  ``widest`` is the widest name of the capture's listings: lsof prints no width, so
    listings whose names are all at most 9 characters wide were made without +c 0 (an older
    capture script) or cannot be told from such, and a name of 9 characters is then as likely
    ``ControlCe`` of ControlCenter as a name of its own; with a wider one (+c 0), only a name as
    long as the kernel keeps may be cut."""
    if sock.command_width >= KERNEL_NAME_WIDTH:
        return (f"lsof printed the command name {sock.command!r}, {sock.command_width} characters: as many as macOS "
                "keeps of a process's name, so it may be the start of a longer one")
    if widest <= LSOF_DEFAULT_WIDTH and sock.command_width == LSOF_DEFAULT_WIDTH:
        return (f"lsof printed the command name {sock.command!r}, {LSOF_DEFAULT_WIDTH} characters, and no name in the "
                f"listings is longer: lsof cuts names to {LSOF_DEFAULT_WIDTH} characters without +c 0 (a capture by an "
                "older lbaudit capture script?), so it may be the start of a longer one (capture the host again with "
                "this version's script)")
    return None


# libbsm reads audit_control with fgets into a buffer of AU_LINE_MAX (256) bytes: a longer line is
# read as several, each taken for a line of its own.
AU_LINE_MAX = 256
# A class name as audit_class(5) defines them (lo, aa, nt, all, ...).  libbsm looks each name up
# exactly as written, so one with white space or a line-end character in it is no class.
_CLASS_NAME = re.compile(r"[A-Za-z0-9_]+")


def control_text(data: bytes) -> str:
    """The bytes of audit_control as libbsm sees them, one character per byte: libbsm reads bytes,
    not text in an encoding, so no byte-order mark is dropped, no UTF-16 decoded and no CRLF made
    LF (each of which made a file auditd cannot read look like one it can)."""
    return data.decode("latin-1")


def _control_lines(text: str) -> list[str]:
    """The lines ``fgets(linestr, AU_LINE_MAX, fp)`` returns: up to a newline, at most 255 bytes."""
    pieces = []
    position = 0
    while position < len(text):
        newline = text.find("\n", position, position + AU_LINE_MAX - 1)
        end = newline + 1 if newline != -1 else min(len(text), position + AU_LINE_MAX - 1)
        pieces.append(text[position:end])
        position = end
    return pieces


def _control_entry(text: str, name: str) -> str | None:
    """The value of the ``name:`` entry of audit_control as libbsm reads it (bsm_control.c,
    ``getstrfromtype_locked``): the first line (:func:`_control_lines`), not a comment (``#`` in the
    first column), whose first ``:``-separated token is exactly ``name`` (``" flags"`` or ``"flags "``
    is another name to it; ``strtok_r`` skips colons before it).  Its value is the rest of the line
    after the colon that ends the name (``*str = last``), colons and all: ``flags:nt:lo`` is the list
    ``nt:lo``, not ``nt``.  The line ends at its first NUL byte (a C string) and loses trailing
    newlines, spaces and tabs only (a ``\\r`` stays).  None: no such line; "" : the line has no value."""
    for line in _control_lines(text):
        if line.startswith("#"):
            continue
        line = line.split("\0", 1)[0].rstrip("\n \t").lstrip(":")
        if not line:
            continue  # strtok_r finds no token
        token, colon, rest = line.partition(":")
        if token == name:
            return rest if colon else ""
    return None


# auditd copies the naflags: value into a buffer of NA_EVENT_STR_SIZE (128) bytes (libauditd
# auditd_set_namask -> getacna): getaccommon refuses a value of 128 bytes or more (-3), and auditd
# then sets no non-attributable mask at all.
NA_EVENT_STR_SIZE = 128


def _classes(name: str, value: str) -> list[str]:
    """The classes of a ``flags``/``naflags`` value as ``getauditflagsbin`` (bsm_flags.c) takes them:
    split on ``,`` (empty pieces skipped), each an optional ``^``, an optional ``+`` or ``-``, and a
    class name looked up exactly as written.  One name that is no class makes it refuse the whole
    list, and auditd then sets no mask from it: which mask the kernel holds cannot be told."""
    classes = [item for item in value.split(",") if item]
    for item in classes:
        selected = item.removeprefix("^")
        class_name = selected[1:] if selected[:1] in ("+", "-") else selected
        if not _CLASS_NAME.fullmatch(class_name):
            raise ProbeParseError(f"the {name}: value {value[:120]!r} holds the class {item[:40]!r}, which libbsm looks "
                                  "up as written (white space and line-end characters included): no class has that "
                                  "name, and libbsm refuses the whole list for it, so auditd sets no mask from this "
                                  "line and which one the kernel holds cannot be told")
    return classes


def parse_audit_control(text: str) -> list[str]:
    """``/etc/security/audit_control`` (its bytes, :func:`control_text`) -> the classes of the
    ``flags:`` line auditd reads, as written: the first one (:func:`_control_entry`).  A later
    ``flags:`` line, or an indented one, is never read, so it cannot make the network class audited."""
    value = _control_entry(text, "flags")
    if value is None:
        nul = (" (the file holds NUL bytes: UTF-16 or binary, which libbsm reads byte by byte and finds no line "
               "in)" if "\0" in text else "")
        raise ProbeParseError(f"no flags: line (a line starting exactly 'flags:', as auditd reads it){nul}")
    if not value:
        raise ProbeParseError("the flags: line has no value (auditd refuses it)")
    return _classes("flags", value)


def parse_audit_control_naflags(text: str) -> list[str]:
    """The classes of the ``naflags:`` line: what the kernel audits for processes that no login
    session is attributed to (audit user id AU_DEFAUDITID), which is every daemon launchd starts at
    boot.  The kernel's preselection takes this mask, not ``flags``, for them (``audit_nae_mask`` in
    audit_syscall_enter and audit_commit).  auditd sets it from getacna(); with no such line, or an
    empty one, it logs "Failed to obtain non-attributable event mask" and the mask stays empty: no
    classes."""
    value = _control_entry(text, "naflags")
    if value is not None and len(value) >= NA_EVENT_STR_SIZE:
        raise ProbeParseError(f"the naflags: value is {len(value)} bytes: auditd reads it into {NA_EVENT_STR_SIZE} "
                              "(libauditd NA_EVENT_STR_SIZE) and refuses a longer one, setting no non-attributable "
                              "mask from it, so which one the kernel holds cannot be told")
    return _classes("naflags", value) if value else []


# libbsm keeps a user name of audit_user(5) in a buffer of AU_USER_NAME_MAX (50) bytes and refuses
# a longer one.
AU_USER_NAME_MAX = 50


def parse_audit_user(text: str) -> list[tuple[str, list[str], list[str]]]:
    """``/etc/security/audit_user`` (its bytes, :func:`control_text`) -> the entries libbsm's
    ``getauusernam`` can reach, in order: (user, always classes, never classes), the first per user.

    libbsm (bsm_user.c) reads it as it reads audit_control (:func:`_control_lines`: pieces of at
    most 255 bytes, each up to its first NUL), drops the line's newline, skips a ``#`` line, and
    splits the rest on ``:`` (empty fields skipped, as strtok does) into user, always and never.  A
    line it cannot read (fewer than three fields, a blank line among them; a name of 50 bytes or
    more; a class list it refuses) ends the walk: no entry after it is ever found, and those users
    get the system mask.  A class name the shipped audit_class lacks is refused here: whether
    libbsm knows it (the host's own audit_class) decides both the entry and the walk."""
    entries: list[tuple[str, list[str], list[str]]] = []
    seen: set[str] = set()
    for piece in _control_lines(text):
        line = piece.split("\0", 1)[0]
        if line.endswith("\n"):
            line = line[:-1]
        if line.startswith("#"):
            continue
        fields = [field for field in line.split(":") if field]
        if len(fields) < 3 or len(fields[0].encode("latin-1")) >= AU_USER_NAME_MAX:
            break
        name, always, never = fields[0], _user_classes(fields[1], line), _user_classes(fields[2], line)
        if always is None or never is None:
            break
        if name not in seen:  # getauusernam returns the first entry of a name
            seen.add(name)
            entries.append((name, always, never))
    return entries


def _user_classes(value: str, line: str) -> list[str] | None:
    """The classes of an audit_user field, or None when libbsm refuses the list (a name with white
    space or another character no class has); a well-formed name the shipped audit_class lacks
    raises, since the host's audit_class may hold it."""
    classes = [item for item in value.split(",") if item]
    try:
        platform_audit.bsm_success_mask(classes)
    except platform_audit.UnknownBsmClass as exc:
        if not _CLASS_NAME.fullmatch(exc.name):
            return None
        raise ProbeParseError(f"the class {exc.name!r} of the entry {line[:80]!r} is not one of the classes "
                              "audit_class(5) ships: whether libbsm knows it (a class of the host's own "
                              "/etc/security/audit_class, which the capture does not read) cannot be told, and with "
                              "it which entries libbsm reads") from None
    return classes


def parse_launchctl(text: str) -> tuple[int, str]:
    """The capture of a command whose exit code is its answer, that code appended as the last line
    (``launchctl print system/com.apple.auditd``, ``audit -c``) -> (exit code, first output line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"-?[0-9]{1,5}", lines[-1]):
        raise ProbeParseError("the last line is not launchctl's exit code")
    return int(lines[-1]), (lines[0][:200] if len(lines) > 1 else "")
