"""Collect a snapshot of the live host: only the sections the enabled rules need."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from auditor.collect import CollectContext, rootfs
from auditor.collect.provenance import collect_provenance
from auditor.collect.sections import BY_NAME, FACT_SECTIONS
from auditor.model.base import with_text_of_host
from auditor.model.facts import SECTIONS, Facts, Gap, HostSnapshot, Provenance
from auditor.resource_limits import limit_met

Collector = Callable[[CollectContext], "tuple[Any, list[Gap]]"]

# The collector of each section, by name (declared in auditor.collect.sections).
COLLECTORS: dict[str, Collector] = {section.name: section.collect for section in FACT_SECTIONS}


_DIGIT_RUNS = re.compile(r"(\d+)")


def _natural(text: str) -> tuple:
    """Sort "listeners/10" after "listeners/9".  (A compiled pattern and a list, not re.split's
    cache and a generator: a host of 5,000 listeners has as many gaps to sort, issue 16.)"""
    return tuple([(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGIT_RUNS.split(text)])


def gap_sort_key(gap: Gap) -> tuple:
    return (SECTIONS.index(gap.section), _natural(gap.field), gap.reason, gap.kind.value)


def describe_method(section: str, facts: Any, ctx: CollectContext) -> str:
    """How a section was collected, for the provenance."""
    return BY_NAME[section].method(facts, ctx)


def _run(section: str, ctx: CollectContext) -> tuple[Any, list[Gap]]:
    try:
        return COLLECTORS[section](ctx)
    except Exception as exc:  # noqa: BLE001 - a collector bug must not pass as "nothing found"
        # A limit of the environment met while collecting (memory, open files, a thread): the
        # section is not collected, and says which limit; "collector failed: MemoryError: " read as
        # a bug of lbaudit's.
        limit = limit_met(exc)
        if limit is not None:
            return None, [Gap(section=section, reason=f"not collected: {limit}")]
        return None, [Gap(section=section, reason=f"collector failed: {type(exc).__name__}: {exc}")]


def check_sections(sections: frozenset[str]) -> None:
    unknown = set(sections) - set(COLLECTORS)
    if unknown:
        raise ValueError(f"unknown fact sections: {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})")


def collect_snapshot(ctx: CollectContext) -> HostSnapshot:
    """Run the collectors of ``ctx.sections`` (live host or offline root alike) into one snapshot,
    each name of the host that is not UTF-8 (a process, exe path, user or file name) holding its
    bytes as ``\\xNN`` (with_text_of_host): whoever collects, every writer can write the result (a
    test or plugin collecting directly met UnicodeEncodeError when a process on the host had such a name)."""
    return with_text_of_host(_collected(ctx))


def _collected(ctx: CollectContext) -> HostSnapshot:
    facts: dict[str, Any] = {}
    gaps: list[Gap] = []
    methods: dict[str, str] = {}
    # a root RootDir.open opened when it chose the target is the one read (getattr: a LocalHost has none)
    with rootfs.one_view_of_each_root(getattr(ctx.target, "view", None)):
        for section in SECTIONS:
            if section not in ctx.sections:
                continue
            facts[section], section_gaps = _run(section, ctx)
            gaps += section_gaps
            methods[section] = describe_method(section, facts[section], ctx)
        provenance = collect_provenance(ctx, methods)
    gaps = sorted(gaps, key=gap_sort_key)
    if type(provenance) is Provenance and all(type(gap) is Gap for gap in gaps):
        # Every part is a model validated already (each gap a Gap a collector built): validating
        # the snapshot ran both of Gap's validators again on each, one gap a listener inside a PID
        # namespace (issue 16).  The same snapshot as validation gives.
        return HostSnapshot.model_construct(provenance=provenance, facts=Facts(**facts), gaps=gaps)
    return HostSnapshot(provenance=provenance, facts=Facts(**facts), gaps=gaps)


def collect_live(sections: frozenset[str], command_timeout: float = 10.0, record_cmdline: bool = False) -> HostSnapshot:
    check_sections(sections)
    return collect_snapshot(CollectContext(root=Path("/"), live=True, command_timeout=command_timeout,
                                           sections=frozenset(sections), record_cmdline=record_cmdline))
