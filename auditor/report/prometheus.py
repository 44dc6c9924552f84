"""The Prometheus text format (node_exporter's textfile collector), rendered from the evidence alone.

A nightly ``lbaudit evaluate --format prometheus --textfile-dir /var/lib/prometheus/node-exporter``
writes ``<policy-id>.prom`` atomically (``storage/outputs.py``), so node_exporter never reads half
a file and the scan shows up on the dashboards a team already has.  Every series carries the
``policy`` label, so several policies can share one textfile directory; node_exporter adds the
host (``instance``).

What "the last successful scan" means: a run that could judge everything it was asked to
(``result.complete``: every fact collected, no check errored; the verdict may be non-compliant).
Any other run omits
``lbaudit_last_successful_scan_timestamp_seconds``; a run that never got to write (exit 2 or 70)
leaves the previous file, so ``time() - lbaudit_last_successful_scan_timestamp_seconds`` grows and
``absent(...)`` fires: both are the alerts to set.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from auditor.model.evidence import Evidence
from auditor.model.result import Severity, Status, Verdict, rollup_status
from auditor.report import ReportContext, Reporter
from auditor.report._shared import bounded_evidence, utc
from auditor.text import one_line

PREFIX = "lbaudit_"


def _label_value(value: str) -> str:
    """A label value in the exposition format: backslash, double quote and line feed escaped (the
    three escapes the format has), and every other control character, line or paragraph separator
    and bidi control shown as its escape text (:func:`~auditor.text.one_line`: a carriage return is
    the text ``\\x0d``).  A host name (a snapshot file's text) went in with a raw carriage return, form
    feed or U+2028: whoever reads the file with universal newlines (Python's text mode,
    ``str.splitlines``) split the sample there, so that the host name could start a line of its own,
    ``lbaudit_compliant 1``, and the file no longer parsed."""
    text = "\n".join(one_line(line) for line in value.split("\n"))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _seconds(moment: datetime) -> float:
    return round(utc(moment).timestamp(), 3)


class _Exposition:
    """Metric families in the order they are declared; samples sorted by their labels."""

    def __init__(self, common: dict[str, str]) -> None:
        self._common = common
        self._lines: list[str] = []

    def family(self, name: str, help_text: str, samples: list[tuple[dict[str, str], float | int]]) -> None:
        full = PREFIX + name
        self._lines.append(f"# HELP {full} {_help_text(help_text)}")
        self._lines.append(f"# TYPE {full} gauge")
        rendered = []
        for labels, value in samples:
            merged = {**self._common, **labels}
            text = ",".join(f'{key}="{_label_value(merged[key])}"' for key in sorted(merged))
            rendered.append(f"{full}{{{text}}} {_number(value)}")
        self._lines.extend(sorted(rendered))

    def text(self) -> bytes:
        return ("\n".join(self._lines) + "\n").encode("utf-8")


def _rule_status(statuses: list[Status]) -> Status:
    return rollup_status(statuses)  # passes beside waived failures: waived (rollup_status), never pass


def render_prometheus(evidence: Evidence, context: ReportContext) -> bytes:
    # Each text as every report cuts it (a host name of a megabyte was a megabyte-long host label,
    # written on every scan and kept by Prometheus as a label of the series).
    evidence = bounded_evidence(evidence)
    result = evidence.result
    out = _Exposition({"policy": evidence.policy.id})
    prov = evidence.snapshot.provenance
    # No per-run label (an evidence digest, a time): each value would start a new series every night.
    out.family("scan_info", "The scan this file describes: tool and policy versions, host (always 1).",
               [({"version": evidence.tool.version, "policy_version": evidence.policy.version,
                  "host": prov.hostname}, 1)])
    out.family("verdict", "1 for the verdict of the scan, 0 for the others.",
               [({"verdict": verdict.value}, int(result.verdict == verdict)) for verdict in Verdict])
    out.family("exit_code", "Exit code of the scan: 0 compliant, 1 non-compliant, 3 incomplete.",
               [({}, result.exit_code)])
    pairs = Counter((f.status.value, f.severity.value) for f in result.findings)
    out.family("findings", "Findings of the scan by status and severity.",
               [({"status": status.value, "severity": severity.value}, pairs[(status.value, severity.value)])
                for status in Status for severity in Severity])
    enabled = [rule for rule in evidence.policy.rules if rule.enabled]
    by_rule: dict[str, list[Status]] = {rule.id: [] for rule in enabled}
    for finding in result.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding.status)
    # A rule's status is the worst of its findings, as controls are rolled up; an enabled rule
    # that produced no finding was not reviewed.  Passes beside waived failures are "waived", as in
    # JUnit: a dashboard reading rule_status{status="pass"} would show the accepted deviations green.
    rule_status = {rule_id: _rule_status(statuses) for rule_id, statuses in by_rule.items()}
    out.family("rule_status", "1 for the status of each enabled rule (the worst of its findings; waived when "
               "its only non-passing findings are waived), 0 for the others.",
               [({"rule": rule_id, "status": status.value}, int(rule_status[rule_id] == status))
                for rule_id in rule_status for status in Status])
    started, finished = evidence.run.started_at, evidence.run.finished_at
    out.family("run_duration_seconds", "How long the scan took, collection and evaluation.",
               [({}, round(max((utc(finished) - utc(started)).total_seconds(), 0.0), 3))])
    out.family("scan_timestamp_seconds", "When the scan finished (Unix time), whatever its verdict.",
               [({}, _seconds(finished))])
    if result.complete:
        out.family("last_successful_scan_timestamp_seconds",
                   "When the last scan that could judge everything finished (Unix time); absent when a fact or a check failed.",
                   [({}, _seconds(finished))])
    states = Counter(w.state for w in result.waivers)
    out.family("waivers", "Waivers of the policy by state on the evaluation date.",
               [({"state": state}, states[state]) for state in ("applied", "expired", "unused")])
    evaluated_on = evidence.run.evaluated_on
    upcoming = [w.expires for w in result.waivers if w.expires >= evaluated_on]
    if upcoming:
        # A waiver is honoured through its expiry date: 0 means it lapses at the end of the scan's day.
        out.family("waiver_next_expiry_days", "Days from the evaluation date until the next waiver expires "
                   "(0: at the end of that day); absent when no waiver is still in force.",
                   [({}, (min(upcoming) - evaluated_on).days)])
    return out.text()


REPORTER = Reporter(
    name="prometheus",
    extension=".prom",
    description="node_exporter textfile-collector metrics: verdict, findings, rule status, waivers, last success",
    render=render_prometheus,
)
