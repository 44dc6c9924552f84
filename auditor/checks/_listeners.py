"""Gaps about the listener list as a whole, shared by the checks that judge listeners.

A Gap on one listener (path ``("listeners", 3, "processes")``, ``("listeners", 3, "v6only")``) says which detail of a
listener that *was* seen is missing; the check judges that listener on what it has.  A Gap on the
section or the list itself (``()``, ``("listeners",)``, ``("listeners", "sctp")``) says listeners may be missing
from the list altogether, so "no listener does X" cannot be claimed from it; a not_applicable one
(``("listeners", "dccp")``: the kernel has no DCCP) says that such listeners cannot exist.
"""

from __future__ import annotations

from auditor.model.check import Outcome, not_applicable, not_reviewed
from auditor.model.facts import Gap, GapKind, HostSnapshot


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
