"""Pure parsers for /proc/net/{tcp,udp,udplite}{,6}, /proc/net/sctp/eps and /proc/net/sockstat{,6}.

The socket tables are the fallback when netlink sock_diag is unavailable.  The kernel prints each
address as 32-bit words with ``%08X`` of the in-memory (network byte order) value, so on a
little-endian host every word reads byte-reversed; ``byteorder`` says how the host that wrote the
text stores words (``sys.byteorder`` of that host).
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass

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


@dataclass(frozen=True)
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
    if len(hex_text) not in (8, 32):
        raise ValueError(f"address {hex_text!r}: expected 8 or 32 hex digits")
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
    return decode_address(address, byteorder), int(port, 16)


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
        state=int(fields[3], 16),
        uid=int(fields[7]),
        inode=int(fields[9]),
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


@dataclass(frozen=True)
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
            port = int(fields[5])
            if not 0 <= port <= 65535:
                raise ValueError(f"port {port} out of range")
            endpoints.append(SctpEndpoint(
                state=int(fields[3]), local_port=port, uid=int(fields[6]), inode=int(fields[7]),
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
            raise ValueError(f"line {number}: expected 'NAME: key value ...', got {line!r}")
        try:
            table[name.strip()] = {tokens[i]: int(tokens[i + 1]) for i in range(0, len(tokens), 2)}
        except ValueError:
            raise ValueError(f"line {number}: non-integer value in {line!r}") from None
    return table


def time_wait_count(sockstat: dict[str, dict[str, int]]) -> int:
    """TIME_WAIT sockets of the network namespace: ``tw`` of the ``TCP:`` line of /proc/net/sockstat.

    The kernel keeps one TIME_WAIT counter for IPv4 and IPv6 (sockstat6 has no ``tw``), so this is
    the total for both families.
    """
    try:
        return sockstat["TCP"]["tw"]
    except KeyError:
        raise ValueError("sockstat has no 'tw' field on its 'TCP:' line") from None



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
            raise ValueError(f"line {number + 2}: values do not match the header {head_name!r}")
        try:
            table[head_name] = {name: int(value) for name, value in zip(names, numbers)}
        except ValueError:
            raise ValueError(f"line {number + 2}: non-numeric value in {value_name!r}") from None
    return table


def established_count(snmp: dict[str, dict[str, int]]) -> int:
    """TCP connections in ESTABLISHED or CLOSE_WAIT (RFC 1213 tcpCurrEstab), IPv4 and IPv6 together."""
    try:
        return snmp["Tcp"]["CurrEstab"]
    except KeyError:
        raise ValueError("/proc/net/snmp has no Tcp CurrEstab") from None
