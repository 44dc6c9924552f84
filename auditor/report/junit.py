"""JUnit XML (the Jenkins xUnit ``junit-10.xsd`` dialect every CI server reads), from the evidence alone.

One ``testsuite`` per policy and one ``testcase`` per enabled rule.  A rule's outcome is the worst
status of its findings (the same roll-up the evidence uses for controls):

* ``fail`` at or above the run's ``--fail-on`` -> ``<failure>`` with each failing subject, what was
  observed and what was expected
* ``error``, ``not_reviewed`` (with no failure counted) -> ``<error>``: the rule could not be judged
  (for some subject), which is never a pass, nor a skip beside failures below ``--fail-on``
* ``fail`` below ``--fail-on`` alone -> ``<skipped>`` of type ``fail_below_threshold`` whose message says
  the subjects fail and are not counted: the run's exit code does not count them, so a
  ``<failure>`` made Jenkins mark the build unstable and GitLab show failed tests over exit 0;
  an empty test case would show a failure as passed
* ``waived``, ``not_applicable`` -> ``<skipped>`` with the waiver or the reason (also a rule whose
  failures are all waived beside passing subjects: a waiver is never shown as a plain pass)
* ``pass``                  -> an empty test case

A run the evidence calls incomplete in which no rule's test case is an ``<error>`` (every finding
not applicable) gets one more test case, ``lbaudit run complete``, with an ``<error>``: a CI server
reads only failures and errors, and exit 3 must not read as green.

Times come from the evidence: the suite's ``timestamp`` and ``time`` from the run, a test case's
``time`` from the run's per-rule timing when the evidence has one.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from auditor.model.evidence import Evidence
from auditor.model.policy import ResolvedRule
from auditor.model.result import Finding, Status, rollup_status
from auditor.report import ReportContext, Reporter
from auditor.report._shared import bounded_evidence, evidence_sha256, rule_source, utc, utc_timestamp
from auditor.text import line_text, plain_text

# Characters XML 1.0 cannot carry at all, not even escaped, that plain_text leaves: a lone surrogate
# (hand-made evidence; the evidence loader refuses one).  Kept with U+FFFE and U+FFFF, which
# plain_text now shows as escapes, so that the XML holds whatever text a renderer passes.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` as an XML document may hold it: plain text (:func:`auditor.text.plain_text`), and
    each character XML cannot carry at all as U+FFFD."""
    return _NOT_XML.sub("\ufffd", plain_text(value))


def plain_xml(root: ET.Element) -> ET.Element:
    """``root`` with every text, tail and attribute value in it made :func:`xml_text`, in place (the
    XML counterpart of :func:`auditor.text.plain_tree`; see :func:`auditor.report._shared.json_document`)."""
    for element in root.iter():
        if element.text:
            element.text = xml_text(element.text)
        if element.tail:
            element.tail = xml_text(element.tail)
        for name, value in list(element.attrib.items()):
            element.set(name, xml_text(value))
    return root


def xml_document(root: ET.Element) -> bytes:
    """An XML document (JUnit) as written: every text in it :func:`xml_text`, indented, UTF-8."""
    plain_xml(root)
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _seconds(seconds: float) -> str:
    """The SUREFIRE_TIME form the schema asks for: at most three decimals, no exponent."""
    return f"{max(seconds, 0.0):.3f}"


# The failure text and the system-out list findings one a line ("[fail] SUBJECT: MESSAGE"), and a
# message attribute joins them with "; ": every text of a finding or a waiver there is one line
# (auditor.text.line_text, its line breaks as "\\n"), as on the terminal.  A process named
# "sshd\\n  [pass] ..." wrote a passing finding of its own into the list a CI server shows.


def _describe(finding: Finding) -> str:
    lines = [f"[{finding.status.value}] {line_text(finding.subject)}: {line_text(finding.message)}"]
    if finding.status in (Status.FAIL, Status.WAIVED):
        if finding.observed is not None:
            lines.append(f"    observed: {_json(finding.observed)}")
        if finding.expected is not None:
            lines.append(f"    expected: {_json(finding.expected)}")
    if finding.reason and finding.reason not in finding.message:
        lines.append(f"    reason: {line_text(finding.reason)}")
    if finding.waiver is not None:
        w = finding.waiver
        lines.append(f"    waived until {w.expires.isoformat()} by {line_text(w.approver)}: {line_text(w.reason)}")
    return "\n".join(lines)


def _waiver_text(finding: Finding) -> str:
    w = finding.waiver
    if w is None:  # a waived finding always carries its waiver; kept total for hand-edited evidence
        return f"{line_text(finding.subject)}: waived"
    return f"{line_text(finding.subject)}: waived until {w.expires.isoformat()} by {line_text(w.approver)}: {line_text(w.reason)}"


def _subjects(findings: list[Finding]) -> str:
    return "; ".join(line_text(f.subject) for f in findings)


def _testcase(rule: ResolvedRule, findings: list[Finding], evidence: Evidence, classname: str) -> ET.Element:
    case = ET.Element("testcase", {"name": rule.id, "classname": classname})
    timing = evidence.run.timings_ms.get(rule.id)
    if timing is not None:
        case.set("time", _seconds(timing / 1000))

    # Passing subjects beside waived failures roll up to waived (rollup_status): the case is skipped
    # with the waivers, never an empty test case that reads as a plain pass.
    status = rollup_status([f.status for f in findings]) if findings else Status.ERROR
    not_passing = [f for f in findings if f.status != Status.PASS]
    body = "\n".join(_describe(f) for f in not_passing)
    if not findings:
        ET.SubElement(case, "error", {"type": "error", "message": "the evidence holds no finding for this rule"})
        return _with_output(case, rule, findings)
    # A failure counts as the run's exit code counts it: at or above --fail-on.
    fail_on = evidence.result.fail_on
    failing = [f for f in findings if f.status == Status.FAIL]
    counted = [f for f in failing if f.severity.rank >= fail_on.rank]
    below = [f for f in failing if f.severity.rank < fail_on.rank]
    unjudged = [f for f in findings if f.status in (Status.ERROR, Status.NOT_REVIEWED)]
    below_words = (f"; {len(below)} more below --fail-on {fail_on.value}, not counted: {_subjects(below)}"
                   if below else "")
    if counted:
        element = ET.SubElement(
            case, "failure",
            {"type": rule.severity.value,
             "message": f"{len(counted)} of {len(findings)} subjects fail: {_subjects(counted)}{below_words}"},
        )
        element.text = body
    elif unjudged:
        # A subject the rule could not judge makes it an error whatever else it holds: by the roll-up
        # (a failure above an error) a failure below --fail-on made it <skipped>, which a CI server
        # shows as neither failed nor errored.
        reasons = "; ".join(sorted({f"{f.status.value}: {line_text(f.reason or f.message)}" for f in unjudged}))
        error_type = Status.ERROR if any(f.status == Status.ERROR for f in unjudged) else Status.NOT_REVIEWED
        element = ET.SubElement(case, "error", {"type": error_type.value, "message": reasons + below_words})
        element.text = body
    elif below:
        # Failed, but below the threshold the run's verdict and exit code apply: neither a
        # <failure> (red over exit 0) nor an empty test case (a failure shown as passed).
        waived = [f for f in findings if f.status == Status.WAIVED]
        message = (f"{len(below)} of {len(findings)} subjects fail below --fail-on {fail_on.value} (listed, not "
                   f"counted by the verdict): {_subjects(below)}")
        if waived:
            message += "; waived: " + "; ".join(_waiver_text(f) for f in waived)
        element = ET.SubElement(case, "skipped", {"type": "fail_below_threshold", "message": message})
        element.text = body
    elif status == Status.WAIVED:
        message = "; ".join(_waiver_text(f) for f in findings if f.status == Status.WAIVED)
        element = ET.SubElement(case, "skipped", {"type": "waived", "message": message})
        element.text = body
    elif status == Status.NOT_APPLICABLE:
        reasons = "; ".join(sorted({line_text(f.reason or f.message) for f in findings}))
        element = ET.SubElement(case, "skipped", {"type": "not_applicable", "message": f"not applicable: {reasons}"})
    return _with_output(case, rule, findings)


def _with_output(case: ET.Element, rule: ResolvedRule, findings: list[Finding]) -> ET.Element:
    """``case`` with its ``system-out``: the rule and each of its findings' status and subject."""
    source = rule_source(rule.source)
    out = [
        f"check: {rule.check}",
        f"severity: {rule.severity.value}",
        f"controls: {', '.join(rule.controls)}",
        f"policy source: {line_text(source.path)}" + (f":{source.line}" if source.line else ""),
        f"findings ({len(findings)}):",
    ]
    out += [f"  [{f.status.value}] {line_text(f.subject)}" for f in findings]
    ET.SubElement(case, "system-out").text = "\n".join(out)
    return case


def _incomplete_run_case(evidence: Evidence, classname: str) -> ET.Element:
    """The run itself, as an ``<error>``, when the evidence says it is incomplete (exit 3) and no rule's
    test case carries that (every finding not applicable): a CI server counts only failures and
    errors, and would show a run that judged nothing as green."""
    case = ET.Element("testcase", {"name": "lbaudit run complete", "classname": classname})
    reasons = "; ".join(line_text(r) for r in evidence.result.incomplete_reasons) or "the evidence records the run as incomplete"
    element = ET.SubElement(case, "error", {"type": "incomplete", "message": reasons})
    element.text = f"verdict: {evidence.result.verdict.value} (exit {evidence.result.exit_code})\n{reasons}"
    return case


def render_junit(evidence: Evidence, context: ReportContext) -> bytes:
    evidence = bounded_evidence(evidence)
    policy = evidence.policy
    result = evidence.result
    rules = [r for r in policy.rules if r.enabled]
    by_rule: dict[str, list[Finding]] = {r.id: [] for r in rules}
    for finding in result.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)

    cases = [_testcase(rule, by_rule[rule.id], evidence, policy.id) for rule in rules]
    if not result.complete and not any(c.find("error") is not None for c in cases):
        cases.append(_incomplete_run_case(evidence, policy.id))
    counts = {kind: sum(1 for c in cases if c.find(kind) is not None) for kind in ("failure", "error", "skipped")}
    duration = (utc(evidence.run.finished_at) - utc(evidence.run.started_at)).total_seconds()
    prov = evidence.snapshot.provenance

    root = ET.Element("testsuites", {
        "name": "lbaudit", "time": _seconds(duration), "tests": str(len(cases)),
        "failures": str(counts["failure"]), "errors": str(counts["error"]),
    })
    suite = ET.SubElement(root, "testsuite", {
        "name": policy.id,
        "tests": str(len(cases)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": _seconds(duration),
        "timestamp": utc_timestamp(evidence.run.started_at),
        "hostname": prov.hostname,  # any character: xml_document makes it text XML can hold
        "package": "lbaudit",
        "version": policy.version,
    })
    if policy.sources:
        suite.set("file", policy.sources[0].path)
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("policy.id", policy.id),
        ("policy.version", policy.version),
        ("policy.sha256", evidence.policy_sha256),
        ("evidence.sha256", evidence_sha256(context)),
        ("facts.sha256", evidence.facts_sha256),
        ("verdict", result.verdict.value),
        ("exit_code", str(result.exit_code)),
        ("evaluated_on", evidence.run.evaluated_on.isoformat()),
        ("collected_at", utc_timestamp(prov.collected_at)),
        ("source", prov.source),
        ("platform", prov.platform),
        ("tool.version", evidence.tool.version),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    if evidence.waiver_file is not None:  # the file that waived failures (--waivers), checked as the policy is
        ET.SubElement(properties, "property", {"name": "waivers.path", "value": evidence.waiver_file.path})
        ET.SubElement(properties, "property", {"name": "waivers.sha256", "value": evidence.waiver_file.sha256})
    for control in result.controls:  # the engine's judgement of each control, as the evidence records it
        objective = "satisfied" if control.satisfied else "not satisfied"
        ET.SubElement(properties, "property",
                      {"name": f"control.{control.id}", "value": f"{control.status.value} ({objective})"})
    suite.extend(cases)

    return xml_document(root)


REPORTER = Reporter(
    name="junit",
    extension=".junit.xml",
    description="JUnit XML (Jenkins junit-10.xsd): a test suite per policy, a test case per rule",
    render=render_junit,
)
