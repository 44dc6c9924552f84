"""Collectors: the only code that touches a host.

Each fact section has one collector function ``collect_<section>(ctx) -> (facts | None, gaps)``.
It never raises for an unreadable source: it returns ``None`` (or partial facts) plus a
:class:`~auditor.model.facts.Gap` per thing it could not see, with the reason.  Parsers of raw host text
live in :mod:`auditor.collect.parsers` and are pure functions; knowledge that checks share (the
audit-rule grammar, sysctl.d semantics, addresses) is one floor down, in :mod:`auditor.domain`.
What a collector may read or run, and whether runtime facts exist at all, is the target's
(:mod:`auditor.collect.targets`).
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any

from auditor.collect.programs import SAFE_PATH
from auditor.model.records import record


@record
class CollectContext:
    """What to collect, from which target.

    ``target`` is a :class:`~auditor.collect.targets.LocalHost` or
    :class:`~auditor.collect.targets.RootDir`.  Without one, it is built from the older spelling
    ``root``/``live``/``program_path`` (``live=False``: an offline root directory at ``root``);
    afterwards those three mirror the target, so either may be read."""

    target: Any = None
    root: Path = Path("/")
    live: bool = True
    command_timeout: float = 10.0
    program_path: tuple[str, ...] = SAFE_PATH
    # sections the enabled rules need; collectors for other sections are not run at all
    sections: frozenset[str] = field(default_factory=lambda: frozenset({"sockets", "sysctl", "audit"}))
    # process arguments carry credentials: recorded only when asked (auditor.collect.cmdline)
    record_cmdline: bool = False

    def __post_init__(self) -> None:
        from auditor.collect.targets import LocalHost, RootDir

        target = self.target
        if target is None:
            target = (LocalHost(root=Path(self.root), program_path=self.program_path) if self.live
                      else RootDir(Path(self.root)))
            object.__setattr__(self, "target", target)
        object.__setattr__(self, "root", target.root)
        object.__setattr__(self, "live", target.runtime)
        object.__setattr__(self, "program_path", target.program_path)
