"""Gaps about the listener list as a whole, shared by the checks that judge listeners.

A Gap on one listener (path ``("listeners", 3, "processes")``, ``("listeners", 3, "v6only")``) says which detail of a
listener that *was* seen is missing; the check judges that listener on what it has.  A Gap on the
section or the list itself (``()``, ``("listeners",)``, ``("listeners", "sctp")``) says listeners may be missing
from the list altogether, so "no listener does X" cannot be claimed from it; a not_applicable one
(``("listeners", "dccp")``: the kernel has no DCCP) says that such listeners cannot exist.
"""

from __future__ import annotations

import re
from typing import Callable

from auditor.checks import _namespaces, _sysctl
from auditor.checks._sysctl import offline
from auditor.domain import netaddr
from auditor.domain.sysctl import EXCLUDE_PREFIX, configured_setting, dotted_key
from auditor.model.check import Outcome, not_applicable, not_reviewed
from auditor.model.facts import Gap, GapKind, HostSnapshot, Listener, NetNamespace
from auditor.model.records import record


def list_gaps(snapshot: HostSnapshot) -> tuple[list[Gap], list[Gap]]:
    """Gaps that may hide whole listeners: (all of them, the unreadable ones)."""
    incomplete = [
        g for g in snapshot.gaps_for("sockets", "listeners")
        if g.path[:1] in ((), ("listeners",)) and not (len(g.path) > 1 and isinstance(g.path[1], int))
    ]
    return incomplete, [g for g in incomplete if g.kind != GapKind.NOT_APPLICABLE]


def declared_only(snapshot: HostSnapshot) -> bool:
    """Whether the list holds only the listeners a configuration declares (an offline root
    directory's socket units): a not_applicable gap on the whole list says the others exist only on
    a running host.  "No listener does X" cannot be claimed from such a list, only judged listener
    by listener (a transport the kernel lacks is a gap on ``("listeners", NAME)``, not the list)."""
    return any(g.kind == GapKind.NOT_APPLICABLE and g.path in ((), ("listeners",))
               for g in snapshot.gaps_for("sockets", "listeners"))


def collection_outcomes(snapshot: HostSnapshot, subject: str) -> list[Outcome]:
    """What the listener list's own gaps say about ``subject`` ("no listener does X"): not_reviewed
    when listeners could not be read (they would be silently absent), not_applicable when only a
    transport the kernel lacks is missing; nothing when the list is whole."""
    incomplete, unreadable = list_gaps(snapshot)
    if unreadable:
        return [not_reviewed(subject, f"some listeners could not be read: {reasons(incomplete)}", evidence=["/gaps"])]
    if incomplete:
        return [not_applicable(f"{subject} (collection)", reasons(incomplete), evidence=["/gaps"])]
    return []


def reasons(gaps: list[Gap]) -> str:
    return "; ".join(sorted({g.reason for g in gaps}))


def either(names: list[str]) -> str:
    """``tcp``, ``tcp or udp``, ``tcp, udp or sctp``: a list of alternatives in words."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# ------------------------------------------------------------------ where a listener is reachable

_LOOPBACK_V4, _LOOPBACK_V6 = netaddr.parse_entry("loopback")  # the policy's named set: one definition


@record
class Reach:
    """Where a listener can be reached from, as net.bind_addresses judges it: the one answer the
    check and ``lbaudit init`` (which writes the exceptions a host needs) both ask for.

    ``address``/``v6only``: what it is judged as bound to (a transparent TCP, UDP or MPTCP one
    widened to the wildcard of its family); ``on_loopback``: the loopback networks it is judged at
    alone when bound (SO_BINDTODEVICE) to its namespace's loopback device; ``exposure``: in another
    namespace, where it can be reached from beyond the host; ``localnet``: what route_localnet adds
    to a listener on 127.0.0.0/8."""

    accepts: str  # in words, for findings
    address: str
    v6only: bool | None
    widened: bool
    on_loopback: tuple[netaddr.Network, ...] | None
    exposure: _namespaces.Exposure | None
    localnet: _namespaces.Localnet | None

    @property
    def inside_only(self) -> bool:
        """Nothing beyond its namespace can reach it: there is no exposure for a rule to allow."""
        return (self.exposure is not None and self.exposure.addresses == () and self.localnet is None
                and not self.exposure.conditional)

    def conditionally_allowed_by(self, allowed: netaddr.AddressSet) -> bool:
        """Whether ``allowed`` holds the addresses it is reached at if the host's firewall forwards
        to it (:attr:`_namespaces.Exposure.conditional`); True when there are none."""
        if self.exposure is None or not self.exposure.conditional or self.on_loopback is not None:
            return True
        return all(netaddr.is_allowed(address, None, allowed) for address in self.exposure.conditional)

    def _required(self) -> tuple[tuple[str, bool | None], ...]:
        """The (address, v6only) pairs every address of which a rule must allow (but on_loopback)."""
        exposure, localnet = self.exposure, self.localnet
        own = (tuple((address, None) for address in exposure.addresses)
               if exposure is not None and exposure.addresses is not None else ((self.address, self.v6only),))
        return own + tuple((address, None) for address in (localnet.addresses if localnet else ()))

    def allowed_by(self, allowed: netaddr.AddressSet,
                   allows: Callable[[str, bool | None], bool] | None = None) -> bool:
        """Whether ``allowed`` holds every address it can be reached at.  ``allows``: the same
        question about one (address, v6only), as the caller remembers it (a rule asks it of every
        listener, about few distinct addresses)."""
        if self.inside_only:
            return True
        if self.on_loopback is not None:
            return all(allowed.covers(network) for network in self.on_loopback)
        ask = allows or (lambda address, v6only: netaddr.is_allowed(address, v6only, allowed))
        return all(ask(address, v6only) for address, v6only in self._required())

    def networks(self) -> tuple[netaddr.Network, ...]:
        """Every network it can be reached at: what a rule must allow for it to pass (none when it is
        reachable only inside its namespace)."""
        if self.inside_only:
            return ()
        if self.on_loopback is not None:
            return self.on_loopback
        conditional = self.exposure.conditional if self.exposure is not None else ()
        return tuple(network for address, v6only in (*self._required(), *((a, None) for a in conditional))
                     for network in netaddr.accepted_networks(address, v6only))


def on_loopback_device(listener: Listener, home: NetNamespace | None) -> tuple[netaddr.Network, ...] | None:
    """The loopback networks a listener bound (SO_BINDTODEVICE) to its namespace's loopback device
    is judged at, or None when it is not so bound or that cannot be told.  The device is known by
    its kind in the interfaces read there, never by its name: lo can be renamed, and another link
    given the name."""
    if listener.interface is None or home is None or home.interfaces is None:
        return None
    if not any(i.name == listener.interface and i.kind == "loopback" for i in home.interfaces):
        return None
    if listener.family == "ipv4":
        return (_LOOPBACK_V4,)
    return (_LOOPBACK_V6,) if listener.v6only else (_LOOPBACK_V6, _LOOPBACK_V4)


def loopback_device_doubt(listener: Listener, home: NetNamespace | None) -> str | None:
    """Why a listener bound (SO_BINDTODEVICE) to its namespace's loopback device may be handed what
    arrives on a link all the same: an ingress hook of a link of the namespace (a tc filter's mirred,
    a BPF program's bpf_redirect, an nftables netdev chain's ``fwd to "lo"``) can put a packet
    addressed to the link on lo, where the socket lookup finds the listener.  None when it is not
    so bound, or no link of the namespace has such a hook (read, and none)."""
    if on_loopback_device(listener, home) is None:
        return None
    assert home is not None and home.interfaces is not None  # on_loopback_device answered
    links = [i for i in home.interfaces if i.kind != "loopback"]
    hooked = [f"{i.name} ({', '.join(i.ingress_hooks)})" for i in links if i.ingress_hooks]
    unread = [i.name for i in links if i.ingress_hooks is None]
    parts = ([f"a tc ingress, XDP or nftables ingress program on {', '.join(hooked)} can hand what arrives there to "
              f"{listener.interface} (what it does is not read)"] if hooked else []) + (
        [f"whether a tc ingress, XDP or nftables ingress program on {', '.join(unread)} hands what arrives there to "
         f"{listener.interface} could not be read"] if unread else [])
    if not parts:
        return None
    return f"it is bound to the loopback device {listener.interface}, but " + "; ".join(parts)


def tproxy_may_reach(home: NetNamespace | None) -> bool:
    """Whether a TPROXY rule may hand a transparent socket of namespace ``home`` packets for
    addresses it is not bound to: it has such rules, or they were not read (None: not described).
    IP_TRANSPARENT by itself widens nothing: the socket lookup still matches the bound address."""
    return home is None or home.tproxy is None or bool(home.tproxy)


# net.ipv4.conf.NAME.route_localnet as a boot configuration writes it (dotted; NAME may be a glob)
_ROUTE_LOCALNET_KEY = re.compile(r"net\.ipv4\.conf\.(.+)\.route_localnet")


def configured_localnet(snapshot: HostSnapshot) -> tuple[tuple[str, str], ...]:
    """For an offline image (no interfaces to read, its boot configuration all there is), the
    interfaces whose route_localnet its configuration turns on, each as ``(name, where it is set)``:
    ``all`` (every interface: the kernel ORs it with the interface's own), ``default`` (every
    interface made after it is written), a name or a glob of names; ``("?", why)`` when its
    configuration could not be read, so whether it turns it on is not known.  Empty for a running
    host, whose interfaces are read (:func:`_namespaces.localnet`), and when nothing turns it on."""
    if not offline(snapshot):
        return ()
    facts = snapshot.facts.sysctl
    if facts is None or facts.persistent is None:
        # a collection that could not read the image's boot configuration says why in a gap (an
        # image whose boot applies none has the kernel's default, off: no gap, no setting)
        why = "; ".join(sorted({g.reason for g in snapshot.gaps if g.section == "sysctl" and g.path in ((), ("persistent",))}))
        if facts is None or why:
            return (("?", why or "the snapshot holds no sysctl configuration"),)
        return ()
    found: dict[str, str] = {}
    for key in sorted(facts.persistent):
        match = _ROUTE_LOCALNET_KEY.fullmatch(dotted_key(key))
        if key.startswith(EXCLUDE_PREFIX) or match is None:
            continue
        name = match.group(1)
        setting = configured_setting(facts.persistent, key) if name in ("all", "default") else facts.persistent[key]
        if setting is None:
            continue
        number = setting.value.strip(" \t\n\r")
        # the kernel reads an int: anything but 0 turns it on; a value it refuses leaves it off
        if re.fullmatch(r"[+-]?[0-9]{1,10}", number) and int(number) != 0:
            found.setdefault(name, f"{key} = {setting.value} in {setting.origin}")
    return tuple(found.items())


def reach(listener: Listener, home: NetNamespace | None, exposure: _namespaces.Exposure | None = None,
          steered: bool = False, configured: tuple[tuple[str, str], ...] = ()) -> Reach:
    """Where ``listener`` can be reached from.  ``home``: the namespace it is in (None: not
    described), whose interfaces tell whether it is bound to the loopback device and whether
    route_localnet makes 127.0.0.0/8 reachable from their links, and whose TPROXY rules whether
    being transparent widens it; ``exposure``: for a listener in another namespace, what its
    outward interfaces deliver (:func:`_namespaces.exposure`), None to judge it at its own address;
    ``steered``: something may hand it packets for any address whatever the namespace's TPROXY
    rules (a BPF sk_lookup program, or rules that may be there): judged as transparent."""
    address, v6only = listener.address, listener.v6only
    accepts = netaddr.describe_accepts(address, v6only)
    widened = False
    loopback = on_loopback_device(listener, home)
    if loopback is not None:
        # SO_BINDTODEVICE to the loopback device: only packets that arrive on it are delivered
        # (the socket lookup compares the device a packet came in on, TPROXY's too), and only
        # what this namespace sends to an address of lo arrives there: never a packet from a link.
        accepts = (f"{accepts} as bound, but only what arrives on the loopback device {listener.interface} (SO_BINDTODEVICE): "
                   f"sent from inside its network namespace")
        if exposure is not None and exposure.addresses is not None:
            exposure = _namespaces.Exposure((), f"reachable only inside namespace {home.label if home else '?'} "
                                                 f"(bound to its loopback device {listener.interface})")
    elif listener.transparent and listener.protocol in netaddr.TPROXY_PROTOCOLS and not (
            steered or tproxy_may_reach(home)):
        accepts = (f"{accepts} (transparent, IP_TRANSPARENT, but its network namespace has no TPROXY rule to hand "
                   "it other addresses)")
    elif listener.transparent and listener.protocol in netaddr.TPROXY_PROTOCOLS:
        # TPROXY rules hand a transparent socket connections to any address: its own is no bound.
        address, v6only = netaddr.transparent_reach(address, v6only)
        widened = True
        accepts = (f"{accepts} as bound, but it is transparent (IP_TRANSPARENT), so TPROXY rules can hand it "
                   f"connections to {netaddr.describe_accepts(address, v6only)}")
        if exposure is not None and exposure.addresses:
            exposure = _namespaces.Exposure(None, f"{exposure.note}; transparent, so at any address it is routed",
                                            exposure.outward)
        elif exposure is not None and exposure.addresses == () and exposure.outward:
            # A TPROXY rule hands it what arrives on those links for any address, though none of the
            # namespace's addresses is its own: it is reached from beyond as on the host.
            exposure = _namespaces.Exposure(None, f"reachable from beyond the host through {', '.join(exposure.outward)}; "
                                                  "transparent, so at any address it is routed", exposure.outward)
        elif exposure is not None and exposure.addresses == () and exposure.forwarding is not None:
            exposure = _namespaces.Exposure(
                (), f"reachable only inside namespace {home.label if home else '?'} unless the host forwards to it; "
                    "transparent, so at any address it is routed", exposure.outward, (address,),
                f"{exposure.forwarding}: a neighbour that routes any address through the host to it reaches it "
                f"(transparent){_namespaces.FIREWALL_UNREAD}", exposure.forwarding)
    interfaces = None if home is None or home.interfaces is None else home.interfaces
    if interfaces is not None and exposure is not None and exposure.addresses is not None:
        interfaces = [i for i in interfaces if i.name in exposure.outward]  # beyond the host only
    unread = home is not None and home.interfaces is None
    localnet = _namespaces.localnet(listener, interfaces, unread=unread,
                                    every=home.interfaces if home is not None else None)
    if home is None and configured and localnet is None:
        localnet = _configured_localnet(listener, configured)
    return Reach(accepts, address, v6only, widened, loopback, exposure, localnet)


def _configured_localnet(listener: Listener, configured: tuple[tuple[str, str], ...]) -> _namespaces.Localnet | None:
    """What an image's configured route_localnet (:func:`configured_localnet`) adds to ``listener``:
    reachable from the links of those interfaces (a device it is bound to limits them), at all of
    IPv4, since their addresses are not known before it boots."""
    if not _namespaces.takes_ipv4_loopback(listener.address, listener.v6only):
        return None
    unknown = tuple(f"the image's interfaces (its sysctl configuration could not be read: {why})"
                    for name, why in configured if name == "?")
    through = tuple(f"{'every interface' if name == 'all' else 'every interface made after it is set' if name == 'default' else name} "
                    f"({where})" for name, where in configured
                    if name != "?" and (listener.interface is None or name in ("all", "default") or name == listener.interface
                                        or any(c in name for c in "*?[")))
    return _namespaces.Localnet(("0.0.0.0",) if through else (), through, unknown) if through or unknown else None


def unseen_listeners(snapshot: HostSnapshot) -> str | None:
    """Why the TCP listeners of a running host are not all known, or None: the ports they hold in an
    ephemeral range are left out of every pool (connect() never takes them), so with some not read
    the pool may be smaller than the one judged, and a pass on it is not known (net.ephemeral_port_range's
    pool, net.time_wait's headroom and share).  An offline image's list holds by nature only what its
    socket units declare (a not_applicable gap): judged as it is, with the note that says so."""
    gaps = [g for g in snapshot.gaps_for("sockets", "listeners") if g.kind != GapKind.NOT_APPLICABLE
            and (g.path in ((), ("listeners",)) or g.path[:1] == ("listeners",) and g.path[1] in _sysctl.TCP_BIND_TABLE)]
    sockets = snapshot.facts.sockets
    if not gaps and (sockets is None or sockets.listeners is None) and not declared_only(snapshot):
        return "the listening sockets were not collected (no reason recorded)"
    return "; ".join(sorted({g.reason for g in gaps})) or None


def unseen_note(unseen: str) -> str:
    """What a pass that :func:`unseen_listeners` makes unknown adds to its message."""
    return (f", but the listening sockets could not be read ({unseen}): the ports TCP listeners hold in the range, "
            f"which connect() never takes, are not known, so the pool may be smaller than that")
