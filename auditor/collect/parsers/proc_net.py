"""Pure parsers for /proc/net/{tcp,udp,udplite}{,6}, /proc/net/sctp/eps and /proc/net/sockstat{,6}.

The socket tables are the fallback when netlink sock_diag is unavailable.  The kernel prints each
address as 32-bit words with ``%08X`` of the in-memory (network byte order) value, so on a
little-endian host every word reads byte-reversed; ``byteorder`` says how the host that wrote the
text stores words (``sys.byteorder`` of that host).
"""

from __future__ import annotations

import ipaddress
import re
import sys

from auditor.model.records import record
from auditor.patterns import first_use

# TCP states as numbered by the kernel (include/net/tcp_states.h).  UDP reuses them:
# an unconnected UDP socket is CLOSE, a connected one ESTABLISHED.
TCP_STATES: dict[int, str] = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
STATE_ESTABLISHED = 1
STATE_SYN_RECV = 3
STATE_TIME_WAIT = 6
STATE_CLOSE = 7
STATE_LISTEN = 10
STATE_NEW_SYN_RECV = 12


# The kernel prints these numbers with %X / %u / %d of a fixed-width type: ASCII digits only.
# Python's int() also takes a sign, "0x", "_" separators, spaces and any Unicode digit, so a table
# that is not the kernel's ("-1", "1_0", "\uff15") would pass as a number, and one out of range
# would only be refused later by the model, as a crash rather than a gap.  Every number of every
# table goes through these two readers, which raise ValueError naming what is wrong.
_HEX = first_use(r"[0-9A-Fa-f]{1,16}")
_DECIMAL = re.compile(r"[0-9]{1,20}")
_HEX_ADDRESS = first_use(r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}")
PORT_MAX = 65535
UID_MAX = 2**32 - 1
INODE_MAX = 2**64 - 1
COUNT_MAX = 2**63 - 1


def read_hex(text: str, what: str, maximum: int) -> int:
    """An unsigned hex number as the kernel prints it (``%X``/``%04X``), at most ``maximum``."""
    if not _HEX().fullmatch(text):
        raise ValueError(f"{what} {text[:40]!r} is not a hexadecimal number")
    value = int(text, 16)
    if value > maximum:
        raise ValueError(f"{what} {text!r} is out of range (at most {maximum:#x})")
    return value


def read_decimal(text: str, what: str, maximum: int, *, signed: bool = False) -> int:
    """An unsigned (or, with ``signed``, possibly negative) decimal number as the kernel prints it."""
    digits = text[1:] if signed and text.startswith("-") else text
    if not _DECIMAL.fullmatch(digits):
        raise ValueError(f"{what} {text[:40]!r} is not a {'' if signed else 'non-negative '}decimal number")
    value = int(text)
    if value > maximum:
        raise ValueError(f"{what} {text!r} is out of range (at most {maximum})")
    return value


@record
class ProcNetSocket:
    """One row of /proc/net/{tcp,tcp6,udp,udp6}."""

    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: int
    uid: int
    inode: int


def ipv6_text(packed: bytes) -> str:
    """Compressed text of a 16-byte IPv6 address; an IPv4-mapped one as ``::ffff:a.b.c.d``.

    Python before 3.13 prints ``::ffff:7f00:1``; the dotted form is how the kernel, ss and our
    facts model spell it, so it is produced explicitly here.
    """
    address = ipaddress.IPv6Address(packed)
    if address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


def decode_address(hex_text: str, byteorder: str = sys.byteorder) -> str:
    """Decode the hex address of /proc/net/tcp (8 hex digits) or tcp6 (32 hex digits)."""
    if not _HEX_ADDRESS().fullmatch(hex_text):
        raise ValueError(f"address {hex_text[:40]!r}: expected 8 or 32 hex digits")
    raw = bytes.fromhex(hex_text)
    words = [raw[i : i + 4] for i in range(0, len(raw), 4)]
    if byteorder == "little":
        words = [word[::-1] for word in words]
    elif byteorder != "big":
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}")
    packed = b"".join(words)
    if len(packed) == 4:
        return str(ipaddress.IPv4Address(packed))
    return ipv6_text(packed)


def _endpoint(text: str, byteorder: str) -> tuple[str, int]:
    address, sep, port = text.partition(":")
    if not sep:
        raise ValueError(f"endpoint {text!r}: expected ADDRESS:PORT")
    return decode_address(address, byteorder), read_hex(port, "port", PORT_MAX)


def parse_proc_net_line(line: str, byteorder: str = sys.byteorder) -> ProcNetSocket:
    """Parse one data row; raises ValueError for a malformed row."""
    fields = line.split()
    # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    if len(fields) < 10 or not fields[0].endswith(":"):
        raise ValueError(f"not a socket row: {line!r}")
    local_address, local_port = _endpoint(fields[1], byteorder)
    remote_address, remote_port = _endpoint(fields[2], byteorder)
    return ProcNetSocket(
        local_address=local_address,
        local_port=local_port,
        remote_address=remote_address,
        remote_port=remote_port,
        state=read_hex(fields[3], "state", 0xFF),
        uid=read_decimal(fields[7], "uid", UID_MAX),
        inode=read_decimal(fields[9], "inode", INODE_MAX),
    )


def parse_proc_net(text: str, byteorder: str = sys.byteorder) -> list[ProcNetSocket]:
    """Parse a whole /proc/net/{tcp,tcp6,udp,udp6} file (the header row is skipped)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("sl "):
            continue
        try:
            rows.append(parse_proc_net_line(stripped, byteorder))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return rows


@record
class SctpEndpoint:
    """One row of /proc/net/sctp/eps: an SCTP endpoint and every local address it is bound to."""

    state: int  # SST: 10 (SCTP_SS_LISTENING) for a listening endpoint
    local_port: int
    uid: int
    inode: int
    local_addresses: tuple[str, ...]


def _sctp_address(text: str) -> str:
    """An address as net/sctp/proc.c prints it (``%pI4`` or the uncompressed ``%pI6``), compressed."""
    address = ipaddress.ip_address(text.lstrip("*"))  # "*" marks an association's primary address
    return ipv6_text(address.packed) if address.version == 6 else str(address)


def parse_sctp_eps(text: str) -> list[SctpEndpoint]:
    """Parse /proc/net/sctp/eps (net/sctp/proc.c, sctp_eps_seq_show).

    ``ENDPT SOCK STY SST HBKT LPORT UID INODE LADDRS``: the two pointers may print hashed or as
    zeros; LPORT, UID and INODE are decimal; LADDRS are the bound addresses, space-separated.
    Raises ValueError naming the line of a malformed row.
    """
    endpoints = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] == "ENDPT":
            continue
        try:
            if len(fields) < 9:
                raise ValueError(f"expected ENDPT SOCK STY SST HBKT LPORT UID INODE LADDRS, got {line.strip()!r}")
            endpoints.append(SctpEndpoint(
                state=read_decimal(fields[3], "state", 0xFF), local_port=read_decimal(fields[5], "port", PORT_MAX),
                uid=read_decimal(fields[6], "uid", UID_MAX), inode=read_decimal(fields[7], "inode", INODE_MAX),
                local_addresses=tuple(_sctp_address(field) for field in fields[8:]),
            ))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return endpoints


def parse_sockstat(text: str) -> dict[str, dict[str, int]]:
    """Parse /proc/net/sockstat or sockstat6 into ``{"TCP": {"inuse": 1, "tw": 0, ...}, ...}``.

    Each line is ``NAME: key value key value ...``.
    """
    table: dict[str, dict[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name, sep, rest = line.partition(":")
        if not line.strip():
            continue
        tokens = rest.split()
        if not sep or len(tokens) % 2:
            raise ValueError(f"line {number}: expected 'NAME: key value ...', got {line[:200]!r}")
        if name.strip() in table:
            raise ValueError(f"line {number}: a second {name.strip()!r} line: which one counts cannot be told")
        try:
            # "mem" is in pages and may be negative in a racy read on old kernels: signed, the rest are counts
            table[name.strip()] = {tokens[i]: read_decimal(tokens[i + 1], tokens[i], COUNT_MAX, signed=True)
                                   for i in range(0, len(tokens), 2)}
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return table


def time_wait_count(sockstat: dict[str, dict[str, int]]) -> int:
    """TIME_WAIT sockets of the network namespace: ``tw`` of the ``TCP:`` line of /proc/net/sockstat.

    The kernel keeps one TIME_WAIT counter for IPv4 and IPv6 (sockstat6 has no ``tw``), so this is
    the total for both families.
    """
    try:
        count = sockstat["TCP"]["tw"]
    except KeyError:
        raise ValueError("sockstat has no 'tw' field on its 'TCP:' line") from None
    if count < 0:
        raise ValueError(f"sockstat counts {count} TIME_WAIT sockets: a count is never negative")
    return count



def parse_snmp(text: str) -> dict[str, dict[str, int]]:
    """Parse /proc/net/snmp into ``{"Tcp": {"CurrEstab": 3, ...}, ...}``.

    The file pairs a header line and a value line per protocol: ``Tcp: Name ...`` then ``Tcp: 1 ...``.
    """
    table: dict[str, dict[str, int]] = {}
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) % 2:
        raise ValueError("expected header and value lines in pairs")
    for number in range(0, len(lines), 2):
        head_name, _, head = lines[number].partition(":")
        value_name, _, values = lines[number + 1].partition(":")
        names, numbers = head.split(), values.split()
        if head_name != value_name or len(names) != len(numbers):
            raise ValueError(f"line {number + 2}: values do not match the header {head_name[:40]!r}")
        if head_name in table:
            raise ValueError(f"line {number + 1}: a second {head_name[:40]!r} pair: which one counts cannot be told")
        try:
            # MaxConn is -1 ("no limit"): counters are signed as the kernel prints them
            table[head_name] = {name: read_decimal(value, name, COUNT_MAX, signed=True)
                                for name, value in zip(names, numbers)}
        except ValueError as exc:
            raise ValueError(f"line {number + 2}: {exc}") from None
    return table


def established_count(snmp: dict[str, dict[str, int]]) -> int:
    """TCP connections in ESTABLISHED or CLOSE_WAIT (RFC 1213 tcpCurrEstab), IPv4 and IPv6 together."""
    try:
        count = snmp["Tcp"]["CurrEstab"]
    except KeyError:
        raise ValueError("/proc/net/snmp has no Tcp CurrEstab") from None
    if count < 0:
        raise ValueError(f"/proc/net/snmp counts {count} established connections: a count is never negative")
    return count
