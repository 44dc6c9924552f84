"""``net.ephemeral_port_range``: a large enough pool of ephemeral ports, sane bounds, and no service
listening on a port the kernel may hand to an outgoing connection."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from auditor.checks import _listeners, _namespaces, _platforms, _sysctl
from auditor.model.check import CheckParams, Outcome, check, failed, missing_fact, not_reviewed, passed
from auditor.model.facts import DATAGRAM_PROTOCOLS, PORTLESS_PROTOCOLS, PROTOCOLS, HostSnapshot, Protocol
from auditor.model.result import Severity, Status

POOL = "ephemeral port pool"
BOUNDS = "ephemeral port range bounds"
IN_RANGE = "listeners in the ephemeral port range"


class EphemeralRangeParams(CheckParams):
    laxer_when = {"protocols": "fewer"}

    min_pool_size: int = Field(
        16384, ge=1, le=65536,
        description="Fewest usable ephemeral ports: high - low + 1 minus ip_local_reserved_ports inside the range "
                    "and the ports TCP listeners hold there (one fewer for an odd Linux range: connect() searches "
                    "an even number of ports).",
    )
    min_low: int = Field(1024, ge=0, le=65535, description="The range must not start below this port (1024: no privileged ports).")
    max_high: int = Field(65535, ge=0, le=65535, description="The range must not end above this port.")
    forbid_listeners_in_range: bool = Field(
        True, description="Fail every listener whose port is inside the range and not in ip_local_reserved_ports."
    )
    protocols: list[Protocol] = Field(
        default_factory=lambda: [p for p in PROTOCOLS if p not in DATAGRAM_PROTOCOLS + PORTLESS_PROTOCOLS],
        min_length=1,
        description="Listeners judged by forbid_listeners_in_range.  Every listening transport (tcp, sctp, dccp, "
        "mptcp) by default; udp and udplite are off: a client socket that sends without connect() holds an "
        "ephemeral port and looks exactly like a UDP service.  raw is refused: a raw socket has no port (its "
        "number is the IP protocol it receives).",
    )

    def unused_params(self) -> dict[str, str]:
        if not self.forbid_listeners_in_range:
            return {"protocols": "it names the listeners forbid_listeners_in_range judges, and that is false; "
                                 "set that"}
        return {}

    @field_validator("protocols")
    @classmethod
    def _ported(cls, protocols: list[str]) -> list[str]:
        portless = [p for p in protocols if p in PORTLESS_PROTOCOLS]
        if portless:
            raise ValueError(f"{', '.join(portless)} sockets have no port (the number shown is the IP protocol they "
                             "receive), so no ephemeral range can hold them; leave it out of protocols")
        return protocols

    @model_validator(mode="after")
    def _bounds_consistent(self) -> "EphemeralRangeParams":
        if self.min_low > self.max_high:
            raise ValueError(f"min_low ({self.min_low}) is above max_high ({self.max_high}): no range could pass")
        # No range starts at port 0 (the kernel refuses it): counted from 0, min_low 0 admitted a
        # min_pool_size of 65,536 that every host then failed.
        lowest = max(self.min_low, _sysctl.LOWEST_RANGE_PORT)
        if self.max_high < lowest:
            raise ValueError(f"max_high ({self.max_high}) is below port {lowest}, where every range starts at least "
                             f"(the kernel refuses 0): no range could pass")
        # the widest range allowed, as one connect() searches it (an odd one loses a port)
        widest = min(hi - lo + 1 for lo, hi in _sysctl.searched_windows(lowest, self.max_high))
        if self.min_pool_size > widest:
            span = self.max_high - lowest + 1
            start = (f"a range starts at port {lowest} at least; of the {span} from there"
                     if lowest > self.min_low else f"of the {span} there")
            odd = (f" ({start}, an odd number, connect() searches {widest})" if widest < span
                   else f" ({start})" if lowest > self.min_low else "")
            raise ValueError(
                f"min_pool_size ({self.min_pool_size}) is larger than the {widest} ports between min_low "
                f"({self.min_low}) and max_high ({self.max_high}){odd}: no range could pass"
            )
        return self


def _pool_outcome(lookup: _sysctl.PoolLookup, params: EphemeralRangeParams, unseen: str | None) -> Outcome:
    """``unseen``: why the running host's TCP listeners are not all known (:func:`_listeners.unseen_listeners`):
    the ports they hold are not subtracted, so a pass is not known (a failure stands)."""
    expected = {"min_pool_size": params.min_pool_size}
    pool = lookup.pool
    if pool is None:
        # (a backwards range is no pool at all: the kernel refuses it, so the range in use is unknown)
        if lookup.low is not None and lookup.high is not None and lookup.low <= lookup.high:
            span = max(0, lookup.high - lookup.low + 1)
            # what one connect() searches (an odd range loses a port), before reserved ports
            searched = min(max(0, hi - lo + 1) for lo, hi in _sysctl.searched_windows(lookup.low, lookup.high))
            if searched < params.min_pool_size:
                # Reserved ports can only shrink the pool: it is too small whatever they are.
                odd = f" of which one connect() searches {searched:,}" if searched < span else ""
                return failed(
                    POOL,
                    f"the ephemeral range {lookup.low}-{lookup.high} spans {span:,} ports{odd}, fewer than the "
                    f"minimum {params.min_pool_size:,} even before reserved ports (which could not be read: "
                    f"{lookup.reason})",
                    observed={"low": lookup.low, "high": lookup.high, "span": span, "searched_by_connect": searched,
                              "reserved": None},
                    expected=expected,
                    evidence=[lookup.range_pointer] if lookup.range_pointer else [],
                )
        return not_reviewed(POOL, lookup.reason or "the ephemeral port range could not be read",
                            evidence=[lookup.range_pointer] if lookup.range_pointer else [])
    observed = {
        "low": pool.low,
        "high": pool.high,
        "span": pool.span,
        "reserved": _sysctl.format_ports(pool.reserved),
        "reserved_in_range": pool.reserved_in_range,
        "held_by_listeners": len(pool.held) if pool.held_complete else (len(pool.held) or None),
        "pool_size": pool.size,
        "searched_by_connect": pool.searched_size,
    }
    text = (
        f"the ephemeral pool has {pool.size:,} ports ({pool.low}-{pool.high}, {pool.reserved_in_range:,} of them "
        f"reserved{_sysctl.describe_held(pool, say_incomplete=unseen is None)})"
    )
    if pool.searched_size < pool.size:
        text += (f", and {pool.searched_size:,} usable: the range holds an odd number of ports, and the kernel's "
                 f"connect() searches an even number of them, so one is left out of every search")
    if pool.searched_size >= params.min_pool_size and unseen is not None:
        return not_reviewed(POOL, f"{text}, at least the minimum {params.min_pool_size:,}{_listeners.unseen_note(unseen)}",
                            evidence=[*pool.evidence, "/gaps"])
    if pool.searched_size >= params.min_pool_size:
        return passed(POOL, f"{text}, at least the minimum {params.min_pool_size:,}",
                      observed=observed, expected=expected, evidence=list(pool.evidence))
    return failed(POOL, f"{text}, fewer than the minimum {params.min_pool_size:,}",
                  observed=observed, expected=expected, evidence=list(pool.evidence))


def _bounds_outcome(lookup: _sysctl.PoolLookup, params: EphemeralRangeParams) -> Outcome:
    if lookup.low is None or lookup.high is None:
        return not_reviewed(BOUNDS, lookup.reason or "the ephemeral port range could not be read",
                            evidence=[lookup.range_pointer] if lookup.range_pointer else [])
    low, high = lookup.low, lookup.high
    problems = []
    if low > high:
        problems.append(f"the low end {low} is above the high end {high}")
    if low < params.min_low:
        problems.append(f"the range starts at {low}, below {params.min_low} (privileged or reserved ports)")
    if high > params.max_high:
        problems.append(f"the range ends at {high}, above {params.max_high}")
    common = dict(
        observed={"low": low, "high": high},
        expected={"low_at_least": params.min_low, "high_at_most": params.max_high, "low_not_above_high": True},
        evidence=[lookup.range_pointer] if lookup.range_pointer else [],
    )
    if problems:
        return failed(BOUNDS, f"ephemeral range {low}-{high}: " + "; ".join(problems), **common)
    return passed(BOUNDS, f"ephemeral range {low}-{high} lies within {params.min_low}-{params.max_high}", **common)


def _listener_outcomes(snapshot: HostSnapshot, lookup: _sysctl.PoolLookup, params: EphemeralRangeParams) -> list[Outcome]:
    sockets = snapshot.facts.sockets
    if sockets is None or sockets.listeners is None:
        return [missing_fact(snapshot, "sockets", "listeners", subject=IN_RANGE, what="the list of listening sockets")]
    if lookup.low is None or lookup.high is None:
        return [not_reviewed(IN_RANGE, lookup.reason or "the ephemeral port range could not be read")]
    low, high = lookup.low, lookup.high
    if low > high:
        # No port lies inside a backwards range, so "no listener in it" would pass; but the kernel
        # refuses to set such a range, so the ports it really hands out are not known.
        return [not_reviewed(IN_RANGE, f"the ephemeral range {low}-{high} runs backwards, which the kernel refuses "
                                       "to set: the range it really uses is not known",
                             evidence=[lookup.range_pointer] if lookup.range_pointer else [])]
    inside = sorted(
        ((i, l) for i, l in enumerate(sockets.listeners) if l.protocol in params.protocols and low <= l.port <= high),
        key=lambda item: (item[1].port, item[1].protocol, item[1].address, item[0]),
    )
    pool = lookup.pool
    outcomes: list[Outcome] = []
    reserved_listeners = []
    # The same for every listener judged here: written once.
    in_range = f"{low}-{high}"
    reserved = _sysctl.format_ports(pool.reserved) if pool is not None else None
    expected = f"no listener on {in_range} unless its port is in ip_local_reserved_ports"
    pool_evidence = list(pool.evidence) if pool is not None else []
    for index, listener in inside:
        pointer = f"/facts/sockets/listeners/{index}"
        first = listener.processes[0] if listener.processes else None
        who = f"{first.name or '?'} pid {first.pid}" if first else (
            f"declared by {listener.declared_by}" if listener.declared_by else "owner unknown")
        detail = {
            "protocol": listener.protocol, "address": listener.address, "port": listener.port,
            "pid": first.pid if first else None, "process": first.name if first else None,
            "user": listener.user,
        }
        if pool is None:
            outcomes.append(not_reviewed(
                listener.subject,
                f"port {listener.port} is inside the ephemeral range {low}-{high}, but whether it is reserved "
                f"is unknown: {lookup.reason}",
                key=listener.identity, subject_detail=detail,
                evidence=[pointer, *([lookup.range_pointer] if lookup.range_pointer else [])],
            ))
        elif pool.is_surely_reserved(listener.port):
            reserved_listeners.append(f"{listener.protocol}/{listener.port}")
        elif pool.is_reserved(listener.port):
            outcomes.append(not_reviewed(
                listener.subject,
                f"port {listener.port} ({who}) is inside the ephemeral range {low}-{high} and in "
                f"{_sysctl.RESERVED_PORTS} as configured, but past the first {_sysctl.SURELY_READ_BYTES:,} bytes of "
                f"that list: a boot tool that writes it in pieces (procps' sysctl --system; systemd-sysctl writes "
                f"it whole) reserves only the first, and which tool boots this image is not recorded",
                key=listener.identity, subject_detail=detail, evidence=[pointer, *pool_evidence],
            ))
        else:
            outcomes.append(failed(
                listener.subject,
                f"{listener.protocol} port {listener.port} ({who}) is inside the ephemeral range {low}-{high} and "
                f"not in ip_local_reserved_ports: the kernel may give it to an outgoing connection, and the "
                f"service then fails to bind after a restart",
                key=listener.identity, subject_detail=detail,
                observed={"port": listener.port, "range": in_range, "reserved": reserved},
                expected=expected,
                evidence=[pointer, *pool_evidence],
            ))
    # Listeners the collector could not read would be silently absent from "no listener uses ...".
    outcomes += _listeners.collection_outcomes(snapshot, IN_RANGE)
    # An image's list holds only what its socket units declare: with none declared nothing was
    # judged (the listeners its services open are not known, and are not passed); with some, the
    # pass says it is about them.
    declared = _listeners.declared_only(snapshot)
    judged = [l for l in sockets.listeners if l.protocol in params.protocols]
    if not any(o.status != Status.NOT_APPLICABLE for o in outcomes) and (judged or not declared):
        note = f" (inside but reserved: {', '.join(reserved_listeners)})" if reserved_listeners else ""
        which = " declared by a socket unit" if declared else ""
        outcomes.insert(0, passed(
            IN_RANGE,
            f"no {_listeners.either(list(params.protocols))} listener{which} uses an unreserved port of the ephemeral "
            f"range {low}-{high}{note}",
            observed={"unreserved_listeners_in_range": 0, "reserved_listeners_in_range": reserved_listeners},
            expected=f"no listener on {low}-{high} unless its port is in ip_local_reserved_ports",
            evidence=["/facts/sockets/listeners", *(pool.evidence if pool else ())],
        ))
    return outcomes


# ------------------------------------------------------------------ Windows and macOS

def _range_outcomes(snapshot: HostSnapshot, port_range: _platforms.PortRange, params: EphemeralRangeParams,
                    system: str) -> list[Outcome]:
    """The pool and bounds of one range of a Windows or macOS host (no reserved-port list there)."""
    pool_subject = f"{POOL} ({port_range.label})" if port_range.protocol else POOL
    bounds_subject = f"{BOUNDS} ({port_range.label})" if port_range.protocol else BOUNDS
    lookup = port_range.lookup
    pool = lookup.pool
    if pool is None:
        reason = lookup.reason or f"the {port_range.label} could not be read"
        return [not_reviewed(pool_subject, reason), not_reviewed(bounds_subject, reason)]
    evidence = list(pool.evidence)
    inside = tuple((max(lo, pool.low), min(hi, pool.high)) for lo, hi in pool.reserved
                   if lo <= pool.high and hi >= pool.low)
    less = [f"{pool.reserved_in_range:,} excluded ({_sysctl.format_ports(inside)})"] if inside else []
    if pool.held:
        shown = ",".join(map(str, pool.held[:8])) + (",..." if len(pool.held) > 8 else "")
        less.append(f"{len(pool.held):,} held by TCP listeners: {shown}")
    # A TCP range loses the ports TCP listeners hold: with them not read, a pass is not known (a UDP
    # range keeps its size, and a failure stands).
    unseen = _listeners.unseen_listeners(snapshot) if port_range.protocol in (None, "tcp") else None
    unknown = (f"; the listeners are not all known, so ports {'other ' if pool.held else ''}TCP listeners hold "
               "inside the range are not subtracted" if not pool.held_complete and port_range.protocol in (None, "tcp")
               and unseen is None else "")
    text = (f"the {system} {port_range.label} {pool.low}-{pool.high} ({port_range.source}) has {pool.size:,} ports"
            + (f" ({pool.span:,} less {' and '.join(less)}{unknown})" if less else f" ({unknown[2:]})" if unknown
               else ""))
    common = dict(observed={"low": pool.low, "high": pool.high, "pool_size": pool.size, "source": port_range.source,
                            **({"excluded": _sysctl.format_ports(pool.reserved)} if pool.reserved else {}),
                            **({"held_by_listeners": len(pool.held)} if pool.held else {})},
                  expected={"min_pool_size": params.min_pool_size}, evidence=evidence)
    if pool.size >= params.min_pool_size and unseen is not None:
        outcomes = [not_reviewed(pool_subject, f"{text}, at least the minimum {params.min_pool_size:,}"
                                               f"{_listeners.unseen_note(unseen)}", evidence=[*evidence, "/gaps"])]
    elif pool.size >= params.min_pool_size:
        outcomes = [passed(pool_subject, f"{text}, at least the minimum {params.min_pool_size:,}", **common)]
    else:
        outcomes = [failed(pool_subject, f"{text}, fewer than the minimum {params.min_pool_size:,}: outgoing "
                                         f"connections run out of ports sooner", **common)]
    problems = []
    if pool.low < params.min_low:
        problems.append(f"the range starts at {pool.low}, below {params.min_low}")
    if pool.high > params.max_high:
        problems.append(f"the range ends at {pool.high}, above {params.max_high}")
    if pool.low > pool.high:
        problems.append(f"the low end {pool.low} is above the high end {pool.high}")
    bounds = dict(observed={"low": pool.low, "high": pool.high},
                  expected={"low_at_least": params.min_low, "high_at_most": params.max_high}, evidence=evidence)
    if problems:
        outcomes.append(failed(bounds_subject, f"{port_range.label} {pool.low}-{pool.high}: " + "; ".join(problems),
                               **bounds))
    else:
        outcomes.append(passed(bounds_subject, f"{port_range.label} {pool.low}-{pool.high} lies within "
                                               f"{params.min_low}-{params.max_high}", **bounds))
    return outcomes


def _max_user_port_outcome(snapshot: HostSnapshot, params: EphemeralRangeParams) -> Outcome | None:
    """Windows' legacy MaxUserPort (before Vista the range was 1025-MaxUserPort), judged when set."""
    subject = "legacy MaxUserPort"
    legacy = _platforms.max_user_port(snapshot)
    if legacy.value is None:
        if legacy.reason is not None:
            # Set but malformed, or the registry was not read: a MaxUserPort of 5000 may be there.
            # Left out, an unread registry passed a policy without net.time_wait (the only other
            # finding that reads the registry) as if MaxUserPort were not set.
            return not_reviewed(subject, legacy.reason, evidence=[legacy.pointer] if legacy.pointer else [])
        return None  # not set: the netsh ranges alone decide
    pool = _platforms.max_user_port_pool(snapshot, legacy.value, legacy.pointer)
    low, high, size = pool.low, pool.high, pool.size
    common = dict(observed={"MaxUserPort": high, "legacy_range": f"{low}-{high}", "legacy_pool_size": size,
                            **({"held_by_listeners": len(pool.held)} if pool.held else {})},
                  expected={"min_pool_size": params.min_pool_size, "low_at_least": params.min_low,
                            "high_at_most": params.max_high},
                  evidence=list(pool.evidence))
    held = (f": {pool.span:,} less {len(pool.held):,} held by TCP listeners: "
            + ",".join(map(str, pool.held[:8])) + (",..." if len(pool.held) > 8 else "") if pool.held else "")
    unseen = _listeners.unseen_listeners(snapshot)
    if not pool.held_complete and unseen is None:
        held += (f"; the listeners are not all known, so ports {'other ' if pool.held else ''}TCP listeners hold "
                 "inside the range are not subtracted")
    text = (f"MaxUserPort = {high} is set in Tcpip\\Parameters: where Windows still honours it, outgoing connections "
            f"take ports {low}-{high} ({size:,} ports{held})")
    # The range it sets is held to every bound a dynamic port range is: judged on its size and
    # start alone, 1025-65534 passed a max_high of 60000 that the same netsh range fails.
    problems = []
    if size < params.min_pool_size:
        problems.append(f"fewer than the minimum {params.min_pool_size:,}")
    if low < params.min_low:
        problems.append(f"starting below {params.min_low}")
    if high > params.max_high:
        problems.append(f"ending above {params.max_high}")
    if problems:
        return failed(subject, f"{text}, " + "; ".join(problems), **common)
    summary = f"{text}, at least the minimum {params.min_pool_size:,} and within {params.min_low}-{params.max_high}"
    if unseen is not None:
        # the ports TCP listeners hold in 1025-MaxUserPort (RDP's 3389) are not known: a pass is not
        return not_reviewed(subject, f"{summary}{_listeners.unseen_note(unseen)}", evidence=[*pool.evidence, "/gaps"])
    return passed(subject, summary, **common)


_DUAL_STACK = " (an IPv6 socket that also takes IPv4 holds the port in IPv4 too)"


def _other_os_listeners(snapshot: HostSnapshot, ranges: list[_platforms.PortRange], params: EphemeralRangeParams,
                        system: str) -> list[Outcome]:
    sockets = snapshot.facts.sockets
    if sockets is None or sockets.listeners is None:
        return [missing_fact(snapshot, "sockets", "listeners", subject=IN_RANGE, what="the list of listening sockets")]
    outcomes: list[Outcome] = []
    excluded: list[str] = []  # inside a range but excluded from it: never handed out, so no collision
    judged = sorted(((i, l) for i, l in enumerate(sockets.listeners) if l.protocol in params.protocols),
                    key=lambda item: (item[1].port, item[1].protocol, item[1].address, item[0]))
    for index, listener in judged:
        pointer = f"/facts/sockets/listeners/{index}"
        serving = [r for r in ranges if any(r.serves(listener.protocol, f) for f in _sysctl.port_families(listener))]
        first = listener.processes[0] if listener.processes else None
        who = f"{first.name or '?'} pid {first.pid}" if first else "owner unknown"
        detail = {"protocol": listener.protocol, "address": listener.address, "port": listener.port,
                  "pid": first.pid if first else None, "process": first.name if first else None}
        if not serving:
            outcomes.append(not_reviewed(listener.subject, f"no {listener.protocol}/{listener.family} dynamic port "
                                                           f"range was collected, so whether port {listener.port} is "
                                                           f"inside it is unknown",
                                         key=listener.identity, subject_detail=detail, evidence=[pointer]))
            continue
        # One finding per listener: a collision with any range it holds a port in fails it; else a
        # range it may collide with (unknown bounds or exclusions) leaves it not reviewed.
        failures: list[Outcome] = []
        unknown: list[Outcome] = []
        for port_range in serving:
            lookup = port_range.lookup
            if lookup.low is None or lookup.high is None:
                unknown.append(not_reviewed(listener.subject, f"whether port {listener.port} is inside the "
                                                              f"{port_range.label} is unknown: {lookup.reason}",
                                            key=listener.identity, subject_detail=detail, evidence=[pointer]))
            elif not lookup.low <= listener.port <= lookup.high:
                continue
            elif lookup.pool is None:
                unknown.append(not_reviewed(listener.subject, f"port {listener.port} is inside the "
                                                              f"{port_range.label} {lookup.low}-{lookup.high}, but "
                                                              f"whether it is excluded from it is unknown: "
                                                              f"{lookup.reason}",
                                            key=listener.identity, subject_detail=detail,
                                            evidence=[pointer, *([lookup.range_pointer] if lookup.range_pointer
                                                                 else [])]))
            elif lookup.pool.is_reserved(listener.port):
                excluded.append(f"{listener.protocol}/{port_range.family or listener.family}/{listener.port}")
            else:
                failures.append(failed(
                    listener.subject,
                    f"{listener.protocol} port {listener.port} ({who}) is inside the {system} {port_range.label} "
                    f"{lookup.low}-{lookup.high} ({port_range.source})"
                    f"{' and not excluded from it' if lookup.pool.reserved else ''}"
                    f"{_DUAL_STACK if port_range.family and port_range.family != listener.family else ''}: "
                    f"{system} may give it to an outgoing connection, and the service then fails to bind after a "
                    "restart",
                    key=listener.identity, subject_detail=detail,
                    observed={"port": listener.port, "range": f"{lookup.low}-{lookup.high}", "source": port_range.source},
                    expected=f"no listener on {lookup.low}-{lookup.high}",
                    evidence=[pointer, *([lookup.range_pointer] if lookup.range_pointer else [])],
                ))
        outcomes += (failures or unknown)[:1]
    outcomes += _listeners.collection_outcomes(snapshot, IN_RANGE)
    if not any(o.status != Status.NOT_APPLICABLE for o in outcomes):
        spans = ", ".join(f"{r.label} {r.lookup.low}-{r.lookup.high}" for r in ranges if r.lookup.low is not None)
        note = f" (inside but excluded from it: {', '.join(excluded)})" if excluded else ""
        outcomes.insert(0, passed(IN_RANGE, f"no {_listeners.either(list(params.protocols))} listener uses a port of "
                                            f"the {spans or 'dynamic port ranges'}{note}",
                                  observed={"listeners_in_range": 0, "excluded_listeners_in_range": excluded},
                                  expected="no listener in a dynamic port range, unless its port is excluded from it",
                                  evidence=["/facts/sockets/listeners"]))
    return outcomes


def _other_os(snapshot: HostSnapshot, params: EphemeralRangeParams) -> list[Outcome]:
    system = _platforms.os_name(snapshot)
    ranges = _platforms.port_ranges(snapshot)
    outcomes = [o for r in ranges for o in _range_outcomes(snapshot, r, params, system)]
    legacy = _max_user_port_outcome(snapshot, params) if _platforms.platform_of(snapshot) == "windows" else None
    if legacy is not None:
        outcomes.append(legacy)
    if params.forbid_listeners_in_range:
        outcomes += _other_os_listeners(snapshot, ranges, params, system)
    return outcomes


@check(
    name="net.ephemeral_port_range",
    title="Ephemeral port pool is large enough, sanely bounded and free of services",
    version="1.15.0",
    needs=["sysctl", "sockets"],
    platforms=["linux", "windows", "macos"],
    uses=["netns"],
    params=EphemeralRangeParams,
    severity=Severity.MEDIUM,
    controls=["SC-5", "SC-6", "CM-6"],
    rationale="""
Every outgoing TCP connection takes a local port from net.ipv4.ip_local_port_range and, after it
closes, holds it in TIME_WAIT for 60 seconds or more.  A small pool runs out under load and new
connections fail with EADDRNOTAVAIL: a denial of service the host inflicts on itself (SC-5) and a shared
resource that one busy client can take from every other (SC-6).  A range that starts below 1024
hands privileged ports to ordinary connections.  A service listening inside the range collides with
the kernel's choice of ports: if an outgoing connection holds its port when it restarts, the service
cannot bind.  The range and the reserved list are configuration settings (CM-6).
""",
    remediation=r"""
On Linux:

Set the range in /etc/sysctl.d/ (e.g. net.ipv4.ip_local_port_range = 32768 60999, or wider such as
1024 65535 on hosts that open many outgoing connections) and apply it with sysctl --system.  Move a
service out of the range, or reserve its port: net.ipv4.ip_local_reserved_ports = 8080,9000-9010
(reserved ports are still usable by services that bind them explicitly, but are never chosen
automatically).

On Windows:

Set each failing dynamic port range with netsh in an elevated prompt, one per protocol and IP
version: `netsh int ipv4 set dynamicport tcp start=49152 num=16384`, and the same with `ipv6` or
`udp` (netsh refuses a start below 1025 or fewer than 255 ports); check it with `netsh int ipv4
show dynamicport tcp`.  Move a service out of the range, or exclude its port from it: `netsh int
ipv4 add excludedportrange protocol=tcp startport=8080 numberofports=1` (refused while a program
holds the port; an excluded port is never chosen automatically, and `netsh int ipv4 show
excludedportrange protocol=tcp` lists the exclusions, the blocks Hyper-V, WSL and Docker reserve
among them, which the pool loses).  Where the legacy MaxUserPort value is set, delete it (`reg
delete HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters /v MaxUserPort /f`) or set it
within 5000-65534 with `reg add` (`/v MaxUserPort /t REG_DWORD /d 65534 /f`), then restart the
computer.

On macOS:

Set the range with sysctl: `sudo sysctl -w net.inet.ip.portrange.first=49152` and `sudo sysctl -w
net.inet.ip.portrange.last=65535` (or a lower first port on hosts that open many outgoing
connections), and keep it across reboots with the same `net.inet.ip.portrange.first=N`
and `net.inet.ip.portrange.last=M` lines in /etc/sysctl.conf.  Move a service out of the range.
""",
    notes="""
Pool size = high - low + 1 minus the ports of ip_local_reserved_ports inside the range, and minus
the other ports of the range a TCP (or MPTCP) listener holds: __inet_hash_connect() skips every port
a bind() took, whatever address the listener is on (UDP, SCTP and DCCP keep ports of their own).
Where an image's list holds only what its socket units declare, the message says that the ports
other listeners hold are not subtracted; where a running host's listeners (or an image's socket
units) could not be read, a pool that meets min_pool_size is not_reviewed, naming why (the pool may
be smaller), and one that does not still fails (on every platform's TCP ranges and the legacy MaxUserPort range).  What is
judged against min_pool_size is the ports one connect() searches, which is one fewer when the range
holds an odd number of ports (above one): the kernel walks high - low + 1 rounded down to even,
from low or from low + 1 (__inet_hash_connect, Linux 4.6 and later), so 40000-40002 gives two
connections, not three, before EADDRNOTAVAIL.  Three kinds
of finding: the pool (size against min_pool_size), the bounds (low <= high, low >= min_low,
high <= max_high), and one failure per listener on an unreserved port inside the range (or one pass
when there is none).  A backwards range (low above high) fails the bounds, but the kernel refuses
to set one and keeps the range it had, so the pool and listener findings (and net.time_wait's
headroom and share) are not_reviewed, naming it.  The same range serves IPv4 and IPv6 and both TCP and UDP.  A sysctl that
could not be read makes the affected findings not_reviewed, never pass; when only the reserved list
is missing, a range that is too small even before reservations still fails.  Every listening
transport (tcp, sctp, dccp, mptcp) is judged by default; UDP and UDP-Lite listeners only when
`protocols` includes them, since a client socket sending without connect() holds an ephemeral port
too.

Windows keeps one dynamic port range per protocol and IP family (netsh int ipv4|ipv6 show
dynamicport tcp|udp; the default 49152-65535 is 16,384 ports): each range (tcp/ipv4, tcp/ipv6,
udp/ipv4, udp/ipv6) gets its pool and bounds findings, and a listener is judged against the range of
its own protocol and family, and an IPv6 wildcard (dual-stack unless IPV6_V6ONLY is known set) or
IPv4-mapped listener against the IPv4 range as well, since it holds the port in IPv4 too.  Ports excluded from a range (netsh int ipv4|ipv6 show
excludedportrange protocol=tcp|udp: Hyper-V, WSL and Docker reserve blocks of them inside it) are
never handed out: they are subtracted from its pool, and a listener on one does not collide; when
the exclusions could not be read, the pool is not reviewed and a listener inside the range is not
reviewed.  A port a TCP listener holds inside a TCP range is not handed out either (Windows'
implicit bind skips a port in use; so does macOS's in_pcbbind, which looks the port up on every
address): since 1.9.0 a tcp/ipv4 range loses the ports of IPv4 listeners and of dual-stack or
IPv4-mapped IPv6 ones, a tcp/ipv6 range those of IPv6 listeners (every Windows host has RPC
listeners on 49664 and up, inside the default range), macOS's one range the ports of whichever
family's listeners hold more, and the legacy range 1025-MaxUserPort those of either family (RDP's
3389).  UDP ranges keep their size, as Linux's pool does (a UDP client holding an ephemeral port
looks exactly like a service).  The legacy MaxUserPort registry value,
when set, is judged as the range 1025-MaxUserPort it meant before Windows Vista (its size against
min_pool_size, its ends against min_low and max_high); a value outside
its documented 5000-65534 is not_reviewed (what the stack then uses is not documented), and so is
it when the registry (Tcpip\\Parameters) was not read.  macOS uses
net.inet.ip.portrange.first-last (default 49152-65535) for every protocol and family; first above
last is the same ports counted down (BSD's port allocation), so the range is last-first; an end
below 1024 is not_reviewed, since the kernel clamps both to 1024-65535 and no running macOS holds one.

Each network namespace has its own values (a new namespace starts from the kernel defaults, not
the host's sysctl.d): every other namespace's settings are judged on findings of their own, named
`... in netns N`.

Not judged: the IP_LOCAL_PORT_RANGE socket option (Linux 6.3 and later), with which a program
narrows the range for one socket of its own.  The kernel uses it only inside the namespace's range,
so it can shrink a socket's pool but never widen it; it is the program's setting, held on a socket
lbaudit cannot see (sock_diag does not report it), so the pool judged is the most any socket gets.

Configured values are read as the kernel reads a /proc/sys write: `0x` hex and `0`-prefixed octal
(`010000` is 4096), any white space between low and high (numbers after the second are not read,
and one number alone moves only the low end: the boot leaves the high end at the kernel default
60999, unless a write before it set the key: the kernel command line, or an earlier line where
`sysctl --system` applies the files (it writes every assignment in order); the range at boot then
depends on whether the kernel took that write, and the findings are not_reviewed, naming both), and a reserved-port list with no white
space inside it (`8080, 9000` is refused whole: EINVAL) and at most a trailing comma; a value the
kernel refuses leaves the findings that need it not_reviewed, and so does a range whose numbers do
not all lie within the first 1,023 bytes of the value (the kernel reads at most PAGE_SIZE - 1 bytes
of a write, and a boot tool may write a long value in pieces: `1024`, 5,000 spaces and `65535` sets
the low end alone).  A configured reserved-port list longer than that is reserved whole by
systemd-sysctl but only up to its first page by procps' `sysctl --system`: the pool counts every port
of it, and a listener on a port the list reserves only past its first 1,023 bytes is not_reviewed.

A running range that starts at port 0 is not a value any kernel holds (nor prints): its findings are
not_reviewed, naming it (judged as read, port 0 counted in the pool).

An offline image is judged on the range its configuration sets only when the kernel takes it at
boot: a low end below 1, or below ip_unprivileged_port_start at the moment it is written (1024,
or the value set before it if the kernel took that), is refused (EINVAL) and the kernel keeps its own default, so the pool,
bounds and listener findings are not_reviewed, naming the value and the file; so are they (and
net.time_wait's headroom and share) where no file sets ip_unprivileged_port_start and its boot value
is not known (the image's kernel command line may set it, or its boot loader files could not all be
read): whether the kernel takes the range is then not known (1024 65535 passed where a command
line start of 2000 makes the kernel refuse it and keep 32768-60999).  Where the boot
writes both keys and one of them more than once with different values (the kernel command line,
then a file; or two lines, which `sysctl --system` writes in turn), which writes the kernel took
is not replayed: the findings are not_reviewed, naming the two writes; an image's boot entries
count as such writes (each entry's kernel command line, since which one boots is not known), and so
does an entry's range under a file's one-number range, which keeps that entry's high end (40000
over "30000 40500" is 40000-40500, not 40000-60999).  An image in which nothing
applies its sysctl configuration at boot (no systemd-sysctl, and no procps sysctl that an init
script an init starts runs: a container image, whose containers start in a network namespace that
holds the kernel's defaults and what the runtime sets) has no configured range: the pool, bounds and
listener findings are not_reviewed, naming what is missing.
Since 1.11.0 a backwards range makes the pool and listener findings not_reviewed (the bounds still
fail), a /proc value read cut short (no closing line feed: an empty ip_local_reserved_ports read as
"nothing reserved") is a gap, and a live snapshot without running sysctl values is not_reviewed
rather than judged on its sysctl.d configuration.
Since 1.11.0 a listener's owner is named as net.bind_addresses names it: a renamed process shows
'? (comm NAME, unproven)'.
Since 1.12.0 an image in which nothing applies sysctl.d at boot has no configured range (above), and
namespace discovery records a gap for every tun device it could not ask and asks a holder whose main
thread ended through a live thread (as net.bind_addresses 1.22.0).
Since 1.13.0 a Windows bundle's table of excluded port ranges (netsh) must end with the footnote netsh
prints in every language: a table cut at a line end lost the exclusions after the cut and passed the
pool with ports it does not have; a bundle output of more than 400,000 lines is a gap.
Since 1.14.0 a TCP pool (Linux, Windows, macOS, and Windows' legacy MaxUserPort range) that meets
min_pool_size while the listeners were not read is not_reviewed: the ports listeners hold in the
range are unknown, so the pool may be smaller (40000-40003 with a listener on 40001 has three); a
failure stands, and an image's listeners declared by socket units are judged as before.
Since 1.14.0 the remediation has a part for each platform it judges (On Linux: / On Windows: / On
macOS:), and every report shows the part of the platform its evidence records; the judging is unchanged.
Since 1.15.0 an image's ip_unprivileged_port_start that the kernel command line may set is not
assumed to be 1024 (not_reviewed); a value written past the 4,095 bytes the kernel reads of one
write, or a reserved list longer than the page procps writes, is not reviewed; a boot entry's
command line and the sysctl files are replayed in the order they are written; long values are
read in linear time, and messages quote at most 200 characters of a value.
""",
)
def net_ephemeral_port_range(snapshot: HostSnapshot, params: EphemeralRangeParams) -> list[Outcome]:
    if _platforms.platform_of(snapshot) != "linux":
        return _other_os(snapshot, params)
    # The range, the reserved ports and the listeners are each network namespace's own.
    return _namespaces.judge_each(snapshot, lambda each: _judge(each, params))


def _judge(snapshot: HostSnapshot, params: EphemeralRangeParams) -> list[Outcome]:
    lookup = _sysctl.ephemeral_pool(snapshot)
    outcomes = [_pool_outcome(lookup, params, _listeners.unseen_listeners(snapshot)), _bounds_outcome(lookup, params)]
    if params.forbid_listeners_in_range:
        outcomes += _listener_outcomes(snapshot, lookup, params)
    return outcomes
