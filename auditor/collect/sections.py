"""The fact sections, each declared once: its name, its model, its collector, how it was collected
and its one-line summary.

A new section is its model (a field of :class:`~auditor.model.facts.Facts`, its name in
:data:`~auditor.model.facts.Section`), its collector module ``auditor/collect/<section>.py``
(``collect_<section>``, ``describe_<section>``, ``summarize_<section>``) and one line in
:data:`FACT_SECTIONS`.  The live and offline collection (:mod:`auditor.collect.live`), the
provenance's ``methods`` and ``lbaudit collect``'s summary all read this table;
``tests/collect/test_sections.py`` keeps it in step with the model.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel

from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit, describe_audit, summarize_audit
from auditor.collect.netns import collect_netns, describe_netns, summarize_netns
from auditor.collect.sockets import collect_sockets, describe_sockets, summarize_sockets
from auditor.collect.sysctl import collect_sysctl, describe_sysctl, summarize_sysctl
from auditor.model.facts import SECTIONS, AuditFacts, Gap, NamespaceFacts, SocketFacts, SysctlFacts
from auditor.model.records import record


@record
class FactSection:
    name: str  # as checks declare it in ``needs`` and gaps name it
    model: type[BaseModel]  # the type of ``Facts.<name>``
    collect: Callable[[CollectContext], "tuple[Any, list[Gap]]"]  # never raises for an unreadable source
    describe: Callable[[Any, CollectContext], str]  # how the facts were collected (provenance ``methods``)
    summarize: Callable[[Any], str]  # the `lbaudit collect` line: counts of what was collected

    def method(self, facts: Any, ctx: CollectContext) -> str:
        return "not collected (see gaps)" if facts is None else self.describe(facts, ctx)


# In the order collection runs and gaps are sorted: the order of ``auditor.model.facts.SECTIONS``.
FACT_SECTIONS: tuple[FactSection, ...] = (
    FactSection("sockets", SocketFacts, collect_sockets, describe_sockets, summarize_sockets),
    FactSection("sysctl", SysctlFacts, collect_sysctl, describe_sysctl, summarize_sysctl),
    FactSection("audit", AuditFacts, collect_audit, describe_audit, summarize_audit),
    FactSection("netns", NamespaceFacts, collect_netns, describe_netns, summarize_netns),
)
BY_NAME: dict[str, FactSection] = {section.name: section for section in FACT_SECTIONS}

if tuple(BY_NAME) != SECTIONS:  # pragma: no cover - a section declared in one place only
    raise RuntimeError(f"fact sections {tuple(BY_NAME)} do not match the model's {SECTIONS}")


def summary_counts(facts: Any) -> list[str]:
    """One phrase per collected section of ``facts`` (a :class:`~auditor.model.facts.Facts`)."""
    from auditor.collect.platforms.assemble import summarize_platform_section

    return [(getattr(value, "platform", "linux") != "linux" and summarize_platform_section(section.name, value)) or section.summarize(value)
            for section in FACT_SECTIONS if (value := getattr(facts, section.name)) is not None]
