"""What the attestation says, independent of how it is laid out: the format-neutral view.

:func:`attestation_view` reads the evidence alone (and how the report refers to the evidence file)
and returns plain dataclasses: the words, counts, rows and verdict of the cover, the executive
summary, the controls, the findings, the waivers, the method and scope, and the attestation
statement's values.  The PDF (:mod:`auditor.report._pdf_sections`) lays these out; an HTML report
renders the same view, so both say the same thing.  Strings here are plain text (no markup): a
renderer escapes them for its format.  Pure: no clock, no host, no randomness.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model.base import canonical_json, sha256_hex
from auditor.model.evidence import CheckRecord, Evidence
from auditor.model.facts import SECTIONS, GapKind
from auditor.model.records import record
from auditor.model.result import STATUS_ORDER, AppliedWaiver, Finding, Severity, Status, Verdict
from auditor.text import line_text, one_line

if TYPE_CHECKING:
    from auditor.report import ReportContext

ATTENTION = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED)
STATUS_LABELS = {
    Status.FAIL: "fail",
    Status.ERROR: "error",
    Status.NOT_REVIEWED: "not reviewed",
    Status.PASS: "pass",
    Status.WAIVED: "waived",
    Status.NOT_APPLICABLE: "not applicable",
}
VERDICT_WORDS = {
    Verdict.COMPLIANT: "COMPLIANT",
    Verdict.NON_COMPLIANT: "NOT COMPLIANT",
    Verdict.INCOMPLETE: "INCOMPLETE",
}
SOURCE_WORDS = {"live": "live host", "root": "offline root directory", "snapshot": "saved snapshot",
                "replay": "captured bundle"}
MAX_VALUE_CHARS = 600  # observed/expected longer than this are cut; the embedded evidence has them whole
MAX_PASS_SUBJECTS = 12
MAX_INCOMPLETE_REASONS = 20
CLUSTER_ABOVE = 60  # a rule with more findings needing attention is also summarised by workload
MAX_CLUSTER_SUBJECTS = 8
NOTHING = "\u2014"  # an empty cell
DEFAULT_EVIDENCE_NAME = "evidence.json"  # how a report refers to evidence given without a path


# ------------------------------------------------------------------ words

def count_phrase(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def utc_text(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _inline(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, str):
        return line_text(value)  # a value is one line of the "key: value" lines (see FindingRow)
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return ", ".join(_inline(v) for v in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _value_lines(value: Any, depth: int = 0) -> list[str]:
    """Observed/expected values as an auditor reads them: ``key: value`` lines, not raw JSON."""
    if isinstance(value, dict) and value and depth < 2:
        lines = []
        for key in sorted(value):
            inner = value[key]
            if isinstance(inner, (dict, list)) and inner and _inline(inner).startswith(("{", "[")) and depth < 1:
                lines.append(f"{line_text(key)}:")  # a key may be the host's too (a file name)
                lines += ["  " + line for line in _value_lines(inner, depth + 1)]
            else:
                lines.append(f"{line_text(key)}: {_inline(inner)}")
        return lines
    if isinstance(value, list) and value and any(isinstance(v, dict) for v in value) and depth < 2:
        lines = []
        for item in value:
            item_lines = _value_lines(item, depth + 1)
            lines += ["- " + item_lines[0]] + ["  " + line for line in item_lines[1:]]
        return lines
    return [_inline(value)]


def value_text(value: Any) -> str:
    if value is None:
        return NOTHING
    shown = "\n".join(_value_lines(value))
    if len(shown) > MAX_VALUE_CHARS:
        shown = shown[:MAX_VALUE_CHARS] + "\u2026 (cut; whole value in the embedded evidence)"
    return shown


_OPERATORS = {"at_least": "at least", "at_most": "at most", "min": "at least", "max": "at most", "one_of": "one of",
              "equals": "exactly", "not": "not"}


def _plain(value: Any) -> str:
    """A scalar or a flat list as words: yes/no, "none", "a, b, c"."""
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return ", ".join(_plain(v) for v in value)  # neither "and" nor "or": a list may be a set or alternatives
    if isinstance(value, (list, dict)):
        return value_sentence(value, nested=True)
    return line_text(value)


def value_sentence(value: Any, nested: bool = False) -> str:
    """An observed or expected value as a sentence an auditor reads, not a field dump:
    ``{"address": "0.0.0.0", "port": 22, "wildcard": true}`` -> "address 0.0.0.0, port 22, wildcard yes";
    ``{"at_least": 4096}`` -> "at least 4096"; a list of alternatives joined with "; or"."""
    if isinstance(value, dict):
        parts = []
        # in key order, as the evidence file keeps it: a report from the file read back (report,
        # verify --pdf) must say the same as one from the run's memory (evaluate)
        for key in sorted(value):
            words = _OPERATORS.get(key) or line_text(key).replace("_", " ")
            parts.append(f"{words} {_plain(value[key])}")
        shown = ", ".join(parts) if parts else "none"
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        shown = "; or ".join(value_sentence(v, nested=True) for v in value) if not nested else \
            "[" + "; ".join(value_sentence(v, nested=True) for v in value) + "]"
    else:
        shown = _plain(value)
    if nested:
        return shown
    if len(shown) > MAX_VALUE_CHARS:
        shown = shown[:MAX_VALUE_CHARS].rstrip() + "\u2026 (cut; whole value in the embedded evidence)"
    return shown


def workload_of(finding: Finding) -> str:
    """The process or workload a finding's subject belongs to, for grouping many findings: the
    owning process's name (numbered instances such as ``worker-00017`` read as ``worker-#``) and
    its user, from the check's subject detail; "" when the check records none."""
    detail = finding.subject_detail or {}
    name = detail.get("process") or (str(detail["exe"]).rsplit("/", 1)[-1] if detail.get("exe") else None)
    if not name:
        return ""
    name = _workload_name(str(name))
    user = detail.get("user")
    return line_text(f"{name} (user {user})" if user not in (None, "") else name)


_SEPARATORS = "-_.@"


def _workload_name(name: str) -> str:
    """A numbered instance's name with its number as "#": ``worker-00017`` -> ``worker-#``,
    ``kworker7`` -> ``kworker#``; any other name as it is.  What ``re.match(r"^(.*?)[-_.@]?\\d+$")``
    and its shortest first group say (tests/report/test_view_lines.py compares them), without a
    regular expression: that was a fifth of building the view of 5,000 findings."""
    line = name[:-1] if name.endswith("\n") else name  # $ also matches before a final line break
    end = len(line)
    while end and line[end - 1].isdecimal():  # \d: a Unicode decimal digit
        end -= 1
    if end == len(line) or "\n" in line:  # no number at the end, or a line break "." does not match
        return name
    if end and line[end - 1] in _SEPARATORS:
        end -= 1
    return line[:end] + ("-#" if line[end] in _SEPARATORS else "#") if end else name


def document_id(evidence_sha256: str) -> str:
    """The document id printed on every page: the first 48 bits of the evidence file's SHA-256, so
    the same evidence always gives the same id and the id leads to the file."""
    digest = evidence_sha256.upper()
    return f"LBA-{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


def verdict_sentence(evidence: Evidence) -> str:
    result = evidence.result
    policy = f"policy {evidence.policy.id} {evidence.policy.version}"
    threshold = result.fail_on.value
    # One pass over the findings, severities looked up in a tuple (compared as strings): hashing an
    # enum member runs Python code, and three passes with a set cost 5,000 findings about 15 ms.
    at_or_above = tuple(s for s in Severity if s.rank >= result.fail_on.rank)  # rank once per severity
    failing = blocking = unseen = waived = 0
    for finding in result.findings:
        status = finding.status
        if status == Status.FAIL:
            failing += 1
            if finding.severity in at_or_above:
                blocking += 1
        elif status == Status.ERROR or status == Status.NOT_REVIEWED:
            unseen += 1
        elif status == Status.WAIVED:
            waived += 1
    if result.verdict == Verdict.INCOMPLETE and not unseen:
        # Incomplete without an unjudged finding: nothing was judged (every finding not applicable);
        # "0 findings could not be reviewed" would read as if everything had been.
        reasons = "; ".join(one_line(r) for r in result.incomplete_reasons) or "nothing could be judged"
        return (f"Compliance with {policy} could not be established: {reasons}. "
                f"No finding failed at or above severity {threshold}.") + _waived_words(waived)
    return _verdict_words(result.verdict, policy, threshold, failing, blocking, unseen, waived) + _waived_words(waived)


def _waived_words(waived: int) -> str:
    """The waived failures, after the verdict's sentence: as the terminal's verdict line says them, so
    that a run whose failures were all waived never reads as one in which nothing failed."""
    if not waived:
        return ""
    if waived == 1:
        return " 1 failing finding is waived: an approved deviation, not a pass (listed with its waiver)."
    return f" {waived} failing findings are waived: approved deviations, not passes (listed with their waivers)."


def _verdict_words(verdict: Verdict, policy: str, threshold: str, failing: int, blocking: int, unseen: int,
                   waived: int = 0) -> str:
    if verdict == Verdict.NON_COMPLIANT:
        sentence = (f"The system does not meet {policy}: {count_phrase(blocking, 'finding')} "
                    f"failed at or above severity {threshold}.")
        if unseen:
            sentence += (f" In addition, {count_phrase(unseen, 'finding')} could not be reviewed "
                         "or errored, so the assessment is also incomplete.")
        return sentence
    if verdict == Verdict.INCOMPLETE:
        return (f"Compliance with {policy} could not be established: {count_phrase(unseen, 'finding')} "
                f"could not be reviewed or errored. No finding failed at or above severity {threshold}.")
    below = failing
    except_waived = " but those waived" if waived else ""
    sentence = (f"The system meets {policy}: no finding failed at or above severity {threshold}{except_waived}, "
                "and every rule could be reviewed.")
    if below:
        sentence += f" {count_phrase(below, 'finding')} failed below that severity."
    return sentence


# ------------------------------------------------------------------ the sections

@record
class FactsTrust:
    """Whether the facts came from this run, a verified snapshot or an unverified one."""

    kind: str  # "collected", "verified", "unverified" or "bundle" (a replayed capture)
    key: str | None = None  # the verifying key's fingerprint ("?" when unknown)
    why: str | None = None  # why an unverified snapshot is not verified


@record
class Cover:
    verdict: Verdict
    verdict_word: str
    verdict_sentence: str
    status_counts: tuple[tuple[Status, int], ...]  # every status in STATUS_ORDER
    system: str
    os: str
    kernel: str
    machine_id: str
    source: str  # where the facts were collected from, in words
    trust: FactsTrust
    policy: str
    policy_sha256: str
    ran: str
    tool: str
    assessor: str
    evidence_name: str
    evidence_sha256: str
    content_sha256: str  # of the canonical JSON: what a detached signature signs
    fingerprint: str | None  # of the key that signed the evidence; None: unsigned
    document_id: str = ""  # document_id(evidence_sha256)
    scope: "Scope | None" = None  # the scope box: target, privileges, what could not be seen
    organisation: str = ""  # --org-name; "" when none was given
    pdf_signer: str = ""  # the certificate that signs the PDF itself (PAdES, --pdf-cert); "" when none


@record
class Scope:
    """What the assessment covered and could not: printed on the cover."""

    target: str  # what was assessed, in words ("live host web01 (local)")
    privileges: str  # "root (uid 0), with administrative privileges"
    unseen: tuple[str, ...]  # one line per gap ("audit: permission denied ..."); empty: everything was seen
    not_reviewed: int  # findings not reviewed: evidence was missing (errors are counted elsewhere)


@record
class SeverityRow:
    severity: str
    counts: tuple[int, ...]  # by status, in STATUS_ORDER
    total: int


@record
class FamilyCounts:
    family: str
    title: str
    counts: Counter  # control status value -> number of the family's controls


@record
class AttentionRow:
    rule: str
    severity: str
    findings: str  # "2 fail, 1 not reviewed"
    controls: str


@record
class Summary:
    rules: int
    policy_id: str
    policy_version: str
    hostname: str
    findings: int
    controls: int
    families: int
    fail_on: str
    verdict_word: str
    verdict_sentence: str
    severity_rows: tuple[SeverityRow, ...]  # most severe first
    total_row: SeverityRow  # "all severities"
    family_counts: tuple[FamilyCounts, ...]  # sorted by family
    attention: tuple[AttentionRow, ...]  # rules with failing, erroring or unreviewed findings, in policy order


@record
class ControlRow:
    id: str
    title: str
    status: Status
    satisfied: bool
    rules: str
    findings: str  # "1 fail, 2 pass"
    # SP 800-53A words: a determination is "satisfied" or "other than satisfied" (failing, erroring
    # and not reviewed alike); the note says which it was.
    determination: str = ""
    determination_note: str = ""  # "" when satisfied; else e.g. "2 fail, 1 not reviewed"
    statement: tuple[str, ...] = ()  # SP 800-53 Rev. 5 control statement (controls/, from NIST's OSCAL)
    objective: tuple[str, ...] = ()  # SP 800-53A assessment objective (determination statements)
    methods: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ("examine", objects), ("interview", ...), ("test", ...)
    text_source: str = ""  # the NIST catalog the text comes from
    text_note: str = ""  # why an objective is missing, when it is


class FindingRow:
    """A finding that needs attention, as the attestation words it.

    One per such finding (5,000 of a large host), so not a frozen dataclass (which sets each field
    through ``object.__setattr__``): a plain class with slots, read-only by convention.  ``observed``
    and ``expected`` (the values as ``key: value`` lines) are worded only when asked for: the PDF
    shows the sentences, and a rule with many findings only their workloads and shared sentences."""

    __slots__ = ("status", "subject", "message", "reason", "observed_sentence", "expected_sentence", "workload",
                 "_finding")
    # What a row says (compared by ==, as the dataclass it was compared its fields)
    FIELDS = ("status", "subject", "message", "reason", "observed", "expected", "observed_sentence",
              "expected_sentence", "workload")

    def __init__(self, finding: Finding) -> None:
        unseen = finding.observed is None and finding.status in (Status.NOT_REVIEWED, Status.ERROR)
        shows_reason = finding.reason and finding.reason != finding.message.removeprefix("not reviewed: ")
        # Each text is one line (auditor.text.line_text: a line break as "\\n"), as the terminal shows
        # it: the PDF lays a finding out in lines (its subject, then "Reason:", "Observed:",
        # "Expected:"), and a process named "sshd\\nExpected: ..." wrote a line of its choosing there.
        self.status: Status = finding.status
        self.subject: str = line_text(finding.subject)
        self.message: str = line_text(finding.message)
        self.reason: str | None = line_text(finding.reason) if shows_reason else None  # when the message does not say it
        # value_sentence(observed / expected): how a report words them
        self.observed_sentence: str = "not observed" if unseen else (
            value_sentence(finding.observed) if finding.observed is not None else NOTHING)
        self.expected_sentence: str = value_sentence(finding.expected) if finding.expected is not None else NOTHING
        self.workload: str = workload_of(finding)  # the owning process, "" when none is recorded
        self._finding = finding

    @property
    def observed(self) -> str:
        finding = self._finding
        if finding.observed is None and finding.status in (Status.NOT_REVIEWED, Status.ERROR):
            return "not observed"
        return value_text(finding.observed)

    @property
    def expected(self) -> str:
        return value_text(self._finding.expected)

    def _said(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return self._said() == other._said() if isinstance(other, FindingRow) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._said())

    def __repr__(self) -> str:
        return f"FindingRow({self.status.value}, {self.subject!r})"


@record
class FindingCluster:
    """Findings of one rule with the same status and workload, counted (for rules with many)."""

    status: Status
    workload: str  # "worker-# (user app)"; "no owning process recorded" when none is
    count: int
    subjects: tuple[str, ...]  # the first MAX_CLUSTER_SUBJECTS, sorted
    more: int  # how many subjects are not listed (they are in the evidence)
    message: str  # shared by all, or the first one's with "e.g."
    observed: str  # sentence shared by all, or the first one's with "e.g."
    expected: str


@record
class FindingGroup:
    """A rule with findings that need attention, and those findings (worst status first)."""

    rule_id: str
    title: str  # "rule-id: title"
    check: str
    check_version: str | None  # None: the check is not recorded in the evidence
    severity: str
    controls: str
    source: str  # where the rule is defined
    rationale: str | None
    remediation: str | None
    rows: tuple[FindingRow, ...]
    # With more than CLUSTER_ABOVE rows: the rows counted by status and workload; a report may show
    # these instead of every row (the evidence has them all).  Empty for smaller groups.
    clusters: tuple[FindingCluster, ...] = ()


@record
class PassRow:
    rule: str
    check: str
    passing: int
    not_applicable: int
    subjects: str


@record
class WaiverRow:
    rule_id: str
    subject: str | None  # None: every finding of the rule
    approver: str
    reason: str
    expires: str
    state: str  # "expired", "applied", "superseded" (each failure it matches an earlier waiver waives) or "unused"
    findings: int  # applied: how many findings it waived; else how many it matched


@record
class WaivedRow:
    rule_id: str
    subject: str
    severity: str
    approver: str
    until: str


@record
class Waivers:
    evaluated_on: str
    rows: tuple[WaiverRow, ...]
    waived: tuple[WaivedRow, ...]


@record
class SectionRow:
    section: str
    how: str
    state: str  # "collected", "collected, partly" or "not collected"


@record
class GapRow:
    section: str
    field: str
    kind: str
    reason: str


@record
class CheckRow:
    name: str
    version: str
    origin: str
    needs: str
    controls: str


@record
class InputRow:
    input: str
    name: str
    sha256: str


@record
class Method:
    source: str  # in words
    source_detail: str | None
    collected_at: str
    tool_version: str
    who: str  # "root (uid 0)"
    privileged: bool
    sections: tuple[SectionRow, ...]
    gaps: tuple[GapRow, ...]
    incomplete_reasons: tuple[str, ...]  # at most MAX_INCOMPLETE_REASONS
    more_incomplete: int  # how many more there are
    checks: tuple[CheckRow, ...]
    inputs: tuple[InputRow, ...]
    evaluated_on: str
    fail_on: str
    timings: str  # "collect 1400 ms, evaluate 18 ms"; empty when none were recorded


@record
class AttestationView:
    cover: Cover
    summary: Summary
    controls: tuple[ControlRow, ...]
    findings: tuple[FindingGroup, ...]
    passes: tuple[PassRow, ...]
    waivers: Waivers
    method: Method
    statement_values: dict[str, str]  # the placeholders of the attestation statement


# ------------------------------------------------------------------ building the view

def _facts_trust(prov: Any) -> FactsTrust:
    if prov.source == "replay":
        return FactsTrust("bundle", why="parsed by this run from probe outputs captured on the host, which are not "
                                        "signed")
    if prov.source != "snapshot":
        return FactsTrust("collected")
    if prov.source_signature == "verified":
        return FactsTrust("verified", key=prov.source_signature_key or "?")
    why = {"not_checked": "signed, but the signature was not checked (no --snapshot-pubkey)",
           "unsigned": "the snapshot is not signed"}.get(prov.source_signature or "", "signature state unknown")
    return FactsTrust("unverified", why=why)


MAX_SCOPE_GAPS = 6


def _scope(ev: Evidence) -> Scope:
    prov = ev.snapshot.provenance
    # The host's words (its name, user, a gap's reason naming its files) are one line each (line_text):
    # the cover lays them out a line each, and a host named "web01\\nFacts trusted: verified
    # snapshot" wrote that line under "System assessed".
    target = f"{SOURCE_WORDS.get(prov.source, prov.source)} {line_text(prov.hostname)}"
    if prov.source == "snapshot" and prov.collected_from in ("root", "replay"):
        target += {"root": " (collected from an offline root directory)",
                   "replay": " (collected from a captured bundle)"}[prov.collected_from]
    if prov.source_detail:
        target += f" ({line_text(prov.source_detail)})"
    who = line_text(prov.effective_user) if prov.effective_user else "an unknown user"
    if prov.effective_uid is not None:
        who += f" (uid {prov.effective_uid})"
    privileges = who + (", with administrative privileges" if prov.privileged else
                        ", without administrative privileges: what needs them is reported as not seen")
    # A not_applicable gap says what cannot exist here (a transport the kernel lacks): not unseen.
    gaps = sorted((g for g in ev.snapshot.gaps if g.kind != GapKind.NOT_APPLICABLE),
                  key=lambda g: (g.section, g.field, g.reason))
    unseen = [line_text(f"{g.section}{' ' + g.field if g.field else ''}: {g.reason}") for g in gaps[:MAX_SCOPE_GAPS]]
    if len(gaps) > MAX_SCOPE_GAPS:
        unseen.append(f"and {len(gaps) - MAX_SCOPE_GAPS} more (section 5)")
    for section in SECTIONS:
        if getattr(ev.snapshot.facts, section) is None and not ev.snapshot.gaps_for(section) \
                and section in {n for c in ev.checks for n in c.needs}:
            unseen.append(f"{section}: not collected")
    not_reviewed = sum(1 for f in ev.result.findings if f.status == Status.NOT_REVIEWED)  # errors are check bugs
    return Scope(target=target, privileges=privileges, unseen=tuple(unseen), not_reviewed=not_reviewed)


def _cover(ev: Evidence, evidence_name: str, evidence_sha256: str, content_sha256: str, fingerprint: str | None,
           assessor: str, organisation: str = "", sentence: str | None = None) -> Cover:
    prov = ev.snapshot.provenance
    by_status = ev.result.summary.by_status
    source = SOURCE_WORDS.get(prov.source, prov.source)
    if prov.source_detail:
        source += f" {line_text(prov.source_detail)}"
    if prov.source_sha256:
        source += f" (SHA-256 {prov.source_sha256[:16]}\u2026)"
    return Cover(
        verdict=ev.result.verdict, verdict_word=VERDICT_WORDS[ev.result.verdict],
        verdict_sentence=verdict_sentence(ev) if sentence is None else sentence,
        status_counts=tuple((status, by_status.get(status.value, 0)) for status in STATUS_ORDER),
        system=line_text(prov.hostname + (f" ({prov.arch})" if prov.arch else "")),  # one line each, as _scope's
        os=line_text(prov.os or "unknown"), kernel=line_text(prov.kernel or "unknown"),
        machine_id=line_text(prov.machine_id or "unknown"),
        source=source, trust=_facts_trust(prov),
        policy=f"{ev.policy.id}, version {ev.policy.version}, owner {ev.policy.owner}",
        policy_sha256=ev.policy_sha256,
        ran=f"{utc_text(ev.run.started_at)} to {utc_text(ev.run.finished_at)}",
        tool=f"lbaudit {line_text(ev.tool.version)}", assessor=assessor, evidence_name=evidence_name,
        evidence_sha256=evidence_sha256, content_sha256=content_sha256, fingerprint=fingerprint,
        document_id=document_id(evidence_sha256), scope=_scope(ev), organisation=organisation,
    )


def _summary(ev: Evidence, sentence: str | None = None) -> Summary:
    result = ev.result
    grid = Counter((f.severity, f.status) for f in result.findings)
    severity_rows = []
    for severity in sorted(Severity, key=lambda s: -s.rank):
        counts = tuple(grid[(severity, s)] for s in STATUS_ORDER)
        severity_rows.append(SeverityRow(severity.value, counts, sum(counts)))
    totals = tuple(result.summary.by_status.get(s.value, 0) for s in STATUS_ORDER)
    by_family: dict[str, Counter] = {}
    titles: dict[str, str] = {}
    for control in result.controls:  # the evidence records family titles: no catalog needed
        by_family.setdefault(control.family, Counter())[control.status.value] += 1
        titles.setdefault(control.family, control.family_title)
    by_rule = Counter((f.rule_id, f.status) for f in result.findings)  # one pass, not one per rule
    failing_rules = {rule_id for rule_id, status in by_rule if status in ATTENTION}
    attention = []
    for rule in ev.policy.rules:
        if rule.id not in failing_rules:
            continue
        states = ", ".join(f"{by_rule[(rule.id, s)]} {STATUS_LABELS[s]}" for s in ATTENTION if by_rule[(rule.id, s)])
        attention.append(AttentionRow(rule.id, rule.severity.value, states, ", ".join(rule.controls)))
    return Summary(
        rules=result.summary.rules, policy_id=ev.policy.id, policy_version=ev.policy.version,
        hostname=line_text(ev.snapshot.provenance.hostname), findings=result.summary.findings, controls=len(result.controls),
        families=len({c.family for c in result.controls}), fail_on=result.fail_on.value,
        verdict_word=VERDICT_WORDS[result.verdict],
        verdict_sentence=verdict_sentence(ev) if sentence is None else sentence,
        severity_rows=tuple(severity_rows), total_row=SeverityRow("all severities", totals, sum(totals)),
        family_counts=tuple(FamilyCounts(f, titles[f], by_family[f]) for f in sorted(by_family)),
        attention=tuple(attention),
    )


def _controls(ev: Evidence) -> tuple[ControlRow, ...]:
    from auditor.catalog import load_control_text  # NIST's words for each control (controls/, shipped)

    texts = load_control_text()
    rows = []
    for control in ev.result.controls:
        counts = ", ".join(f"{n} {STATUS_LABELS[Status(s)]}" for s, n in sorted(
            control.counts.items(), key=lambda kv: STATUS_ORDER.index(Status(kv[0]))) if n)
        known = texts.get(control.id)
        note = "" if control.satisfied else ", ".join(
            f"{n} {STATUS_LABELS[Status(s)]}" for s, n in sorted(
                control.counts.items(), key=lambda kv: STATUS_ORDER.index(Status(kv[0])))
            if n and Status(s) in ATTENTION) or STATUS_LABELS[Status(control.status)]
        rows.append(ControlRow(
            control.id, control.title or NOTHING, Status(control.status), control.satisfied,
            ", ".join(control.rules), counts,
            determination="satisfied" if control.satisfied else "other than satisfied", determination_note=note,
            statement=known.statement if known else (),
            objective=known.objective if known else (),
            methods=tuple((m, known.methods[m]) for m in ("examine", "interview", "test") if m in known.methods)
            if known else (),
            text_source=known.source if known else "",
            text_note=(known.note or "") if known else "not in lbaudit's NIST control data (controls/)"))
    return tuple(rows)


def _shared(values: list[str]) -> str:
    first = values[0]
    return first if all(v == first for v in values) else f"e.g. {first}"


def _clusters(rows: tuple[FindingRow, ...]) -> tuple[FindingCluster, ...]:
    """Rows counted by status and workload, in the rows' order of status, biggest workload first."""
    by_key: dict[tuple[Status, str], list[FindingRow]] = {}
    for row in rows:
        by_key.setdefault((row.status, row.workload or "no owning process recorded"), []).append(row)
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    clusters = []
    for (status, workload), members in sorted(by_key.items(), key=lambda kv: (order[kv[0][0]], -len(kv[1]), kv[0][1])):
        subjects = sorted(r.subject for r in members)
        clusters.append(FindingCluster(
            status=status, workload=workload, count=len(members), subjects=tuple(subjects[:MAX_CLUSTER_SUBJECTS]),
            more=max(0, len(subjects) - MAX_CLUSTER_SUBJECTS), message=_shared([r.message for r in members]),
            observed=_shared([r.observed_sentence for r in members]),
            expected=_shared([r.expected_sentence for r in members])))
    return tuple(clusters)


def _by_rule(ev: Evidence) -> dict[str, list[Finding]]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in ev.result.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    return by_rule


def _findings(ev: Evidence, by_rule: dict[str, list[Finding]]) -> tuple[FindingGroup, ...]:
    checks: dict[str, CheckRecord] = {}
    for check in ev.checks:
        checks.setdefault(check.name, check)
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    groups = []
    for rule in ev.policy.rules:
        attention = sorted((f for f in by_rule.get(rule.id, []) if f.status in ATTENTION),
                           key=lambda f: (order[f.status], f.subject, f.id))
        if not attention:
            continue
        record = checks.get(rule.check)
        rows = tuple(FindingRow(f) for f in attention)
        groups.append(FindingGroup(
            rule_id=rule.id, title=f"{rule.id}: {rule.title or (record.title if record else rule.check)}",
            check=rule.check, check_version=record.version if record else None, severity=rule.severity.value,
            controls=", ".join(rule.controls), source=str(rule.source),
            rationale=record.rationale if record else None,
            remediation=record.remediation_on(ev.snapshot.provenance.platform) if record else None,
            rows=rows, clusters=_clusters(rows) if len(rows) > CLUSTER_ABOVE else (),
        ))
    return tuple(groups)


def _passes(ev: Evidence, by_rule: dict[str, list[Finding]]) -> tuple[PassRow, ...]:
    rows = []
    for rule in ev.policy.rules:
        group = by_rule.get(rule.id, [])
        passing = sorted(f.subject for f in group if f.status == Status.PASS)
        not_applicable = [f for f in group if f.status == Status.NOT_APPLICABLE]
        if not passing and not not_applicable:
            continue
        subjects = "; ".join(passing[:MAX_PASS_SUBJECTS])
        if len(passing) > MAX_PASS_SUBJECTS:
            subjects += f"; and {len(passing) - MAX_PASS_SUBJECTS} more (in the evidence)"
        for finding in not_applicable[:MAX_PASS_SUBJECTS]:
            subjects += f"{'; ' if subjects else ''}n/a: {finding.subject} ({finding.reason})"
        rows.append(PassRow(rule.id, rule.check, len(passing), len(not_applicable), subjects or NOTHING))
    return tuple(rows)


def waiver_outcomes(ev: Evidence) -> list[tuple[str, int]]:
    """Each waiver of the run's (in order) as a report states it: "expired" and the findings it
    matched, "applied" and the findings it waived, "superseded" (each failure it matched an earlier
    waiver waived) and those it matched, or "unused" and 0."""
    result = ev.result
    waived_under: dict[str, AppliedWaiver] = {f.id: f.waiver for f in result.findings
                                              if f.status == Status.WAIVED and f.waiver is not None}
    outcomes = []
    for w in result.waivers:
        state, count = (w.state if w.state in ("expired", "applied") else "unused"), len(w.findings)
        if state == "applied":
            # A waiver's findings are those it matched; each is waived by the first honoured waiver
            # that matches it, so one an earlier waiver covers waived none of them: "applied" said
            # it accepted failures another approval accepted.
            own = AppliedWaiver(reason=w.reason, approver=w.approver, expires=w.expires, subject=w.subject)
            count = sum(1 for fid in w.findings if waived_under.get(fid) == own)
            if not count:
                state, count = "superseded", len(w.findings)
        outcomes.append((state, count))
    return outcomes


def _waivers(ev: Evidence) -> Waivers:
    result = ev.result
    rows = tuple(WaiverRow(w.rule_id, w.subject or None, w.approver, w.reason, w.expires.isoformat(), state, count)
                 for w, (state, count) in zip(result.waivers, waiver_outcomes(ev)))
    waived = tuple(WaivedRow(f.rule_id, f.subject, f.severity.value, f.waiver.approver if f.waiver else NOTHING,
                             f.waiver.expires.isoformat() if f.waiver else NOTHING)
                   for f in sorted((f for f in result.findings if f.status == Status.WAIVED),
                                   key=lambda f: (f.rule_id, f.subject)))
    return Waivers(ev.run.evaluated_on.isoformat(), rows, waived)


def _method(ev: Evidence, evidence_name: str, evidence_sha256: str, content_sha256: str) -> Method:
    prov = ev.snapshot.provenance
    # The snapshot's words (who collected, with which lbaudit, how each section was read: a snapshot
    # file says what it likes) are one line each (line_text), as the cover and the scope show them:
    # a user "nobody\nFacts trusted: verified snapshot" wrote that line into the method statement.
    who = line_text(prov.effective_user) if prov.effective_user else "unknown user"
    if prov.effective_uid is not None:
        who += f" (uid {prov.effective_uid})"
    sections = []
    for section in SECTIONS:
        collected = getattr(ev.snapshot.facts, section) is not None
        state = "collected" if collected else "not collected"
        if collected and ev.snapshot.gaps_for(section):
            state = "collected, partly"
        sections.append(SectionRow(section, line_text(prov.methods.get(section, NOTHING)), state))
    gaps = tuple(GapRow(g.section, line_text(g.field) or "whole section", g.kind.value.replace("_", " "),
                        line_text(g.reason))
                 for g in sorted(ev.snapshot.gaps, key=lambda g: (g.section, g.field, g.reason)))
    reasons = ev.result.incomplete_reasons
    inputs = [InputRow("Policy file" + (" (extends)" if i else ""), s.path, s.sha256)
              for i, s in enumerate(ev.policy.sources)]
    if ev.waiver_file is not None:  # it decides which failures are waived: checked as the policy is
        inputs.append(InputRow("Waivers file", ev.waiver_file.path, ev.waiver_file.sha256))
    inputs += [
        InputRow("Policy (resolved)", f"{ev.policy.id} {ev.policy.version}", ev.policy_sha256),
        InputRow("Facts", "facts and gaps, canonical JSON", ev.facts_sha256),
        InputRow("Evidence file", evidence_name, evidence_sha256),
        InputRow("Evidence content", "canonical JSON (signed)", content_sha256),
    ]
    return Method(
        source=SOURCE_WORDS.get(prov.source, prov.source),
        source_detail=line_text(prov.source_detail) if prov.source_detail else None,
        collected_at=utc_text(prov.collected_at), tool_version=line_text(prov.tool_version), who=who,
        privileged=bool(prov.privileged), sections=tuple(sections), gaps=gaps,
        incomplete_reasons=tuple(line_text(reason) for reason in reasons[:MAX_INCOMPLETE_REASONS]),
        more_incomplete=max(0, len(reasons) - MAX_INCOMPLETE_REASONS),
        checks=tuple(CheckRow(c.name, c.version, c.origin, ", ".join(c.needs), ", ".join(c.controls))
                     for c in ev.checks),
        inputs=tuple(inputs), evaluated_on=ev.run.evaluated_on.isoformat(), fail_on=ev.result.fail_on.value,
        timings=", ".join(f"{k} {v} ms" for k, v in sorted(ev.run.timings_ms.items())),
    )


def attestation_view(evidence: Evidence, *, evidence_name: str, evidence_sha256: str, content_sha256: str,
                     fingerprint: str | None, assessor: str, organisation: str = "",
                     pdf_signer: str = "") -> AttestationView:
    """What every section of the attestation says about ``evidence``.

    ``evidence_name``: how the report refers to the evidence file; ``evidence_sha256``: of its bytes;
    ``content_sha256``: of its canonical JSON; ``fingerprint``: of the key that signed it (None:
    unsigned); ``assessor``: who ran the assessment; ``organisation``: whose assessment it is (--org-name);
    ``pdf_signer``: the certificate that signs the PDF (PAdES), when one does."""
    ev = evidence
    prov = ev.snapshot.provenance
    by_rule = _by_rule(ev)
    sentence = verdict_sentence(ev)  # the cover's and the summary's (one pass over the findings)
    return AttestationView(
        cover=dataclasses.replace(_cover(ev, evidence_name, evidence_sha256, content_sha256, fingerprint, assessor,
                                         organisation, sentence), pdf_signer=pdf_signer),
        summary=_summary(ev, sentence),
        controls=_controls(ev),
        findings=_findings(ev, by_rule),
        passes=_passes(ev, by_rule),
        waivers=_waivers(ev),
        method=_method(ev, evidence_name, evidence_sha256, content_sha256),
        statement_values={
            # the host's words one line each, as on the cover: the statement is a paragraph
            "host": line_text(prov.hostname), "machine_id": line_text(prov.machine_id or "unknown"),
            "date": utc_text(ev.run.finished_at),
            "policy_id": ev.policy.id, "policy_version": ev.policy.version, "policy_sha256": ev.policy_sha256,
            "tool_version": line_text(ev.tool.version), "evidence_name": line_text(evidence_name),
            "evidence_sha256": evidence_sha256,
            "verdict": VERDICT_WORDS[ev.result.verdict],
        },
    )


def content_sha256(evidence_bytes: bytes, file_sha256: str | None = None) -> str:
    """SHA-256 of the canonical JSON of the evidence: the digest ``lbaudit`` signatures cover.
    ``file_sha256``: of ``evidence_bytes``, when the caller has it (then they are not hashed again)."""
    from auditor.storage.evidence import known_content_sha256

    # evidence read from a file was digested as it was read
    known = known_content_sha256(evidence_bytes, file_sha256)
    if known is not None:
        return known
    return sha256_hex(canonical_json(json.loads(evidence_bytes.decode("utf-8"))))


def evidence_name(evidence_path: str | None) -> str:
    """The file name a report gives the evidence (its path's last part, or ``evidence.json``)."""
    name = Path(evidence_path).name if evidence_path else ""
    return name or DEFAULT_EVIDENCE_NAME


def view_of(evidence: Evidence, context: ReportContext) -> AttestationView:
    """The view a reporter renders: ``attestation_view`` with what the report context says (the
    evidence file's name and bytes, the signing key, the assessor or else the policy owner)."""
    evidence_sha256 = sha256_hex(context.evidence_bytes)
    return attestation_view(evidence, evidence_name=evidence_name(context.evidence_path),
                            evidence_sha256=evidence_sha256,
                            content_sha256=content_sha256(context.evidence_bytes, evidence_sha256),
                            fingerprint=context.signature_fingerprint,
                            assessor=context.assessor or evidence.policy.owner,
                            organisation=context.org_name or "", pdf_signer=context.pdf_signer or "")


# ------------------------------------------------------------------ every finding, one line each
# For renderers that list every finding rather than only those needing attention (the HTML report's
# filterable table, the HDF export's results): the words are decided here, once, like the rest.

CONTROL_JUDGEMENTS = ("satisfied", "other than satisfied", "not reviewed")


def control_judgement(status: Status, satisfied: bool) -> str:
    """SP 800-53A's wording for the engine's judgement of a control, read from the evidence as it
    stands (``ControlResult.satisfied`` and its status), never judged again here: "satisfied", "not
    reviewed" (evidence missing), otherwise "other than satisfied"."""
    if satisfied:
        return "satisfied"
    if status == Status.NOT_REVIEWED:
        return "not reviewed"
    return "other than satisfied"


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "\u2026 (cut; whole value in the evidence)"


def _phrase(value: Any) -> str:
    """A value inside a sentence: a flat mapping as ``key: value; key: value``, not JSON."""
    flat = isinstance(value, dict) and all(
        not isinstance(v, (dict, list)) or (isinstance(v, list) and not any(isinstance(i, (dict, list)) for i in v))
        for v in value.values())
    if flat and value:
        return _cut("; ".join(f"{key}: {_inline(value[key])}" for key in sorted(value)))
    return _cut(_inline(value))


def finding_sentence(finding: Finding) -> str:
    """Observed versus expected as one sentence an auditor reads, by status."""
    observed = _phrase(finding.observed)
    expected = _phrase(finding.expected)
    status = finding.status
    # one sentence: the host's words in it one line each (line_text), as the values are
    if status == Status.NOT_REVIEWED:
        return f"Nothing could be observed: {line_text(finding.reason or 'the evidence could not be collected')}."
    if status == Status.ERROR:
        return f"The check failed before it could judge: {line_text(finding.reason or finding.message)}."
    if status == Status.NOT_APPLICABLE:
        return f"Not applicable: {line_text(finding.reason or finding.message)}."
    if finding.expected is None:
        return f"Observed {observed}."
    if status == Status.PASS:
        return f"Observed {observed}, which meets the expectation: {expected}."
    sentence = f"Observed {observed}, but expected {expected}."
    if status == Status.WAIVED and finding.waiver is not None:
        sentence += (f" Waived until {finding.waiver.expires.isoformat()} (approved by "
                     f"{line_text(finding.waiver.approver)}: {line_text(finding.waiver.reason)}).")
    return sentence


@record
class FindingLine:
    """One finding of any status, as a single row of a table of every finding."""

    id: str
    rule_id: str
    rule_title: str
    status: Status
    status_label: str
    severity: str
    controls: tuple[str, ...]
    subject: str
    message: str
    sentence: str  # observed versus expected (finding_sentence); empty when the message already says it all


def finding_lines(evidence: Evidence) -> tuple[FindingLine, ...]:
    """Every finding, in policy rule order, worst status first within a rule, then by subject."""
    titles = {r.id: r.title or r.check for r in evidence.policy.rules}
    rank = {rule.id: index for index, rule in enumerate(evidence.policy.rules)}
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    findings = sorted(evidence.result.findings,
                      key=lambda f: (rank.get(f.rule_id, len(rank)), f.rule_id, order[f.status], f.subject, f.id))
    return tuple(FindingLine(f.id, f.rule_id, titles.get(f.rule_id, f.check), f.status, STATUS_LABELS[f.status],
                             f.severity.value, tuple(f.controls), f.subject, f.message, _line_sentence(f))
                 for f in findings)


def _line_sentence(finding: Finding) -> str:
    says_reason = finding.reason is not None and finding.reason in finding.message
    if finding.status in (Status.NOT_REVIEWED, Status.NOT_APPLICABLE) and says_reason:
        return ""
    return finding_sentence(finding)
