"""A small NETLINK_SOCK_DIAG client: dump inet sockets with a state filter applied in the kernel.

``ss`` uses the same interface.  The request (``inet_diag_req_v2``) carries a bitmask of TCP states;
the kernel serialises only sockets in those states, so leaving out TIME_WAIT keeps the cost of a
dump flat however many TIME_WAIT sockets the host holds (their count comes from
/proc/net/sockstat instead).

Every transport the kernel's inet_diag knows can be dumped: TCP, UDP, UDP-Lite (udp_diag), SCTP
(sctp_diag), DCCP (dccp_diag, gone since Linux 6.16) and MPTCP (mptcp_diag).  A transport whose
diag handler is absent answers ENOENT.  IPPROTO_MPTCP (262) does not fit the u8
``sdiag_protocol``: it travels in an INET_DIAG_REQ_PROTOCOL attribute (u32, Linux 5.9+).

Layouts follow include/uapi/linux/{netlink,sock_diag,inet_diag}.h.  Building requests and parsing
replies are pure functions over bytes; :func:`exchange` is the only part that opens a socket (the
audit client, :mod:`auditor.collect.audit_netlink`, uses it and the message helpers too).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
import time
from functools import lru_cache
from typing import Callable, Iterator, TypeVar

from auditor.collect.parsers.proc_net import STATE_TIME_WAIT, TCP_STATES, ipv6_text
from auditor.model.records import record

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x100 | 0x200  # NLM_F_ROOT | NLM_F_MATCH

INET_DIAG_INFO = 2
INET_DIAG_SKV6ONLY = 11
INET_DIAG_LOCALS = 12  # SCTP: every local address of an endpoint (struct sockaddr_storage each)
INET_DIAG_SOCKOPT = 22  # struct inet_diag_sockopt: socket option bits (Linux 5.10+), sent unasked
INET_DIAG_REQ_PROTOCOL = 3  # request attribute: the protocol number when it does not fit in u8

IPPROTO_DCCP = 33
IPPROTO_SCTP = 132
IPPROTO_UDPLITE = 136
IPPROTO_MPTCP = 262
SOCKADDR_STORAGE_SIZE = 128

# struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
NLMSGHDR = struct.Struct("=IHHII")
# struct inet_diag_sockid { be16 sport, dport; be32 src[4], dst[4]; u32 if; u32 cookie[2]; }
SOCKID = struct.Struct("!HH16s16s")  # ports and addresses are big-endian ...
SOCKID_TAIL = struct.Struct("=III")  # ... interface and cookie are host order
SOCKID_SIZE = SOCKID.size + SOCKID_TAIL.size  # 48
# struct inet_diag_req_v2 { u8 family, protocol, ext, pad; u32 states; struct inet_diag_sockid id; }
REQ_V2_HEAD = struct.Struct("=BBBBI")
# struct inet_diag_msg { u8 family, state, timer, retrans; sockid; u32 expires, rqueue, wqueue, uid, inode; }
MSG_HEAD = struct.Struct("=BBBB")
MSG_TAIL = struct.Struct("=IIIII")
MSG_SIZE = MSG_HEAD.size + SOCKID_SIZE + MSG_TAIL.size  # 72
RTATTR = struct.Struct("=HH")

# Every TCP state except TIME_WAIT.  SYN_RECV also selects request sockets (NEW_SYN_RECV), which
# the kernel reports as SYN_RECV.  Bit 13 (TCP_BOUND_INACTIVE, bound-only sockets) is left out.
STATES_WITHOUT_TIME_WAIT = sum(1 << state for state in range(1, 13) if state != STATE_TIME_WAIT)

MAX_DATAGRAMS = 100_000  # bound on the receive loop: ~30 million sockets at ~300 per datagram
RECV_BUFFER = 1 << 16


class NetlinkError(OSError):
    """The kernel refused the request, or its reply was incomplete or malformed."""


@record
class Message:
    type: int
    flags: int
    seq: int
    pid: int
    payload: bytes


@record
class DiagSocket:
    """One socket of a sock_diag dump."""

    family: int  # socket.AF_INET or socket.AF_INET6
    state: int  # TCP state number (UDP: 7 unconnected, 1 connected)
    src: str
    sport: int
    dst: str
    dport: int
    interface_index: int  # SO_BINDTODEVICE, 0 when unset
    uid: int
    inode: int
    v6only: bool | None  # IPV6_V6ONLY of an AF_INET6 socket; None for AF_INET
    # SCTP: every local address the endpoint is bound to (INET_DIAG_LOCALS); empty when not reported
    local_addresses: tuple[str, ...] = ()
    # IP_TRANSPARENT / IPV6_TRANSPARENT (INET_DIAG_SOCKOPT); None when the kernel did not report it
    transparent: bool | None = None

    @property
    def state_name(self) -> str:
        return TCP_STATES.get(self.state, f"STATE_{self.state}")


# ---------------------------------------------------------------- pure: build and parse

def build_dump_request(family: int, protocol: int, states: int, seq: int, ext: int = 0) -> bytes:
    """A SOCK_DIAG_BY_FAMILY dump request for every socket of ``family``/``protocol`` in ``states``.

    A protocol above 255 (IPPROTO_MPTCP) goes in an INET_DIAG_REQ_PROTOCOL attribute, with 0 in
    ``sdiag_protocol``: a kernel too old to read the attribute then answers ENOENT (no handler for
    protocol 0) instead of dumping whatever ``262 & 0xff`` (= TCP) names.
    """
    if not 0 <= protocol <= 0xFFFFFFFF:
        raise ValueError(f"protocol {protocol} out of range")
    attributes = b""
    head_protocol = protocol
    if protocol > 0xFF:
        head_protocol = 0
        attributes = RTATTR.pack(RTATTR.size + 4, INET_DIAG_REQ_PROTOCOL) + struct.pack("=I", protocol)
    body = REQ_V2_HEAD.pack(family, head_protocol, ext, 0, states) + bytes(SOCKID_SIZE) + attributes
    header = NLMSGHDR.pack(NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
    return header + body


def parse_request_states(request: bytes) -> int:
    """The state bitmask of a request built by :func:`build_dump_request` (for tests and audits)."""
    return REQ_V2_HEAD.unpack_from(request, NLMSGHDR.size)[4]


def parse_request_protocol(request: bytes) -> int:
    """The protocol a request built by :func:`build_dump_request` asks for (attribute or header)."""
    head_protocol = REQ_V2_HEAD.unpack_from(request, NLMSGHDR.size)[1]
    attribute = parse_attributes(request[NLMSGHDR.size + REQ_V2_HEAD.size + SOCKID_SIZE :]).get(INET_DIAG_REQ_PROTOCOL)
    return struct.unpack("=I", attribute)[0] if attribute is not None else head_protocol


def _align4(length: int) -> int:
    return (length + 3) & ~3


def iter_messages(datagram: bytes) -> Iterator[Message]:
    """Split one received datagram into netlink messages; raises NetlinkError if malformed."""
    offset = 0
    while offset < len(datagram):
        if len(datagram) - offset < NLMSGHDR.size:
            raise NetlinkError(errno.EBADMSG, f"truncated netlink header at byte {offset}")
        length, msg_type, flags, seq, pid = NLMSGHDR.unpack_from(datagram, offset)
        if length < NLMSGHDR.size or offset + length > len(datagram):
            raise NetlinkError(errno.EBADMSG, f"netlink message length {length} at byte {offset} out of bounds")
        yield Message(msg_type, flags, seq, pid, datagram[offset + NLMSGHDR.size : offset + length])
        offset += _align4(length)


def parse_error(payload: bytes) -> int:
    """The errno of an NLMSG_ERROR (or NLMSG_DONE) payload: 0 for an acknowledgement."""
    if len(payload) < 4:
        raise NetlinkError(errno.EBADMSG, "truncated netlink error message")
    (code,) = struct.unpack_from("=i", payload)
    return -code


def parse_attributes(data: bytes) -> dict[int, bytes]:
    """rtattr TLVs following an inet_diag_msg: ``{type: payload}``."""
    attributes: dict[int, bytes] = {}
    offset = 0
    while len(data) - offset >= RTATTR.size:
        length, attr_type = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size or offset + length > len(data):
            raise NetlinkError(errno.EBADMSG, f"attribute length {length} at byte {offset} out of bounds")
        attributes[attr_type & 0x3FFF] = data[offset + RTATTR.size : offset + length]  # strip NLA_F_* bits
        offset += _align4(length)
    return attributes


@lru_cache(maxsize=4096)
def _address(family: int, raw: bytes) -> str:
    # Remembered: every socket has two (source and destination), and a host's listeners share a few
    # (127.0.0.1, 0.0.0.0, ::): one text each instead of 10,000 for 5,000 listeners (issue 16).
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    return ipv6_text(raw)


def parse_local_addresses(data: bytes) -> tuple[str, ...]:
    """Addresses of an INET_DIAG_LOCALS attribute: an array of ``struct sockaddr_storage``.

    Each slot starts with the host-order ``sa_family``; then sockaddr_in (port, 4-byte address) or
    sockaddr_in6 (port, flowinfo, 16-byte address).  A slot of another family is malformed.
    """
    if len(data) % SOCKADDR_STORAGE_SIZE:
        raise NetlinkError(errno.EBADMSG, f"INET_DIAG_LOCALS of {len(data)} bytes is not whole sockaddr_storage slots")
    addresses = []
    for offset in range(0, len(data), SOCKADDR_STORAGE_SIZE):
        (family,) = struct.unpack_from("=H", data, offset)
        if family == socket.AF_INET:
            addresses.append(socket.inet_ntop(socket.AF_INET, data[offset + 4 : offset + 8]))
        elif family == socket.AF_INET6:
            addresses.append(ipv6_text(data[offset + 8 : offset + 24]))
        else:
            raise NetlinkError(errno.EBADMSG, f"INET_DIAG_LOCALS slot of address family {family}")
    return tuple(addresses)


def parse_transparent(data: bytes | None) -> bool | None:
    """The ``transparent`` bit of an INET_DIAG_SOCKOPT attribute (None when absent or short).

    ``struct inet_diag_sockopt`` starts with the bit-fields recverr, is_icsk, freebind, hdrincl,
    mc_loop, transparent, ...: the sixth bit of the first byte, counted from the low bit where
    the compiler allocates bit-fields from it (little-endian) and from the high bit elsewhere."""
    if not data:
        return None
    bit = 5 if sys.byteorder == "little" else 2
    return bool(data[0] >> bit & 1)


def parse_diag_message(payload: bytes) -> DiagSocket:
    """Parse an ``inet_diag_msg`` and its attributes."""
    if len(payload) < MSG_SIZE:
        raise NetlinkError(errno.EBADMSG, f"inet_diag_msg of {len(payload)} bytes, expected at least {MSG_SIZE}")
    family, state, _timer, _retrans = MSG_HEAD.unpack_from(payload, 0)
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise NetlinkError(errno.EBADMSG, f"unexpected address family {family}")
    sport, dport, src, dst = SOCKID.unpack_from(payload, MSG_HEAD.size)
    interface_index, _cookie0, _cookie1 = SOCKID_TAIL.unpack_from(payload, MSG_HEAD.size + SOCKID.size)
    _expires, _rqueue, _wqueue, uid, inode = MSG_TAIL.unpack_from(payload, MSG_HEAD.size + SOCKID_SIZE)
    attributes = parse_attributes(payload[MSG_SIZE:])
    v6only = None
    if family == socket.AF_INET6:
        flag = attributes.get(INET_DIAG_SKV6ONLY)
        v6only = bool(flag[0]) if flag else None
    locals_ = attributes.get(INET_DIAG_LOCALS)
    return DiagSocket(
        family=family,
        state=state,
        src=_address(family, src),
        sport=sport,
        dst=_address(family, dst),
        dport=dport,
        interface_index=interface_index,
        uid=uid,
        inode=inode,
        v6only=v6only,
        local_addresses=parse_local_addresses(locals_) if locals_ else (),
        transparent=parse_transparent(attributes.get(INET_DIAG_SOCKOPT)),
    )


# Which socket an inet_diag_msg is: (family, state, source address, source port, inode, its local
# addresses (SCTP's INET_DIAG_LOCALS, else ())), as parse_diag_message reads them.
SocketIdentity = tuple[int, int, str, int, int, tuple[str, ...]]
_IDENTITY_HEAD = struct.Struct("=BB2x2s2x16s44xI")  # family, state, sport (big-endian), src, inode


def parse_diag_identity(payload: bytes) -> SocketIdentity:
    """:func:`parse_diag_message`'s family, state, source address and port, inode and local
    addresses, with the same checks (the same NetlinkError for a malformed message or attribute),
    without building its record or reading any other attribute: what a second read of the tables
    compares with the first (:func:`auditor.collect.sockets.settled_listeners`), a third of the
    cost of the whole parse for 5,000 listeners (issue 16)."""
    if len(payload) < MSG_SIZE:
        raise NetlinkError(errno.EBADMSG, f"inet_diag_msg of {len(payload)} bytes, expected at least {MSG_SIZE}")
    family, state, sport, src, inode = _IDENTITY_HEAD.unpack_from(payload, 0)
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise NetlinkError(errno.EBADMSG, f"unexpected address family {family}")
    locals_ = None
    offset, end = MSG_SIZE, len(payload)
    while end - offset >= RTATTR.size:  # parse_attributes' walk, keeping only INET_DIAG_LOCALS (the last one)
        length, attr_type = RTATTR.unpack_from(payload, offset)
        if length < RTATTR.size or offset + length > end:
            raise NetlinkError(errno.EBADMSG, f"attribute length {length} at byte {offset - MSG_SIZE} out of bounds")
        if attr_type & 0x3FFF == INET_DIAG_LOCALS:
            locals_ = payload[offset + RTATTR.size : offset + length]
        offset += _align4(length)
    return (family, state, _address(family, src), int.from_bytes(sport, "big"), inode,
            parse_local_addresses(locals_) if locals_ else ())


P = TypeVar("P")


def parse_dump_datagram(datagram: bytes, seq: int,
                        parse: Callable[[bytes], P] = parse_diag_message) -> tuple[list[P], bool]:  # type: ignore[assignment]
    """Sockets in one datagram of a dump reply (each as ``parse`` reads its message), and whether
    it ended the dump (NLMSG_DONE).

    Messages of another sequence number (a stale reply) are ignored.  An NLMSG_ERROR, or an
    interrupted dump, raises NetlinkError.
    """
    sockets: list[P] = []
    for message in iter_messages(datagram):
        if message.seq != seq:
            continue
        if message.flags & NLM_F_DUMP_INTR:
            raise NetlinkError(errno.EINTR, "sock_diag dump interrupted by a concurrent change; retry")
        if message.type == NLMSG_DONE:
            code = parse_error(message.payload) if len(message.payload) >= 4 else 0
            if code:
                raise NetlinkError(code, f"sock_diag dump failed: {os.strerror(code)}")
            return sockets, True
        if message.type == NLMSG_ERROR:
            code = parse_error(message.payload)
            raise NetlinkError(code or errno.EPROTO, f"sock_diag request refused: {os.strerror(code or errno.EPROTO)}")
        if message.type == NLMSG_OVERRUN:
            raise NetlinkError(errno.ENOBUFS, "netlink overrun: reply lost")
        if message.type == NLMSG_NOOP:
            continue
        if message.type == SOCK_DIAG_BY_FAMILY:
            sockets.append(parse(message.payload))
        else:
            raise NetlinkError(errno.EBADMSG, f"unexpected netlink message type {message.type}")
    return sockets, False


# ---------------------------------------------------------------- I/O

_sequence = int(time.time()) & 0xFFFF


def next_seq() -> int:
    global _sequence
    _sequence = (_sequence + 1) & 0x7FFFFFFF
    return _sequence


def dump(
    family: int,
    protocol: int,
    states: int = STATES_WITHOUT_TIME_WAIT,
    timeout: float = 10.0,
    max_datagrams: int = MAX_DATAGRAMS,
    attempts: int = 3,
) -> list[DiagSocket]:
    """Dump every ``family`` (AF_INET/AF_INET6) ``protocol`` (IPPROTO_*) socket in ``states``.

    An interrupted dump (the kernel flags it when tables change under it) is retried, at most
    ``attempts`` times.  Raises OSError (NetlinkError, PermissionError, TimeoutError, ...) when the
    dump cannot be made; the caller decides what to fall back to.  Needs no privileges.  A
    protocol the kernel has no diag handler for raises NetlinkError with errno ENOENT.
    """
    return retry_interrupted(lambda: _dump_once(family, protocol, states, timeout, max_datagrams,
                                                 parse_diag_message), attempts)


def dump_identities(
    family: int,
    protocol: int,
    states: int = STATES_WITHOUT_TIME_WAIT,
    timeout: float = 10.0,
    max_datagrams: int = MAX_DATAGRAMS,
    attempts: int = 3,
) -> list[SocketIdentity]:
    """:func:`dump`, each socket only as :func:`parse_diag_identity` reads it."""
    return retry_interrupted(lambda: _dump_once(family, protocol, states, timeout, max_datagrams,
                                                 parse_diag_identity), attempts)


T = TypeVar("T")


def retry_interrupted(read: Callable[[], T], attempts: int = 3) -> T:
    """``read()``, made again while it raises NetlinkError EINTR (a dump the kernel flagged as
    interrupted by a change of its tables), at most ``attempts`` times in all; any other error, or
    the last attempt's, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except NetlinkError as exc:
            if exc.errno != errno.EINTR or attempt == attempts:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _dump_once(family: int, protocol: int, states: int, timeout: float, max_datagrams: int,
               parse: Callable[[bytes], P]) -> list[P]:
    seq = next_seq()
    result: list[P] = []

    def take(datagram: bytes) -> bool:
        sockets, done = parse_dump_datagram(datagram, seq, parse)
        result.extend(sockets)
        return done

    exchange(NETLINK_SOCK_DIAG, build_dump_request(family, protocol, states, seq), take, timeout, max_datagrams,
             "sock_diag dump")
    return result


def exchange(
    netlink_protocol: int,
    request: bytes,
    take: Callable[[bytes], bool],
    timeout: float,
    max_datagrams: int,
    what: str,
) -> None:
    """Send ``request`` on a new ``netlink_protocol`` socket and hand each reply datagram to ``take``
    until it returns True (the reply is complete).  Raises OSError (NetlinkError, PermissionError,
    TimeoutError, ...) when the socket cannot be opened, the kernel does not answer within
    ``timeout``, or ``max_datagrams`` arrive without an end; ``what`` names the request in errors."""
    deadline = time.monotonic() + timeout
    buffer = bytearray(RECV_BUFFER)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, netlink_protocol) as nl:
        nl.bind((0, 0))
        nl.settimeout(timeout)
        nl.sendto(request, (0, 0))
        for _ in range(max_datagrams):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(errno.ETIMEDOUT, f"{what} did not finish within {timeout} s")
            nl.settimeout(remaining)
            try:
                size = nl.recv_into(buffer, len(buffer), socket.MSG_TRUNC)
            except socket.timeout:
                raise TimeoutError(errno.ETIMEDOUT, f"{what} did not finish within {timeout} s") from None
            if size > len(buffer):
                raise NetlinkError(errno.EMSGSIZE, f"netlink datagram of {size} bytes exceeds the {len(buffer)} byte buffer")
            if take(bytes(buffer[:size])):
                return
    raise NetlinkError(errno.EOVERFLOW, f"{what} still running after {max_datagrams} datagrams")


# ---------------------------------------------------------------- inodes only

# struct unix_diag_req { u8 family, protocol; u16 pad; u32 states, ino, show; u32 cookie[2]; }
UNIX_REQ = struct.Struct("=BBHIII8s")
UNIX_MSG_SIZE = 16  # struct unix_diag_msg { u8 family, type, state, pad; u32 ino; u32 cookie[2]; }
INET_INODE_OFFSET = MSG_SIZE - 4  # idiag_inode, the last field of inode_diag_msg
UNIX_INODE_OFFSET = 4
ALL_STATES = 0xFFFFFFFF
_FAST_ATTEMPTS = 8  # runs of same-length messages read per datagram before the rest is walked message by message


def build_unix_dump_request(seq: int) -> bytes:
    """A SOCK_DIAG_BY_FAMILY dump request for every AF_UNIX socket, nothing but each one's head."""
    body = UNIX_REQ.pack(socket.AF_UNIX, 0, 0, ALL_STATES, 0, 0, bytes(8))
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def inodes_of_datagram(datagram: bytes, seq: int, minimum: int, inode_offset: int, into: list[int]) -> bool:
    """Append the socket inode of each message of one dump datagram to ``into``; whether the dump
    ended.  ``minimum``: the payload length of the fixed part, ``inode_offset``: the inode's place
    in it.

    What is read is every message's header (length, type, flags, sequence) and its inode: a run of
    messages of one length (a dump's are, state by state: the attributes the kernel adds unasked
    are the same for each) is checked and read at C speed through a ``memoryview`` of 32-bit words
    taken at that stride; the rest message by message.  A message of another type, too short, or
    a length that runs past the datagram is what :func:`parse_dump_datagram` makes of it (an
    NLMSG_ERROR raises).  An interrupted dump (NLM_F_DUMP_INTR) is read as it is: the inodes it
    has are sockets of the namespace as surely; one it missed is not taken to be anywhere."""
    size = len(datagram)
    offset = 0
    header = NLMSGHDR.size
    attempts = _FAST_ATTEMPTS
    view = memoryview(datagram)
    while offset < size:
        if size - offset < header:
            raise NetlinkError(errno.EBADMSG, f"truncated netlink header at byte {offset}")
        length, msg_type, flags, msg_seq, _pid = NLMSGHDR.unpack_from(datagram, offset)
        if msg_type != SOCK_DIAG_BY_FAMILY or length < header + minimum or offset + length > size:
            done = parse_dump_datagram(datagram[offset:offset + _align4(length)] if length >= header else
                                       datagram[offset:], seq)[1]
            if done:
                return True
            offset += _align4(max(length, header))
            continue
        if attempts and length % 4 == 0:
            attempts -= 1
            count = (size - offset) // length
            stride = length // 4
            words = view[offset:offset + count * length].cast("I")
            first = words[:3].tolist()  # this message's length, type | flags << 16, sequence
            run = count  # how many from here have the same three (so each is where the stride puts it)
            for i in range(3):
                column = words[i::stride].tolist()
                if column.count(first[i]) != count:
                    run = min(run, next(k for k, value in enumerate(column) if value != first[i]))
            if msg_seq == seq:
                into += words[(header + inode_offset) // 4::stride].tolist()[:run]
            offset += run * length
            continue
        if msg_seq == seq:
            (inode,) = struct.unpack_from("=I", datagram, offset + header + inode_offset)
            into.append(inode)
        offset += _align4(length)
    return False


def dump_inodes(family: int, protocol: int = 0, states: int = ALL_STATES, timeout: float = 10.0,
                max_datagrams: int = MAX_DATAGRAMS) -> list[int]:
    """The inode of every ``family`` socket (AF_INET/AF_INET6 of ``protocol`` in ``states``, or
    AF_UNIX) of this process's network namespace, from one sock_diag dump that asks for no
    attribute.  Kernel-held and orphaned sockets report inode 0.  Raises OSError as :func:`dump`."""
    seq = next_seq()
    if family == socket.AF_UNIX:
        request, minimum, inode_offset = build_unix_dump_request(seq), UNIX_MSG_SIZE, UNIX_INODE_OFFSET
    else:
        request, minimum, inode_offset = build_dump_request(family, protocol, states, seq), MSG_SIZE, INET_INODE_OFFSET
    inodes: list[int] = []
    exchange(NETLINK_SOCK_DIAG, request, lambda datagram: inodes_of_datagram(datagram, seq, minimum, inode_offset,
                                                                             inodes),
             timeout, max_datagrams, "sock_diag dump")
    return inodes
