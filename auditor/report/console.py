"""The terminal summary, rendered from the evidence like every other format.

The words come from :mod:`auditor.report.summary` (shared with the one-finding-per-line layout of
pipes and logs); this module lays them out with rich for a terminal: its real width, findings
grouped by rule.  rich is imported here only, so a run that draws no table never loads it.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.model.evidence import Evidence
from auditor.model.result import Finding, Status, Verdict
from auditor.report import ReportContext, Reporter
from auditor.report._shared import bounded_evidence, evidence_reference, evidence_sha256
from auditor.report.summary import (
    expired_waiver_lines,
    facts_trusted,
    header_lines,
    next_steps,
    one_line,
    plain_lines,
    sections,
    threshold_words,
    verdict_line,
    why,
)

STATUS_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "error": "bold magenta",
    "not_reviewed": "yellow",
    "not_applicable": "dim",
    "waived": "cyan",
}
VERDICT_STYLE = {
    Verdict.COMPLIANT: "bold green",
    Verdict.NON_COMPLIANT: "bold red",
    Verdict.INCOMPLETE: "bold yellow",
}
MAX_LISTED = 50  # per section on a terminal; the evidence file (and the plain layout) hold everything


def _by_rule_table(title: str, findings: list[Finding], with_severity: bool = True) -> Table:
    """One row per finding, grouped by rule: the rule named once, a line between rules."""
    table = Table(title=title, title_justify="left", header_style="bold")
    columns = ["rule", "severity", "status", "subject", "why"] if with_severity else ["rule", "status", "subject", "why"]
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in ("severity", "status"))
    groups: dict[str, list[Finding]] = {}
    for finding in findings[:MAX_LISTED]:
        groups.setdefault(finding.rule_id, []).append(finding)
    for rule_id, group in groups.items():
        for index, f in enumerate(group):
            # Everything from the evidence is data, not markup: "[fe80::1]:22" must not vanish as a tag.
            cells = [Text(one_line(rule_id) if index == 0 else ""),
                     *([f.severity.value] if with_severity else []),
                     Text(f.status.value, style=STATUS_STYLE[f.status.value]),
                     Text(one_line(f.subject)), Text(why(f))]
            table.add_row(*cells, end_section=index == len(group) - 1)
    return table


def render_summary(evidence: Evidence, console: Console, evidence_path: str | None = None) -> None:
    evidence = bounded_evidence(evidence)
    result = evidence.result
    title, facts = header_lines(evidence)
    console.print(Text(title, style="bold"))
    console.print(Text(facts, style=None if facts_trusted(evidence) else "bold yellow"))

    counts = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for status in Status:
        counts.add_column(status.value, justify="right", style=STATUS_STYLE[status.value])
    counts.add_row(*[str(result.summary.by_status.get(s.value, 0)) for s in Status])
    console.print(counts)

    parts = sections(evidence)
    listed = [
        (f"Failing (counted: this run {threshold_words(result.fail_on)})", parts.blocking, True),
        (f"Failing below the threshold (severity under {result.fail_on.value}: listed, not counted)",
         parts.below, True),
        ("Not judged (errors and evidence that could not be collected)", parts.unjudged, False),
        # Waived failures, each with its waiver: the verdict counts them as accepted, so the one
        # reading it sees who accepted which failure, and until when.
        ("Waived (failures the policy accepts until the waiver expires)",
         [f for f in parts.other if f.status == Status.WAIVED], True),
    ]
    for heading, findings, with_severity in listed:
        if findings:
            console.print(_by_rule_table(heading, findings, with_severity))
            if len(findings) > MAX_LISTED:
                console.print(f"... and {len(findings) - MAX_LISTED} more in the evidence file "
                              "(`lbaudit show EVIDENCE | cat` lists every finding)")

    if result.controls:
        # The engine's judgement of each control, as the evidence records it (never re-derived here).
        table = Table(title="Controls", title_justify="left", header_style="bold")
        for column in ("control", "status", "objective", "rules"):
            table.add_column(column, overflow="fold")
        for control in result.controls:
            table.add_row(Text(control.id), Text(control.status.value, style=STATUS_STYLE[control.status.value]),
                          "satisfied" if control.satisfied else "not satisfied", Text(one_line(", ".join(control.rules))))
        console.print(table)

    for line in expired_waiver_lines(evidence):
        console.print(Text(line, style="yellow"))

    console.print(Text(verdict_line(evidence), style=VERDICT_STYLE[result.verdict]))
    if evidence_path:
        console.print(Text(f"evidence: {one_line(evidence_path)}"))
    steps = next_steps(evidence)
    if steps and result.verdict != Verdict.COMPLIANT:
        console.print(Text("next steps:", style="bold"))
        for step in steps:
            console.print(Text(f"  {step.text}"))


def _render_text(evidence: Evidence, context: ReportContext) -> bytes:
    """The text report: the summary as a pipe or a log gets it, one finding per line, never
    wrapped (a file is read by grep and CI artifact viewers, not at a terminal's width).  Its last
    lines name the evidence's SHA-256 and whether a signature accompanied it, as the PDF, the HTML
    page and HDF do: a text report of unsigned (or edited) evidence read as one of signed evidence."""
    name = one_line(evidence_reference(evidence, context))
    signature = (f"signature: Ed25519 key SHA-256 {context.signature_fingerprint} signed it ({name}.sig); "
                 f"lbaudit verify {name} --pubkey SIGNER.pub checks it against the key you trust"
                 if context.signature_fingerprint else
                 f"signature: none: no {name}.sig accompanied the evidence; only its digest can be compared")
    lines = [*plain_lines(evidence, context.evidence_path), f"evidence sha256: {evidence_sha256(context)}",
             one_line(signature)]
    return "".join(line + "\n" for line in lines).encode("utf-8")


REPORTER = Reporter(name="text", extension=".txt",
                    description="plain-text summary, one finding per line, as in a pipe or a CI log",
                    render=_render_text)
