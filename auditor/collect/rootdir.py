"""Collect a snapshot of an offline root directory (a mounted image or container filesystem).

The same section collectors as for the live host run against a :class:`~auditor.collect.targets.RootDir`:
they read the persistent configuration under the root (sysctl.d, audit rules, systemd socket
units) through :mod:`auditor.collect.rootfs`, so nothing outside the root is read, and record
runtime-only facts (running sysctls, live sockets and their counts, loaded audit rules) as
``not_applicable`` gaps with the reason.  Host name, machine id and OS come from the image.
"""

from __future__ import annotations

from pathlib import Path

from auditor.collect import CollectContext
from auditor.collect.live import check_sections, collect_snapshot
from auditor.collect.targets import RootDir
from auditor.errors import InputError
from auditor.model.facts import HostSnapshot


def collect_root(root: Path, sections: frozenset[str], command_timeout: float = 10.0) -> HostSnapshot:
    """Facts of the image under ``root``; an unusable root is an InputError (exit 2)."""
    try:
        check_sections(sections)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    target = RootDir.open(root)  # opened last: nothing between its choice and the collection reading it
    return collect_snapshot(CollectContext(target=target, command_timeout=command_timeout, sections=frozenset(sections)))
