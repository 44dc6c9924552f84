"""Published ports for the checks: the engine's and the NAT rules' entries grouped by host
endpoint, the container each forwards to, the host listener that serves it (a userland proxy), and
where the two sources disagree."""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import field

from auditor.checks import _namespaces
from auditor.domain import netaddr
from auditor.model.facts import (
    NO_LOOPBACK_DROPS_VERSIONS,
    HostSnapshot,
    Listener,
    LoopbackDrop,
    NetNamespace,
    PublishedPort,
)
from auditor.model.records import record


@record
class Group:
    """One host endpoint forwarded into a container, as every source saw it."""

    protocol: str
    host_address: str  # an address or a network ("10.0.0.0/8")
    low: int
    high: int
    entries: tuple[PublishedPort, ...]
    # the namespace holding the target address, when found (not part of the group's identity)
    namespace: NetNamespace | None = field(compare=False, hash=False)

    @property
    def sources(self) -> list[str]:
        return sorted({e.source for e in self.entries})

    @property
    def networks(self) -> tuple[netaddr.Network, ...]:
        """The host addresses the port is reachable at: an unspecified address is every address
        (Docker's 0.0.0.0 publishes on IPv4, its :: on IPv6)."""
        network = ipaddress.ip_network(self.host_address, strict=False)
        if network.network_address.is_unspecified:
            return (ipaddress.ip_network("0.0.0.0/0") if network.version == 4 else ipaddress.ip_network("::/0"),)
        return (network,)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host_address}]" if ":" in self.host_address else self.host_address
        return f"{host}:{self.low}" if self.low == self.high else f"{host}:{self.low}-{self.high}"

    @property
    def container(self) -> str | None:
        named = sorted({e.container for e in self.entries if e.container})
        if named:
            return named[0]
        workloads = sorted(w.name for w in self.namespace.workloads if w.name) if self.namespace else []
        return workloads[0] if workloads else None

    @property
    def target(self) -> str:
        entry = self.entries[0]
        where = f"container {self.container}" if self.container else (entry.target_address or "an unknown address")
        return f"{where}:{entry.target_port}" if entry.target_port is not None else where

    @property
    def subject(self) -> str:
        return f"published {self.protocol} {self.endpoint} -> {self.target}"


def _namespaces_by_address(namespaces: list[NetNamespace]) -> dict[str, list[NetNamespace]]:
    """The namespaces (not the collector's own) each interface address is on, in their order, each
    once: read once for all the published ports (looking every target up in every namespace's
    addresses took 18 s for a host of 1,000 containers, each with a published port)."""
    by_address: dict[str, list[NetNamespace]] = {}
    for ns in namespaces:
        if ns.current:
            continue
        for interface in ns.interfaces or []:
            for cidr in interface.addresses:
                holders = by_address.setdefault(cidr.split("/", 1)[0], [])
                if not holders or holders[-1] is not ns:
                    holders.append(ns)
    return by_address


def _namespace_of(address: str | None, by_address: dict[str, list[NetNamespace]]) -> NetNamespace | None:
    """The one namespace that has ``address`` (None: none, or more than one has it).  A loopback
    address is the rule's own namespace's (a DNAT or rewrite to 127.0.0.1 hands the packet to a
    listener of the host), never another's, though every namespace has one on its lo."""
    if address is None or _is_loopback(address):
        return None
    found = by_address.get(address, [])
    return found[0] if len(found) == 1 else None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def groups(snapshot: HostSnapshot) -> list[Group]:
    netns = snapshot.facts.netns
    if netns is None or not netns.published:
        return []
    by_endpoint: dict[tuple[str, str, int, int, str | None, int | None], list[PublishedPort]] = {}
    for port in netns.published:
        key = (port.protocol, port.host_address, port.host_port, port.host_port_end or port.host_port,
               port.target_address, port.target_port)
        by_endpoint.setdefault(key, []).append(port)
    by_address = _namespaces_by_address(netns.namespaces)
    return [Group(protocol, host, low, high, tuple(entries), _namespace_of(target, by_address))
            for (protocol, host, low, high, target, _tport), entries in sorted(by_endpoint.items(), key=lambda kv: (
                kv[0][0], kv[0][2], kv[0][1], kv[0][4] or "", kv[0][5] or 0))]


ROOT_UID = 0


def proxy_owner_fits(listener: Listener, group: Group) -> bool:
    """Whether a host listener's socket can be the one the engine holds the published port with.

    A port a DNAT rule of the host forwards is published by a rootful engine (Docker's or Podman's
    system daemon: a rootless one forwards from inside its own namespace and writes no rule on the
    host), whose proxy runs as root (docker-proxy, dockerd, conmon); with the userland proxy off
    no process may hold it at all, and any local user may bind it (0.0.0.0:8080, or a dual-stack
    [::]:8080 that takes every IPv6 address no IPv4 DNAT rule forwards).  So for such a port the
    socket must be root's (the kernel's socket owner, else every holder's user); one another user
    owns is that user's listener.  A port only the engine declares (a rootless engine's, held by
    rootlessport as its user) keeps any owner."""
    if "nat" not in group.sources:
        return True
    if listener.uid is not None:
        return listener.uid == ROOT_UID
    users = [p.user for p in listener.processes]
    return bool(users) and all(user == "root" for user in users)


def serves(listener: Listener, group: Group) -> bool:
    """Whether a host listener is the one that serves a published port (a userland proxy): same
    protocol and port, an owner that fits (:func:`proxy_owner_fits`), on the published address, or on a
    wildcard of its family when the port is published on every address of it (a proxy binds the
    published address: a root daemon on 0.0.0.0:8080 beside a port published on 127.0.0.1:8080 is
    the host's own listener, not the container's), bound to no device.
    A wildcard of the other family is not it, and is judged as the host listener it is: an IPv6-only
    [::]:8080 binds beside a proxy on 0.0.0.0:8080 (IPV6_V6ONLY: no conflict), so any local user
    could otherwise open every IPv6 address under the container's exception."""
    if listener.protocol != group.protocol or not group.low <= listener.port <= group.high:
        return False
    if listener.interface is not None:
        # a proxy binds no device (docker-proxy, conmon, rootlessport): one bound to lo takes only what
        # lo delivers, and judged in the port's place it passed a port every link reaches
        return False
    if not proxy_owner_fits(listener, group):
        return False
    accepted = netaddr.accepted_networks(listener.address, listener.v6only)
    if netaddr.is_wildcard(listener.address):
        # a proxy binds the address it publishes on (docker-proxy -host-ip, conmon, rootlessport):
        # one on every address serves only a port published on every address of a family it takes
        return any(n.version == a.version and n.prefixlen == 0 for n in group.networks for a in accepted)
    return any(n.version == a.version and n.subnet_of(a) for n in group.networks for a in accepted)  # type: ignore[arg-type]


class ListenersByPort:
    """The host's listeners of each protocol in the order of their ports: those that may serve a
    published port (:func:`serves` asks the same protocol and a port in its range) are found by
    bisection, not by trying every listener for every published port (5,000 containers' proxies
    took 10 s)."""

    def __init__(self, listeners: Sequence[Listener]) -> None:
        self.listeners = listeners
        self._by_protocol: dict[str, list[tuple[int, int]]] = {}
        for i, listener in enumerate(listeners):
            self._by_protocol.setdefault(listener.protocol, []).append((listener.port, i))
        for held in self._by_protocol.values():
            held.sort()

    def serving(self, group: Group) -> list[int]:
        """The indices, in order, of the listeners that serve ``group`` (:func:`serves`)."""
        held = self._by_protocol.get(group.protocol, [])
        candidates = sorted(i for _port, i in held[bisect_left(held, (group.low, -1)):bisect_left(held, (group.high + 1, -1))])
        return [i for i in candidates if serves(self.listeners[i], group)]


# The subject of a published port the engine and the NAT rules disagree about starts so, and names
# the port and the source that holds it: one subject for every such failure let a waiver written for
# one disagreement (its subject as the finding showed it) waive every other, on any port, later too.
DISAGREE = "published ports (engine and NAT rules disagree)"


def disagreements(snapshot: HostSnapshot, all_groups: list[Group],
                  host_listeners: list[Listener]) -> list[tuple[str, str]]:
    """Where the engine and the NAT rules disagree, when both were read: (subject, problem) each."""
    netns = snapshot.facts.netns
    if netns is None or set(netns.published_sources) != {"engine", "nat"}:
        return []
    engine = {(e.protocol, e.host_port, e.target_port) for g in all_groups for e in g.entries if e.source == "engine"}
    nat = {(e.protocol, e.host_port, e.target_port) for g in all_groups for e in g.entries if e.source == "nat"}
    problems = []
    by_port = ListenersByPort(host_listeners)
    for group in all_groups:
        for entry in group.entries:
            key = (entry.protocol, entry.host_port, entry.target_port)
            port = group.subject.removeprefix('published ')
            if entry.source == "engine" and key not in nat and not by_port.serving(group):
                problems.append((f"{DISAGREE}: {port}, engine only",
                                 f"the engine publishes {port}, but no NAT rule or host listener forwards it"))
            if entry.source == "nat" and key not in engine and group.namespace is not None and group.namespace.workloads:
                problems.append((f"{DISAGREE}: {port}, NAT only",
                                 f"a NAT rule ({entry.origin}) publishes {port}, which the engine does not declare"))
    return sorted(set(problems))


LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
DOCKER_DROP = "-t raw -A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp --dport PORT -j DROP"


@record
class LoopbackReach:
    """How a port a DNAT rule publishes on 127.0.0.0/8 is reached from the host's links.

    The nat table's PREROUTING DNAT comes before ip_route_input drops a loopback destination that
    arrived on a link (a martian): a neighbour that sends to 127.0.0.1 through this host's MAC
    address is forwarded to the container (moby#41872; route_localnet is not needed).  Docker 28
    closes it with a raw PREROUTING drop of the address and port for packets not from lo
    (moby#49325).  ``state``: closed (such a drop covers the port), open (none does), unknown (the
    drops could not all be read); ``why``: the drops that close it, or what is missing; ``reach``:
    where the open port is judged, the IPv4 addresses of the host's links (all of IPv4 for a link
    with none, or when they were not read)."""

    state: str
    why: str
    reach: tuple[str, ...] = ()


def loopback_dnat(group: Group) -> list[str]:
    """The NAT rules that forward the group's port at an address of 127.0.0.0/8 (not as part of
    all of IPv4, which is judged as every address already)."""
    if not loopback_dnat_possible(group):
        return []
    return sorted(e.origin for e in group.entries if e.source == "nat")


def loopback_dnat_possible(group: Group) -> bool:
    return any(n.version == 4 and n.prefixlen > 0 and n.overlaps(LOOPBACK_V4) for n in group.networks)


def _covers(drop: LoopbackDrop, group: Group) -> bool:
    dropped = ipaddress.IPv4Network(drop.destination, strict=False)
    return (drop.protocol in (None, group.protocol) and drop.port <= group.low and group.high <= drop.port_end
            and all(n.version != 4 or not n.overlaps(LOOPBACK_V4)
                    or (n if n.subnet_of(LOOPBACK_V4) else LOOPBACK_V4).subnet_of(dropped)  # type: ignore[arg-type]
                    for n in group.networks))


def _links(snapshot: HostSnapshot) -> tuple[str, ...]:
    netns = snapshot.facts.netns
    current = netns.current if netns is not None else None
    if current is None or current.interfaces is None:
        return ("0.0.0.0/0",)
    addresses: list[str] = []
    for interface in current.interfaces:
        # a bridge port or bond slave hands what it receives to its master, where IP input happens
        if interface.kind == "loopback" or interface.master is not None:
            continue
        own = [cidr.split("/", 1)[0] for cidr in interface.addresses if ":" not in cidr]
        addresses += own or ["0.0.0.0/0"]
    return tuple(dict.fromkeys(addresses))


def _named_lo(snapshot: HostSnapshot) -> str | None:
    """The device of the collector's namespace named ``lo`` when it is not the loopback (``NAME
    (KIND)``): the loopback renamed (``ip link set lo name ...``) and the name given to a link.
    None when lo is the loopback, no device has that name, or the interfaces were not read."""
    netns = snapshot.facts.netns
    current = netns.current if netns is not None else None
    for interface in current.interfaces or [] if current is not None else []:
        if interface.name == "lo" and interface.kind != "loopback":
            return f"{interface.name} ({interface.link_kind or interface.kind})"
    return None


def loopback_reach(snapshot: HostSnapshot, group: Group) -> LoopbackReach | None:
    """How the links reach a port published on 127.0.0.0/8 by a DNAT rule (None: it is not one)."""
    origins = loopback_dnat(group)
    netns = snapshot.facts.netns
    if netns is None:
        return None
    if not origins and "nat" not in netns.published_sources and loopback_dnat_possible(group):
        # the engine declares it and the NAT rules were not read: a rootful engine forwards it by one
        return LoopbackReach("unknown", "the NAT rules were not read, so whether a DNAT rule forwards this loopback "
                                        "address (as a rootful engine's does, which a neighbour reaches through this "
                                        "host's MAC address, moby#41872) is unknown")
    if not origins:
        return None
    drops = netns.loopback_drops or []
    covering = [d for d in drops if _covers(d, group)]
    impostor = _named_lo(snapshot)
    if covering and impostor is not None:
        # the drops exempt the device by its name (``! -i lo``, ``iifname != "lo"``), and that name is
        # anyone's once the loopback is renamed: what arrives on the link that took it is not dropped
        return LoopbackReach("unknown", f"{'; '.join(sorted({d.origin for d in covering}))} drops it from every "
                                        f"interface but the one named lo, and the device named lo is not the "
                                        f"loopback but {impostor}: what arrives there may reach the DNAT")
    if covering:
        return LoopbackReach("closed", "dropped from every interface but lo before the DNAT by "
                             + "; ".join(sorted({d.origin for d in covering})))
    dnat = (f"the DNAT rule ({'; '.join(origins)}) forwards a loopback destination in PREROUTING, before the "
            "kernel drops it as a martian when it came from a link")
    gaps = sorted({g.reason for g in snapshot.gaps if g.section == "netns" and g.path[:1] == ("loopback_drops",)})
    if netns.loopback_drops is None or gaps:
        if netns.loopback_drops is None and snapshot.schema_version in NO_LOOPBACK_DROPS_VERSIONS:
            unread = f"a snapshot of format {snapshot.schema_version} does not hold them"
        else:
            unread = "; ".join(gaps) or "they were not read"
        return LoopbackReach("unknown", f"{dnat}, and whether a raw-table PREROUTING drop of it for packets not "
                                        f"from lo comes first is unknown ({unread})")
    return LoopbackReach("open", f"{dnat}, and no raw-table PREROUTING drop of it for packets not from lo comes "
                                 f"first (as Docker 28 writes: {DOCKER_DROP}): a neighbour on a link that sends "
                                 "to it through this host's MAC address reaches the container (moby#41872)",
                         _links(snapshot))


@record
class LoopbackTarget:
    """Whether what a link brings reaches a port a NAT rule forwards to 127.0.0.0/8 (``-j DNAT
    --to-destination 127.0.0.1:8080``, ``dnat to 127.0.0.1``).  The rewrite happens before the route
    lookup, and ip_route_input_slow drops a loopback destination from an interface as a martian
    unless IN_DEV_NET_ROUTE_LOCALNET (net.ipv4.conf.all.route_localnet or .NAME.route_localnet) is on
    for it; the host's own processes never pass the DNAT (theirs is the nat OUTPUT chain's).
    ``state``: dropped (every interface IP input happens on has route_localnet off), delivered (one
    has it on), unknown (one's setting, or the interfaces, could not be read); ``why``: which."""

    state: str
    why: str


def loopback_target(snapshot: HostSnapshot, group: Group) -> LoopbackTarget | None:
    """How the links reach a port every rule of ``group`` forwards to an IPv4 loopback address
    before the route lookup (:attr:`PublishedPort.before_routing`); None when it is not one (an
    engine's port, a rewrite after the route lookup or not known to be before it: judged at its
    host address, as any other)."""
    target = group.entries[0].target_address
    if target is None or not _is_loopback(target) or ":" in target:
        return None
    if not all(e.source == "nat" and e.before_routing is True for e in group.entries):
        return None
    rules = "; ".join(sorted({e.origin for e in group.entries}))
    netns = snapshot.facts.netns
    current = netns.current if netns is not None else None
    interfaces = current.interfaces if current is not None else None
    forwarded = f"the NAT rule ({rules}) forwards it to {target} before the route lookup"
    if interfaces is None:
        return LoopbackTarget("unknown", f"{forwarded}, and the host's interfaces were not read, so whether one "
                                         "delivers 127.0.0.0/8 from its link (route_localnet) is not known")
    probe = Listener(protocol=group.protocol, family="ipv4", address=target, port=group.entries[0].target_port or 0)
    localnet = _namespaces.localnet(probe, interfaces)
    # a link's ingress hook (tc mirred, nft fwd to lo) hands what it brings to lo with no route yet:
    # the DNAT and the route lookup then happen on lo, whose own route_localnet decides
    hooked = [i.name for i in interfaces if i.kind != "loopback" and i.ingress_hooks != []]
    open_lo = [i.name for i in interfaces if i.kind == "loopback" and i.route_localnet is not False]
    if localnet is None and hooked and open_lo:
        return LoopbackTarget("unknown", f"{forwarded}, and route_localnet on {', '.join(open_lo)} is on (or not "
                                         f"read) while {', '.join(hooked)} may hand what arrives on it to "
                                         f"{', '.join(open_lo)} (an ingress hook, or hooks not read)")
    if localnet is None:
        return LoopbackTarget("dropped", f"{forwarded}, where the kernel drops it as a martian from every link "
                                         "(route_localnet is off on every interface), so it is judged at "
                                         f"{target}, where it is delivered")
    return LoopbackTarget("delivered" if localnet.through else "unknown", f"{forwarded}: {localnet.note}")
