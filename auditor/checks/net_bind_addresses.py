"""``net.bind_addresses``: every listening socket binds only to addresses the policy allows.

Deny by default, allow by exception: the default ``allow`` list says where any listener may bind;
ordered ``exceptions`` give other lists to listeners they match (first match decides).  What a
listener accepts is computed by :mod:`auditor.domain.netaddr` (``::`` with v6only unknown is dual-stack).

A listener whose owner could not be identified is never silently allowed: each exception that might
match it is considered both ways (tri-state matching, in first-match order); when every rule that
could apply gives the same verdict, that is the verdict, otherwise the listener is ``not_reviewed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from auditor.checks import _listeners
from auditor.domain import netaddr
from auditor.model.base import StrictModel
from auditor.model.check import CheckParams, Outcome, check, failed, missing_fact, not_applicable, not_reviewed, passed
from auditor.model.facts import PROTOCOLS, HostSnapshot, Listener, Protocol
from auditor.model.result import Severity

_PORT_RANGE = re.compile(r"^\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*$")
# At most 9 digits: a list index, and int() of a 5000-digit one would raise.


def _valid_entry(entry: str) -> str:
    netaddr.parse_entry(entry)  # raises ValueError naming the entry
    return entry


AddressEntry = Annotated[str, AfterValidator(_valid_entry)]


def _port_span(spec: int | str) -> tuple[int, int]:
    if isinstance(spec, bool):
        raise ValueError(f"{spec!r} is not a port")
    if isinstance(spec, int):
        low = high = spec
    else:
        text = spec.strip()
        match = _PORT_RANGE.match(text)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
        elif text.isascii() and text.isdigit() and len(text) <= 5:
            low = high = int(text)
        else:
            raise ValueError(f"{spec!r} is not a port or a range such as \"8000-8099\"")
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        raise ValueError(f"{spec!r}: ports run from 0 to 65535")
    if low > high:
        raise ValueError(f"{spec!r}: the range runs backwards")
    return low, high


class ListenerMatch(StrictModel):
    """Which listeners an exception is about.  Every field is optional; at least one is required,
    and a listener matches when all the given fields match."""

    process: str | None = Field(None, description="Process name (comm), shell-style glob; matches if any process holding the socket matches.")
    exe: str | None = Field(None, description="Absolute path of the executable, shell-style glob; matches if any process holding the socket matches.")
    user: str | None = Field(
        None,
        description="Socket owner as the kernel reports it (user name or numeric uid), shell-style glob; "
        "when the kernel owner is unknown, the users of the processes holding the socket.",
    )
    ports: list[int | str] | None = Field(None, description='Ports and ranges, e.g. [443, "8000-8099"].')
    protocol: Protocol | None = Field(None, description="tcp, udp, udplite, sctp, dccp or mptcp.")

    @field_validator("ports")
    @classmethod
    def _ports_valid(cls, ports: list[int | str] | None) -> list[int | str] | None:
        if ports is not None:
            if not ports:
                raise ValueError("ports is empty; leave it out to match every port")
            for spec in ports:
                _port_span(spec)
        return ports

    @model_validator(mode="after")
    def _not_empty(self) -> "ListenerMatch":
        if all(getattr(self, name) is None for name in ("process", "exe", "user", "ports", "protocol")):
            raise ValueError("an exception must match on at least one of process, exe, user, ports, protocol")
        return self


class BindException(StrictModel):
    match: ListenerMatch = Field(description="Which listeners this exception is about.")
    allow: list[AddressEntry] = Field(
        description="Where matching listeners may bind: loopback, private, link-local, any, addresses or CIDRs. "
        "An empty list means a matching listener is never allowed."
    )
    reason: str = Field(min_length=1, description="Why the exception exists (shown in findings).")


class BindAddressParams(CheckParams):
    allow: list[AddressEntry] = Field(
        default_factory=lambda: ["loopback"],
        description="Where any listener may bind unless an exception matches: loopback (127.0.0.0/8, ::1), "
        "private (RFC 1918, fc00::/7), link-local (169.254.0.0/16, fe80::/10), any (0.0.0.0/0, ::/0), "
        "addresses or CIDRs.  A listener passes only if every address it accepts is inside.",
    )
    exceptions: list[BindException] = Field(
        default_factory=list,
        description="Ordered exceptions; the first whose match fits a listener decides instead of allow.",
    )
    protocols: list[Protocol] = Field(
        default_factory=lambda: list(PROTOCOLS),
        min_length=1,
        description="Which listeners to judge: tcp, sctp, dccp, mptcp (listening sockets), udp, udplite (bound, "
        "unconnected sockets).  Every one by default; listeners of a protocol left out are listed in one "
        "not_applicable finding, never dropped silently.",
    )


# ------------------------------------------------------------------ matching

Tri = bool | None  # True, False, or None = cannot tell (owner unknown)


def _any_of(pattern: str, values: list[str | None], complete: bool = True) -> Tri:
    """True if a known value matches; False if every value is known and none does; else unknown.
    ``complete`` is False when more processes than those seen may hold the socket."""
    if any(v is not None and fnmatchcase(v, pattern) for v in values):
        return True
    if complete and values and all(v is not None for v in values):
        return False
    return None


def _user_matches(pattern: str, listener: Listener, complete: bool) -> Tri:
    if listener.user is not None:
        return fnmatchcase(listener.user, pattern) or (listener.uid is not None and fnmatchcase(str(listener.uid), pattern))
    if listener.uid is not None:
        if fnmatchcase(str(listener.uid), pattern):
            return True
        return False if pattern.isdigit() else None  # a name pattern, but the uid's name is unknown
    return _any_of(pattern, [p.user for p in listener.processes], complete)


def _matches(match: ListenerMatch, listener: Listener, complete: bool = True) -> Tri:
    results: list[Tri] = []
    if match.protocol is not None:
        results.append(listener.protocol == match.protocol)
    if match.ports is not None:
        results.append(any(lo <= listener.port <= hi for lo, hi in map(_port_span, match.ports)))
    if match.process is not None:
        results.append(_any_of(match.process, [p.name for p in listener.processes], complete))
    if match.exe is not None:
        results.append(_any_of(match.exe, [p.exe for p in listener.processes], complete))
    if match.user is not None:
        results.append(_user_matches(match.user, listener, complete))
    if any(r is False for r in results):
        return False
    return True if all(r is True for r in results) else None


@dataclass(frozen=True)
class _Rule:
    label: str  # "the default allow list" / "exception 2"
    allowed: netaddr.AddressSet
    reason: str | None = None

    def expected(self) -> dict[str, object]:
        return {
            "rule": self.label,
            "allow": list(self.allowed.entries),
            "networks": [str(n) for n in self.allowed.networks],
            "reason": self.reason,
        }

    def phrase(self) -> str:
        who = self.label if self.reason is None else f"{self.label} ({self.reason})"
        return f"{who} allows {self.allowed.describe()}"


def _candidate_rules(
    listener: Listener, default: _Rule, exceptions: list[tuple[BindException, _Rule]], complete: bool = True
) -> list[_Rule]:
    """Every rule that could decide for this listener, in first-match order.  An exception that
    might match (unknown owner) is a candidate, and so is everything after it."""
    candidates: list[_Rule] = []
    for exception, rule in exceptions:
        verdict = _matches(exception.match, listener, complete)
        if verdict is False:
            continue
        candidates.append(rule)
        if verdict is True:
            return candidates
    candidates.append(default)
    return candidates


# ------------------------------------------------------------------ outcomes

def _owner(listener: Listener) -> str:
    if listener.processes:
        return ", ".join(f"{p.name or '?'} pid {p.pid}" for p in listener.processes)
    if listener.declared_by:
        return f"declared by {listener.declared_by}"
    return "owner unknown"


def _owner_reason(listener: Listener, detail_gaps: list[str], holder_gaps: list[str]) -> str:
    if listener.owner_reason:
        return listener.owner_reason
    if listener.processes and (detail_gaps or holder_gaps):
        parts = ["the processes seen holding it may not be all of them: " + "; ".join(holder_gaps)] if holder_gaps else []
        parts += ["details of the owning process could not be read: " + "; ".join(detail_gaps)] if detail_gaps else []
        return "; ".join(parts)
    if listener.declared_by:
        return f"declared by {listener.declared_by}; the process that will own it is not known"
    return "no reason recorded"


def _detail(listener: Listener) -> dict[str, object]:
    first = listener.processes[0] if listener.processes else None
    return {
        "protocol": listener.protocol,
        "family": listener.family,
        "address": listener.address,
        "port": listener.port,
        "pid": first.pid if first else None,
        "process": first.name if first else None,
        "exe": first.exe if first else None,
        "user": listener.user if listener.user is not None else (first.user if first else None),
        "uid": listener.uid,
        "pids": [p.pid for p in listener.processes],
        "interface": listener.interface,
        "declared_by": listener.declared_by,
    }


@lru_cache(maxsize=4096)
def _network_texts(address: str, v6only: bool | None) -> tuple[str, ...]:
    # Asked once per listener, about few distinct addresses: ipaddress's str() is slow.
    return tuple(str(n) for n in netaddr.accepted_networks(address, v6only))


def _observed(listener: Listener) -> dict[str, object]:
    return {
        "address": listener.address,
        "port": listener.port,
        "protocol": listener.protocol,
        "v6only": listener.v6only,
        "wildcard": netaddr.is_wildcard(listener.address),
        "accepts": netaddr.describe_accepts(listener.address, listener.v6only),
        "accepts_networks": list(_network_texts(listener.address, listener.v6only)),
        "interface": listener.interface,
        "owner": _owner(listener),
    }


def _judge(
    listener: Listener, pointer: str, detail_gaps: list[str], default: _Rule, exceptions: list[tuple[BindException, _Rule]],
    holder_gaps: list[str],
) -> Outcome:
    candidates = _candidate_rules(listener, default, exceptions, complete=not holder_gaps)
    verdicts = {netaddr.is_allowed(listener.address, listener.v6only, rule.allowed) for rule in candidates}
    accepts = netaddr.describe_accepts(listener.address, listener.v6only)
    common = dict(
        key=listener.identity,
        subject_detail=_detail(listener),
        observed=_observed(listener),
        expected=[rule.expected() for rule in candidates],
        evidence=[pointer],
    )
    head = f"{listener.protocol} {listener.endpoint} ({_owner(listener)}) accepts {accepts}"
    if len(verdicts) > 1:
        allowing = [r.label for r in candidates if netaddr.is_allowed(listener.address, listener.v6only, r.allowed)]
        denying = [r.label for r in candidates if r.label not in allowing]
        reason = (
            f"owner not identified ({_owner_reason(listener, detail_gaps, holder_gaps)}), and the rules that could apply disagree: "
            f"{' and '.join(allowing)} would allow it, {' and '.join(denying)} would not"
        )
        return not_reviewed(listener.subject, reason, message=f"{head}; not reviewed: {reason}", **common)
    allowed = verdicts.pop()
    verdict = "allowed" if allowed else "not allowed"
    if len(candidates) == 1:
        message = f"{head}, which is {verdict}: {candidates[0].phrase()}"
    else:
        message = (
            f"{head}, which is {verdict} by every rule that could apply (owner not identified: "
            f"{_owner_reason(listener, detail_gaps, holder_gaps)}): " + "; ".join(r.phrase() for r in candidates)
        )
    return (passed if allowed else failed)(listener.subject, message, **common)


@check(
    name="net.bind_addresses",
    title="Listening sockets bind only to allowed addresses",
    version="1.2.0",
    needs=["sockets"],
    platforms=["linux", "windows", "macos"],
    params=BindAddressParams,
    severity=Severity.HIGH,
    controls=["CM-7", "SC-7", "SC-7(5)", "CM-6"],
    rationale="""
A service bound to a wildcard address (0.0.0.0, or :: which on Linux also accepts IPv4 unless
IPV6_V6ONLY is set) is reachable on every interface the host has or will have, including ones added
after the firewall was written.  Binding each service to the addresses it needs keeps its exposure
to what was decided (least functionality, CM-7), keeps the host boundary where the policy puts it
(SC-7), and makes network exposure deny-by-default, allow-by-exception (SC-7(5)) as a configuration
setting that can be audited (CM-6).
""",
    remediation="""
Configure the service to bind to a specific address (e.g. listen_addresses = 'localhost' for
PostgreSQL, bind 127.0.0.1 ::1 for Redis, ListenAddress for sshd, ListenStream=127.0.0.1:PORT for a
systemd socket unit).  For a :: socket that must not accept IPv4, set IPV6_V6ONLY (or
net.ipv6.bindv6only=1 for sockets that do not set it).  If the exposure is intended, add an
exception to the policy that matches the service (process, exe, user, ports, protocol) with the
allowed addresses and the reason, so that the decision is written down.
""",
    notes="""
What a listener accepts: 0.0.0.0 = all IPv4 addresses; :: with v6only=0 = all IPv6 and all IPv4
addresses (dual-stack); :: with v6only=1 = all IPv6 addresses; :: with v6only unknown is judged as
dual-stack (fail closed); an IPv4-mapped ::ffff:a.b.c.d is judged as the IPv4 address a.b.c.d and
::ffff:0.0.0.0 as the IPv4 wildcard.  A listener passes only if every address it accepts is inside
the union of the allowed sets, so 0.0.0.0 is allowed only by `any` or 0.0.0.0/0.  SO_BINDTODEVICE
(shown as `interface`) is reported but does not narrow the verdict.

Every transport that can listen is judged by default: tcp, sctp, dccp, mptcp (listening) and udp,
udplite (bound, unconnected).  An SCTP endpoint bound to several addresses is one listener per
address.  An MPTCP listener is judged once, as mptcp (not also as its TCP subflow), so an
exception for protocol tcp does not reach it.  Listeners of protocols a policy's `protocols` leaves
out get one not_applicable finding that names them.  A transport the kernel does not have is a
not_applicable collection finding; one it has but that could not be read makes the rule not_reviewed.

Exceptions are tried in order and the first that matches decides.  process and exe need the process
that holds the socket, which an unprivileged run may not see; user uses the socket owner the kernel
reports, which is visible without privileges.  When the owner is unknown, or the processes seen
holding the socket may not be all of them (some /proc/<pid>/fd could not be read), every exception
that might match is considered: if all candidate rules agree, that is the verdict, otherwise the listener is
not_reviewed with the reason the owner could not be identified.  Listeners declared by unit files
(offline --root mode) are judged the same way.  One finding per listener; a pass when none is found.

Windows and macOS listeners are judged by the same rules, read from each tool's notation: netstat
-ano's 0.0.0.0:P and [::]:P (TCP rows whose foreign address is 0.0.0.0:0 or [::]:0, and every UDP
row), lsof's *:P (0.0.0.0 on an IPv4 socket, :: on an IPv6 one) and [::1]:P; owners are the PIDs the
tool reports, named from tasklist or lsof.  Whether an IPv6 wildcard also accepts IPv4 is not
captured there, so :: is judged as dual-stack (fail closed).
""",
)
def net_bind_addresses(snapshot: HostSnapshot, params: BindAddressParams) -> list[Outcome]:
    sockets = snapshot.facts.sockets
    if sockets is None or sockets.listeners is None:
        return [missing_fact(snapshot, "sockets", "listeners", subject="listeners", what="the list of listening sockets")]
    default = _Rule("the default allow list", netaddr.address_set(params.allow))
    exceptions = [
        (exc, _Rule(f"exception {i}", netaddr.address_set(exc.allow), exc.reason))
        for i, exc in enumerate(params.exceptions, start=1)
    ]
    judged = sorted(
        ((i, l) for i, l in enumerate(sockets.listeners) if l.protocol in params.protocols),
        key=lambda item: (
            item[1].protocol, item[1].port, item[1].family, item[1].address,
            [p.pid for p in item[1].processes], item[1].inode or 0, item[1].declared_by or "", item[0],
        ),
    )
    # Why a detail of an owning process (name, exe, user) is missing, and why the processes seen
    # holding a socket may not be all of them: the collector's gaps for it.
    detail_gaps: dict[int, list[str]] = {}
    holder_gaps: dict[int, list[str]] = {}
    for gap in snapshot.gaps_for("sockets", "listeners"):
        # ("listeners", 3, "processes", 0, "name"): a detail of a process; ("listeners", 3, "processes"): the holders
        if len(gap.path) >= 3 and isinstance(gap.path[1], int) and gap.path[2] == "processes":
            (detail_gaps if len(gap.path) > 3 else holder_gaps).setdefault(gap.path[1], []).append(gap.reason)
    outcomes = [
        _judge(l, f"/facts/sockets/listeners/{i}", sorted(set(detail_gaps.get(i, []))), default, exceptions,
               sorted(set(holder_gaps.get(i, []))) if l.processes else [])
        for i, l in judged
    ]

    # Listeners of a protocol the policy leaves out are not judged, but are named: a list written
    # before a transport was collected must not make its listeners vanish from the report.
    unjudged = [l for l in sockets.listeners if l.protocol not in params.protocols]
    if unjudged:
        names = sorted({l.protocol for l in unjudged})
        outcomes.append(not_applicable(
            "listeners (protocols not judged)",
            f"{len(unjudged)} {' and '.join(names)} listener(s) not judged: the rule judges only "
            f"{', '.join(params.protocols)}: " + ", ".join(sorted(l.subject for l in unjudged)[:20])
            + (" ..." if len(unjudged) > 20 else ""),
            evidence=["/facts/sockets/listeners"],
        ))

    # Listeners the collector could not read at all (not one listener's owner) would otherwise be
    # silently absent from the verdict.
    incomplete, unreadable = _listeners.list_gaps(snapshot)
    if incomplete:
        reason = _listeners.reasons(incomplete)
        if unreadable:
            outcomes.append(not_reviewed("listeners (collection)", f"some listeners could not be read: {reason}", evidence=["/gaps"]))
        else:
            outcomes.append(not_applicable("listeners (collection)", reason, evidence=["/gaps"]))
    if not judged and not unreadable:
        protocols = _listeners.either(list(params.protocols))
        outcomes.insert(
            0,
            passed(
                "listeners",
                f"no {protocols} listeners were found",
                observed={"listeners": 0, "protocols": list(params.protocols)},
                expected={"allow": list(params.allow)},
                evidence=["/facts/sockets/listeners"],
            ),
        )
    return outcomes
