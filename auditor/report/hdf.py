"""Heimdall Data Format (HDF) "Exec JSON", rendered from the evidence alone, for MITRE Heimdall and SAF.

* One profile for the policy (an evidence holds one): name, title, version, maintainer (owner), the
  SHA-256 of the resolved policy, ``supports`` (the platform family of the host the evidence judged,
  in InSpec's words: ``linux``, ``windows``, ``darwin``), one group per policy file (its rules), the
  rules' parameters as attributes.  The document's ``platform`` names that host's OS as the
  evidence records it, or its platform when no OS name was recorded: it said ``linux`` and the
  profile supported ``linux`` alone for every host, so the file of a Windows or macOS host (a
  replayed bundle) said the profile did not apply to the host it judged.
* One control per enabled rule: ``id`` the rule id, ``title``, descriptions ``default`` (the check's
  title), ``check`` (its rationale) and ``fix`` (its remediation), ``impact`` from the rule's severity
  on :data:`IMPACT` (InSpec's bands), ``tags.nist`` the rule's SP 800-53 controls (``UM-1``, Heimdall's
  "unmapped", if a rule names none, so the list is never empty), ``source_location`` the policy line.
  A rule whose every finding is not applicable gets impact 0.0: that is how HDF says "not
  applicable" (the severity stays in ``tags.severity``).
* One result per finding.  HDF results know passed, failed, skipped and error: ``not_reviewed`` is
  ``skipped`` with the reason as ``skip_message`` (Heimdall then shows "Not Reviewed", never a pass),
  ``not_applicable`` is ``skipped`` with "not applicable: <reason>", ``waived`` is ``skipped`` with
  the waiver (the failure is an approved deviation, not a pass and not an open failure: Heimdall
  shows a rule whose failures are all waived "Not Reviewed"), ``error`` is ``error`` with the reason.
  Heimdall calls a control "Passed" when it has a passed and no failed or error result, whatever is
  skipped beside it: so a ``not_reviewed`` finding of a rule that also has a passing finding is
  ``error`` (Heimdall: "Profile Error"), and a ``waived`` one of a rule whose other findings all
  pass (or are not applicable) is ``failed`` with the waiver in its message, as InSpec reports a
  waived control whose test ran (``run: true``; Heimdall: "Failed"): never hidden behind the passes.
  Otherwise passed and failed counts equal the evidence's pass and fail counts.
* A rule without findings gets one ``skipped`` result saying so (lbaudit judges its controls not
  reviewed; Heimdall would call a control without results a profile error).
* The policy's waivers of a rule are its ``waiver_data`` (several waivers of one rule in one text).
* A run the evidence calls incomplete (exit 3) in which no result is an ``error`` (every finding
  not applicable or not reviewed, or no enabled rule) gets one more control, ``lbaudit-run-complete``
  (``lbaudit run complete`` if a rule has that id), with an ``error`` result: a gate reading HDF
  (``saf validate threshold``) counts failed and error results, and would pass a run that judged
  nothing (JUnit's ``lbaudit run complete`` case, likewise).
* ``passthrough.lbaudit``: the evidence file's SHA-256, the content digest a signature covers, the
  signature state (signing key fingerprint or unsigned), the verdict, and how to verify.
"""

from __future__ import annotations

import json
from collections import Counter

from auditor.model.evidence import CheckRecord, Evidence
from auditor.model.policy import ResolvedRule
from auditor.model.result import Finding, Severity, Status
from auditor.report import ReportContext, Reporter
from auditor.report._shared import (
    bounded_evidence,
    evidence_reference,
    evidence_sha256,
    json_document,
    key_sorted,
    rule_source,
    utc_timestamp,
)
from auditor.report.view import content_sha256, finding_sentence, waiver_outcomes
from auditor.text import line_text, shell_word

# HDF impact from lbaudit severity, on InSpec's scale (0.0 none / not applicable, low 0.01-0.39,
# medium 0.4-0.69, high 0.7-0.89, critical 0.9-1.0); "info" is not "none": a failing info rule is
# still a failure, and impact 0.0 would make Heimdall call it not applicable.
IMPACT = {
    Severity.CRITICAL: 0.9,
    Severity.HIGH: 0.7,
    Severity.MEDIUM: 0.5,
    Severity.LOW: 0.3,
    Severity.INFO: 0.1,
}
NOT_APPLICABLE_IMPACT = 0.0
UNMAPPED_NIST = "UM-1"  # Heimdall's tag for "no NIST SP 800-53 control mapped"
# The evidence's platform (auditor.model.facts.Platform) as InSpec names it: its platform family (the
# ``supports`` of a profile) and, when the evidence records no OS name, the platform's own name.
PLATFORM_FAMILY = {"linux": "linux", "windows": "windows", "macos": "darwin"}
PLATFORM_NAME = {"linux": "linux", "windows": "windows", "macos": "mac_os_x"}
HDF_STATUS = {
    Status.PASS: "passed",
    Status.FAIL: "failed",
    Status.ERROR: "error",
    Status.NOT_REVIEWED: "skipped",
    Status.NOT_APPLICABLE: "skipped",
    Status.WAIVED: "skipped",
}


def _skip_message(finding: Finding) -> str | None:
    if finding.status == Status.NOT_REVIEWED:
        return f"not reviewed: {line_text(finding.reason or finding.message)}"
    if finding.status == Status.NOT_APPLICABLE:
        return f"not applicable: {line_text(finding.reason or finding.message)}"
    if finding.status == Status.WAIVED:
        waiver = finding.waiver
        if waiver is None:
            return "waived"
        return (f"waived (a failure the policy accepts as a deviation) until {waiver.expires.isoformat()}, "
                f"approved by {line_text(waiver.approver)}: {line_text(waiver.reason)}")
    return None


def _result(finding: Finding, start_time: str, beside_a_pass: bool = False, passed_otherwise: bool = False) -> dict:
    """``beside_a_pass``: the rule has a passing finding; ``passed_otherwise``: and no failing, error
    or not reviewed one, so that Heimdall would call its control "Passed" were a waived finding skipped."""
    status = HDF_STATUS[finding.status]
    skip = _skip_message(finding)
    message = finding_sentence(finding)
    if beside_a_pass and finding.status == Status.NOT_REVIEWED:
        # Heimdall calls a control with a passed and no failed or error result "Passed", whatever
        # is skipped beside it: a not-reviewed subject there is an error, so the control is not a pass.
        status = "error"
    if passed_otherwise and finding.status == Status.WAIVED:
        # Likewise a waived failure skipped beside passes alone read "Passed".  It is failed, as InSpec
        # reports a waived control whose test ran (waiver run: true): the failure, the waiver in its
        # message and in the control's waiver_data.
        status, message, skip = "failed", f"{skip}: {message}", None
    result: dict = {
        "status": status,
        # one line each (line_text), as Heimdall lists them: a process name's line feed added a line
        # of its own there ("passed: ..."); resource_id identifies the subject, as it is
        "code_desc": f"{line_text(finding.subject)}: {line_text(finding.message)}",
        "start_time": start_time,
        "resource": finding.check,
        "resource_id": finding.subject,
        "message": message,
        "lbaudit_finding_id": finding.id,
        "lbaudit_status": finding.status.value,
    }
    if skip is not None:
        result["skip_message"] = skip
    if status == "error" and finding.status == Status.NOT_REVIEWED:
        result["exception"] = "lbaudit: not reviewed (its evidence could not be collected)"
        result["backtrace"] = [finding.reason or finding.message]
    if finding.status == Status.ERROR:
        result["exception"] = "lbaudit check error"
        result["backtrace"] = [finding.reason or finding.message]
    if finding.observed is not None:
        result["lbaudit_observed"] = key_sorted(finding.observed)
    if finding.expected is not None:
        result["lbaudit_expected"] = key_sorted(finding.expected)
    return result


def _nothing_found(rule: ResolvedRule, start_time: str) -> dict:
    """A rule that produced no finding reviewed nothing (lbaudit judges its controls not reviewed);
    Heimdall would call a control without results a profile error, so it gets one skipped result."""
    return {
        "status": "skipped",
        "code_desc": f"{rule.id}: no finding",
        "start_time": start_time,
        "resource": rule.check,
        "skip_message": "not reviewed: the rule produced no finding, so nothing was judged",
    }


RUN_COMPLETE_CONTROL = "lbaudit-run-complete"
# Its id when a rule of the policy is called RUN_COMPLETE_CONTROL: with spaces, which no rule id may
# hold (the policy's ID_PATTERN).  Readers key controls by id (Heimdall's comparisons, the saf
# converters): of two controls with one id, the rule's passing one could stand for both.
RUN_COMPLETE_CONTROL_TAKEN = "lbaudit run complete"


class _Export:
    def __init__(self, evidence: Evidence, context: ReportContext):
        self.ev = evidence
        self.ctx = context
        self.records: dict[str, CheckRecord] = {}
        for record in evidence.checks:
            self.records.setdefault(record.name, record)
        self.waiver_outcomes = waiver_outcomes(evidence)
        self.by_rule: dict[str, list[Finding]] = {}
        for finding in evidence.result.findings:
            self.by_rule.setdefault(finding.rule_id, []).append(finding)

    def waiver_data(self, rule: ResolvedRule) -> dict | None:
        outcomes = [(w, state, count) for w, (state, count) in zip(self.ev.result.waivers, self.waiver_outcomes)
                    if w.rule_id == rule.id]
        if not outcomes:
            return None
        # as the attestation states each: "superseded" where an earlier waiver waived all it matched
        lines = [f"{state}: {'subject ' + w.subject if w.subject else 'every finding'}, approved by {w.approver} "
                 f"until {w.expires.isoformat()}: {w.reason} ({count} findings)" for w, state, count in outcomes]
        states = [w for w, _, _ in outcomes]
        applied = [w for w, state, _ in outcomes if state == "applied"]
        # the rule's waived findings, not what each waiver matched: a failure two waivers match is
        # waived once (by the first), and was counted once for each
        waived = sum(1 for f in self.by_rule.get(rule.id, ()) if f.status == Status.WAIVED)
        return {
            "justification": "; ".join(lines),
            "expiration_date": min(w.expires for w in (applied or states)).isoformat(),
            "run": True,  # lbaudit always runs the check; a waiver changes how a failure is counted
            "skipped_due_to_waiver": False,
            "message": (f"{waived} finding{'' if waived == 1 else 's'} waived by the policy"
                        if waived else "no finding waived (the waiver expired or matched nothing)"),
        }

    def control(self, rule: ResolvedRule) -> dict:
        record = self.records.get(rule.check)
        findings = sorted(self.by_rule.get(rule.id, []), key=lambda f: (f.subject, f.id))
        all_not_applicable = bool(findings) and all(f.status == Status.NOT_APPLICABLE for f in findings)
        beside_a_pass = any(f.status == Status.PASS for f in findings)
        passed_otherwise = beside_a_pass and not any(
            f.status in (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED) for f in findings)
        source = rule_source(rule.source)
        location: dict = {"ref": source.path}
        if source.line is not None:
            location["line"] = source.line
        start = utc_timestamp(self.ev.run.started_at)
        counts = Counter(f.status.value for f in findings)
        control: dict = {
            "id": rule.id,
            "title": rule.title or (record.title if record else rule.check),
            "desc": record.title if record else rule.check,
            "descriptions": [
                {"label": "default", "data": record.title if record else rule.check},
                {"label": "check", "data": record.rationale if record else "(no rationale recorded in the evidence)"},
                {"label": "fix", "data": record.remediation_on(self.ev.snapshot.provenance.platform) if record
                 else "(no remediation recorded in the evidence)"},
            ],
            "impact": NOT_APPLICABLE_IMPACT if all_not_applicable else IMPACT[rule.severity],
            "refs": [],
            "tags": {
                "nist": list(rule.controls) or [UNMAPPED_NIST],
                "severity": rule.severity.value,
                "check": rule.check,
                "check_version": record.version if record else None,
                "lbaudit_counts": dict(sorted(counts.items())),
            },
            "code": json.dumps({"check": rule.check, "params": key_sorted(rule.params)}, sort_keys=True,
                               ensure_ascii=False),
            "source_location": location,
            "results": [_result(f, start, beside_a_pass, passed_otherwise) for f in findings]
            or [_nothing_found(rule, start)],
        }
        waiver = self.waiver_data(rule)
        if waiver is not None:
            control["waiver_data"] = waiver
        return control

    def incomplete_run_control(self, rule_ids: set[str]) -> dict:
        result = self.ev.result
        reasons = "; ".join(line_text(r) for r in result.incomplete_reasons) or "the evidence records the run as incomplete"
        return {
            "id": RUN_COMPLETE_CONTROL if RUN_COMPLETE_CONTROL not in rule_ids else RUN_COMPLETE_CONTROL_TAKEN,
            "title": "The lbaudit run judged everything it was asked to",
            "desc": "lbaudit could not judge this run; its verdict is incomplete, never a pass",
            "descriptions": [{"label": "default", "data": f"verdict: {result.verdict.value} (exit {result.exit_code})"}],
            "impact": IMPACT[result.fail_on],
            "refs": [],
            "tags": {"nist": [UNMAPPED_NIST], "severity": result.fail_on.value},
            "code": json.dumps({"verdict": result.verdict.value, "exit_code": result.exit_code}, sort_keys=True),
            "source_location": {},
            "results": [{
                "status": "error",
                "code_desc": "lbaudit run complete",
                "start_time": utc_timestamp(self.ev.run.started_at),
                "message": reasons,
            }],
        }

    def profile(self) -> dict:
        policy = self.ev.policy
        rules = [r for r in policy.rules if r.enabled]
        groups: dict[str, list[str]] = {}
        for rule in rules:
            groups.setdefault(rule_source(rule.source).path, []).append(rule.id)
        return {
            "name": policy.id,
            "title": policy.description.strip().splitlines()[0] if policy.description.strip() else policy.id,
            "version": policy.version,
            "maintainer": policy.owner,
            "summary": policy.description or None,
            "sha256": self.ev.policy_sha256,
            "supports": [{"platform-family": PLATFORM_FAMILY[self.ev.snapshot.provenance.platform]}],
            "status": "loaded",
            "depends": [{"name": source.path, "path": source.path, "status": "loaded", "lbaudit_sha256": source.sha256}
                        for source in policy.sources[1:]]
                       + ([{"name": self.ev.waiver_file.path, "path": self.ev.waiver_file.path, "status": "loaded",
                            "lbaudit_sha256": self.ev.waiver_file.sha256}] if self.ev.waiver_file is not None else []),
            "attributes": [{"name": r.id, "options": {"value": key_sorted(r.params)}} for r in rules],
            "groups": [{"id": path, "title": None, "controls": ids} for path, ids in groups.items()],
            "controls": self.controls(rules),
        }

    def controls(self, rules: list[ResolvedRule]) -> list[dict]:
        controls = [self.control(rule) for rule in rules]
        any_error = any(r["status"] == "error" for c in controls for r in c["results"])
        if not self.ev.result.complete and not any_error:
            controls.append(self.incomplete_run_control({rule.id for rule in rules}))
        return controls

    def document(self) -> dict:
        ev = self.ev
        prov = ev.snapshot.provenance
        duration = (ev.run.finished_at - ev.run.started_at).total_seconds()
        fingerprint = self.ctx.signature_fingerprint
        name = evidence_reference(ev, self.ctx)
        return {
            "platform": {"name": prov.os or PLATFORM_NAME[prov.platform], "release": prov.kernel or "unknown",
                         "target_id": prov.hostname},
            "version": ev.tool.version,
            # Only the duration: HDF's statistics.controls counts controls, and a rule's control has
            # one status only in a reader's eyes; the evidence's own counts are in passthrough.
            "statistics": {"duration": max(duration, 0.0)},
            "profiles": [self.profile()],
            "passthrough": {
                "lbaudit": {
                    "tool": f"lbaudit {ev.tool.version}",
                    "verdict": ev.result.verdict.value,
                    "fail_on": ev.result.fail_on.value,
                    "host": prov.hostname,
                    "machine_id": prov.machine_id,
                    "facts": prov.facts_trust,
                    "by_status": dict(sorted(ev.result.summary.by_status.items())),
                    "evidence": {
                        "file": name,
                        "sha256": evidence_sha256(self.ctx),
                        "content_sha256": content_sha256(self.ctx.evidence_bytes),
                        "policy_sha256": ev.policy_sha256,
                        "facts_sha256": ev.facts_sha256,
                    },
                    "signature": {
                        "state": "signed" if fingerprint else "unsigned",
                        "key_fingerprint": fingerprint,
                    },
                    "how_to_verify": (f"sha256sum {shell_word(name)} must print the evidence sha256 above; "
                                      + (f"lbaudit verify {shell_word(name)} --pubkey <the signer's .pub key> checks "
                                         f"its signature ({name}.sig)" if fingerprint else
                                         "the evidence is not signed, so only its digest can be compared")),
                }
            },
        }


def render_hdf(evidence: Evidence, context: ReportContext) -> bytes:
    return json_document(_Export(bounded_evidence(evidence), context).document())


REPORTER = Reporter(
    name="hdf",
    extension=".hdf.json",
    description="Heimdall Data Format (Exec JSON) for MITRE Heimdall and SAF CLI: one control per rule, NIST tags",
    render=render_hdf,
)
