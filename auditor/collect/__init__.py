"""Collectors: the only code that touches a host.

Each fact section has one collector function ``collect_<section>(ctx) -> (facts | None, gaps)``.
It never raises for an unreadable source: it returns ``None`` (or partial facts) plus a
:class:`~auditor.model.facts.Gap` per thing it could not see, with the reason.  Parsers of raw host text
live in :mod:`auditor.collect.parsers` and are pure functions; knowledge that checks share (the
audit-rule grammar, sysctl.d semantics, addresses) is one floor down, in :mod:`auditor.domain`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect.programs import SAFE_PATH


@dataclass(frozen=True)
class CollectContext:
    """Where and how to collect.  ``root`` is "/" for the live host; ``live`` is False for an
    offline root directory, where runtime-only facts are not applicable."""

    root: Path = Path("/")
    live: bool = True
    command_timeout: float = 10.0
    # where host tools (auditctl) are looked up; lbaudit itself always uses SAFE_PATH, tests point
    # it at an empty directory to see what a host without the tool gives
    program_path: tuple[str, ...] = SAFE_PATH
    # sections the enabled rules need; collectors for other sections are not run at all
    sections: frozenset[str] = field(default_factory=lambda: frozenset({"sockets", "sysctl", "audit"}))
    # process arguments carry credentials: recorded only when asked (auditor.collect.cmdline)
    record_cmdline: bool = False
