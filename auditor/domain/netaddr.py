"""Address semantics for bind-address policies: pure functions, no I/O.

Two questions are answered here:

* which addresses does a policy entry name?  ``loopback``, ``any``, ``private`` and ``link-local``
  are named sets; anything else must be a literal address or CIDR (validated, host bits not allowed);
* which addresses does a listening socket accept?  ``0.0.0.0`` accepts every IPv4 address; ``::``
  accepts every IPv6 address and, unless IPV6_V6ONLY is known to be set, every IPv4 address too
  (an unknown flag is assumed to be the broader, dual-stack case: fail closed); an IPv4-mapped
  ``::ffff:a.b.c.d`` is judged as the IPv4 address a.b.c.d (``::ffff:0.0.0.0`` as the IPv4 wildcard).

A listener is allowed when *every* address it accepts lies inside the union of the allowed sets, so
``0.0.0.0`` is allowed only by ``any`` or ``0.0.0.0/0``.  Goss and InSpec mis-report ``::`` listeners
(goss#149, inspec#3209) because they compare address strings; here everything is compared as networks.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Iterable, Union

from auditor.model.records import record
from auditor.spelling import closest

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

ALL_IPV4 = ipaddress.IPv4Network("0.0.0.0/0")
ALL_IPV6 = ipaddress.IPv6Network("::/0")
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

# The per-listener questions below are pure and asked about few distinct (address, v6only) pairs
# however many listeners a host has (5,000 on 127.0.0.1 are one address): answered once each.
_MEMO = lru_cache(maxsize=4096)

NAMED_SETS: dict[str, tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "any": ("0.0.0.0/0", "::/0"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),  # RFC 1918 + RFC 4193
    "link-local": ("169.254.0.0/16", "fe80::/10"),
}


def _unmap(network: Network) -> Network:
    """An IPv6 network inside ::ffff:0:0/96 names IPv4 addresses; return it as the IPv4 network."""
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(IPV4_MAPPED):
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None  # inside ::ffff:0:0/96
        return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def parse_entry(entry: str) -> tuple[Network, ...]:
    """The networks one policy entry names: a named set, an address, or a CIDR.

    Raises ``ValueError`` with a message that names the entry and says what is accepted.
    """
    if not isinstance(entry, str) or not entry.strip():
        raise ValueError(f"{entry!r} is not an address set: use one of {', '.join(NAMED_SETS)}, an address or a CIDR")
    text = entry.strip()
    if text in NAMED_SETS:
        return tuple(ipaddress.ip_network(cidr) for cidr in NAMED_SETS[text])
    if "%" in text:
        raise ValueError(f"{entry!r}: a zone index (%...) is not allowed in an address set; write the address without it")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            suggestion = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{entry!r} has host bits set; did you mean {suggestion}?") from None
        near = closest(text.lower(), NAMED_SETS)
        hint = f"; did you mean {near!r}?" if near is not None else ""
        raise ValueError(
            f"{entry!r} is neither a named set ({', '.join(NAMED_SETS)}) nor a valid IPv4/IPv6 address or CIDR{hint}"
        ) from None
    return (_unmap(network),)


@record
class AddressSet:
    """The union of the networks named by some policy entries."""

    entries: tuple[str, ...]
    networks: tuple[Network, ...]  # collapsed per family: disjoint, maximal blocks

    def covers(self, network: Network) -> bool:
        # ``networks`` is the unique minimal CIDR cover of the union, so a block that lies inside the
        # union lies inside one of its blocks.
        return any(network.version == n.version and network.subnet_of(n) for n in self.networks)  # type: ignore[arg-type]

    def describe(self) -> str:
        """``loopback (127.0.0.0/8, ::1/128)``; ``nothing`` for an empty set."""
        if not self.entries:
            return "nothing (no address is allowed)"
        names = ", ".join(self.entries)
        cidrs = ", ".join(str(n) for n in self.networks)
        return names if names == cidrs else f"{names} ({cidrs})"


def address_set(entries: Iterable[str]) -> AddressSet:
    """Validate and combine policy entries; raises ``ValueError`` naming the first bad entry."""
    entries = tuple(entries)
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for entry in entries:
        for network in parse_entry(entry):
            (v4 if network.version == 4 else v6).append(network)  # type: ignore[arg-type]
    networks = tuple(ipaddress.collapse_addresses(v4)) + tuple(ipaddress.collapse_addresses(v6))
    return AddressSet(entries=entries, networks=networks)


@_MEMO
def _address(text: str) -> Address:
    """A listener address as the kernel holds it; a zone index (``fe80::1%eth0``) is dropped."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None


@_MEMO
def _judged(text: str) -> Address:
    """The address a listener is judged as: IPv4-mapped IPv6 becomes IPv4."""
    address = _address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@_MEMO
def is_wildcard(address: str) -> bool:
    """Bound to every address of a family: ``0.0.0.0``, ``::`` or ``::ffff:0.0.0.0``."""
    return _judged(address).is_unspecified


@_MEMO
def accepted_networks(address: str, v6only: bool | None) -> tuple[Network, ...]:
    """The destination addresses a socket bound to ``address`` accepts connections on.  A prefix
    (``10.99.0.0/24``: where a namespace's local route delivers to a wildcard listener) is itself."""
    if "/" in address:
        return (ipaddress.ip_network(address, strict=False),)
    judged = _judged(address)
    if judged.version == 4:
        return (ALL_IPV4,) if judged.is_unspecified else (ipaddress.IPv4Network(judged),)
    if judged.is_unspecified:
        # A dual-stack ``::`` socket also takes IPv4 (as ::ffff:a.b.c.d); unknown v6only = dual-stack.
        return (ALL_IPV6,) if v6only is True else (ALL_IPV4, ALL_IPV6)
    return (ipaddress.IPv6Network(judged),)


@_MEMO
def is_allowed(address: str, v6only: bool | None, allowed: AddressSet) -> bool:
    """True when every address the listener accepts lies inside ``allowed``."""
    return all(allowed.covers(n) for n in accepted_networks(address, v6only))


# What a TPROXY rule hands packets for any address to (nft_tproxy and xt_TPROXY: TCP and UDP only;
# MPTCP through its TCP subflow, which shares IP_TRANSPARENT).  A transparent socket of another
# transport (UDP-Lite, SCTP, DCCP, raw) gets only what is sent to its own address, so whether it is
# transparent does not change what reaches it.
TPROXY_PROTOCOLS = frozenset({"tcp", "udp", "mptcp"})


@_MEMO
def transparent_reach(address: str, v6only: bool | None) -> tuple[str, bool | None]:
    """The (address, v6only) a transparent socket (IP_TRANSPARENT) is judged as: the wildcard of
    what it accepts.  A TPROXY rule hands such a socket connections to any address, whatever it is
    bound to: an IPv4 (or IPv4-mapped) socket any IPv4 address; an IPv6 one any IPv6 address, and
    IPv4 too when it is a dual-stack ``::``."""
    judged = _judged(address)
    if judged.version == 4:
        return ("0.0.0.0", None) if _address(address).version == 4 else ("::ffff:0.0.0.0", v6only)
    return ("::", v6only if judged.is_unspecified else True)


@_MEMO
def describe_accepts(address: str, v6only: bool | None) -> str:
    """What a listener accepts, in words, e.g. ``all IPv4 and IPv6 addresses (dual-stack ::, v6only=0)``."""
    raw = _address(address)
    judged = _judged(address)
    mapped = raw != judged
    if judged.version == 4 and judged.is_unspecified:
        if mapped:
            return f"all IPv4 addresses (IPv4-mapped wildcard {address})"
        return "all IPv4 addresses (IPv4 wildcard 0.0.0.0)"
    if judged.version == 6 and judged.is_unspecified:
        if v6only is True:
            return "all IPv6 addresses (:: with v6only=1, no IPv4)"
        if v6only is False:
            return "all IPv4 and IPv6 addresses (dual-stack ::, v6only=0)"
        return "all IPv4 and IPv6 addresses (::, v6only unknown: assumed dual-stack)"
    if mapped:
        return f"{judged} only (IPv4-mapped {address})"
    return f"{address} only"
