"""What a snapshot of format 1.0 or 1.1 says of a listener's IP_TRANSPARENT when it records none.

Those formats record ``transparent`` only when it is set, so a listener without it is clear or
unknown, and which of the two depends on how its collector read it.  The kernel sends the option
bits (``INET_DIAG_SOCKOPT``, with ``transparent`` among them) for every full socket of a sock_diag
dump from Linux 5.10: ``inet_diag_msg_attrs_fill`` (net/ipv4/inet_diag.c) puts them unasked, and
``inet_sk_diag_fill`` calls it for the sockets of tcp_diag, udp_diag (UDP and UDP-Lite), mptcp_diag
and raw_diag (a TIME_WAIT or SYN_RECV entry has no options, but neither is a listener).  /proc/net
never shows them.

And not every collector that wrote format 1.1 read them: lbaudit read ``INET_DIAG_SOCKOPT`` from the
change that added ``Listener.transparent`` (format 1.1, tool version unchanged), and wrote from then
on every listener's ``transparent`` field, ``null`` unless set; the collectors before it wrote no such
field.  No collector that wrote format 1.0 read it.

So a listener's absent transparency is "clear" only when every one of these says the attribute was
read: format 1.1, the listener's ``transparent`` field present in the file, facts collected from a
running host, a kernel release that is Linux 5.10 or later, and its transport read through netlink
sock_diag in its own namespace's method.  Anything else leaves it unknown, with the reason.
"""

from __future__ import annotations

from auditor.model.facts import HostSnapshot, Listener
from auditor.patterns import first_use

# How the collectors writing formats 1.0 and 1.1 began a sockets method when netlink sock_diag dumped
# TCP and UDP (auditor.collect.sockets.METHOD_NETLINK then); under the /proc/net fallback it began
# "/proc/net/tcp,tcp6,udp,udp6 (netlink sock_diag unavailable: ...)".  The text of files already
# written, so a literal: a later change to the collector's wording does not change what they say.
NETLINK_CORE_METHOD = "netlink sock_diag (TCP: LISTEN state only; UDP: all)"
# The other transports followed as "other transports: udplite: netlink; mptcp: netlink; ...", each
# "NAME: netlink" when sock_diag dumped it, else how it was read instead (or why not).
OTHER_TRANSPORTS = "other transports: "
CORE_TRANSPORTS = frozenset({"tcp", "udp"})
SOCKOPT_SINCE = (5, 10)  # the first release whose sock_diag sends INET_DIAG_SOCKOPT
# A kernel release as uname -r gives it: VERSION.PATCHLEVEL, then SUBLEVEL and EXTRAVERSION, if any
# ("6.1.0-18-amd64", "5.10.0", "6.18.44-1-lts", "6.8.0-rc3+").  Nothing before the version.
_RELEASE = first_use(r"([0-9]{1,4})\.([0-9]{1,4})(?:$|[.\-+_~])")


def kernel_version(release: str) -> tuple[int, int] | None:
    """The (major, minor) a kernel release names, or None when it does not begin with one."""
    found = _RELEASE().match(release)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _transport_method(protocol: str, method: str) -> tuple[bool, str]:
    """Whether ``method`` (a sockets method as the collector wrote it) says ``protocol``'s sockets
    came from a netlink sock_diag dump, and the part of it that says how they were read."""
    core, _sep, others = method.partition(OTHER_TRANSPORTS)
    core = core.removesuffix("; ")
    if not (core == NETLINK_CORE_METHOD or core.startswith(NETLINK_CORE_METHOD + "; ")):
        # TCP and UDP not dumped: nothing was (the others are read from sock_diag only after them)
        return False, core
    if protocol in CORE_TRANSPORTS:
        return True, NETLINK_CORE_METHOD
    items = others.split("; ") if others else []
    mine = [item for item in items if item.startswith(f"{protocol}: ")]
    return mine == [f"{protocol}: netlink"], "; ".join(mine) or f"no {protocol} entry among the other transports"


def unread(snapshot: HostSnapshot, listener: Listener, method: str | None) -> str | None:
    """Why ``listener`` of ``snapshot`` (format 1.0 or 1.1, ``transparent`` not set) may be transparent
    after all; None when its collector read IP_TRANSPARENT and found it clear.  ``method``: how the
    sockets of its namespace were collected (the provenance's for the host, the namespace's counts'
    for another; None when not recorded)."""
    version = snapshot.schema_version
    head = f"a snapshot of format {version} records IP_TRANSPARENT only when it is set"
    if version == "1.0":
        return f"{head}, and no collector that wrote format 1.0 read it"
    if "transparent" not in listener.model_fields_set:
        return f"{head}, and this listener has no transparent field: its collector did not read IP_TRANSPARENT"
    provenance = snapshot.provenance
    origin = provenance.collected_from if provenance.source == "snapshot" else provenance.source
    if origin != "live":
        return f"{head}, and its facts were not collected from a running host (collected from: {origin or 'not recorded'})"
    release = provenance.kernel
    if release is None:
        return f"{head}, and its kernel release is not recorded"
    version_of = kernel_version(release)
    if version_of is None:
        return f"{head}, and its kernel release {release!r} does not name a version (major.minor)"
    if version_of < SOCKOPT_SINCE:
        return (f"{head}, and Linux {version_of[0]}.{version_of[1]} (kernel release {release!r}) does not report it "
                f"(INET_DIAG_SOCKOPT, Linux 5.10+)")
    if method is None:
        return f"{head}, and how its sockets were collected is not recorded"
    through_netlink, how = _transport_method(listener.protocol, method)
    if not through_netlink:
        return f"{head}, and its {listener.protocol} sockets were not read through netlink sock_diag ({how})"
    return None
