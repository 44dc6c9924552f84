"""Collect a snapshot of an offline root directory (a mounted image or container filesystem).

The same section collectors as for the live host run with ``CollectContext(root=..., live=False)``:
they read the persistent configuration under the root (sysctl.d, audit rules, systemd socket
units) through :mod:`auditor.collect.rootfs`, so nothing outside the root is read, and record
runtime-only facts (running sysctls, live sockets and their counts, loaded audit rules) as
``not_applicable`` gaps with the reason.  Host name, machine id and OS come from the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.collect import CollectContext
from auditor.collect.live import COLLECTORS, _run, describe_method, gap_sort_key
from auditor.collect.provenance import collect_provenance
from auditor.errors import InputError
from auditor.model.facts import SECTIONS, Facts, Gap, HostSnapshot


def collect_root(root: Path, sections: frozenset[str], command_timeout: float = 10.0) -> HostSnapshot:
    """Facts of the image under ``root``; an unusable root is an InputError (exit 2)."""
    given = Path(root)
    if not given.exists():
        raise InputError(f"{given}: no such directory (--root needs the top directory of an image)")
    if not given.is_dir():
        raise InputError(f"{given}: not a directory (--root needs the top directory of an image)")
    unknown = set(sections) - set(COLLECTORS)
    if unknown:
        raise InputError(f"unknown fact sections: {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})")
    ctx = CollectContext(root=given.resolve(), live=False, command_timeout=command_timeout, sections=frozenset(sections))
    facts: dict[str, Any] = {}
    gaps: list[Gap] = []
    methods: dict[str, str] = {}
    for section in SECTIONS:
        if section not in sections:
            continue
        facts[section], section_gaps = _run(section, ctx)
        gaps += section_gaps
        methods[section] = describe_method(section, facts[section])
        if section == "sockets" and facts[section] is not None:
            methods[section] = f"systemd socket units under {ctx.root} (declared listeners)"
    return HostSnapshot(
        provenance=collect_provenance(ctx, methods),
        facts=Facts(**facts),
        gaps=sorted(gaps, key=gap_sort_key),
    )
