"""What the summary of a run says, in plain words, and its one-finding-per-line layout.

Read from the evidence alone (never re-evaluating), so ``lbaudit evaluate``, ``lbaudit show`` and
the text report say the same thing.  Two layouts share these words:

* :func:`plain_lines` -- for a pipe, a file, cron mail or a CI log: one finding per line (rule,
  severity, status, subject, reason), never wrapped, whatever the width (a text longer than
  ``auditor.report._shared.MAX_REPORT_TEXT_CHARS`` is cut, saying how much more the evidence holds); no rich.
* :mod:`auditor.report.console` -- for a terminal: rich tables at the terminal's width, findings
  grouped by rule.

:func:`summary_object` is the compact machine-readable form (``evaluate --json``, ``show --json``),
printed by :func:`summary_json`.
Pure: no clock, no host, no terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor.errors import MAX_LISTED_PROBLEMS, more_problems
from auditor.model.evidence import Evidence
from auditor.model.result import Finding, Severity, Status, Verdict
from auditor.report._shared import bounded_evidence
from auditor.text import one_line, plain_json

VERDICT_WORDS = {
    Verdict.COMPLIANT: "COMPLIANT",
    Verdict.NON_COMPLIANT: "NON-COMPLIANT",
    Verdict.INCOMPLETE: "INCOMPLETE",
}
# Order of the findings in the plain layout: what needs attention first.
PLAIN_ORDER = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED, Status.WAIVED, Status.NOT_APPLICABLE, Status.PASS)
UNJUDGED = (Status.ERROR, Status.NOT_REVIEWED)

# The programs lbaudit runs whose absence a gap names, and the Debian package that provides each: the
# only programs a hint tells the reader to install.  A gap's reason is a snapshot file's words: one
# saying "evil-helper: command not found" made lbaudit advise "install evil-helper, then run again".
PROVIDING_PACKAGE = {"auditctl": "auditd", "augenrules": "auditd", "ss": "iproute2", "sysctl": "procps"}
# "sh: 1: ss: command not found", "auditctl -l: command not found in /usr/sbin:...": the program is the
# word that starts the piece of text (between ":" or ";") the phrase ends; see missing_program.
_NOT_FOUND = ": command not found"
_PROGRAM_WORD = re.compile(r"(?:^|(?<=[\s;(]))([\w.-]+)(?= |\Z)")
_NEEDS_PRIVILEGE = re.compile(r"must be root|permission denied|operation not permitted|not readable|CAP_[A-Z_]+",
                              re.IGNORECASE)
_OFFLINE = re.compile(r"not visible in an offline root directory|offline root directory", re.IGNORECASE)
_TIMED_OUT = re.compile(r"timed out after", re.IGNORECASE)


def threshold_words(fail_on: Severity) -> str:
    """How ``--fail-on`` reads: ``fails on any failure`` / ``fails on failures of severity high or above``."""
    if fail_on == Severity.INFO:
        return "fails on any failure"
    if fail_on == Severity.CRITICAL:
        return "fails only on critical failures"
    return f"fails on failures of severity {fail_on.value} or above"


def why(finding: Finding) -> str:
    """The reason a person reads: the message of a failure, the reason of anything else; a waived
    failure's message after its waiver (until when, who approved it, why), as every other format
    shows it: without it the line read as a failure nobody had to account for."""
    if finding.status == Status.WAIVED and finding.waiver is not None:
        w = finding.waiver
        return one_line(f"waived until {w.expires.isoformat()} by {w.approver}: {w.reason}; {finding.message}")
    text = finding.message if finding.status in (Status.FAIL, Status.PASS) else (finding.reason or finding.message)
    return one_line(text)


def finding_line(finding: Finding) -> str:
    """``rule | severity | status | subject | reason``: one finding, on one line."""
    return " | ".join([one_line(finding.rule_id), finding.severity.value, finding.status.value,
                       one_line(finding.subject), why(finding)])


@dataclass(frozen=True)
class Sections:
    """The findings of a run as the summary groups them."""

    blocking: list[Finding]  # failures at or above --fail-on: they make the run non-compliant
    below: list[Finding]  # failures below --fail-on: listed, but they do not change the verdict
    unjudged: list[Finding]  # errors and not reviewed: they make the run incomplete
    other: list[Finding]  # waived, not applicable, pass


def sections(evidence: Evidence) -> Sections:
    result = evidence.result
    fails = [f for f in result.findings if f.status == Status.FAIL]
    return Sections(
        blocking=[f for f in fails if f.severity.rank >= result.fail_on.rank],
        below=[f for f in fails if f.severity.rank < result.fail_on.rank],
        unjudged=[f for f in result.findings if f.status in UNJUDGED],
        other=sorted((f for f in result.findings if f.status not in (Status.FAIL, *UNJUDGED)),
                     key=lambda f: PLAIN_ORDER.index(f.status)),
    )


def header_lines(evidence: Evidence) -> list[str]:
    prov = evidence.snapshot.provenance
    user = f", as {one_line(prov.effective_user)}" if prov.effective_user else ""
    return [
        f"lbaudit {one_line(evidence.tool.version)} policy {one_line(evidence.policy.id)} "
        f"{one_line(evidence.policy.version)} on {one_line(prov.hostname)} ({prov.source}{user})",
        f"facts: {one_line(prov.facts_trust)}{collection_age_words(evidence)}",
    ]


def collection_age_words(evidence: Evidence) -> str:
    """For facts collected before this run (a snapshot, a captured bundle): when, and how long
    before the evaluation, so a reader sees stale facts even when no --max-age refused them."""
    from auditor.durations import duration_text
    from auditor.report._shared import utc, utc_timestamp

    prov = evidence.snapshot.provenance
    if prov.source not in ("snapshot", "replay"):
        return ""
    age = utc(evidence.run.started_at) - utc(prov.collected_at)
    when = "after" if age.total_seconds() < 0 else "before"
    return f"; collected at {utc_timestamp(prov.collected_at)}, {duration_text(abs(age))} {when} this evaluation"


def facts_trusted(evidence: Evidence) -> bool:
    prov = evidence.snapshot.provenance
    return prov.source != "snapshot" or prov.source_signature == "verified"


def counts_line(evidence: Evidence) -> str:
    by_status = evidence.result.summary.by_status
    return "findings: " + ", ".join(f"{by_status.get(s.value, 0)} {s.value}" for s in Status)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def verdict_line(evidence: Evidence) -> str:
    """The verdict in plain words: what decided it, and what this run fails on."""
    result = evidence.result
    parts = sections(evidence)
    rule = f"this run {threshold_words(result.fail_on)}"
    head = f"verdict: {VERDICT_WORDS[result.verdict]} (exit {result.exit_code})"
    below = (f"; {_plural(len(parts.below), 'failure')} below the threshold (severity under "
             f"{result.fail_on.value}) listed, not counted") if parts.below else ""
    waived = sum(1 for f in result.findings if f.status == Status.WAIVED)
    if waived:  # a COMPLIANT verdict over accepted failures says so, as the controls' "waived" does
        below += f"; {_plural(waived, 'failure')} waived (approved deviations, listed with their waivers)"
    if result.verdict == Verdict.NON_COMPLIANT:
        # A counted failure decides the exit code, but a run that also could not judge everything is
        # incomplete as well (the evidence's complete: false), as every other output says: fixing the
        # failures alone would not make it compliant.
        also = ""
        if not result.complete:
            if parts.unjudged:
                what = f"{_plural(len(parts.unjudged), 'finding')} could not be judged (error or not reviewed)"
            else:
                what = "; ".join(one_line(r) for r in result.incomplete_reasons)
            also = f"; also incomplete: {what}, so the run would not be compliant without its failures"
        return f"{head}: {_plural(len(parts.blocking), 'failing finding')}; {rule}{also}{below}"
    if result.verdict == Verdict.INCOMPLETE:
        if parts.unjudged:
            what = f"{_plural(len(parts.unjudged), 'finding')} could not be judged (error or not reviewed)"
        else:
            what = "; ".join(one_line(r) for r in result.incomplete_reasons) or "nothing could be judged"
        return f"{head}: {what}; no failure counted ({rule}){below}"
    return f"{head}: no failure counted; {rule}{below}"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")  # "e.g. listen..." does not end a sentence


def first_sentence(text: str) -> str:
    """The first sentence of a remediation's first paragraph, on one line: the remediation is
    written as wrapped paragraphs, so its first *line* may stop mid-phrase."""
    paragraph: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    joined = " ".join(paragraph)
    return one_line(_SENTENCE_END.split(joined, maxsplit=1)[0])


def missing_program(reason: str) -> str | None:
    r"""The program a reason says is not found: what ``(?:^|[\s;(])([\w.-]+)(?: [^:;]*)?: command
    not found`` searched for, found without it.  That regex tried every start and ran to the next
    ":" from each: quadratic, and a snapshot's gap reason of 40,000 characters took evaluate three
    minutes.  Here each piece of text is looked at once: the phrase is found with str.find, the
    program must start its piece (after ":" or ";") or follow white space or "(" in it, and be
    followed by a space or the phrase."""
    start = 0
    while (end := reason.find(_NOT_FOUND, start)) >= 0:
        piece = reason.rfind(":", start, end) + 1 or start  # the previous phrase's ":" at the latest
        piece = max(piece, reason.rfind(";", piece, end) + 1)
        word = _PROGRAM_WORD.search(reason, piece, end)
        if word:
            return word.group(1)
        start = end + 1
    return None


def reviewable_hint(reason: str, evidence: Evidence) -> str:
    """What would let lbaudit see what a not-reviewed or errored finding's reason says it could
    not: read from the reason the collectors recorded and the run's provenance, not per host."""
    prov = evidence.snapshot.provenance
    program = missing_program(reason)
    if program in PROVIDING_PACKAGE:
        return f"install {program} (Debian/Ubuntu package {PROVIDING_PACKAGE[program]}), then run again"
    if _OFFLINE.search(reason) and prov.source == "root":
        return ("evaluate the running host (or a snapshot of it from `lbaudit collect`): "
                "an offline root directory has no running values")
    if _NEEDS_PRIVILEGE.search(reason) and not prov.privileged:
        return "run lbaudit as root (e.g. sudo lbaudit ...): this run was unprivileged"
    if _TIMED_OUT.search(reason):
        return "run again when the host is less loaded: a command timed out"
    if prov.source == "snapshot":
        return "collect a fresh snapshot on the host with every section (`lbaudit collect`), or evaluate the host"
    return "see the reason; `lbaudit explain CHECK` says what the check reads"


@dataclass(frozen=True)
class NextStep:
    kind: str  # "fix" (a failing rule) or "review" (what would make findings reviewable)
    text: str
    rules: tuple[str, ...]


def next_steps(evidence: Evidence) -> list[NextStep]:
    """For each failing rule: ``lbaudit explain CHECK`` and the first sentence of its remediation (as
    the evidence records the check, the part for the platform the evidence judged); for findings that could not be judged: what would let them
    be judged, one step per distinct remedy."""
    checks = {c.name: c for c in evidence.checks}
    platform = evidence.snapshot.provenance.platform  # the remediation for the host judged, not Linux's
    parts = sections(evidence)
    steps: list[NextStep] = []
    failing: dict[str, str] = {}  # rule id -> its check, in the order the failures are listed
    for finding in [*parts.blocking, *parts.below]:
        failing.setdefault(finding.rule_id, finding.check)
    for rule_id, check in failing.items():
        record = checks.get(check)
        remedy = first_sentence(record.remediation_on(platform)) if record else ""
        # The check's name as the evidence records it: any string there (an edited file with its digest rewritten).
        steps.append(NextStep("fix", f"{rule_id}: lbaudit explain {one_line(check)}" + (f" -- {remedy}" if remedy else ""),
                              (rule_id,)))
    hints: dict[str, list[str]] = {}
    for finding in parts.unjudged:
        if finding.status == Status.ERROR:
            hint = (f"a check raised an error ({one_line(finding.reason or finding.message)}): "
                    "please report it, with the evidence file")
        else:
            hint = reviewable_hint(finding.reason or "", evidence)
        rules = hints.setdefault(hint, [])
        if finding.rule_id not in rules:
            rules.append(finding.rule_id)
    for hint, rules in hints.items():
        steps.append(NextStep("review", f"{', '.join(rules)}: {hint}", tuple(rules)))
    return steps


def expired_waiver_lines(evidence: Evidence) -> list[str]:
    """A line for each expired waiver, at most :data:`auditor.errors.MAX_LISTED_PROBLEMS` of them, then
    one line counting the rest, as every other list lbaudit prints does: a policy of 1,500 expired
    waivers printed 1,500 lines after the findings.  The evidence lists every one."""
    expired = [w for w in evidence.result.waivers if w.state == "expired"]
    lines = [f"waiver for rule {one_line(w.rule_id)} expired on {w.expires} (approved by {one_line(w.approver)}); "
             "it was not honoured" for w in expired[:MAX_LISTED_PROBLEMS]]
    if len(expired) > MAX_LISTED_PROBLEMS:
        lines.append(f"... and {more_problems(len(expired) - MAX_LISTED_PROBLEMS, 'expired waiver')} not shown "
                     "(the evidence lists them all)")
    return lines


def control_line(control: Any) -> str:
    return (f"control {control.id} | {control.status.value} | "
            f"{'satisfied' if control.satisfied else 'not satisfied'} | {one_line(', '.join(control.rules))}")


def plain_lines(evidence: Evidence, evidence_path: str | None = None) -> list[str]:
    """The summary for a pipe, a file or a log: every finding on its own line, never wrapped; each
    text of a finding at most :data:`auditor.report._shared.MAX_REPORT_TEXT_CHARS` characters, saying
    how many more the evidence holds."""
    evidence = bounded_evidence(evidence)
    result = evidence.result
    parts = sections(evidence)
    lines = [*header_lines(evidence), counts_line(evidence)]
    groups = [
        (f"failing (counted: {threshold_words(result.fail_on)})", parts.blocking),
        (f"failing below the threshold (severity under {result.fail_on.value}: listed, not counted)", parts.below),
        ("not judged (errors and evidence that could not be collected)", parts.unjudged),
        ("other findings", parts.other),
    ]
    for title, findings in groups:
        if findings:
            lines.append(f"{title}: {len(findings)}")
            lines += [finding_line(f) for f in findings]
    if result.controls:
        lines.append(f"controls: {len(result.controls)}")
        lines += [control_line(c) for c in result.controls]
    lines += expired_waiver_lines(evidence)
    lines.append(verdict_line(evidence))
    if evidence_path:
        lines.append(f"evidence: {one_line(evidence_path)}")
    steps = next_steps(evidence)
    if steps and result.verdict != Verdict.COMPLIANT:
        lines.append("next steps:")
        lines += [f"  {step.text}" for step in steps]
    # Each line once more through one_line (it leaves its own escapes as they are): a text of the
    # evidence a line above writes as it is (a check's name in a next step did) reaches no terminal raw.
    return [one_line(line) for line in lines]


def summary_json(document: dict[str, Any]) -> bytes:
    """A :func:`summary_object` (with whatever the command adds) as printed on standard output:
    indented JSON made plain text (:func:`auditor.text.plain_json`), as SARIF, OSCAL and HDF are.
    Standard output is a terminal as often as a pipe, and ``ensure_ascii=False`` alone escapes the C0
    controls: a process name's 8-bit CSI (0x9B), bidi override or line separator reached it raw."""
    return (plain_json(document, indent=2) + "\n").encode("utf-8")


def summary_object(evidence: Evidence, evidence_path: str | None = None) -> dict[str, Any]:
    """The compact machine-readable summary of a run (``evaluate --json``, ``show --json``); its texts
    as every report shows them (:func:`auditor.report._shared.bounded_evidence`)."""
    evidence = bounded_evidence(evidence)
    result = evidence.result
    parts = sections(evidence)

    def row(finding: Finding, **extra: Any) -> dict[str, Any]:
        return {"rule": finding.rule_id, "check": finding.check, "severity": finding.severity.value,
                "status": finding.status.value, "subject": finding.subject, "id": finding.id,
                "reason": finding.message if finding.status == Status.FAIL else (finding.reason or finding.message),
                **extra}

    prov = evidence.snapshot.provenance
    return {
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "fail_on": result.fail_on.value,
        "policy": {"id": evidence.policy.id, "version": evidence.policy.version},
        "host": prov.hostname,
        "source": prov.source,
        "evidence": evidence_path,
        "counts": {s.value: result.summary.by_status.get(s.value, 0) for s in Status},
        "failing": [row(f, counted=True) for f in parts.blocking] + [row(f, counted=False) for f in parts.below],
        "not_judged": [row(f, hint=reviewable_hint(f.reason or "", evidence) if f.status == Status.NOT_REVIEWED
                           else None) for f in parts.unjudged],
        # Each waived failure with its waiver: a COMPLIANT verdict over accepted failures names them,
        # as every report does; without this list only a count said any failure was waived.
        "waived": [row(f, waiver=None if f.waiver is None else {
            "approver": f.waiver.approver, "reason": f.waiver.reason, "expires": f.waiver.expires.isoformat()})
            for f in parts.other if f.status == Status.WAIVED],
        "incomplete_reasons": list(result.incomplete_reasons),
        "next_steps": [step.text for step in next_steps(evidence)],
    }
