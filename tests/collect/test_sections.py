"""Fact sections are declared once (auditor/collect/sections.py) and every consumer reads that table."""

from __future__ import annotations

from pathlib import Path

from auditor.collect import CollectContext, live
from auditor.collect.sections import BY_NAME, FACT_SECTIONS, summary_counts
from auditor.collect.targets import RootDir
from auditor.commands.collect import _summary
from auditor.model.facts import SECTIONS, AuditFacts, Facts, SocketFacts, SysctlFacts, SysctlSetting

FIXTURE_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "roots"


def test_the_table_names_every_section_of_the_model_in_its_order():
    assert tuple(s.name for s in FACT_SECTIONS) == SECTIONS == tuple(Facts.model_fields)
    for section in FACT_SECTIONS:
        annotation = Facts.model_fields[section.name].annotation
        assert section.model in getattr(annotation, "__args__", (annotation,)), section.name


def test_collection_runs_the_declared_collectors():
    assert live.COLLECTORS == {s.name: s.collect for s in FACT_SECTIONS}


def test_summary_lines_come_from_the_declarations():
    facts = Facts(sockets=SocketFacts(listeners=[]),
                  sysctl=SysctlFacts(runtime=None, persistent={"a.b": SysctlSetting(value="1", origin="x:1")}),
                  audit=AuditFacts())
    assert summary_counts(facts) == ["0 listeners", "sysctls - running, 1 configured",
                                     "audit rules - loaded, ? persistent"]
    assert summary_counts(Facts(sysctl=facts.sysctl)) == ["sysctls - running, 1 configured"]
    assert summary_counts(Facts()) == []


def test_the_method_of_a_section_not_collected_says_so():
    ctx = CollectContext(target=RootDir.open(FIXTURE_ROOT / "sysctl-precedence"))
    for section in FACT_SECTIONS:
        assert section.method(None, ctx) == "not collected (see gaps)"
    assert BY_NAME["sockets"].method(SocketFacts(listeners=[]), ctx).startswith("systemd socket units under ")
    assert live.describe_method("sysctl", SysctlFacts(runtime={}, persistent=None), ctx) == "/proc/sys (running values)"


def test_the_collect_command_summary_reads_the_table():
    from tests.evidence_fixtures import make_snapshot

    snapshot = make_snapshot()
    lines = _summary(snapshot, Path("s.json"), "0" * 64)
    assert lines[1].endswith("; " + "; ".join(summary_counts(snapshot.facts)))
