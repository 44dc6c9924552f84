"""SARIF 2.1.0, rendered from the evidence alone, for code scanning.

* One run.  ``tool.driver.rules`` holds one reporting descriptor per check used by the policy:
  title, rationale, remediation as help, and the NIST controls as properties and tags.
* One result per finding that is a problem.  ``fail`` has ``kind: fail`` and a level from the
  rule's severity (critical and high ``error``, medium ``warning``, low and info ``note``: SARIF's
  "minor problem"); not_reviewed and error have ``kind: review`` and level ``none``, as SARIF
  requires for a kind other than fail.  A waived finding is a failure with an accepted external
  suppression (approver, reason, expiry).  A pass or not applicable finding is no result: code
  scanning ignores ``kind`` and made each result an alert, of its rule's security severity (a
  passing listener of a high check was a "High" alert), and a fixed failure, its fingerprint still
  in the next log as a pass, stayed an open alert.  ``runs[0].properties.findingsByStatus`` counts
  the findings of each status as the evidence does, so what was judged is still said.
* Physical location: the line of the rule in the policy file, so code scanning annotates the
  policy a host violates.  Logical location: the subject on the host (process, address, port).
* ``invocations[0].executionSuccessful`` is false when the evidence records the run incomplete
  (exit 3) or a check raised, with a tool execution notification saying why.
* ``partialFingerprints`` carry the finding id (from rule id and subject), so code scanning tracks
  one finding across runs; the run's ``automationDetails.id`` keeps policies and hosts apart:
  ``lbaudit/<policy id>/<host name>/<machine tag>/`` (the host name one segment, its "/" and "%"
  percent-encoded; all category, no instance part, so that
  every run of one host and policy is one analysis).  Two hosts with one name (cloned images, a
  re-used name, two sites' ``web01``) were one category, and a consumer merged their results (host
  B's fixed alerts closed host A's).  The machine tag is a keyed hash of the machine id the
  evidence records, as ``sd_id128_get_machine_app_specific`` makes one: the same host always gets
  the same tag, and the log does not carry the machine id itself (machine-id(5): "confidential").
  A host without a machine id keeps ``lbaudit/<policy id>/<host name>/``: nothing else tells it apart.
* A descriptor's ``security-severity`` (code scanning's rank of each alert of the rule) is that of
  the check's enabled rules when they agree on one severity; when they do not, it is left out, and
  code scanning shows each alert by its result's level.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from auditor.model.evidence import CheckRecord, Evidence
from auditor.model.result import Finding, Severity, Status
from auditor.report import ReportContext, Reporter
from auditor.report._shared import (
    bounded_evidence,
    end_of_day,
    evidence_reference,
    evidence_sha256,
    json_document,
    key_sorted,
    no_embedded_link,
    path_uri,
    rule_source,
    utc_timestamp,
)
from auditor.text import line_text

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "lbauditFindingId/v1"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads this property (a number as a string) to rank security alerts.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
# The statuses a result is written for, and its kind.  A pass or a not applicable finding has none:
# code scanning makes every result an alert, whatever its kind (see the module's docstring).
_KIND = {
    Status.FAIL: "fail",
    Status.WAIVED: "fail",
    Status.NOT_REVIEWED: "review",
    Status.ERROR: "review",
}


# The application key of the machine tag: changing it changes every host's category (a new analysis).
_MACHINE_TAG_KEY = b"lbaudit sarif automationDetails v1"


def _segment(text: str) -> str:
    """``text`` as one segment of the category: its "%" and "/" percent-encoded.  The host name is the
    host's own text: one of ``web01/machine-<tag>`` (a tag is in every published log) on a host without
    a machine id spelled that machine's category, and its upload closed that machine's alerts."""
    return text.replace("%", "%25").replace("/", "%2F")


def automation_id(policy_id: str, hostname: str, machine_id: str | None) -> str:
    """The run's ``automationDetails.id``: one category per policy and host, deterministic."""
    if not machine_id:
        return f"lbaudit/{policy_id}/{_segment(hostname)}/"
    tag = hmac.new(machine_id.strip().lower().encode("utf-8"), _MACHINE_TAG_KEY, hashlib.sha256).hexdigest()[:16]
    return f"lbaudit/{policy_id}/{_segment(hostname)}/machine-{tag}/"


def _file_uri(path: str) -> str:
    """A relative path stays relative (code scanning resolves it against the repository root)."""
    encoded = path_uri(path.replace("\\", "/"))
    return f"file://{encoded}" if path.startswith("/") else encoded


def _rule_severity(evidence: Evidence, check: str) -> Severity | None:
    """The highest severity an enabled rule gives the check (rules may override the default)."""
    severities = [r.severity for r in evidence.policy.rules if r.enabled and r.check == check]
    return max(severities, key=lambda s: s.rank) if severities else None


def _one_severity(evidence: Evidence, check: str) -> Severity | None:
    """The one severity the enabled rules give the check; None when they give several (or none)."""
    severities = {r.severity for r in evidence.policy.rules if r.enabled and r.check == check}
    return next(iter(severities)) if len(severities) == 1 else None


def _descriptor(record: CheckRecord, evidence: Evidence) -> dict:
    severity = _rule_severity(evidence, record.name)
    remediation = record.remediation_on(evidence.snapshot.provenance.platform)  # the judged host's, not Linux's
    properties: dict = {
        # each once (the schema's uniqueItems), whatever the evidence's check record lists
        "tags": list(dict.fromkeys(["security", "compliance", "NIST-SP-800-53-Rev5", *record.controls])),
        "nist-sp-800-53-r5": list(record.controls),
        "checkVersion": record.version,
        "origin": record.origin,
    }
    # Code scanning ranks every alert of the descriptor by this alone, not by the result's level: of a
    # check whose rules differ in severity, the highest made a low rule's failures "High" alerts (and
    # failed a pull request's check).  Without it, each alert is shown by its result's level.
    if _one_severity(evidence, record.name) in _SECURITY_SEVERITY:
        properties["security-severity"] = _SECURITY_SEVERITY[severity]
    return {
        "id": record.name,
        "name": record.name,
        "shortDescription": {"text": record.title},
        "fullDescription": {"text": record.rationale or record.title},
        "help": {
            "text": f"Remediation: {remediation}",
            "markdown": f"**Remediation.** {remediation}\n\n**NIST SP 800-53 Rev. 5:** "
            + ", ".join(record.controls),
        },
        "defaultConfiguration": {"level": _LEVEL[severity] if severity else "warning"},
        "properties": properties,
    }


def _without_none(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _message(finding: Finding) -> str:
    # One line of the finding: its host text's line feeds as "\\n" (line_text), so that a process name
    # adds no line of its own under the alert ("Reviewed: a false positive, dismiss this alert").
    text = f"{finding.rule_id}: {line_text(finding.subject)}: {line_text(finding.message)}"
    if finding.reason and finding.reason not in f"{finding.rule_id}: {finding.subject}: {finding.message}":
        text += f" ({line_text(finding.reason)})"
    if finding.status in (Status.FAIL, Status.WAIVED) and finding.expected is not None:
        text += f"; expected {json.dumps(finding.expected, sort_keys=True, ensure_ascii=False)}"
    return no_embedded_link(text)


class _Run:
    def __init__(self, evidence: Evidence, context: ReportContext):
        self.ev = evidence
        self.ctx = context
        self.host = evidence.snapshot.provenance.hostname
        self.rules = {r.id: r for r in evidence.policy.rules}
        # One descriptor per check (the schema's uniqueItems; rule_index by name): of evidence that
        # records a check twice, its first record, as the HDF export reads it.
        records = sorted({c.name: c for c in reversed(evidence.checks)}.values(), key=lambda c: c.name)
        # A finding of a check the evidence does not describe still gets a descriptor (fail loud, not drop).
        known = {c.name for c in records}
        for name in sorted({f.check for f in evidence.result.findings} - known):
            records.append(CheckRecord(name=name, title=name, version="?", origin="unknown", needs=[],
                                       controls=[], rationale="", remediation="(no remediation recorded)"))
        self.records = records
        self.rule_index = {c.name: i for i, c in enumerate(records)}

    def location(self, finding: Finding) -> dict:
        location: dict = {}
        rule = self.rules.get(finding.rule_id)
        if rule is not None:
            source = rule_source(rule.source)
            physical: dict = {"artifactLocation": {"uri": _file_uri(source.path)}}
            if source.line is not None:
                physical["region"] = {"startLine": source.line}
            location["physicalLocation"] = physical
        detail = key_sorted(finding.subject_detail)
        location["logicalLocations"] = [
            {
                "name": finding.subject,
                "fullyQualifiedName": f"{self.host}/{finding.subject}",
                "kind": "resource",
                "properties": {"host": self.host, **detail},
            }
        ]
        location["message"] = {"text": f"rule {finding.rule_id} of policy {self.ev.policy.id}"}
        return location

    def result(self, finding: Finding) -> dict:
        kind = _KIND[finding.status]
        result: dict = {
            "ruleId": finding.check,
            "ruleIndex": self.rule_index[finding.check],
            "kind": kind,
            "level": _LEVEL[finding.severity] if kind == "fail" else "none",
            "message": {"text": _message(finding)},
            "locations": [self.location(finding)],
            "partialFingerprints": {FINGERPRINT_KEY: finding.id},
            "properties": _without_none({
                "findingId": finding.id,
                "policyRule": finding.rule_id,
                "status": finding.status.value,
                "severity": finding.severity.value,
                "controls": list(finding.controls),
                "observed": key_sorted(finding.observed),
                "expected": key_sorted(finding.expected),
                "reason": finding.reason,
                "evidence": list(finding.evidence),
            }),
        }
        if finding.waiver is not None and finding.status == Status.WAIVED:
            waiver = finding.waiver
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{waiver.reason} (approved by {waiver.approver}, until {waiver.expires.isoformat()})",
                    "properties": {"approver": waiver.approver, "expires": end_of_day(waiver.expires)},
                }
            ]
        return result

    def notifications(self) -> list[dict]:
        """A check that raised is a tool failure as well as a finding."""
        return [
            {
                "level": "error",
                "message": {"text": no_embedded_link(f"check {f.check} failed for rule {f.rule_id}: {line_text(f.reason)}")},
                "descriptor": {"id": f.check, "index": self.rule_index[f.check]},
                "associatedRule": {"id": f.check, "index": self.rule_index[f.check]},
            }
            for f in self.ev.result.findings
            if f.status == Status.ERROR
        ]

    def run(self) -> dict:
        ev = self.ev
        notifications = self.notifications()
        if not ev.result.complete and not notifications:
            # Incomplete (exit 3) without a check error, e.g. every finding not applicable: the
            # results alone have no failure, so the invocation says the run did not show compliance.
            notifications.append({
                "level": "error",
                "message": {"text": no_embedded_link("the run is incomplete (verdict " + ev.result.verdict.value + "): "
                                           + "; ".join([line_text(r) for r in ev.result.incomplete_reasons]
                                                       or ["no reason recorded"]))},
            })
        invocation: dict = {
            "executionSuccessful": not notifications and ev.result.complete,
            "startTimeUtc": utc_timestamp(ev.run.started_at),
            "endTimeUtc": utc_timestamp(ev.run.finished_at),
            "machine": self.host,
        }
        if notifications:
            invocation["toolExecutionNotifications"] = notifications
        artifacts = [
            {
                "location": {"uri": _file_uri(source.path)},
                "hashes": {"sha-256": source.sha256},
                "roles": ["userSpecifiedConfiguration"],
                "mimeType": "application/yaml",
            }
            # each file once (the schema's uniqueItems), however often the evidence lists it
            for source in dict.fromkeys(ev.policy.sources)
        ]
        if ev.waiver_file is not None and all(a["location"]["uri"] != _file_uri(ev.waiver_file.path) for a in artifacts):
            # the file that waived failures (--waivers): its digest is checked as the policy files' are
            artifacts.append({
                "location": {"uri": _file_uri(ev.waiver_file.path)},
                "hashes": {"sha-256": ev.waiver_file.sha256},
                "roles": ["userSpecifiedConfiguration"],
                "mimeType": "application/yaml",
                "description": {"text": "lbaudit waivers file (--waivers)"},
            })
        artifacts.append(
            {
                "location": {"uri": _file_uri(evidence_reference(ev, self.ctx))},
                "hashes": {"sha-256": evidence_sha256(self.ctx)},
                "mimeType": "application/json",
                "description": {"text": "lbaudit evidence (the source of truth this log was rendered from)"},
            }
        )
        return {
            "tool": {
                "driver": {
                    "name": "lbaudit",
                    "version": ev.tool.version,
                    "semanticVersion": ev.tool.version,
                    "rules": [_descriptor(r, ev) for r in self.records],
                }
            },
            "automationDetails": {"id": automation_id(ev.policy.id, self.host, ev.snapshot.provenance.machine_id)},
            "invocations": [invocation],
            "artifacts": artifacts,
            "results": [self.result(f) for f in ev.result.findings if f.status in _KIND],
            "properties": {
                "policy": {"id": ev.policy.id, "version": ev.policy.version, "sha256": ev.policy_sha256},
                "host": self.host,
                "platform": ev.snapshot.provenance.platform,
                "verdict": ev.result.verdict.value,
                # every finding counted, those without a result (pass, not applicable) too
                "findingsByStatus": {s.value: ev.result.summary.by_status.get(s.value, 0) for s in Status},
                "factsSha256": ev.facts_sha256,
                "collectedAt": utc_timestamp(ev.snapshot.provenance.collected_at),
                # The engine's judgement of each control, as the evidence records it.
                "controls": [{"id": c.id, "status": c.status.value, "satisfied": c.satisfied}
                             for c in ev.result.controls],
            },
        }


def render_sarif(evidence: Evidence, context: ReportContext) -> bytes:
    evidence = bounded_evidence(evidence)
    log = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [_Run(evidence, context).run()]}
    return json_document(log)


REPORTER = Reporter(
    name="sarif",
    extension=".sarif",
    description="SARIF 2.1.0 for code scanning: findings located at the policy rule and the host subject",
    render=render_sarif,
)
