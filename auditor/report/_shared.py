"""Helpers the interchange reporters (OSCAL, SARIF, JUnit, HDF) share, and the bound on host text
(:func:`bounded_evidence`) every format but the evidence copy and the PDF renders through.

Private (leading underscore): not a reporter module (those are named in
:data:`auditor.report.BUILTIN_REPORTERS`).  Everything here is a pure function of the evidence and the report context.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, time, timezone
from urllib.parse import quote

from pydantic import BaseModel, JsonValue

from auditor.model.base import canonical_json, path_and_line
from auditor.model.evidence import Evidence
from auditor.model.facts import Gap
from auditor.model.records import record
from auditor.model.result import Finding
from auditor.report import ReportContext
from auditor.text import MAX_REPORT_TEXT_CHARS as MAX_REPORT_TEXT_CHARS  # re-exported: the reporters' bound
from auditor.text import bounded_text as bounded_text
from auditor.text import json_shows_not_plain, plain_tree


def utc(moment: datetime) -> datetime:
    """A moment in UTC.  A naive time in the evidence is taken to be UTC (lbaudit writes UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: accepted by OSCAL's date-time pattern, SARIF and JUnit readers."""
    text = utc(moment).isoformat()
    return text.removesuffix("+00:00") + "Z"


def end_of_day(day: date) -> str:
    """A waiver is honoured through its ``expires`` date, so its deadline is the end of that day."""
    return utc_timestamp(datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc))


def key_sorted(value: object) -> object:
    """A JSON value with every object's keys sorted.  Reports must not depend on key order: the
    evidence file is written with sorted keys, so an evidence read back orders its dicts differently
    from the one the engine built, and both must render the same bytes."""
    return json.loads(canonical_json(value))


def evidence_sha256(context: ReportContext) -> str:
    return hashlib.sha256(context.evidence_bytes).hexdigest()


def evidence_reference(evidence: Evidence, context: ReportContext) -> str:
    """How a report names the evidence file: as the caller says, else the CLI's default ``<policy-id>.evidence.json``."""
    return context.evidence_path or f"{evidence.policy.id}.evidence.json"


@record
class SourceLine:
    path: str
    line: int | None


def rule_source(source: str) -> SourceLine:
    """Split ``ResolvedRule.source`` (``"corp.yaml:14"``) into file and line; the path may hold colons."""
    path, line = path_and_line(source)
    return SourceLine(path, line)


# RFC 3986 path characters a URI reference may carry as they are, minus ":" : in a relative
# reference's first segment a colon makes the text before it a scheme ("corp:v2.yaml" would name a
# resource of scheme "corp", "C:/policies/corp.yaml" one of scheme "c"), so it is percent-encoded.
_PATH_SAFE = "/@!$&'()*+,;=-._~"


def path_uri(path: str) -> str:
    """A file path as a URI reference: percent-encoded, never read as a scheme."""
    return quote(path, safe=_PATH_SAFE)


# "](" as message text in SARIF (3.11.6) and Markdown read it: the middle of a link ``[text](target)``,
# with any backslashes before it (each escapes the next character).  A match starts only where a run
# of backslashes does (not after a backslash): from every start inside a run the engine read the rest
# of it again, and a host text of 65,536 backslashes took some 100 s.
_LINK_MIDDLE = re.compile(r"(?<!\\)(\\*)\]\(")
# What makes a link, an image, a tag or a character of Markdown text (CommonMark): "](" and "][" between a link's
# text and its destination or label; a "[" that starts a line (up to three spaces in), a link
# reference definition ``[label]: /destination``; "<", an autolink ``<https://...>`` or raw
# HTML, which CommonMark passes through (``<a href=...>``, ``<img src=...>``); and "&", a character
# reference (``&#x202e;`` is a right-to-left override once rendered, past the plain-text escaping).
# With the backslashes before each (each escapes the next character); and any other backslash before
# ASCII punctuation, which Markdown would take as an escape and not show (a name's "\\[" read "[").
_MARKDOWN_OPENER = re.compile(r"(\\*)(\](?=[(\[])|[<&])|^( {0,3})(\\*)(\[)|(\\+)(?=[!-/:-@\[-`{-~])", re.MULTILINE)


def no_embedded_link(text: str) -> str:
    """Host text as SARIF message text: no embedded link.  A viewer (code scanning, an IDE's SARIF
    viewer) renders ``[text](target)`` in ``message.text`` as a link, so a process named
    ``[Fixed: see](https://example.invalid)`` was a link in the alert; the bracket is escaped (``\\]``,
    the spec's literal bracket; a backslash before it is escaped too)."""
    return _LINK_MIDDLE.sub(lambda m: m.group(1) * 2 + "\\](", text)


def _escaped_opener(match: re.Match[str]) -> str:
    if match.group(6) is not None:
        return match.group(6) * 2
    if match.group(2) is not None:
        return match.group(1) * 2 + "\\" + match.group(2)
    return match.group(3) + match.group(4) * 2 + "\\["


def no_markdown_link(text: str) -> str:
    """Host text as OSCAL markup (Markdown): no link ``[text](target)`` or ``[text][label]``, no
    link reference definition, autolink ``<scheme:...>``, HTML tag (``<a href=...>``, ``<img>``) or
    character reference (``&#x202e;``): each of their openers escaped with a backslash (a backslash
    before it is escaped too).  A
    subject's IPv6 brackets (``tcp [::]:22``) stay as they are."""
    # Every opener holds one of these: text without them (most of it) is not walked by the pattern,
    # whose alternatives cost sre a try at every character (6.1 s of the OSCAL document of 5,000 listeners).
    return _MARKDOWN_OPENER.sub(_escaped_opener, text) if _MARKDOWN_OPENER_CHARACTER.search(text) else text


_MARKDOWN_OPENER_CHARACTER = re.compile(r"[\]\[<&\\]")


# Host text (process names, command lines, users, interface and host names; any local user can name a
# process) reaches these documents' viewers as it is: code scanning, a CI server's test pages and
# logs, Heimdall.  A bidi override turned a finding's subject around there ("Trojan Source") and a C1
# control (0x9B, the 8-bit CSI) went to the terminal that printed a log.  So every document is made
# plain text (auditor.text.plain_text: control characters but tab and line feed, line separators and
# bidi controls as their escapes, as the terminal and the HTML report show them) as a whole, once,
# where it is written (JUnit: auditor.report.junit.xml_document): not field by field, so that no field a renderer adds can miss it.  The
# evidence keeps the text as the host had it.


def json_document(document: dict) -> bytes:
    """An interchange JSON document (SARIF, OSCAL, HDF) as written: every string in it plain text
    (:func:`auditor.text.plain_json`), indented, UTF-8: the bytes of ``json.dumps(plain_tree(document),
    indent=2, ensure_ascii=False) + "\\n"``, written at C speed (auditor.storage.jsontext: the
    standard library's indented encoder is pure Python, 6.3 s of the 31 s the SARIF log of 5,000
    listeners took)."""
    from auditor.storage.jsontext import every_member, indented_json

    data = indented_json(document, every_member, sort_keys=False)
    if json_shows_not_plain(data):
        data = indented_json(plain_tree(document), every_member, sort_keys=False)
    return data


# The most of one text of a finding (its subject, message, reason, a string in its subject detail,
# observed or expected value, its waiver's words) that a report repeats: far above any text a check
# writes (a long Java command line is some 30,000 characters), far below what a host or a plugin can
# put there.  A plugin's reason or a gap's of tens of megabytes, within the evidence's cap
# (auditor.storage.evidence.MAX_EVIDENCE_BYTES), was repeated whole by every format (SARIF twice,
# OSCAL three times, each escaped): a message and a reason of 40 MB each gave 500 MB of reports and
# a 1.26 GB peak to build them.  The evidence keeps the text whole; every report names the evidence
# file and its digest.  MAX_REPORT_TEXT_CHARS and bounded_text live in auditor.text (standard library
# only), which bounds every message lbaudit prints by the same rule.


def _bounded_json(value: JsonValue) -> JsonValue:
    if isinstance(value, str):
        return bounded_text(value)
    if isinstance(value, list):
        return [_bounded_json(item) for item in value]
    if isinstance(value, dict):
        return {bounded_text(key): _bounded_json(item) for key, item in value.items()}
    return value


def _json_overlong(value: JsonValue) -> bool:
    # Loops rather than any() over generators: every report of 5,000 findings walks each one's values.
    if isinstance(value, str):
        return len(value) > MAX_REPORT_TEXT_CHARS
    if isinstance(value, dict):
        for key, item in value.items():
            if len(key) > MAX_REPORT_TEXT_CHARS or _json_overlong(item):
                return True
    elif isinstance(value, list):
        for item in value:
            if _json_overlong(item):
                return True
    return False


def _overlong(finding: Finding) -> bool:
    waiver = finding.waiver
    limit = MAX_REPORT_TEXT_CHARS
    if len(finding.subject) > limit or len(finding.message) > limit or len(finding.reason or "") > limit:
        return True
    for pointer in finding.evidence:
        if len(pointer) > limit:
            return True
    if waiver is not None and (len(waiver.reason) > limit or len(waiver.approver) > limit
                               or len(waiver.subject or "") > limit):
        return True
    return (_json_overlong(finding.subject_detail) or _json_overlong(finding.observed)
            or _json_overlong(finding.expected))


def _bounded_finding(finding: Finding) -> Finding:
    waiver = finding.waiver
    if waiver is not None:
        waiver = waiver.model_copy(update={
            "reason": bounded_text(waiver.reason), "approver": bounded_text(waiver.approver),
            "subject": None if waiver.subject is None else bounded_text(waiver.subject)})
    return finding.model_copy(update={
        "subject": bounded_text(finding.subject),
        "message": bounded_text(finding.message),
        "reason": None if finding.reason is None else bounded_text(finding.reason),
        "evidence": [bounded_text(pointer) for pointer in finding.evidence],
        "subject_detail": _bounded_json(finding.subject_detail),
        "observed": _bounded_json(finding.observed),
        "expected": _bounded_json(finding.expected),
        "waiver": waiver,
    })


def _overlong_gap(gap: Gap) -> bool:
    return len(gap.reason) > MAX_REPORT_TEXT_CHARS or len(gap.field) > MAX_REPORT_TEXT_CHARS


def _bounded_value(value: object) -> object:
    """``value`` with every text in it (in a model's fields, a list, a dict's keys and values) at most
    :data:`MAX_REPORT_TEXT_CHARS` characters; ``value`` itself when no text is longer."""
    if isinstance(value, str):
        return bounded_text(value) if len(value) > MAX_REPORT_TEXT_CHARS else value
    if isinstance(value, BaseModel):
        update = {}
        for name, item in value.__dict__.items():
            bounded = _bounded_value(item)
            if bounded is not item:
                update[name] = bounded
        return value.model_copy(update=update) if update else value
    if isinstance(value, (list, tuple)):
        items = [_bounded_value(item) for item in value]
        if all(bounded is item for bounded, item in zip(items, value)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [(_bounded_value(key), _bounded_value(item)) for key, item in value.items()]
        if all(key is old_key and item is old_item for (key, item), (old_key, old_item) in zip(pairs, value.items())):
            return value
        return dict(pairs)
    return value


def bounded_evidence(evidence: Evidence) -> Evidence:
    """The evidence as a report shows it: every text of every finding, every reason the run is
    incomplete (a not-reviewed finding's reason in it) and every gap's reason and field at most
    :data:`MAX_REPORT_TEXT_CHARS` characters (:func:`bounded_text`), and so is each text of the host's
    provenance, the policy (its rules and waivers too), the tool, the check records and the run's waiver
    outcomes and controls (the host name, a rule's title, a check's remediation).  The evidence itself when no
    text is longer (every normal run: the reports of it are unchanged), else a copy with only the
    overlong texts cut.  Every format but the evidence's own copy and the PDF (which clips each cell
    shorter, :func:`auditor.report._pdf_sections.clipped`) renders from this."""
    result, snapshot = evidence.result, evidence.snapshot
    findings_overlong = any(_overlong(finding) for finding in result.findings)
    reasons_overlong = any(len(reason) > MAX_REPORT_TEXT_CHARS for reason in result.incomplete_reasons)
    gaps_overlong = any(_overlong_gap(gap) for gap in snapshot.gaps)
    # The host's own words (its host name, OS, kernel, user: a snapshot file says what it likes), the
    # policy's (its version, owner, description, each rule's title, each waiver's words) and the tool
    # version an evidence file claims: the summary's first line, every report's header, its rules and
    # waivers.  A host name of a megabyte was a megabyte there, a rule title 2 MB of the HTML report.
    provenance, policy, tool = (_bounded_value(snapshot.provenance), _bounded_value(evidence.policy),
                                _bounded_value(evidence.tool))
    # The check records (a check's title, rationale and remediation: a plugin's words, or an edited
    # file's), the run's waiver outcomes and its controls' titles: OSCAL repeats a check's rationale and
    # remediation in the risk of every failing finding, and a record of 1 MB texts made 54 failures
    # a 110 MB document.
    checks, waivers, controls = (_bounded_value(evidence.checks), _bounded_value(result.waivers),
                                 _bounded_value(result.controls))
    result_texts_overlong = waivers is not result.waivers or controls is not result.controls
    texts_overlong = (provenance is not snapshot.provenance or policy is not evidence.policy or tool is not evidence.tool
                      or checks is not evidence.checks or result_texts_overlong)
    if not (findings_overlong or reasons_overlong or gaps_overlong or texts_overlong):
        return evidence
    update: dict[str, object] = {"policy": policy, "tool": tool, "checks": checks}
    if findings_overlong or reasons_overlong or result_texts_overlong:
        result = result.model_copy(update={
            "findings": [_bounded_finding(finding) if _overlong(finding) else finding for finding in result.findings],
            "incomplete_reasons": [bounded_text(reason) for reason in result.incomplete_reasons],
            "waivers": waivers, "controls": controls})
        update["result"] = result
    if gaps_overlong or provenance is not snapshot.provenance:
        update["snapshot"] = snapshot.model_copy(update={"gaps": [
            gap.model_copy(update={"reason": bounded_text(gap.reason), "field": bounded_text(gap.field)})
            if _overlong_gap(gap) else gap for gap in snapshot.gaps], "provenance": provenance})
    return evidence.model_copy(update=update)
