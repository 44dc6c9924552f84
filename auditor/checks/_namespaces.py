"""Network namespaces for the checks: each other namespace as a snapshot of its own, and what a
listener in it can be reached from.

A namespace's listeners, counts and sysctls are judged by the same code as the host's: the
namespace becomes a :class:`HostSnapshot` whose ``sockets`` and ``sysctl`` sections are its own
(its gaps moved to where the host's would be), and each outcome is then renamed (``... in netns
N``), keyed by the namespace's stable label, and its evidence pointed back into ``/facts/netns``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from auditor.checks._platforms import platform_of
from auditor.domain import netaddr
from auditor.model.check import Outcome, not_applicable, not_reviewed
from auditor.model.facts import (
    Facts,
    Gap,
    GapKind,
    HostSnapshot,
    Listener,
    NetInterface,
    NetNamespace,
    SocketFacts,
    SysctlFacts,
)
from auditor.model.records import record

OTHER_NAMESPACES = "listeners in other network namespaces"
OTHER_SETTINGS = "settings of other network namespaces"
# Interfaces that stay on this machine; every other kind reaches (or may reach) beyond it.
_INTERNAL_KINDS = ("loopback",)


def others(snapshot: HostSnapshot) -> list[tuple[int, NetNamespace]]:
    """Every namespace but the collector's own, with its index in ``facts.netns.namespaces``."""
    netns = snapshot.facts.netns
    return [] if netns is None else [(i, ns) for i, ns in enumerate(netns.namespaces) if not ns.current]


def gaps_by_namespace(snapshot: HostSnapshot) -> dict[object, list[Gap]]:
    """The netns section's gaps of each namespace (path ``("namespaces", INDEX, ...)``), by INDEX,
    each list in the snapshot's order.  Read once for all the namespaces: asked of every gap for
    each namespace, a snapshot of 1,000 namespaces and 2,000 gaps took 19 s to judge."""
    by_index: dict[object, list[Gap]] = {}
    for gap in snapshot.gaps:
        if gap.section == "netns" and len(gap.path) >= 2 and gap.path[0] == "namespaces":
            by_index.setdefault(gap.path[1], []).append(gap)
    return by_index


def _moved(gap: Gap) -> list[Gap]:
    """A gap of a namespace (one of :func:`gaps_by_namespace`) where the namespace as a snapshot
    of its own has it."""
    rest = gap.path[2:]
    if not rest:
        return [Gap(section="sockets", reason=gap.reason, kind=gap.kind),
                Gap(section="sysctl", reason=gap.reason, kind=gap.kind)]
    if rest[0] in ("listeners", "counts"):
        return [Gap(section="sockets", path=rest, reason=gap.reason, kind=gap.kind)]
    if rest[0] == "sysctl":
        return [Gap(section="sysctl", path=("runtime", *rest[1:]), reason=gap.reason, kind=gap.kind)]
    return []


def as_snapshot(snapshot: HostSnapshot, index: int, ns: NetNamespace,
                namespace_gaps: Mapping[object, list[Gap]] | None = None) -> HostSnapshot:
    """The namespace as a snapshot of its own: its listeners and counts as ``sockets``, its running
    sysctls and the host kernel's HZ as ``sysctl`` (a namespace has no configuration files of its own).
    ``namespace_gaps``: :func:`gaps_by_namespace` of the snapshot, given by a caller that asks of
    every namespace (otherwise read here)."""
    if namespace_gaps is None:
        namespace_gaps = gaps_by_namespace(snapshot)
    gaps = [moved for gap in namespace_gaps.get(index, ()) for moved in _moved(gap)]
    sockets = SocketFacts(listeners=ns.listeners, counts=ns.counts) if ns.entered else None
    # the kernel's HZ is the whole host's, every namespace's alike
    host = snapshot.facts.sysctl
    sysctl = (SysctlFacts(runtime=ns.sysctl, kernel_hz=host.kernel_hz if host is not None else None)
              if ns.entered and ns.sysctl is not None else None)
    return HostSnapshot(schema_version=snapshot.schema_version, provenance=snapshot.provenance,
                        facts=Facts(sockets=sockets, sysctl=sysctl), gaps=gaps)


def stable_label(ns: NetNamespace) -> str:
    return ns.label


def _pointer(pointer: str, index: int) -> str:
    base = f"/facts/netns/namespaces/{index}"
    for old, new in (("/facts/sysctl/runtime", f"{base}/sysctl"), ("/facts/sockets", base)):
        if pointer == old or pointer.startswith(old + "/"):
            return new + pointer[len(old):]
    return pointer


def describe(ns: NetNamespace) -> dict[str, object]:
    return {
        "netns": ns.label,
        "netns_inode": ns.inode,
        "netns_names": list(ns.names),
        "containers": [w.name or w.id[:12] for w in ns.workloads],
        "images": [w.image for w in ns.workloads if w.image],
    }


def rebase(outcome: Outcome, index: int, ns: NetNamespace) -> Outcome:
    """An outcome judged on :func:`as_snapshot`, named and keyed as the namespace's."""
    label = ns.label
    detail = {**outcome.subject_detail, **describe(ns)}
    return outcome.model_copy(update={
        "subject": f"{outcome.subject} in netns {label}",
        "key": f"{outcome.key or outcome.subject} netns {label}",
        "message": f"netns {label}: {outcome.message}",
        "subject_detail": detail,
        "evidence": [_pointer(p, index) for p in outcome.evidence],
    })


def judge_each(snapshot: HostSnapshot, judge: Callable[[HostSnapshot], list[Outcome]]) -> list[Outcome]:
    """``judge`` applied to the host's namespace and to every other one as a snapshot of its own
    (their findings renamed ``... in netns N``), then what kept the namespaces from being complete:
    for settings that are each namespace's own (the port range, TIME_WAIT)."""
    outcomes = judge(snapshot)
    namespace_gaps = gaps_by_namespace(snapshot)
    for index, ns in others(snapshot):
        outcomes += [rebase(o, index, ns) for o in judge(as_snapshot(snapshot, index, ns, namespace_gaps))]
    return outcomes + coverage(snapshot, OTHER_SETTINGS)


def coverage(snapshot: HostSnapshot, subject: str = OTHER_NAMESPACES) -> list[Outcome]:
    """What keeps the namespaces from being complete: not collected at all, or some not found."""
    if platform_of(snapshot) != "linux":
        return []  # network namespaces are Linux's; a Windows or macOS host has none to miss
    if snapshot.facts.netns is None:
        gaps = [g for g in snapshot.gaps if g.section == "netns"]
        reason = "; ".join(sorted({g.reason for g in gaps})) or (
            "network namespaces were not collected (a snapshot written by an lbaudit that did not collect "
            "them): listeners and settings outside the collector's own namespace are not seen")
        if gaps and all(g.kind == GapKind.NOT_APPLICABLE for g in gaps):
            return [not_applicable(subject, reason)]
        return [not_reviewed(subject, reason, evidence=["/facts/netns"])]
    missing = [g for g in snapshot.gaps if g.section == "netns" and g.path in ((), ("namespaces",))
               and g.kind != GapKind.NOT_APPLICABLE]
    if missing:
        return [not_reviewed(f"{subject} (discovery)",
                             "some network namespaces may not have been found: "
                             + "; ".join(sorted({g.reason for g in missing})), evidence=["/gaps"])]
    return []


# ---------------------------------------------------------------- exposure

@record
class Exposure:
    """Where a listener in a namespace can be reached from.  ``addresses`` None: judge it as if it
    were on the host (its own address); empty: only inside the namespace.  ``outward``: the names of
    the interfaces that reach beyond the host."""

    addresses: tuple[str, ...] | None
    note: str
    outward: tuple[str, ...] = ()
    # Addresses it is reached at when the host forwards to a veth it routes into the namespace and
    # its firewall lets that through (:func:`_forwarded`), and why: the FORWARD rules are not read,
    # so a listener not allowed at them is not_reviewed, never passed.
    conditional: tuple[str, ...] = ()
    condition: str | None = None
    # How the host forwards to the namespace whatever the listener's address (None: it does not, or
    # not to a veth that delivers to it): what a transparent listener is reached through.
    forwarding: str | None = None


LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
# What stands for the interfaces of a namespace whose interfaces could not be read (the rtnetlink
# dump failed): whether any of them delivers 127.0.0.0/8 from its link is not known.
UNREAD_INTERFACES = "its interfaces (they could not be read)"


@record
class Localnet:
    """How far a listener on 127.0.0.0/8 reaches when route_localnet is on: the kernel then delivers
    packets addressed to 127.0.0.0/8 that arrive on the interface (ip_route_input_slow checks
    IN_DEV_NET_ROUTE_LOCALNET: net.ipv4.conf.all or .NAME), so any host on that link can connect
    (CVE-2020-8558).  ``addresses``: the IPv4 addresses of those interfaces, where the link
    reaches it (``0.0.0.0`` for one with none: all of IPv4); ``unknown``: interfaces whose setting
    could not be read.  IPv6 has no such setting: ip6_rcv_core drops ::1 from any other interface."""

    addresses: tuple[str, ...]
    through: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def note(self) -> str:
        parts = []
        if self.through:
            parts.append(f"route_localnet=1 on {', '.join(self.through)} delivers 127.0.0.0/8 from its link, "
                         f"so it is reachable as at {', '.join(self.addresses)}")
        if self.unknown == (UNREAD_INTERFACES,):
            parts.append("the interfaces of its namespace could not be read, so whether one delivers 127.0.0.0/8 "
                         "from its link (route_localnet) is not known")
        elif self.unknown:
            parts.append(f"whether {', '.join(self.unknown)} delivers 127.0.0.0/8 from its link (route_localnet) "
                         "could not be read")
        return "; ".join(parts)


@lru_cache(maxsize=4096)
def takes_ipv4_loopback(address: str, v6only: bool | None) -> bool:
    """Whether a listener on ADDRESS accepts 127.0.0.0/8 addresses other than as part of all IPv4;
    remembered: asked for every listener, about few distinct addresses (ipaddress is slow)."""
    return any(n.version == 4 and n.prefixlen > 0 and n.overlaps(LOOPBACK_V4)
               for n in netaddr.accepted_networks(address, v6only))


def localnet(listener: Listener, interfaces: list[NetInterface] | None, unread: bool = False,
             every: list[NetInterface] | None = None) -> Localnet | None:
    """What route_localnet adds to a listener that accepts IPv4 loopback addresses, through
    ``interfaces`` (those that reach beyond it); None when it adds nothing to judge: the listener
    takes no 127.0.0.0/8 address but as part of all IPv4, or the interfaces are not known and
    ``unread`` is False (no namespace described: a snapshot without the netns section says so in
    its own finding).  ``unread``: the namespace is described but its interfaces could not be
    read, so route_localnet on any of them is unknown (fail closed: not_reviewed, never passed).
    ``every``: all the interfaces of its namespace, where an interface's master is looked up (the
    default: ``interfaces``)."""
    if not takes_ipv4_loopback(listener.address, listener.v6only):
        return None
    if interfaces is None:
        return Localnet((), (), (UNREAD_INTERFACES,)) if unread else None
    if listener.interface is not None:  # SO_BINDTODEVICE: only what that device (or a VRF's member) delivers
        interfaces = [i for i in interfaces if _delivers_to_device(i, listener.interface)]
    masters = {i.name: i for i in (every if every is not None else interfaces)}
    interfaces = [i for i in interfaces if i.kind != "loopback" and _ip_input_on(i, masters)]
    through = [i for i in interfaces if i.route_localnet is True]
    unknown = [i.name for i in interfaces if i.route_localnet is None]
    if not through and not unknown:
        return None
    addresses: list[str] = []
    for interface in through:
        own = [cidr.split("/", 1)[0] for cidr in interface.addresses if ":" not in cidr]
        addresses += own or ["0.0.0.0"]
    return Localnet(tuple(dict.fromkeys(addresses)), tuple(i.name for i in through), tuple(unknown))


# A master in the host that switches frames between its ports: a bridge, or Open vSwitch's datapath
# (every OVS port's master is "ovs-system", IFLA_INFO_KIND openvswitch).
_SWITCH_LINK_KINDS = ("openvswitch",)


@record
class _HostIndex:
    """The host's interfaces looked up by what the judgement of each namespace's listeners asks of
    them (:func:`_bridged_beyond`, :func:`_host_links_beyond`, :func:`_forwarded`), worked out once
    per snapshot: asked of every host interface for each listener, a host of 1,000 containers on
    docker0 (a veth each) took 13 s to judge, and 5,000 several minutes."""

    veths_beyond: dict[int, tuple[NetInterface, str]]  # :func:`_host_veths_beyond`
    veth_at: dict[int, NetInterface]  # the first veth of each index
    named: dict[str, NetInterface]  # the first interface of each name
    # each master's ports of a kind other than loopback, veth and bridge, in the host's order
    other_ports: dict[str, list[NetInterface]]
    veths_beyond_of: dict[str | None, list[tuple[NetInterface, str]]]  # ``veths_beyond`` by each port's master
    beyond_into: dict[int | None, set[int]]  # the indices of ``veths_beyond`` by the namespace each leads into
    links: list[NetInterface]  # :func:`_host_links_beyond` of a namespace none of ``veths_beyond`` leads into
    forwarding: dict[int, str]  # :func:`_forwarding` of ``links``


# The last (host, namespaces) :func:`_host_index` answered, and its answer: held, so that the
# identities it is keyed by stay those objects'.
_HOST_INDEX: list[tuple[NetNamespace, Sequence[NetNamespace], _HostIndex]] = []


def _host_index(host: NetNamespace, namespaces: Sequence[NetNamespace]) -> _HostIndex:
    last = _HOST_INDEX[0] if _HOST_INDEX else None  # read once: another thread may replace it
    if last is not None and last[0] is host and last[1] is namespaces:
        return last[2]
    interfaces = host.interfaces or []
    by_inode = {ns.inode: ns for ns in namespaces}
    found: dict[int, tuple[NetInterface, str]] = {}
    veth_at: dict[int, NetInterface] = {}
    named: dict[str, NetInterface] = {}
    other_ports: dict[str, list[NetInterface]] = {}
    for port in interfaces:
        named.setdefault(port.name, port)
        if port.master is not None and port.kind not in (*_INTERNAL_KINDS, "veth", "bridge"):
            other_ports.setdefault(port.master, []).append(port)
        if port.kind != "veth":
            continue
        veth_at.setdefault(port.index, port)
        why = _veth_leads_beyond(port, host, by_inode.get(port.peer_netns) if port.peer_netns is not None else None)
        if why is not None:
            found[port.index] = (port, why)
    veths_beyond_of: dict[str | None, list[tuple[NetInterface, str]]] = {}
    beyond_into: dict[int | None, set[int]] = {}
    for index, (port, why) in found.items():
        veths_beyond_of.setdefault(port.master, []).append((port, why))
        beyond_into.setdefault(port.peer_netns, set()).add(index)
    links = _links_beyond(interfaces, set(found))
    index = _HostIndex(found, veth_at, named, other_ports, veths_beyond_of, beyond_into, links,
                       _forwarding(host, links))
    _HOST_INDEX[:] = [(host, namespaces, index)]  # one slice assignment: replaced whole
    return index


def _host_veths_beyond(host: NetNamespace, namespaces: Sequence[NetNamespace]) -> dict[int, tuple[NetInterface, str]]:
    """Each veth of the host that brings what comes from beyond, and why (:func:`_veth_leads_beyond`),
    by its index.  Asked for every listener about the same ports: worked out once per snapshot."""
    return _host_index(host, namespaces).veths_beyond


def _veth_leads_beyond(port: NetInterface, host: NetNamespace, other: NetNamespace | None) -> str | None:
    """Why a veth of the host (``port``, a bridge's port or routed) brings what comes from beyond the
    machine: its peer is in a namespace lbaudit did not find; or in one (``other``; None: not among
    those described) whose interfaces could not be read, or that forwards what arrives on a link of
    its own reaching beyond (kinds other than loopback, bridge and veths into the host: a VPN or
    macvlan gateway), or bridges such a link with the peer.  None: it leads to a namespace of this
    machine that does neither.  (The judged namespace's own veths are left out by the callers.)"""
    if port.peer_netns is None:
        return f"{port.name} (veth to an unknown namespace)"
    if port.peer_netns == host.inode or other is None:
        return None  # a pair within the host, or a namespace not among those judged (a snapshot made by hand)
    if other.interfaces is None:
        return f"{port.name} (veth into netns {other.label}, whose interfaces could not be read)"
    links = [i for i in other.interfaces if i.kind not in (*_INTERNAL_KINDS, "bridge")
             and not (i.kind == "veth" and i.peer_netns == host.inode)]
    forwarding = [i.name for i in links if i.forwarding is not False or i.forwarding_ipv6 is not False]
    if forwarding:
        return (f"{port.name} (veth into netns {other.label}, which forwards what arrives on {', '.join(forwarding)}, "
                "or whose forwarding could not be read)")
    end = next((i for i in other.interfaces if i.index == port.peer_index and i.kind == "veth"), None)
    bridged = [i.name for i in links if end is not None and end.master is not None and i.master == end.master]
    if end is not None and bridged:
        return f"{port.name} (veth into netns {other.label}, whose bridge {end.master} holds {', '.join(bridged)})"
    return None


def _bridged_beyond(veth: NetInterface, host: NetNamespace, own: int = 0,
                    namespaces: Sequence[NetNamespace] = ()) -> str | None:
    """Why a veth into the host is on a link beyond the machine: its end in the host is a port of a
    bridge (LXC, LXD, libvirt, Proxmox: br0 holds the NIC and the veths) that also holds a port
    reaching beyond (a physical, macvlan, ipvlan or other link, such as a VXLAN), so the bridge
    forwards frames between that link and the namespace; a veth port whose other end is in a
    namespace lbaudit did not find counts as such a link (judged as reaching beyond, as that
    namespace's own veth would be).  The host's interfaces not read: whether the end is such a port
    is not known, and it is judged as reaching beyond.  None when the host routes it (docker0, a
    bridge of veths into namespaces found) or its end is not among the host's interfaces."""
    if host.interfaces is None:
        return (f"{veth.name} (veth into the host, whose interfaces could not be read: whether its end there is bridged "
                "onto a link beyond is not known, judged as reaching beyond)")
    index = _host_index(host, namespaces)
    end = index.veth_at.get(veth.peer_index) if veth.peer_index is not None else None
    if end is None or end.master is None:
        return None
    master = index.named.get(end.master)
    if master is None or not (master.kind == "bridge" or master.link_kind in _SWITCH_LINK_KINDS):
        return None
    ports = ", ".join(
        [f"{i.name} ({i.kind}{'' if i.link_kind is None else ' ' + i.link_kind})"
         for i in index.other_ports.get(master.name, ()) if i.index != end.index]
        + [why for port, why in index.veths_beyond_of.get(master.name, ())
           if port.index != end.index and port.peer_netns != own])
    if not ports:
        return None
    return f"{veth.name} (veth into the host, whose end {end.name} is a port of bridge {master.name} with {ports})"


def _outward(ns: NetNamespace, host: NetNamespace | None,
             namespaces: Sequence[NetNamespace] = ()) -> tuple[list[NetInterface], list[str]]:
    """Interfaces of ``ns`` that reach beyond the machine, and why each counts.  ``host``: the
    collector's own namespace (None: not described), where a veth into it may be bridged;
    ``namespaces``: every namespace described, where a bridge's other veths lead."""
    interfaces = ns.interfaces or []
    outward: list[NetInterface] = []
    why: list[str] = []
    ports_of: dict[str, list[NetInterface]] = {}  # each bridge's ports, found in one pass
    for interface in interfaces:
        if interface.master is not None:
            ports_of.setdefault(interface.master, []).append(interface)
    for interface in interfaces:
        if interface.kind in _INTERNAL_KINDS:
            continue
        if interface.kind == "veth":
            if host is not None and interface.peer_netns == host.inode:
                bridged = _bridged_beyond(interface, host, ns.inode, namespaces)
                if bridged is None:
                    continue  # a veth the host routes: reached only through the host
                why.append(bridged)
            else:
                where = "an unknown namespace" if interface.peer_netns is None else f"net:[{interface.peer_netns}]"
                why.append(f"{interface.name} (veth to {where}, judged as reaching beyond)")
        elif interface.kind == "bridge":
            ports = ports_of.get(interface.name, [])
            if any(i.kind == "bridge" and i.name == interface.name for i in ports):
                # no kernel makes a bridge its own port; judged through itself, it recursed without end
                why.append(f"{interface.name} (bridge named as its own port, judged as reaching beyond)")
                outward.append(interface)
                continue
            inner, _ = _outward(ns.model_copy(update={"interfaces": ports}), host, namespaces)
            if not inner:
                continue
            why.append(f"{interface.name} (bridge with {', '.join(i.name for i in inner)})")
        else:
            why.append(f"{interface.name} ({interface.kind}{'' if interface.link_kind is None else ' ' + interface.link_kind})")
        outward.append(interface)
    return outward, why


LINK_LOCAL_V6 = ipaddress.IPv6Network("fe80::/10")
FIREWALL_UNREAD = " unless the host's firewall drops what it forwards there, and lbaudit does not read the FORWARD rules"


def _interface_address(cidr: str) -> netaddr.Address:
    """The address of an interface's ``ADDRESS/PREFIX`` as the collector lists it (a zone, ``%eth0``,
    dropped)."""
    return ipaddress.ip_address(cidr.split("/", 1)[0].split("%", 1)[0])


def _reachable_through(ns: NetNamespace, outward: list[NetInterface]) -> list[netaddr.Address]:
    """The namespace's addresses a packet arriving on an ``outward`` interface is delivered to.
    Linux is a weak host: ip_route_input (and ip6_route_input) finds an address of *any* interface
    of the namespace in its local table, whichever interface the packet came in on, so a neighbour
    on an outward link that routes 172.17.0.2 through it reaches a listener on the address of a veth
    into the host, or on an address added to lo.  Not delivered from another interface: 127.0.0.0/8
    (a martian there, unless route_localnet, judged on its own) and ::1 (ip6_rcv_core drops it),
    and an IPv6 link-local address of another interface (its scope is its own link)."""
    if not outward:
        return []
    names = {i.name for i in outward}
    found: list[netaddr.Address] = []
    for interface in sorted(ns.interfaces or [], key=lambda i: i.name not in names):  # outward ones first
        for cidr in interface.addresses:
            address = _interface_address(cidr)
            if address.is_loopback or (address.version == 6 and address in LINK_LOCAL_V6
                                       and interface.name not in names):
                continue
            if address not in found:
                found.append(address)
    if _link_local_to_come(outward) and LINK_LOCAL_TO_COME not in found:
        found.append(LINK_LOCAL_TO_COME)
    return found


# What stands for the IPv6 link-local address the kernel gives an interface when it comes up
# (addrconf_dev_config: fe80::/64 from its MAC address, unless IPv6 is disabled on it or its
# addr_gen_mode is none, which lbaudit does not read): an address of fe80::/64, as allowed as it.
LINK_LOCAL_TO_COME = ipaddress.IPv6Address("fe80::")


def _link_local_to_come(outward: list[NetInterface]) -> list[str]:
    """The outward interfaces that are DOWN without an IPv6 link-local address: brought up, each
    gets one, and a neighbour on its link reaches an IPv6 listener there (judged as configured)."""
    return [i.name for i in outward if not i.up and not any(
        ":" in cidr and _interface_address(cidr) in LINK_LOCAL_V6
        for cidr in i.addresses)]


# The transports whose sockets take datagrams sent to a broadcast address or a multicast group: a
# UDP, UDP-Lite or raw one on the wildcard (__udp4_lib_mcast_deliver, raw_v4_input); TCP, SCTP, DCCP
# and MPTCP drop what is not addressed to the host itself.
_DATAGRAM_PROTOCOLS = frozenset({"udp", "udplite", "raw"})
LIMITED_BROADCAST = "255.255.255.255"
MULTICAST_V4, MULTICAST_V6 = "224.0.0.0/4", "ff00::/8"


def _within(inner: netaddr.Network, outer: netaddr.Network) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _broadcast_and_groups(listener: Listener, ns: NetNamespace, outward: list[NetInterface],
                          accepted: tuple[netaddr.Network, ...]) -> list[str]:
    """Where the links of ``outward`` reach a UDP, UDP-Lite or raw listener on the wildcard of a
    family beyond the namespace's unicast addresses.  IPv4: the limited broadcast 255.255.255.255,
    which ip_route_input delivers from any interface, with an address or none (a DHCP client sends
    from 0.0.0.0); the directed broadcast of each subnet of the namespace (weak host, as for its
    addresses); and the multicast groups its links join: every interface joins 224.0.0.1, and with
    IP_MULTICAST_ALL (on by default) a wildcard socket takes the groups any socket joined there,
    which lbaudit does not read, so all of 224.0.0.0/4.  IPv6 has no broadcast: ff02::1, which every
    interface joins, and the other groups, so ff00::/8.  [] for another transport, a listener bound
    to a single address (the lookup matches the destination against it), or no outward link."""
    if not outward or listener.protocol not in _DATAGRAM_PROTOCOLS:
        return []
    found: list[str] = []
    if any(n.version == 4 and n.prefixlen == 0 for n in accepted):
        found.append(LIMITED_BROADCAST)
        for interface in ns.interfaces or []:
            for cidr in interface.addresses:
                if ":" in cidr or "/" not in cidr:
                    continue
                network = ipaddress.IPv4Interface(cidr).network
                if network.prefixlen <= 30 and not network.subnet_of(LOOPBACK_V4):  # /31, /32: no broadcast
                    found.append(str(network.broadcast_address))
        found.append(MULTICAST_V4)
    if any(n.version == 6 and n.prefixlen == 0 for n in accepted):
        found.append(MULTICAST_V6)
    return list(dict.fromkeys(found))


def _unassigned(ns: NetNamespace, accepted: tuple[netaddr.Network, ...]) -> list[str]:
    """The single address a listener is bound to when it is no interface's address of ``ns`` (nor
    loopback or IPv6 link-local).  It is bound there because a local route covers it (AnyIP: ``ip route
    add local 10.0.0.0/24 dev lo`` makes every address of the prefix the namespace's own, and
    ip_route_input delivers it from any interface, as for an address of lo), or by IP_FREEBIND or
    ip_nonlocal_bind ahead of an address (or a route) to come: judged as reached wherever the
    namespace's own addresses are, whether or not a local route covers it now."""
    assigned: set[netaddr.Address] = set()
    for interface in ns.interfaces or []:
        for cidr in interface.addresses:
            assigned.add(_interface_address(cidr))
    found = []
    for network in accepted:
        if network.num_addresses != 1:
            continue  # a wildcard: judged at the addresses the interfaces have and its local routes
        address = network.network_address
        # IPv6 scopes a link-local address to its link; IPv4 routes 169.254.0.0/16 like any other
        # address (a metadata proxy's local route for 169.254.169.254 is delivered from every link)
        if address.is_loopback or (address.version == 6 and address.is_link_local) or address in assigned:
            continue
        found.append(str(address))
    return found


def _local_route_networks(ns: NetNamespace) -> list[netaddr.Network]:
    """The destinations of ``ns``'s local routes that a packet from another interface may be
    delivered at: not 127.0.0.0/8 (a martian there, unless route_localnet, judged on its own), ::1
    or link-local (ip6_rcv_core drops ::1 from a link; fe80::/10 is each link's own)."""
    found = []
    for route in ns.local_routes or []:
        network = ipaddress.ip_network(route, strict=False)
        if (network.version == 4 and network.subnet_of(LOOPBACK_V4)) or (  # type: ignore[arg-type]
                network.version == 6 and (network.network_address.is_loopback and network.prefixlen == 128
                                          or network.subnet_of(LINK_LOCAL_V6))):  # type: ignore[arg-type]
            continue
        found.append(network)
    return found


def _routed(ns: NetNamespace, accepted: tuple[netaddr.Network, ...]) -> list[str]:
    """What a listener that accepts ``accepted`` takes through ``ns``'s local routes beyond its
    interfaces' addresses: each route's prefix inside what it accepts (``10.99.0.0/24``; a single
    address as itself), as ip_route_input delivers a packet for any address of a local route from
    any interface, and the socket lookup hands it to a wildcard listener.  A listener bound to one
    address is :func:`_unassigned`'s."""
    assigned = {_interface_address(cidr) for interface in ns.interfaces or [] for cidr in interface.addresses}
    found: list[str] = []
    for network in _local_route_networks(ns):
        if not any(network.version == n.version and n.num_addresses > 1 and network.subnet_of(n)  # type: ignore[arg-type]
                   for n in accepted):
            continue
        if network.num_addresses == 1:
            if network.network_address in assigned:
                continue
            text = str(network.network_address)
        else:
            text = str(network)
        if text not in found:
            found.append(text)
    return found


def _routes_unknown(ns: NetNamespace, accepted: tuple[netaddr.Network, ...]) -> list[str]:
    """When ``ns``'s local routes were not read (a failed dump, a snapshot before format 1.8): the
    wildcard of each family a listener takes every address of (``0.0.0.0``, ``::``), where a local
    route, unseen, may deliver any address of it from a link.  [] when they were read or the
    listener is bound to single addresses."""
    if ns.local_routes is not None:
        return []
    return [str(n.network_address) for n in accepted if n.prefixlen == 0]


def _host_links_beyond(host: NetNamespace, own: int = 0, namespaces: Sequence[NetNamespace] = ()) -> list[NetInterface]:
    """The host's interfaces a packet from beyond the machine arrives on (where IP input happens):
    physical, macvlan, ipvlan and every other kind but loopback, a veth whose other end is not in a
    namespace of this machine that was seen (lbaudit run in a container: its uplink is a veth) or
    is in one that forwards what arrives on a link of its own (a gateway container whose default
    route is the host: :func:`_veth_leads_beyond`), a bridge that holds such a port (not a port of
    a bridge itself: its bridge takes the packet).  ``own``: the namespace being judged, whose own
    veths bring nothing from beyond."""
    index = _host_index(host, namespaces)
    into_own = index.beyond_into.get(own)
    if not into_own:
        return list(index.links)
    return _links_beyond(host.interfaces or [], set(index.veths_beyond) - into_own)


def _links_beyond(interfaces: list[NetInterface], veths_beyond: set[int]) -> list[NetInterface]:
    """:func:`_host_links_beyond` of the host's ``interfaces``, where ``veths_beyond`` are the indices
    of the veths that bring what comes from beyond to the namespace judged."""
    bridges = {i.name for i in interfaces if i.kind == "bridge"}

    def internal(interface: NetInterface) -> bool:
        return interface.kind in _INTERNAL_KINDS or (interface.kind == "veth" and interface.index not in veths_beyond)

    # the bridges with a port from beyond (not itself a bridge): found in one pass over the ports
    fed = {i.master for i in interfaces if i.master is not None and not internal(i) and i.kind != "bridge"}
    beyond = []
    for interface in interfaces:
        if internal(interface) or interface.master in bridges:
            continue
        if interface.kind == "bridge" and interface.name not in fed:
            continue  # a bridge of veths (docker0): what arrives on it comes from this machine
        beyond.append(interface)
    return beyond


def _forwarded(ns: NetNamespace, host: NetNamespace | None,
               namespaces: Sequence[NetNamespace] = ()) -> tuple[list[NetInterface], dict[int, str]]:
    """The veths of ``ns`` into the host that the host routes (not bridged onto a link), when the
    host forwards what arrives from beyond it, and why for each IP version (4, 6) that it does or
    may (its setting unread): a neighbour that routes the namespace's address through the host
    reaches it then, unless the host's firewall drops it (FORWARD rules: not read)."""
    if host is None or host.interfaces is None:
        return [], {}
    veths = [i for i in ns.interfaces or [] if i.kind == "veth" and i.peer_netns == host.inode
             and _bridged_beyond(i, host, ns.inode, namespaces) is None]
    if not veths:
        return [], {}
    index = _host_index(host, namespaces)
    why = (dict(index.forwarding) if not index.beyond_into.get(ns.inode)
           else _forwarding(host, _host_links_beyond(host, ns.inode, namespaces)))
    return (veths, why) if why else ([], {})


def _forwarding(host: NetNamespace, links: list[NetInterface]) -> dict[int, str]:
    """Why the host forwards what arrives from beyond it (on ``links``, :func:`_host_links_beyond`)
    to the namespaces it routes to, for each IP version (4, 6) that it does or may: the part of
    :func:`_forwarded` that is the same for every namespace none of the host's veths beyond leads into."""
    why: dict[int, str] = {}
    # A tc ingress or XDP program of such a link hands what arrives there to any interface (tc mirred,
    # bpf_redirect, bpf_redirect_peer, XDP_REDIRECT: Cilium's, Calico's eBPF data planes) without the
    # host forwarding it, and so does an nftables ingress chain's fwd or dup; lbaudit does not read
    # what the programs do.
    # (a bridge's port from beyond runs its own hooks on what it receives, before handing it to the
    # bridge; its veths bring what the namespaces behind them send)
    beyond = {i.name for i in links}
    hookable = links + [i for i in host.interfaces or []
                        if i.master in beyond and i.kind not in (*_INTERNAL_KINDS, "veth", "bridge")]
    hooked = [f"{i.name} ({', '.join(i.ingress_hooks)})" for i in hookable if i.ingress_hooks]
    unread = [i.name for i in hookable if i.ingress_hooks is None]
    redirected = ([f"a tc ingress, XDP or nftables ingress program on {', '.join(hooked)} can redirect what arrives "
                   "there to the veth without the host forwarding it (what it does is not read)"] if hooked else []) + (
        [f"whether a tc ingress, XDP or nftables ingress program on {', '.join(unread)} redirects what arrives there "
         "to the veth could not be read"] if unread else [])
    for version, setting in ((4, "net.ipv4.conf.{}.forwarding"), (6, "net.ipv6.conf.all.forwarding")):
        on = [i.name for i in links if (i.forwarding if version == 4 else i.forwarding_ipv6) is True]
        unknown = [i.name for i in links if (i.forwarding if version == 4 else i.forwarding_ipv6) is None]
        parts = []
        if on:
            parts.append(f"the host forwards IPv{version} arriving on {', '.join(on)} "
                         f"({' '.join(setting.format(name) for name in on[:1])}=1)")
        if unknown:
            parts.append(f"whether the host forwards IPv{version} arriving on {', '.join(unknown)} could not be read "
                         f"({setting.format(unknown[0])})")
        parts += redirected
        if parts:
            why[version] = "; ".join(parts)
    return why


def _ip_input_on(interface: NetInterface, by_name: dict[str, NetInterface]) -> bool:
    """Whether IP input (the route lookup, and its route_localnet test) happens with ``interface``
    as the input device.  A bridge port or bond slave hands what it receives to its master, where
    IP input happens: the master's setting decides for it.  A VRF's member does not: ip_rcv_finish
    hands the packet to the VRF (l3mdev_ip_rcv) but routes it with the member as the device, so the
    member's route_localnet decides.  A master not among ``by_name`` is taken for a switch, as
    before masters were told apart."""
    if interface.master is None:
        return True
    master = by_name.get(interface.master)
    return master is not None and master.link_kind == "vrf"


def _delivers_to_device(interface: NetInterface, device: str) -> bool:
    """Whether what arrives on ``interface`` reaches a socket bound (SO_BINDTODEVICE) to ``device``:
    it is that device, or one of its ports: a bridge port hands its frames to the bridge, where IP
    input happens with the bridge as the device, and a VRF's member is matched through the VRF
    (the socket lookup compares the VRF as the device and the member as sdif)."""
    return interface.name == device or interface.master == device


def _forwarded_localnet(listener: Listener, forwarded: list[NetInterface],
                        forwarding: dict[int, str]) -> tuple[list[str], str | None]:
    """Where a listener on 127.0.0.0/8 is reached over a veth the host forwards to, and why: with
    route_localnet on that veth (or not read) the namespace delivers 127.0.0.0/8 arriving on it, so
    a DNAT rule of the namespace from the veth's address to 127.0.0.1 (its NAT rules are not read)
    hands it what a neighbour routes through the host: at the veth's IPv4 addresses (0.0.0.0, all
    of IPv4, for one with none).  ([], None): the listener takes no 127.0.0.0/8 address but as part
    of all IPv4, the host does not forward IPv4 to it, or every such veth has route_localnet off."""
    if 4 not in forwarding or not takes_ipv4_loopback(listener.address, listener.v6only):
        return [], None
    veths = [i for i in forwarded if i.route_localnet is not False]
    if not veths:
        return [], None
    addresses: list[str] = []
    for veth in veths:
        own = [cidr.split("/", 1)[0] for cidr in veth.addresses if ":" not in cidr]
        addresses += [a for a in own or ["0.0.0.0"] if a not in addresses]
    on = [i.name for i in veths if i.route_localnet is True]
    unknown = [i.name for i in veths if i.route_localnet is None]
    settings = "; ".join(part for part in (
        f"route_localnet=1 on {', '.join(on)}" if on else "",
        f"whether {', '.join(unknown)} delivers 127.0.0.0/8 (route_localnet) could not be read" if unknown else "")
        if part)
    why = (f"{forwarding[4]}; {settings}: the namespace delivers 127.0.0.0/8 arriving over that veth into the host, so a "
           f"DNAT rule of the namespace (its NAT rules are not read) hands it what a neighbour routes through the host "
           f"to {', '.join(addresses)}{FIREWALL_UNREAD}")
    return addresses, why


def exposure(listener: Listener, ns: NetNamespace, host: NetNamespace | None,
             namespaces: Sequence[NetNamespace] = ()) -> Exposure:
    """Where ``listener`` of namespace ``ns`` can be reached from beyond the host; ``host``: the
    collector's own namespace (None: not described); ``namespaces``: every namespace described
    (where the other veths of a host bridge lead)."""
    if ns.interfaces is None:
        return Exposure(None, f"the interfaces of netns {ns.label} could not be read: judged as if on the host")
    outward, why = _outward(ns, host, namespaces)
    forwarded, forwarding = _forwarded(ns, host, namespaces)
    if listener.interface is not None:  # SO_BINDTODEVICE: only that interface delivers to it
        outward = [i for i in outward if _delivers_to_device(i, listener.interface)]
        forwarded = [i for i in forwarded if _delivers_to_device(i, listener.interface)]
    accepted = netaddr.accepted_networks(listener.address, listener.v6only)
    reachable = []
    for address in _reachable_through(ns, outward):
        if any(address.version == n.version and address in n for n in accepted):
            reachable.append(str(address))
    # An address a local route gives it (see _unassigned, _routed): reached from an outward link, and
    # perhaps forwarded to by the host.
    unassigned = _unassigned(ns, accepted) if outward or forwarded else []
    routed = _routed(ns, accepted) if outward or forwarded else []
    reachable += [address for address in (unassigned + routed if outward else []) if address not in reachable]
    # A UDP or raw one on the wildcard also takes the link's broadcasts and multicast groups.
    held = [ipaddress.ip_network(address, strict=False) for address in reachable]
    groups = [address for address in _broadcast_and_groups(listener, ns, outward, accepted)
              if not any(_within(ipaddress.ip_network(address), network) for network in held)]
    reachable += groups
    # A forwarded packet reaches an address of the namespace the host routes to it (link-local
    # addresses are never forwarded); as for an outward link, any of its addresses (weak host).
    conditional = [str(address) for address in _reachable_through(ns, forwarded)
                   if address.version in forwarding and not (address.version == 6 and address in LINK_LOCAL_V6)
                   and any(address.version == n.version and address in n for n in accepted)
                   and str(address) not in reachable]
    # An address a local route gives it: the host may route it there too (its routes are not read)
    conditional += [address for address in (unassigned + routed if forwarded else [])
                    if ipaddress.ip_network(address, strict=False).version in forwarding
                    and address not in reachable and address not in conditional]
    condition = None
    if conditional:
        versions = sorted({ipaddress.ip_network(a, strict=False).version for a in conditional})
        condition = (f"{'; '.join(forwarding[v] for v in versions)}: a neighbour that routes "
                     f"{', '.join(conditional)} through the host reaches it over "
                     f"{', '.join(i.name for i in forwarded)} (veth into the host){FIREWALL_UNREAD}")
    # Its local routes not read: any address of what it takes may be one (fail closed: not_reviewed
    # unless allowed at all of it), from an outward link or through the forwarding host.
    unknown_routes = [a for a in (_routes_unknown(ns, accepted) if outward or forwarded else [])
                      if outward or ipaddress.ip_address(a).version in forwarding]
    unknown_routes = [a for a in unknown_routes if a not in reachable and a not in conditional]
    if unknown_routes:
        conditional += unknown_routes
        routes_why = (f"the local routes of netns {ns.label} were not read (a snapshot before format 1.8, or their dump failed): a local route "
                      f"(AnyIP, ip route add local ... dev lo) would make any address of {', '.join(unknown_routes)} "
                      f"its own, delivered to it from "
                      + (', '.join(i.name for i in outward) if outward else
                         f"{', '.join(i.name for i in forwarded)} (veth into the host) when the host forwards there"))
        condition = "; ".join(part for part in (condition, routes_why) if part)
    localnet_at, localnet_why = _forwarded_localnet(listener, forwarded, forwarding)
    localnet_at = [a for a in localnet_at if a not in reachable and a not in conditional]
    if localnet_at:
        conditional += localnet_at
        condition = "; ".join(part for part in (condition, localnet_why) if part)
    through = (f"{'; '.join(forwarding[v] for v in sorted(forwarding))} to "
               f"{', '.join(i.name for i in forwarded)} (veth into the host)") if forwarded else None
    if not reachable and conditional:
        return Exposure((), f"reachable only inside namespace {ns.label} unless the host forwards to it at "
                            f"{', '.join(conditional)}",
                        tuple(i.name for i in outward), tuple(conditional), condition, through)
    if not reachable:
        inside = ", ".join(w.name for w in ns.workloads if w.name)
        where = f"namespace {ns.label}" + (f" / container {inside}" if inside and not ns.label.startswith("container ")
                                           else "")
        return Exposure((), f"reachable only inside {where}"
                        + (f" (outward interfaces {'; '.join(why)} deliver none of the addresses it accepts)" if why
                           else " (loopback, or a veth into the host and no other interface)"),
                        tuple(i.name for i in outward), forwarding=through)
    unassigned_note = (f" ({', '.join(unassigned)} is no interface's address: a local route (AnyIP, ip route add "
                       "local ... dev lo) delivers it from every link, or one bound ahead of its address (IP_FREEBIND) "
                       "is reached there once it comes)"
                       if unassigned else "")
    routed_here = [a for a in routed if a in reachable]
    if routed_here:
        unassigned_note += (f" ({', '.join(routed_here)}: local route{'s' if len(routed_here) > 1 else ''} of the "
                            "namespace (AnyIP), whose every address is delivered from every link to a listener on "
                            "the wildcard)")
    if groups:
        unassigned_note += (f" ({', '.join(groups)}: a {listener.protocol} socket on the wildcard also takes what its "
                            "links send to a broadcast address and to the multicast groups they join: 224.0.0.1 and "
                            "ff02::1 always, the others as sockets join them, which lbaudit does not read)")
    to_come = _link_local_to_come(outward) if str(LINK_LOCAL_TO_COME) in reachable else []
    if to_come:
        unassigned_note += (f" ({', '.join(to_come)} is DOWN: brought up, it gets an IPv6 link-local address "
                            f"(fe80::/64) its link reaches, which {LINK_LOCAL_TO_COME} stands for)")
    return Exposure(tuple(reachable), f"reachable from beyond the host through {'; '.join(why)}{unassigned_note}",
                    tuple(i.name for i in outward), tuple(conditional), condition, through)
