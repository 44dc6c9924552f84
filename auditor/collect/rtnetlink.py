"""A small NETLINK_ROUTE client: the interfaces and addresses of the caller's network namespace.

``/sys/class/net`` shows the interfaces of the namespace sysfs was mounted in, not the caller's, so
a process that entered another namespace must ask the kernel: an RTM_GETLINK dump (name, type,
flags, IFLA_LINKINFO kind, bridge master, veth peer index and whether the peer is in another
namespace) and an RTM_GETADDR dump.  Layouts follow include/uapi/linux/{rtnetlink,if_link,
if_addr}.h.  Parsing is pure; :func:`dump_interfaces` opens the sockets, through
:func:`auditor.collect.netlink.exchange`.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import field

from auditor.collect.netlink import (
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSGHDR,
    NetlinkError,
    exchange,
    iter_messages,
    next_seq,
    parse_attributes,
    parse_error,
    retry_interrupted,
)
from auditor.collect.parsers.proc_net import ipv6_text
from auditor.model.records import mutable_record

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_GETROUTE = 26
RTM_NEWRULE = 32
RTM_GETRULE = 34
RTM_NEWQDISC = 36
RTM_GETQDISC = 38
RTM_NEWNSID = 88
RTM_GETNSID = 90

# struct ifinfomsg { u8 family, pad; u16 type; i32 index; u32 flags, change; }
IFINFOMSG = struct.Struct("=BxHiII")
# struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index; }
IFADDRMSG = struct.Struct("=BBBBI")
# struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }
RTMSG = struct.Struct("=BBBBBBBBI")
# struct tcmsg { u8 family, pad1; u16 pad2; i32 ifindex; u32 handle, parent, info; }
TCMSG = struct.Struct("=BxxxiIII")
TC_H_INGRESS = 0xFFFFFFF1  # the parent of an ingress or clsact qdisc
TCA_KIND = 1
# struct rtgenmsg { u8 family; }, padded to 4 bytes (NLMSG_ALIGN) before its attributes
RTGENMSG = struct.Struct("=Bxxx")

IFLA_IFNAME = 3
IFLA_LINK = 5
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_LINK_NETNSID = 37
IFLA_XDP = 43
IFLA_XDP_ATTACHED = 2  # u8: XDP_ATTACHED_NONE (0), DRV, SKB, HW or MULTI
IFLA_INFO_KIND = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_DST = 1
RTA_TABLE = 15
RTN_LOCAL = 2
# struct fib_rule_hdr { u8 family, dst_len, src_len, tos, table, res1, res2, action; u32 flags; }: rtmsg's layout
FRA_TABLE = 15  # u32: the table of a rule, when it does not fit in the header's u8
FRA_L3MDEV = 19  # u8: the rule looks up the table of the VRF (l3mdev) a packet came in on
FR_ACT_TO_TBL = 1  # the action of a rule that looks up a table (others: goto, nop, blackhole, ...)
RT_TABLE_COMPAT = 252  # the header's table when the real one is above 255 (then in RTA_TABLE / FRA_TABLE)
NETNSA_NSID = 1
NETNSA_FD = 3
NETNSA_NSID_NOT_ASSIGNED = -1

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
ARPHRD_ETHER = 1

MAX_DATAGRAMS = 10_000

# IFLA_INFO_KIND -> what the interface is, for exposure
KIND_BY_LINK_KIND = {"veth": "veth", "bridge": "bridge", "macvlan": "macvlan", "macvtap": "macvlan",
                     "ipvlan": "ipvlan", "ipvtap": "ipvlan"}


@mutable_record
class Link:
    index: int
    name: str
    kind: str  # auditor.model.facts.InterfaceKind
    link_kind: str | None
    up: bool
    master_index: int | None
    peer_index: int | None
    peer_in_other_netns: bool
    # IFLA_LINK_NETNSID: the id this namespace gives the namespace the peer is in (ifindexes are
    # per namespace, so the peer's index alone does not say which namespace holds it)
    peer_netnsid: int | None = None
    addresses: list[str] = field(default_factory=list)
    # IFLA_XDP_ATTACHED: an XDP program runs on what arrives on it, and can redirect it (XDP_REDIRECT)
    xdp: bool = False


def _request(msg_type: int, body: bytes, seq: int) -> bytes:
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def _kind(if_type: int, flags: int, link_kind: str | None) -> str:
    # The loopback is the loopback driver's device: it alone sets IFF_LOOPBACK, which userspace
    # cannot (dev_change_flags keeps it as the driver set it), and it has no rtnetlink kind.  The
    # hardware type says nothing: TUNSETLINK gives a tun or tap device ARPHRD_LOOPBACK (``ip link``
    # shows link/loopback) while whoever holds its descriptor feeds it what comes from beyond.
    if flags & IFF_LOOPBACK and link_kind is None:
        return "loopback"
    if link_kind is not None:
        return KIND_BY_LINK_KIND.get(link_kind, "other")
    # No rtnl_link_ops: a device a driver registered for hardware (an Ethernet card) is physical.
    return "physical" if if_type == ARPHRD_ETHER else "other"


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_link(payload: bytes) -> Link:
    if len(payload) < IFINFOMSG.size:
        raise NetlinkError(errno.EBADMSG, f"ifinfomsg of {len(payload)} bytes")
    _family, if_type, index, flags, _change = IFINFOMSG.unpack_from(payload)
    attributes = parse_attributes(payload[IFINFOMSG.size:])
    link_kind = None
    if IFLA_LINKINFO in attributes:
        kind = parse_attributes(attributes[IFLA_LINKINFO]).get(IFLA_INFO_KIND)
        link_kind = _text(kind) if kind else None

    def u32(attr: int) -> int | None:
        raw = attributes.get(attr)
        return struct.unpack_from("=I", raw)[0] if raw is not None and len(raw) >= 4 else None

    link = u32(IFLA_LINK)
    netnsid = attributes.get(IFLA_LINK_NETNSID)
    xdp = parse_attributes(attributes[IFLA_XDP]).get(IFLA_XDP_ATTACHED) if IFLA_XDP in attributes else None
    kind_name = _kind(if_type, flags, link_kind)
    return Link(index=index, name=_text(attributes.get(IFLA_IFNAME, b"")) or str(index), kind=kind_name,
                link_kind=link_kind, up=bool(flags & IFF_UP), master_index=u32(IFLA_MASTER) or None,
                peer_index=link if kind_name == "veth" and link else None,
                peer_in_other_netns=IFLA_LINK_NETNSID in attributes,
                peer_netnsid=struct.unpack_from("=i", netnsid)[0]
                if kind_name == "veth" and netnsid is not None and len(netnsid) >= 4 else None,
                xdp=bool(xdp and xdp[0]))


def parse_address(payload: bytes) -> tuple[int, str]:
    """(interface index, "address/prefix") of an RTM_NEWADDR message."""
    if len(payload) < IFADDRMSG.size:
        raise NetlinkError(errno.EBADMSG, f"ifaddrmsg of {len(payload)} bytes")
    family, prefix, _flags, _scope, index = IFADDRMSG.unpack_from(payload)
    attributes = parse_attributes(payload[IFADDRMSG.size:])
    raw = attributes.get(IFA_LOCAL) or attributes.get(IFA_ADDRESS)  # IFA_LOCAL: own address on p2p links
    if raw is None:
        raise NetlinkError(errno.EBADMSG, f"address of interface {index} without IFA_ADDRESS")
    if family == socket.AF_INET:
        text = socket.inet_ntop(socket.AF_INET, raw[:4])
    elif family == socket.AF_INET6:
        text = ipv6_text(raw[:16])
    else:
        raise NetlinkError(errno.EBADMSG, f"address family {family}")
    return index, f"{text}/{prefix}"


def parse_local_route(payload: bytes) -> str | None:
    """``"PREFIX/LENGTH"`` of an RTM_NEWROUTE message of type RTN_LOCAL, None for a route of
    another type (its table: :func:`parse_local_route_in_table`)."""
    found = parse_local_route_in_table(payload)
    return None if found is None else found[0]


def parse_local_route_in_table(payload: bytes) -> tuple[str, int] | None:
    """``("PREFIX/LENGTH", table)`` of an RTM_NEWROUTE message of type RTN_LOCAL, None for a route
    of another type."""
    if len(payload) < RTMSG.size:
        raise NetlinkError(errno.EBADMSG, f"rtmsg of {len(payload)} bytes")
    family, dst_len, _src_len, _tos, table, _protocol, _scope, route_type, _flags = RTMSG.unpack_from(payload)
    if route_type != RTN_LOCAL:
        return None
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise NetlinkError(errno.EBADMSG, f"local route of address family {family}")
    size = 4 if family == socket.AF_INET else 16
    attributes = parse_attributes(payload[RTMSG.size:])
    raw = attributes.get(RTA_DST, bytes(size))  # no RTA_DST: the default route
    if len(raw) < size or dst_len > size * 8:
        raise NetlinkError(errno.EBADMSG, f"local route of {len(raw)} address bytes, prefix length {dst_len}")
    text = socket.inet_ntop(socket.AF_INET, raw[:4]) if size == 4 else ipv6_text(raw[:16])
    return f"{text}/{dst_len}", _table(table, attributes.get(RTA_TABLE))


def _table(header: int, attribute: bytes | None) -> int:
    """A route's or rule's table: its u32 attribute when there is one, else the header's u8."""
    return struct.unpack_from("=I", attribute)[0] if attribute is not None and len(attribute) >= 4 else header


def parse_rule_table(payload: bytes) -> tuple[int, int | None] | None:
    """(family, table) of an RTM_NEWRULE message whose rule looks up a table; table None for an
    l3mdev rule (``ip rule add l3mdev``), which looks up whichever VRF's table a packet came in on,
    so any table; None for a rule that looks up none (goto, nop, blackhole, unreachable, prohibit)."""
    if len(payload) < RTMSG.size:
        raise NetlinkError(errno.EBADMSG, f"fib_rule_hdr of {len(payload)} bytes")
    family, _dst_len, _src_len, _tos, table, _res1, _res2, action, _flags = RTMSG.unpack_from(payload)
    if action != FR_ACT_TO_TBL:
        return None
    attributes = parse_attributes(payload[RTMSG.size:])
    l3mdev = attributes.get(FRA_L3MDEV)
    if l3mdev and l3mdev[0]:
        return family, None
    return family, _table(table, attributes.get(FRA_TABLE))


def _dump(msg_type: int, reply_type: int, body: bytes, timeout: float, protocol: int = NETLINK_ROUTE,
          what: str = "rtnetlink", other_types_allowed: bool = False) -> list[bytes]:
    """The payloads of the ``reply_type`` messages a ``protocol`` dump answers to ``msg_type``.  A
    message of any other type is an error (rtnetlink answers nothing else) unless
    ``other_types_allowed`` (nfnetlink: a subsystem's other objects are skipped)."""
    seq = next_seq()
    payloads: list[bytes] = []

    def take(datagram: bytes) -> bool:
        for message in iter_messages(datagram):
            if message.seq != seq:
                continue
            if message.flags & NLM_F_DUMP_INTR:
                raise NetlinkError(errno.EINTR, f"{what} dump interrupted by a concurrent change")
            if message.type == NLMSG_DONE:
                return True
            if message.type == NLMSG_ERROR:
                code = parse_error(message.payload)
                if code:
                    raise NetlinkError(code, f"{what} request refused: {os.strerror(code)}")
                continue
            if message.type == reply_type:
                payloads.append(message.payload)
            elif message.type != NLMSG_NOOP and not other_types_allowed:
                raise NetlinkError(errno.EBADMSG, f"unexpected {what} message type {message.type}")
        return False

    exchange(protocol, _request(msg_type, body, seq), take, timeout, MAX_DATAGRAMS, f"{what} dump")
    return payloads


def dump_interfaces(timeout: float = 10.0) -> list[Link]:
    """Every interface of the caller's network namespace, with its addresses.  Raises OSError."""
    def read() -> list[Link]:
        links = {link.index: link for link in map(parse_link, _dump(RTM_GETLINK, RTM_NEWLINK,
                                                                    IFINFOMSG.pack(0, 0, 0, 0, 0), timeout))}
        for payload in _dump(RTM_GETADDR, RTM_NEWADDR, IFADDRMSG.pack(0, 0, 0, 0, 0), timeout):
            index, address = parse_address(payload)
            if index in links:
                links[index].addresses.append(address)
        return [links[index] for index in sorted(links)]

    return retry_interrupted(read)


def parse_ingress_qdisc(payload: bytes) -> tuple[int, str] | None:
    """(interface index, kind) of an RTM_NEWQDISC message for an ingress or clsact qdisc (the one
    whose filters see what arrives on the interface, before IP input); None for another qdisc."""
    if len(payload) < TCMSG.size:
        raise NetlinkError(errno.EBADMSG, f"tcmsg of {len(payload)} bytes")
    _family, index, _handle, parent, _info = TCMSG.unpack_from(payload)
    if parent != TC_H_INGRESS:
        return None
    return index, _text(parse_attributes(payload[TCMSG.size:]).get(TCA_KIND, b"")) or "ingress"


def dump_ingress_qdiscs(timeout: float = 10.0) -> dict[int, str]:
    """The kind of the ingress (or clsact) qdisc of each interface of the caller's namespace that
    has one, by interface index: its filters (tc mirred, a BPF classifier's bpf_redirect) can hand
    what arrives there to another interface, a veth into a namespace among them, without the
    namespace forwarding.  Raises OSError."""
    def read() -> dict[int, str]:
        found = (parse_ingress_qdisc(payload)
                 for payload in _dump(RTM_GETQDISC, RTM_NEWQDISC, TCMSG.pack(0, 0, 0, 0, 0), timeout))
        return dict(item for item in found if item is not None)

    return retry_interrupted(read)


def dump_rule_tables(family: int, timeout: float = 10.0) -> set[int] | None:
    """The tables the policy rules of ``family`` (AF_INET, AF_INET6) of the caller's namespace look
    up: None when an l3mdev rule looks up any VRF's table.  A rule on a firewall mark counts like
    any: the marks are set by firewall rules (TPROXY's ``meta mark set``), which are not read here.
    Raises OSError."""
    def read() -> set[int] | None:
        found: set[int] | None = set()
        for payload in _dump(RTM_GETRULE, RTM_NEWRULE, RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0), timeout):
            rule = parse_rule_table(payload)
            if rule is None or rule[0] != family:
                continue
            if rule[1] is None:
                found = None
            elif found is not None:
                found.add(rule[1])
        return found

    return retry_interrupted(read)


def dump_local_routes(timeout: float = 10.0) -> list[str]:
    """The destinations of every local route (RTN_LOCAL) of the caller's namespace in a table some
    policy rule looks up, IPv4 then IPv6, each once: the addresses ip_route_input delivers to this
    namespace whichever interface a packet arrives on.  Beside each interface address's own route
    they hold what makes other addresses local: ``ip route add local 10.0.0.0/24 dev lo`` (AnyIP),
    an address with a prefix on lo (its whole prefix), TPROXY's ``local 0.0.0.0/0 dev lo table 100``
    once a rule (``ip rule add fwmark 1 lookup 100``) steers packets there.  A route in a table no
    rule looks up delivers nothing (ip_route_input consults only the tables the rules name); when
    the rules cannot be read, every table counts.  Raises OSError."""
    looked_up: dict[int, set[int] | None] = {}
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            looked_up[family] = dump_rule_tables(family, timeout)
        except OSError:
            looked_up[family] = None  # fail closed: a local route of any table may be consulted
    def read() -> list[str]:
        found: list[str] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            tables = looked_up.get(family)
            for payload in _dump(RTM_GETROUTE, RTM_NEWROUTE, RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0), timeout):
                route = parse_local_route_in_table(payload)
                if route is None or (tables is not None and route[1] not in tables):
                    continue
                if route[0] not in found:
                    found.append(route[0])
        return found

    return retry_interrupted(read)


def dump_nsids(timeout: float = 10.0) -> set[int]:
    """Every id the caller's namespace gives another namespace (RTM_GETNSID dump).  An id names a
    live namespace: the kernel removes it when that namespace goes.  Ids are given when a device is
    moved into a namespace, a veth's peer made in one, or ``ip netns set``.  Raises OSError."""
    ids = set()
    for payload in _dump(RTM_GETNSID, RTM_NEWNSID, RTGENMSG.pack(socket.AF_UNSPEC), timeout):
        raw = parse_attributes(payload[RTGENMSG.size:]).get(NETNSA_NSID)
        if raw is None or len(raw) < 4:
            raise NetlinkError(errno.EBADMSG, "RTM_NEWNSID without NETNSA_NSID")
        nsid = struct.unpack_from("=i", raw)[0]
        if nsid != NETNSA_NSID_NOT_ASSIGNED:
            ids.add(nsid)
    return ids


def netnsid_of(fd: int, timeout: float = 10.0) -> int | None:
    """The id the caller's namespace gives the namespace of file descriptor ``fd`` (RTM_GETNSID with
    NETNSA_FD), None when it gives it none.  Raises OSError."""
    seq = next_seq()
    attribute = struct.pack("=HHI", 8, NETNSA_FD, fd)
    body = RTGENMSG.pack(socket.AF_UNSPEC) + attribute
    request = NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_GETNSID, NLM_F_REQUEST, seq, 0) + body
    found: list[int] = []

    def take(datagram: bytes) -> bool:
        for message in iter_messages(datagram):
            if message.seq != seq:
                continue
            if message.type == NLMSG_ERROR:
                code = parse_error(message.payload)
                if code:
                    raise NetlinkError(code, f"RTM_GETNSID refused: {os.strerror(code)}")
                return True
            if message.type == RTM_NEWNSID:
                raw = parse_attributes(message.payload[RTGENMSG.size:]).get(NETNSA_NSID)
                if raw is None or len(raw) < 4:
                    raise NetlinkError(errno.EBADMSG, "RTM_NEWNSID without NETNSA_NSID")
                found.append(struct.unpack_from("=i", raw)[0])
                return True
        return False

    exchange(NETLINK_ROUTE, request, take, timeout, 16, "RTM_GETNSID")
    if not found:
        raise NetlinkError(errno.EBADMSG, "RTM_GETNSID answered without an id")
    return None if found[0] == NETNSA_NSID_NOT_ASSIGNED else found[0]


# ---------------------------------------------------------------- nftables ingress chains

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWCHAIN, NFT_MSG_GETCHAIN, NFT_MSG_NEWRULE, NFT_MSG_GETRULE = 3, 4, 6, 7
NFGENMSG = struct.Struct("=BBH")  # family, version, res_id (big-endian; 0 here)
NFPROTO_INET, NFPROTO_NETDEV = 1, 5
# the ingress hook's number in each family that has one: NF_NETDEV_INGRESS, NF_INET_INGRESS
_INGRESS_HOOKS = {NFPROTO_NETDEV: 0, NFPROTO_INET: 5}
# the families with an ingress hook, by number and as nft names them
NFT_INGRESS_FAMILIES = {NFPROTO_NETDEV: "netdev", NFPROTO_INET: "inet"}
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME, NFTA_CHAIN_HOOK = 1, 3, 4
NFTA_HOOK_HOOKNUM, NFTA_HOOK_DEV, NFTA_HOOK_DEVS = 1, 3, 4
NFTA_RULE_TABLE, NFTA_RULE_EXPRESSIONS = 1, 4
NFTA_LIST_ELEM, NFTA_EXPR_NAME = 1, 1
# The expressions (nft statements) that hand what arrives on a link to another interface before IP
# input, whatever the forwarding settings say (nft_fwd_netdev, nft_dup_netdev): as a tc ingress
# filter's mirred or a BPF program's bpf_redirect does.
HAND_ON_EXPRESSIONS = ("fwd", "dup")
# One hook later, before the routing decision that asks the forwarding settings: a chain of the ip,
# ip6 or inet family hooked at prerouting that copies a packet to another host (``dup to ADDR``,
# nft_dup_ipv4/ipv6; iptables' ``-j TEE --gateway ADDR``, which iptables-nft writes as an xt TEE
# target) sends the copy out whatever net.ipv4.ip_forward says (nf_dup_ipv4 routes it as its own).
NFPROTO_IPV4, NFPROTO_IPV6 = 2, 10
NF_INET_PRE_ROUTING = 0
NFT_PREROUTING_FAMILIES = {NFPROTO_INET: "inet", NFPROTO_IPV4: "ip", NFPROTO_IPV6: "ip6"}
COPY_EXPRESSIONS = ("dup", "TEE")
NFTA_EXPR_DATA, NFTA_TARGET_NAME = 2, 1


def label_ingress_redirects(
        chains: Iterable[tuple[object, object, object, list[str | None], Iterable[str]]],
        hook: str = "ingress",
) -> dict[str | None, list[str]]:
    """By device (None: a chain that names none, so every link), the labels "nft ingress fwd
    (FAMILY TABLE CHAIN)" of ``chains``: each (family name, table, chain, devices it hooks, the
    hand-on expressions its table holds); ``hook``: the hook they are chains of ("nft prerouting dup
    (ip TABLE CHAIN)").  One spelling for the kernel's dump and nft's JSON."""
    found: dict[str | None, list[str]] = {}
    for family, table, chain, devices, names in chains:
        for device in devices or [None]:
            for name in sorted(names):
                label = f"nft {hook} {name} ({family} {table} {chain})"
                if label not in found.setdefault(device, []):
                    found[device].append(label)
    return found


def _attribute_list(data: bytes) -> list[tuple[int, bytes]]:
    """Every attribute of ``data`` in order, a repeated type (a nested list's elements) each time."""
    found: list[tuple[int, bytes]] = []
    offset = 0
    while len(data) - offset >= 4:
        length, attr_type = struct.unpack_from("=HH", data, offset)
        if length < 4 or offset + length > len(data):
            raise NetlinkError(errno.EBADMSG, f"nfnetlink attribute length {length} at byte {offset} out of bounds")
        found.append((attr_type & 0x3FFF, data[offset + 4: offset + length]))
        offset += (length + 3) & ~3
    return found


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _nft_dump(message: int, timeout: float) -> list[tuple[int, dict[int, bytes], bytes]]:
    """(family, attributes, raw attributes) of each object an nftables dump (every family) answers."""
    reply = (NFNL_SUBSYS_NFTABLES << 8) | (message - 1)  # GET n answers NEW n-1
    return [(payload[0], dict(_attribute_list(payload[NFGENMSG.size:])), payload[NFGENMSG.size:])
            for payload in _dump((NFNL_SUBSYS_NFTABLES << 8) | message, reply, NFGENMSG.pack(0, 0, 0), timeout,
                                 NETLINK_NETFILTER, "nftables", other_types_allowed=True)
            if len(payload) >= NFGENMSG.size]


def dump_nft_ingress_redirects(timeout: float = 10.0) -> dict[str | None, list[str]]:
    """The nftables ingress chains (netdev or inet family) of the caller's namespace whose table
    holds a fwd or dup expression, by each device the chain hooks (None: a chain that names none),
    as "nft ingress fwd (netdev TABLE CHAIN)": read from the kernel, whatever nft is installed.
    Raises OSError."""
    def read() -> dict[str | None, list[str]]:
        held: dict[tuple[int, str], set[str]] = {}
        for family, attributes, _raw in _nft_dump(NFT_MSG_GETRULE, timeout):
            if family not in _INGRESS_HOOKS and family not in NFT_PREROUTING_FAMILIES:
                continue
            table = _text(attributes.get(NFTA_RULE_TABLE, b""))
            for _type, element in _attribute_list(attributes.get(NFTA_RULE_EXPRESSIONS, b"")):
                expression = dict(_attribute_list(element))
                name = _text(expression.get(NFTA_EXPR_NAME, b""))
                if name == "target":  # an xt target of iptables-nft: TEE copies
                    name = _text(dict(_attribute_list(expression.get(NFTA_EXPR_DATA, b""))).get(NFTA_TARGET_NAME, b""))
                if name in HAND_ON_EXPRESSIONS or name in COPY_EXPRESSIONS:
                    held.setdefault((family, table), set()).add(name)
        chains: list[tuple[object, object, object, list[str | None], set[str]]] = []
        copying: list[tuple[object, object, object, list[str | None], set[str]]] = []
        for family, attributes, _raw in _nft_dump(NFT_MSG_GETCHAIN, timeout):
            table = _text(attributes.get(NFTA_CHAIN_TABLE, b""))
            names = held.get((family, table))
            hook = attributes.get(NFTA_CHAIN_HOOK)
            if not names or hook is None:
                continue
            hook_attributes = _attribute_list(hook)
            number = dict(hook_attributes).get(NFTA_HOOK_HOOKNUM)
            hooknum = struct.unpack("!I", number[:4])[0] if number is not None and len(number) >= 4 else None
            copies = names & set(COPY_EXPRESSIONS)
            if hooknum == NF_INET_PRE_ROUTING and family in NFT_PREROUTING_FAMILIES and copies:
                # a chain of no device: it copies from every link (its iifname matches are not read)
                copying.append((NFT_PREROUTING_FAMILIES[family], table, _text(attributes.get(NFTA_CHAIN_NAME, b"")),
                                [], copies))
                continue
            names = names & set(HAND_ON_EXPRESSIONS)
            if family not in _INGRESS_HOOKS or hooknum != _INGRESS_HOOKS[family] or not names:
                continue
            devices: list[str | None] = [_text(v) for t, v in hook_attributes if t == NFTA_HOOK_DEV]
            for t, value in hook_attributes:
                if t == NFTA_HOOK_DEVS:
                    devices += [_text(v) for _t, v in _attribute_list(value)]
            chains.append((NFT_INGRESS_FAMILIES[family], table, _text(attributes.get(NFTA_CHAIN_NAME, b"")),
                           devices, names))
        found = label_ingress_redirects(chains)
        for device, labels in label_ingress_redirects(copying, "prerouting").items():
            found.setdefault(device, []).extend(labels)
        return found

    return retry_interrupted(read)
