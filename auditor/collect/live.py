"""Collect a snapshot of the live host: only the sections the enabled rules need."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.provenance import collect_provenance
from auditor.collect.sockets import collect_sockets
from auditor.collect.sysctl import collect_sysctl
from auditor.model.facts import SECTIONS, Facts, Gap, HostSnapshot

Collector = Callable[[CollectContext], "tuple[Any, list[Gap]]"]

COLLECTORS: dict[str, Collector] = {
    "sockets": collect_sockets,
    "sysctl": collect_sysctl,
    "audit": collect_audit,
}


def _natural(text: str) -> tuple:
    """Sort "listeners/10" after "listeners/9"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


def gap_sort_key(gap: Gap) -> tuple:
    return (SECTIONS.index(gap.section), _natural(gap.field), gap.reason, gap.kind.value)


def describe_method(section: str, facts: Any, ctx: CollectContext) -> str:
    """How a section was collected, for the provenance."""
    if facts is None:
        return "not collected (see gaps)"
    if section == "sockets":
        if not ctx.target.runtime:
            return f"systemd socket units under {ctx.root} (declared listeners)"
        return facts.counts.method if facts.counts is not None else "netlink sock_diag or /proc/net (see gaps)"
    if section == "sysctl":
        parts = ["/proc/sys (running values)"] if facts.runtime is not None else []
        parts += ["sysctl configuration files (persistent values)"] if facts.persistent is not None else []
        return "; ".join(parts) or "not collected (see gaps)"
    if section == "audit":
        runtime = ("netlink AUDIT_GET, AUDIT_LIST_RULES (auditctl is not installed)" if facts.runtime_source == "netlink"
                   else "auditctl -s, auditctl -l")
        parts = [runtime] if (facts.enabled is not None or facts.loaded_rules is not None) else []
        parts += [facts.persistent_source] if facts.persistent_source else []
        parts += ["/etc/audit does not exist (no persistent rules)"] if facts.config_dir_exists is False else []
        return "; ".join(parts) or "not collected (see gaps)"
    return ""


def _run(section: str, ctx: CollectContext) -> tuple[Any, list[Gap]]:
    try:
        return COLLECTORS[section](ctx)
    except Exception as exc:  # noqa: BLE001 - a collector bug must not pass as "nothing found"
        return None, [Gap(section=section, reason=f"collector failed: {type(exc).__name__}: {exc}")]


def check_sections(sections: frozenset[str]) -> None:
    unknown = set(sections) - set(COLLECTORS)
    if unknown:
        raise ValueError(f"unknown fact sections: {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})")


def collect_snapshot(ctx: CollectContext) -> HostSnapshot:
    """Run the collectors of ``ctx.sections`` (live host or offline root alike) into one snapshot."""
    facts: dict[str, Any] = {}
    gaps: list[Gap] = []
    methods: dict[str, str] = {}
    for section in SECTIONS:
        if section not in ctx.sections:
            continue
        facts[section], section_gaps = _run(section, ctx)
        gaps += section_gaps
        methods[section] = describe_method(section, facts[section], ctx)
    return HostSnapshot(
        provenance=collect_provenance(ctx, methods),
        facts=Facts(**facts),
        gaps=sorted(gaps, key=gap_sort_key),
    )


def collect_live(sections: frozenset[str], command_timeout: float = 10.0, record_cmdline: bool = False) -> HostSnapshot:
    check_sections(sections)
    return collect_snapshot(CollectContext(root=Path("/"), live=True, command_timeout=command_timeout,
                                           sections=frozenset(sections), record_cmdline=record_cmdline))
