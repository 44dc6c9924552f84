"""The terminal summary, rendered from the evidence like every other format."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from auditor.model.evidence import Evidence
from auditor.model.result import Status, Verdict
from auditor.report import ReportContext, Reporter

STATUS_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "error": "bold magenta",
    "not_reviewed": "yellow",
    "not_applicable": "dim",
    "waived": "cyan",
}
VERDICT_TEXT = {
    Verdict.COMPLIANT: ("COMPLIANT", "bold green"),
    Verdict.NON_COMPLIANT: ("NON-COMPLIANT", "bold red"),
    Verdict.INCOMPLETE: ("INCOMPLETE: some evidence could not be reviewed", "bold yellow"),
}
MAX_LISTED = 50  # per section; the evidence file holds everything


def render_summary(evidence: Evidence, console: Console, evidence_path: str | None = None) -> None:
    result = evidence.result
    prov = evidence.snapshot.provenance
    # Everything from the evidence is data, not markup: "[fe80::1]:22" must not vanish as a tag.
    console.print(
        f"[bold]lbaudit {escape(evidence.tool.version)}[/] policy [bold]{escape(evidence.policy.id)}[/] "
        f"{escape(evidence.policy.version)} on [bold]{escape(prov.hostname)}[/] "
        f"({prov.source}{', as ' + escape(prov.effective_user) if prov.effective_user else ''})"
    )
    trusted = prov.source != "snapshot" or prov.source_signature == "verified"
    console.print(f"facts: {escape(prov.facts_trust)}", style=None if trusted else "bold yellow")

    counts = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for status in Status:
        counts.add_column(status.value, justify="right", style=STATUS_STYLE[status.value])
    counts.add_row(*[str(result.summary.by_status.get(s.value, 0)) for s in Status])
    console.print(counts)

    failing = [f for f in result.findings if f.status in (Status.FAIL, Status.ERROR)]
    if failing:
        table = Table(title="Failing", title_justify="left", header_style="bold", expand=False)
        for column in ("rule", "severity", "status", "subject", "why"):
            table.add_column(column, overflow="fold")
        for f in failing[:MAX_LISTED]:
            # The message is written for people; observed/expected stay in the evidence for machines.
            table.add_row(Text(f.rule_id), f.severity.value, Text(f.status.value, style=STATUS_STYLE[f.status.value]),
                          Text(f.subject), Text(_short(f.message if f.status == Status.FAIL else f.reason, 200)))
        console.print(table)
        if len(failing) > MAX_LISTED:
            console.print(f"... and {len(failing) - MAX_LISTED} more failing findings in the evidence file")

    unseen = [f for f in result.findings if f.status == Status.NOT_REVIEWED]
    if unseen:
        table = Table(title="Not reviewed (evidence could not be collected)", title_justify="left", header_style="bold")
        for column in ("rule", "subject", "reason"):
            table.add_column(column, overflow="fold")
        for f in unseen[:MAX_LISTED]:
            table.add_row(Text(f.rule_id), Text(f.subject), Text(f.reason or ""))
        console.print(table)
        if len(unseen) > MAX_LISTED:
            console.print(f"... and {len(unseen) - MAX_LISTED} more in the evidence file")

    if result.controls:
        # The engine's judgement of each control, as the evidence records it (never re-derived here).
        table = Table(title="Controls", title_justify="left", header_style="bold")
        for column in ("control", "status", "objective", "rules"):
            table.add_column(column, overflow="fold")
        for control in result.controls:
            table.add_row(Text(control.id), Text(control.status.value, style=STATUS_STYLE[control.status.value]),
                          "satisfied" if control.satisfied else "not satisfied", Text(", ".join(control.rules)))
        console.print(table)

    for waiver in result.waivers:
        if waiver.state == "expired":
            console.print(Text(f"waiver for rule {waiver.rule_id} expired on {waiver.expires} (approved by "
                               f"{waiver.approver}); it was not honoured", style="yellow"))

    text, style = VERDICT_TEXT[result.verdict]
    console.print(Text(f"verdict: {text} (exit {result.exit_code}, fail-on {result.fail_on.value})", style=style))
    if evidence_path:
        console.print(Text(f"evidence: {evidence_path}"))


def _short(value: object, limit: int = 80) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render_text(evidence: Evidence, context: ReportContext) -> bytes:
    buffer = io.StringIO()
    render_summary(evidence, Console(file=buffer, width=120, color_system=None, force_terminal=False),
                   context.evidence_path)
    return buffer.getvalue().encode("utf-8")


REPORTER = Reporter(name="text", extension=".txt", description="plain-text summary, as on the terminal",
                    render=_render_text)
