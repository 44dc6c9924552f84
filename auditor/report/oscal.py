"""OSCAL 1.1.2 assessment-results (JSON), rendered from the evidence alone.

Layout of the document:

* ``metadata``: the assessor and the tool as parties (plus every waiver approver, who is named in
  the risk log), ``last-modified`` = end of the run.
* ``import-ap``: lbaudit has no separate assessment plan; the policy is the plan, so ``import-ap``
  points at a back-matter resource naming the policy files with their SHA-256.
* one ``result`` per run: the host as an inventory item, the tool as an assessment asset,
  ``reviewed-controls`` = the controls the enabled rules map to, one observation per lbaudit finding
  (method TEST, relevant evidence = that finding inside the evidence file, whose SHA-256 is in the
  back matter), one OSCAL finding per control (target: the control's SP 800-53A objective), and
  a risk per failing or waived finding with the check's remediation.  A waiver is a risk with
  status ``deviation-approved``, its expiry as the deadline and its approver in the risk log.
  OSCAL's date-time holds the years 1900 to 2999 alone: a waiver expiring later (``9999-12-31``)
  has no deadline, and a time of the run or the facts outside them is bad input (exit 2).

Stable: UUIDs are uuid5 values.  What belongs to this run (document, result, observations,
findings, risks) derives from the evidence digest; what outlives a run (host, tool, parties) from
its own identity, so that those keep one UUID across runs as OSCAL asks.  Every time comes from the
evidence, never from the clock.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from urllib.parse import quote

from auditor.errors import InputError
from auditor.model.base import canonical_json
from auditor.model.controls import oscal_control_id
from auditor.model.evidence import Evidence
from auditor.model.result import ControlResult, Finding, Status
from auditor.report import ReportContext, Reporter
from auditor.report._shared import (
    bounded_evidence,
    end_of_day,
    evidence_reference,
    evidence_sha256,
    json_document,
    no_markdown_link,
    path_uri,
    utc,
    utc_timestamp,
)
from auditor.text import line_text

OSCAL_VERSION = "1.1.2"
# Namespace of lbaudit's own props; core OSCAL props (no ns) are used where OSCAL defines the name.
NS = "https://lbaudit.invalid/ns/oscal"
UUID_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)

# How the engine's control status reads as an OSCAL objective status reason (the state itself is
# ControlResult.satisfied, true for pass alone): a waived failure is a deviation the policy approved,
# so the objective is "not-satisfied" for reason "other", the remarks and the related risks
# (status deviation-approved) saying it was waived; neither "satisfied" nor "fail".
_REASON = {Status.PASS: "pass", Status.FAIL: "fail"}


# OSCAL's date-time (DateTimeWithTimezoneDatatype) is a pattern that admits these years alone; any
# other year made the whole document fail the schema, and an OSCAL consumer reject the run.
OSCAL_YEARS = range(1900, 3000)


def _date_time(moment: datetime, what: str) -> str:
    """``moment`` as an OSCAL date-time; a time of the run or of the facts OSCAL cannot write
    (a host clock at 1899, an edited evidence file) is bad input, never an invalid document."""
    text = utc_timestamp(moment)
    if utc(moment).year not in OSCAL_YEARS:
        raise InputError(f"the evidence records {what} {text}: OSCAL's date-time holds the years "
                         f"{OSCAL_YEARS.start} to {OSCAL_YEARS.stop - 1} alone; no OSCAL document is rendered")
    return text


def _deadline(expires: date) -> str | None:
    """A waiver's expiry as a risk's deadline (the end of its day); None past the last moment OSCAL
    can write: ``expires: 9999-12-31`` is how a policy says "until further notice"."""
    return end_of_day(expires) if expires.year in OSCAL_YEARS else None


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(UUID_ROOT, "\0".join(parts)))


def _string(value: object) -> str:
    """A value of OSCAL's ``string`` type (``^\\S(.*\\S)?$``: not empty, one line, no white space at
    either end) that names someone or something in words: party names (the assessor, an approver),
    the document version.  An assessor or a policy version may carry a line break or white space at
    an end, which would make the whole document fail the schema; every run of white space reads as
    one space.  Blank text is named as blank rather than left out.  A prop's value is the host's
    text as it is (:func:`_prop_value`)."""
    text = " ".join(str(value).split())
    return text or "(blank)"


def _escaped_space(spaces: str) -> str:
    return "".join(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}" for char in spaces)


def _prop_value(value: object) -> str:
    """A prop's value, of OSCAL's ``string`` type too: an identity a consumer matches by (a host name,
    an FQDN, a machine id, a kernel), so written as it is, fitted to the type without dropping
    anything.  One line of plain text (:func:`_line`: a control character as its escape, a line feed
    as ``\\n``), the white space at its ends as escapes (``\\x20``, ``\\u3000``).  As :func:`_string`
    made it (runs of white space one space, the ends dropped; to Python U+001C-U+001F are white space
    too) a host named ``web01\\x1f``, ``web01\\u3000`` or ``web01\\n`` had the ``hostname`` and
    ``fqdn`` of ``web01``, a machine id with a separator after it the real machine's."""
    text = _line(value)
    core = text.strip()
    if not core:
        return _escaped_space(text) or "(blank)"
    start = len(text) - len(text.lstrip())
    return _escaped_space(text[:start]) + core + _escaped_space(text[len(text.rstrip()):])


def _md(text: str) -> str:
    """Text holding host text (subjects, host names, reasons, observed values) for an OSCAL markup
    field (markup-line, markup-multiline: Markdown, which an OSCAL viewer renders): no link,
    autolink, tag or character reference, so a process named ``[Fixed, see](https://example.invalid)``
    is not a link there.  Each host text in it is one line (:func:`_line`)."""
    return no_markdown_link(text)


def _line(text: object) -> str:
    """A host's text (a subject, message, reason, host name) as one line of markup: its line feeds
    shown as ``\\n`` (:func:`auditor.text.line_text`), as the terminal, JUnit and the PDF show them.
    In Markdown a line feed starts a block: a process named ``x\\n# Compliant\\n- ok`` made a heading
    and a list of its own in the observation and the risk."""
    return line_text(text)


def _prop(name: str, value: object, *, core: bool = False) -> dict:
    prop = {"name": name, "value": _prop_value(value)}
    if not core:
        prop["ns"] = NS
    return prop


def _uri(path: str) -> str:
    """A file path as a URI reference (spaces and the like percent-encoded)."""
    return path_uri(path)


def _pointer_uri(reference: str, pointer: str) -> str:
    """``evidence.json#/result/findings/3``: a JSON pointer (RFC 6901) as a URI fragment."""
    return f"{_uri(reference)}#{quote(pointer, safe='/:@!$&()*+,;=-._~')}"


def _oscal_id(control_id: str) -> str:
    """``SC-7(5)`` -> ``sc-7.5``; a hand-edited evidence file with another id is bad input, not a crash."""
    try:
        return oscal_control_id(control_id)
    except ValueError as exc:
        raise InputError(f"the evidence maps a rule to {control_id!r}, which is not a NIST SP 800-53 control id") from exc


def _compact(value: object) -> str:
    return canonical_json(value).decode("utf-8")


class _Builder:
    def __init__(self, evidence: Evidence, context: ReportContext):
        self.ev = evidence
        self.ctx = context
        self.sha = evidence_sha256(context)
        self.ref = evidence_reference(evidence, context)
        prov = evidence.snapshot.provenance
        self.host = _line(prov.hostname)  # in markup alone (the identities below are of the host's own text)
        self.checks = {c.name: c for c in evidence.checks}
        self.platform = prov.platform  # each risk's remediation is the part for this host's platform
        self.rules = {r.id: r for r in evidence.policy.rules}
        self.findings = evidence.result.findings
        self.finding_index = {f.id: i for i, f in enumerate(self.findings)}

        # Identities that outlive the run.
        self.host_uuid = _stable_uuid("inventory-item", prov.machine_id or "", prov.hostname)
        self.tool_component_uuid = _stable_uuid("component", "lbaudit")
        self.tool_party_uuid = _stable_uuid("party", "tool", "lbaudit")
        self.assessor_name = context.assessor or evidence.policy.owner
        self.assessor_uuid = _stable_uuid("party", "assessor", self.assessor_name)
        # Identities of this run.
        self.evidence_resource_uuid = self.run_uuid("resource", "evidence")
        self.policy_resource_uuid = self.run_uuid("resource", "policy")

    def run_uuid(self, *parts: str) -> str:
        """A UUID of something that belongs to this run: derived from the evidence digest."""
        return _stable_uuid("evidence", self.sha, *parts)

    # ------------------------------------------------------------ metadata and back matter

    def approvers(self) -> list[str]:
        return sorted({f.waiver.approver for f in self.findings if f.waiver is not None})

    def approver_uuid(self, approver: str) -> str:
        return _stable_uuid("party", "approver", approver)

    def metadata(self) -> dict:
        policy = self.ev.policy
        parties = [
            {
                "uuid": self.assessor_uuid,
                "type": "person" if self.ctx.assessor else "organization",
                "name": _string(self.assessor_name),
            },
            {
                "uuid": self.tool_party_uuid,
                "type": "organization",
                "name": "lbaudit",
                "short-name": "lbaudit",
                "remarks": f"The automated assessment tool, version {self.ev.tool.version}; as software it is the "
                "component of the result's assessment assets that the observations name as their actor.",
            },
        ]
        parties += [{"uuid": self.approver_uuid(a), "type": "person", "name": _string(a)} for a in self.approvers()]
        return {
            "title": _md(f"lbaudit assessment of {self.host} against policy {policy.id} {policy.version}"),
            "last-modified": _date_time(self.ev.run.finished_at, "the run's end"),
            "version": _string(policy.version),
            "oscal-version": OSCAL_VERSION,
            "props": [
                _prop("policy-id", policy.id),
                _prop("policy-sha256", self.ev.policy_sha256),
                _prop("evidence-sha256", self.sha),
                # whether a .sig signed these bytes, as the PDF, HTML and HDF say: a document of
                # unsigned (or edited) evidence read as one of signed evidence
                _prop("evidence-signature", "signed" if self.ctx.signature_fingerprint else "unsigned"),
                *([_prop("evidence-signature-key", self.ctx.signature_fingerprint)]
                  if self.ctx.signature_fingerprint else []),
            ],
            "roles": [
                {"id": "assessor", "title": "Assessor"},
                {"id": "assessment-tool", "title": "Assessment tool"},
                {"id": "waiver-approver", "title": "Waiver approver"},
            ],
            "parties": parties,
            "responsible-parties": [
                {"role-id": "assessor", "party-uuids": [self.assessor_uuid]},
                {"role-id": "assessment-tool", "party-uuids": [self.tool_party_uuid]},
            ]
            + (
                [{"role-id": "waiver-approver", "party-uuids": [self.approver_uuid(a) for a in self.approvers()]}]
                if self.approvers()
                else []
            ),
        }

    def back_matter(self) -> dict:
        policy = self.ev.policy
        return {
            "resources": [
                {
                    "uuid": self.evidence_resource_uuid,
                    "title": "lbaudit evidence",
                    "description": "The evidence JSON this document was rendered from: facts, provenance, "
                    "findings and the checks that judged.",
                    "rlinks": [
                        {
                            "href": _uri(self.ref),
                            "media-type": "application/json",
                            "hashes": [{"algorithm": "SHA-256", "value": self.sha}],
                        }
                    ],
                },
                {
                    "uuid": self.policy_resource_uuid,
                    "title": f"lbaudit policy {policy.id} {policy.version}",
                    "description": "The policy that selects the checks and controls; it plays the part of the "
                    "assessment plan.  The file and every file it extends, child first.",
                    "props": [_prop("policy-sha256", self.ev.policy_sha256)],
                    "rlinks": [
                        {
                            "href": _uri(source.path),
                            "media-type": "application/yaml",
                            "hashes": [{"algorithm": "SHA-256", "value": source.sha256}],
                        }
                        for source in policy.sources
                    ]
                    or [{"href": f"#{self.evidence_resource_uuid}"}],
                },
                *self.waiver_file_resources(),
            ]
        }

    def waiver_file_resources(self) -> list[dict]:
        """The waivers file of the run (``--waivers``), with its SHA-256: it decides which failures
        are waived, so it is checked against the file as the policy files are."""
        waiver_file = self.ev.waiver_file
        if waiver_file is None:
            return []
        return [{
            "uuid": self.run_uuid("resource", "waivers"),
            "title": "lbaudit waivers file",
            "description": "The waivers given apart from the policy (--waivers): approved, dated deviations "
            "that waive failing findings.",
            "rlinks": [{
                "href": _uri(waiver_file.path),
                "media-type": "application/yaml",
                "hashes": [{"algorithm": "SHA-256", "value": waiver_file.sha256}],
            }],
        }]

    # ------------------------------------------------------------ the result

    def reviewed_control_ids(self) -> list[str]:
        """The controls the engine judged: every control an enabled rule maps to, in catalog order."""
        return [c.id for c in self.ev.result.controls]

    def facts_trust_props(self) -> list[dict]:
        """Whether the facts came from a snapshot, and whether its signature was verified, by which key."""
        prov = self.ev.snapshot.provenance
        if prov.source != "snapshot":
            return []
        props = []
        if prov.source_sha256:
            props.append(_prop("snapshot-sha256", prov.source_sha256))
        props.append(_prop("snapshot-signature", prov.source_signature or "unknown"))
        if prov.source_signature_key:
            props.append(_prop("snapshot-signature-key", prov.source_signature_key))
        return props

    def local_definitions(self) -> dict:
        prov = self.ev.snapshot.provenance
        props = [_prop("hostname", prov.hostname)]
        if "." in prov.hostname:
            props.append(_prop("fqdn", prov.hostname, core=True))
        if prov.os:
            props.append(_prop("os-name", prov.os, core=True))
        for name, value in (("machine-id", prov.machine_id), ("kernel", prov.kernel), ("arch", prov.arch)):
            if value:
                props.append(_prop(name, value))
        props.append(_prop("platform", prov.platform))
        if prov.os_build:
            props.append(_prop("os-build", prov.os_build))
        props.append(_prop("collection-source", prov.source))
        if prov.source_detail:
            props.append(_prop("collection-source-detail", prov.source_detail))
        props += self.facts_trust_props()
        tool_props = [_prop("version", self.ev.tool.version)]
        tool_props += [_prop("check", f"{c.name} {c.version} ({c.origin})") for c in self.ev.checks]
        return {
            "inventory-items": [
                {
                    "uuid": self.host_uuid,
                    "description": _md(f"Host {self.host}" + (f" ({_line(prov.os)})" if prov.os else "")),
                    "props": props,
                }
            ],
            "assessment-assets": {
                "components": [
                    {
                        "uuid": self.tool_component_uuid,
                        "type": "software",
                        "title": "lbaudit",
                        "description": "Policy-as-code compliance auditor for the network-socket layer.  The "
                        "checks that judged this run are listed with their versions.",
                        "props": tool_props,
                        "status": {"state": "operational"},
                    }
                ],
                "assessment-platforms": [
                    {
                        "uuid": _stable_uuid("assessment-platform", "lbaudit", prov.hostname),
                        "title": _md(f"lbaudit {_line(self.ev.tool.version)}, {prov.source} collection on {self.host}"),
                        "uses-components": [{"component-uuid": self.tool_component_uuid}],
                    }
                ],
            },
        }

    def tool_origin(self) -> list[dict]:
        return [{"actors": [{"type": "tool", "actor-uuid": self.tool_component_uuid}]}]

    def observation_uuid(self, finding: Finding) -> str:
        return self.run_uuid("observation", finding.id)

    def risk_uuid(self, finding: Finding) -> str:
        return self.run_uuid("risk", finding.id)

    def observation(self, finding: Finding) -> dict:
        index = self.finding_index[finding.id]
        description = _line(finding.message)
        if finding.reason and finding.reason not in finding.message:
            description += f"\n\nReason: {_line(finding.reason)}"
        evidence = [
            {
                "href": _pointer_uri(self.ref, f"/result/findings/{index}"),
                "description": f"lbaudit finding {finding.id} in the evidence file (SHA-256 {self.sha}).",
                "links": [{"href": f"#{self.evidence_resource_uuid}", "rel": "reference"}],
            }
        ]
        evidence += [
            {
                "href": _pointer_uri(self.ref, f"/snapshot{pointer}"),
                "description": f"The collected facts the finding rests on ({pointer}).",
                "links": [{"href": f"#{self.evidence_resource_uuid}", "rel": "reference"}],
            }
            for pointer in finding.evidence
        ]
        observation = {
            "uuid": self.observation_uuid(finding),
            "title": _md(f"{finding.rule_id}: {_line(finding.subject)}"),
            "description": _md(description),
            "props": [
                _prop("finding-id", finding.id),
                _prop("rule-id", finding.rule_id),
                _prop("check", finding.check),
                _prop("status", finding.status.value),
                _prop("severity", finding.severity.value),
            ],
            "methods": ["TEST"],
            "types": ["finding"] if finding.status in (Status.FAIL, Status.WAIVED) else ["control-objective"],
            "origins": self.tool_origin(),
            "subjects": [{"subject-uuid": self.host_uuid, "type": "inventory-item", "title": _md(self.host)}],
            "relevant-evidence": evidence,
            "collected": _date_time(self.ev.snapshot.provenance.collected_at, "the facts' collection time"),
        }
        remarks = []
        if finding.observed is not None:
            remarks.append(f"Observed: {_compact(finding.observed)}")
        if finding.expected is not None:
            remarks.append(f"Expected: {_compact(finding.expected)}")
        if remarks:
            observation["remarks"] = _md("\n\n".join(remarks))
        return observation

    def risk(self, finding: Finding) -> dict:
        record = self.checks.get(finding.check)
        rule = self.rules.get(finding.rule_id)
        title = (rule.title if rule and rule.title else None) or (record.title if record else finding.check)
        statement = (
            f"Rule {finding.rule_id} (check {finding.check}, severity {finding.severity.value}) fails on host "
            f"{self.host} for {_line(finding.subject)}: {_line(finding.message)}."
        )
        if finding.expected is not None:
            statement += f" Expected: {_compact(finding.expected)}."
        if record and record.rationale:
            statement += f"\n\n{record.rationale}"
        risk = {
            "uuid": self.risk_uuid(finding),
            "title": _md(f"{_line(title)}: {_line(finding.subject)}"),
            "description": _md(f"{_line(finding.message)} (controls {', '.join(finding.controls)})."),
            "statement": _md(statement),
            "props": [
                _prop("finding-id", finding.id),
                _prop("rule-id", finding.rule_id),
                _prop("severity", finding.severity.value),
            ],
            "status": "open",
            "origins": self.tool_origin(),
        }
        if record and record.remediation:
            risk["remediations"] = [
                {
                    "uuid": self.run_uuid("remediation", finding.id),
                    "lifecycle": "recommendation",
                    "title": f"Remediate {finding.rule_id}",
                    "description": record.remediation_on(self.platform),
                    "origins": self.tool_origin(),
                }
            ]
        waiver = finding.waiver
        if finding.status == Status.WAIVED and waiver is not None:
            risk["status"] = "deviation-approved"
            deadline = _deadline(waiver.expires)
            if deadline is not None:  # else none OSCAL can write; the risk log names the day
                risk["deadline"] = deadline
            risk["risk-log"] = {
                "entries": [
                    {
                        "uuid": self.run_uuid("risk-log", finding.id),
                        # the policy's words: markup too (no link, tag or character reference)
                        "title": _md(f"Deviation approved by {_line(waiver.approver)}"),
                        "description": _md(f"Waived by the policy until {waiver.expires.isoformat()} "
                                           f"(approved by {_line(waiver.approver)}): {waiver.reason}"),
                        "start": _date_time(self.ev.run.started_at, "the run's start"),
                        "logged-by": [{"party-uuid": self.approver_uuid(waiver.approver), "role-id": "waiver-approver"}],
                        "status-change": "deviation-approved",
                    }
                ]
            }
        risk["related-observations"] = [{"observation-uuid": self.observation_uuid(finding)}]
        return risk

    def control_finding(self, control: ControlResult, risky: set[str]) -> dict:
        """One OSCAL finding per control, stating the engine's judgement (the evidence's rollup) as it is."""
        control_id = control.id
        group = [f for f in self.findings if control_id in f.controls]
        counts = Counter(f.status for f in group)
        state = "satisfied" if control.satisfied else "not-satisfied"
        reason = _REASON.get(control.status, "other")
        if not group:
            remarks = "No finding of an enabled rule addresses this control."
        elif control.status == Status.FAIL:
            remarks = f"{counts[Status.FAIL]} failing and {counts[Status.WAIVED]} waived (deviation approved) findings."
        elif control.status == Status.WAIVED:
            waived, passing = counts[Status.WAIVED], counts[Status.PASS]
            remarks = (f"Not satisfied: {waived} failing finding{'s' if waived != 1 else ''} waived (a deviation "
                       "the policy approved until the waiver's expiry, not a pass; the related risks name each waiver)")
            if passing:
                remarks += f" beside {passing} passing finding{'s' if passing != 1 else ''}"
            remarks += "."
        elif control.satisfied:
            remarks = f"{counts[Status.PASS]} passing findings."
        elif control.status == Status.NOT_APPLICABLE:
            remarks = "Every finding is not applicable: nothing showed that the control is met."
        else:
            reasons = sorted({f"{f.rule_id}: {_line(f.reason)}" for f in group if f.status != Status.PASS and f.reason})
            remarks = "Not fully assessed (lbaudit never counts missing evidence as a pass): " + "; ".join(reasons)
        rules = control.rules
        described = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
        finding = {
            "uuid": self.run_uuid("finding", control_id),
            "title": f"{control_id} {control.title}".strip(),
            "description": f"Rules {', '.join(rules)}: {described or 'no finding'}." if rules
            else "No enabled rule produced a finding.",
            "props": [_prop("control-id", control_id), _prop("control-status", control.status.value)],
            "origins": self.tool_origin(),
            "target": {
                "type": "objective-id",
                "target-id": f"{_oscal_id(control_id)}_obj",
                "title": f"Assessment objective of {control_id}",
                # the reasons name the host's files and processes: its text, as in the observations
                "status": {"state": state, "reason": reason, "remarks": _md(remarks)},
            },
        }
        if group:
            finding["related-observations"] = [{"observation-uuid": self.observation_uuid(f)} for f in group]
        related_risks = [{"risk-uuid": self.risk_uuid(f)} for f in group if f.id in risky]
        if related_risks:
            finding["related-risks"] = related_risks
        return finding

    @staticmethod
    def control_selection(reviewed: list[str]) -> dict:
        if not reviewed:
            # OSCAL requires at least one item in include-controls; a run with no enabled rule
            # reviewed no control, and a selection without include-controls (or include-all) selects none.
            return {"description": "No control: the policy has no enabled rule, so the run reviewed no control."}
        return {
            "description": "The controls the enabled rules of the policy map to (their checks' "
            "controls and the rules' extra controls), as judged by the engine.",
            "include-controls": [{"control-id": _oscal_id(c)} for c in reviewed],
        }

    def result(self) -> dict:
        res = self.ev.result
        reviewed = self.reviewed_control_ids()
        at_risk = [f for f in self.findings if f.status in (Status.FAIL, Status.WAIVED)]
        risky = {f.id for f in at_risk}
        counts = res.summary.by_status
        by_status = ", ".join(f"{counts[s.value]} {s.value}" for s in Status if counts.get(s.value))
        result = {
            "uuid": self.run_uuid("result"),
            "title": _md(f"lbaudit run of policy {self.ev.policy.id} on {self.host}"),
            "description": f"Verdict: {res.verdict.value}. {res.summary.rules} rules, {res.summary.findings} "
            f"findings ({by_status or 'none'}).",
            "start": _date_time(self.ev.run.started_at, "the run's start"),
            "end": _date_time(self.ev.run.finished_at, "the run's end"),
            "props": [
                _prop("verdict", res.verdict.value),
                _prop("complete", str(res.complete).lower()),
                _prop("facts-sha256", self.ev.facts_sha256),
                _prop("facts-source", self.ev.snapshot.provenance.source),
                *self.facts_trust_props(),
            ],
            "remarks": _md(f"Facts: {_line(self.ev.snapshot.provenance.facts_trust)}."),
            "local-definitions": self.local_definitions(),
            "reviewed-controls": {"control-selections": [self.control_selection(reviewed)]},
        }
        if self.findings:
            result["observations"] = [self.observation(f) for f in self.findings]
        if at_risk:
            result["risks"] = [self.risk(f) for f in at_risk]
        if res.controls:
            result["findings"] = [self.control_finding(c, risky) for c in res.controls]
        return result

    def document(self) -> dict:
        return {
            "assessment-results": {
                "uuid": self.run_uuid("assessment-results"),
                "metadata": self.metadata(),
                "import-ap": {
                    "href": f"#{self.policy_resource_uuid}",
                    "remarks": "lbaudit has no separate assessment plan: the policy named in the back matter "
                    "selects the checks, their parameters and the controls.",
                },
                "results": [self.result()],
                "back-matter": self.back_matter(),
            }
        }


def render_oscal(evidence: Evidence, context: ReportContext) -> bytes:
    return json_document(_Builder(bounded_evidence(evidence), context).document())


REPORTER = Reporter(
    name="oscal",
    extension=".oscal.json",
    description=f"OSCAL {OSCAL_VERSION} assessment-results (JSON) with NIST SP 800-53 Rev. 5 control ids",
    render=render_oscal,
)
