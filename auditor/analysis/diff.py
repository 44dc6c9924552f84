"""Drift between two scans: what got worse, what got better, from two evidence files alone.

Findings are matched by their id, which is derived from rule id and a subject key without
volatile parts (pids), so a service restart is not a new finding.

Three kinds of change are kept apart, because a gate on ``lbaudit diff`` must not be passed by
switching a failing rule off:

* regressions: a finding that now fails, errors or is not reviewed and did not before (including
  one that is new), a finding that fails now and could not be judged before (error / not
  reviewed: whether it failed then is unknown, so the failure is news), a finding that failed and
  now cannot be judged (error / not reviewed: the tool lost sight of it), and a failure gone from a rule that now could not judge everything (an
  unjudged finding of it: the failing listener may be among those it could not read);
* improvements: a finding that was failing, errored or unreviewed and is now judged pass or not
  applicable, or is gone, under a rule that still runs and reports (a waived failure is not one);
* policy changes: what the policy (or the code that judges) changed between the scans.  A rule
  removed or disabled, a check missing, a check version changed, a waiver added or changed,
  severity lowered, params, controls or platforms changed, ``--fail-on`` raised, or an enabled rule
  whose findings vanished are lost coverage: a regression unless the caller says the policy change is intended
  (``--allow-policy-change``).  So are facts of an offline root directory after those of the
  running host (an image has no live socket: a failing listener is absent from it, not closed, and
  a failure of the running state, a TIME_WAIT count or a loaded audit rule, is not applicable in it,
  not fixed).
  Findings of a rule that no longer runs, and failures of a loosened rule (or a check of another
  version) that no longer fail, are listed with that change, never as improvements.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from auditor.model.evidence import Evidence
from auditor.model.facts import Provenance, names_its_host
from auditor.model.policy import ResolvedRule, Waiver
from auditor.model.result import Finding, Severity, Status, Verdict

BAD = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED)
UNJUDGED = (Status.ERROR, Status.NOT_REVIEWED)
# A run's verdict from best to worst: compliant, incomplete (nothing fails, not everything was
# judged), non-compliant.
VERDICT_RANK = {Verdict.COMPLIANT.value: 0, Verdict.INCOMPLETE.value: 1, Verdict.NON_COMPLIANT.value: 2}


@dataclass(frozen=True)
class Change:
    finding_id: str
    rule_id: str
    subject: str
    before: str | None  # status, or None when the finding is new
    after: str | None  # status, or None when the finding is gone
    note: str | None = None  # why the change is classed where it is, when its statuses do not say

    def as_dict(self) -> dict[str, str | None]:
        document = {"id": self.finding_id, "rule": self.rule_id, "subject": self.subject,
                    "before": self.before, "after": self.after}
        if self.note is not None:
            document["note"] = self.note
        return document


@dataclass(frozen=True)
class PolicyChange:
    kind: str  # rule_removed, rule_disabled, check_missing, check_version_changed, waiver_added, ...
    subject: str  # the rule id, check name or waiver it is about
    detail: str
    loses_coverage: bool  # True: a regression unless --allow-policy-change
    findings: list[Change] = field(default_factory=list)  # findings that are no longer judged because of it

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail,
                "loses_coverage": self.loses_coverage, "findings": [c.as_dict() for c in self.findings]}


@dataclass(frozen=True)
class ScanDiff:
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)
    policy_changes: list[PolicyChange] = field(default_factory=list)
    verdict_before: str = ""
    verdict_after: str = ""
    policy_changed: bool = False  # the policy digests differ
    policy_sha256_before: str = ""
    policy_sha256_after: str = ""
    same_host: bool = True
    # Both scans name their host (a host name other than "unknown", or a machine id): False when one
    # does not, which is then not the same host as any (an image without /etc/hostname or machine-id).
    host_identified: bool = True
    host_before: str = ""  # "NAME (machine id ID)" of each scan
    host_after: str = ""

    @property
    def lost_coverage(self) -> list[PolicyChange]:
        return [c for c in self.policy_changes if c.loses_coverage]

    @property
    def verdict_worsened(self) -> bool:
        """Whether the run's own verdict got worse: a compliant run whose rules now judge nothing
        (every finding not applicable) is incomplete with no finding that is bad, and one whose
        unreviewed finding now fails is non-compliant with no finding that newly is."""
        return VERDICT_RANK.get(self.verdict_after, len(VERDICT_RANK)) > VERDICT_RANK.get(self.verdict_before, 0)

    def regressed(self, allow_policy_change: bool = False, allow_host_change: bool = False) -> bool:
        """Whether a gate on this diff must fail: a regression, a verdict that got worse, lost
        coverage not declared intended, or scans of two hosts (another name or machine id) not
        declared intended.  Across hosts the comparison is not drift: what one host had and the
        other lacks reads as "gone", an improvement, and "nothing regressed" would pass a gate on a
        comparison it cannot make."""
        return (bool(self.regressions) or self.verdict_worsened
                or (bool(self.lost_coverage) and not allow_policy_change)
                or (not self.same_host and not allow_host_change))

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": {"before": self.verdict_before, "after": self.verdict_after},
            "verdict_worsened": self.verdict_worsened,
            "policy_changed": self.policy_changed,
            "policy_sha256": {"before": self.policy_sha256_before, "after": self.policy_sha256_after},
            "same_host": self.same_host,
            "host_identified": self.host_identified,
            "host": {"before": self.host_before, "after": self.host_after},
            "regressions": [c.as_dict() for c in self.regressions],
            "improvements": [c.as_dict() for c in self.improvements],
            "other_changes": [c.as_dict() for c in self.other_changes],
            "policy_changes": [c.as_dict() for c in self.policy_changes],
            "lost_coverage": len(self.lost_coverage),
        }


def _is_bad(status: Status | None) -> bool:
    return status in BAD


def _waiver_key(waiver: Waiver) -> tuple:
    return (waiver.rule, waiver.subject, waiver.expires, waiver.reason, waiver.approver)


def _describe_waiver(waiver: Waiver) -> str:
    scope = f"subjects {waiver.subject!r}" if waiver.subject is not None else "every finding of the rule"
    return f"{scope}, until {waiver.expires.isoformat()}, approved by {waiver.approver}"


def _rule_changes(old: ResolvedRule, new: ResolvedRule) -> list[PolicyChange]:
    changes = []
    if new.check != old.check:
        changes.append(PolicyChange("rule_check_changed", new.id, f"check {old.check} -> {new.check}", True))
    if Severity(new.severity).rank < Severity(old.severity).rank:
        changes.append(PolicyChange("severity_lowered", new.id, f"severity {Severity(old.severity).value} -> "
                                    f"{Severity(new.severity).value}", True))
    elif new.severity != old.severity:
        changes.append(PolicyChange("severity_raised", new.id, f"severity {Severity(old.severity).value} -> "
                                    f"{Severity(new.severity).value}", False))
    if new.params != old.params:
        # Whether new params are looser cannot be told in general (an allow-list grows, a minimum
        # shrinks); a changed parameter is treated as possibly loosened.
        changes.append(PolicyChange("params_changed", new.id, f"params {old.params} -> {new.params}", True))
    dropped = sorted(set(old.controls) - set(new.controls))
    if dropped:
        changes.append(PolicyChange("controls_removed", new.id, f"no longer evidences {', '.join(dropped)}", True))
    if new.platforms != old.platforms:
        # None: every platform its check supports.  Fewer platforms: on this host's the rule may now
        # say not_applicable instead of judging.
        narrowed = new.platforms is not None and (old.platforms is None or not set(new.platforms) >= set(old.platforms))
        changes.append(PolicyChange("platforms_changed", new.id, f"platforms {_platforms(old)} -> {_platforms(new)}",
                                    narrowed))
    # Whatever else a rule holds that judging reads (a field this list does not know yet) is a change
    # that may loosen it: its title and where it was written are not.
    unexplained = sorted(name for name in type(new).model_fields
                         if name not in _RULE_FIELDS_COMPARED and getattr(new, name) != getattr(old, name))
    if unexplained:
        changes.append(PolicyChange("rule_changed", new.id, f"{', '.join(unexplained)} changed", True))
    return changes


# The fields of a rule _rule_changes compares by name, and those that do not change what it judges.
_RULE_FIELDS_COMPARED = frozenset({"id", "check", "severity", "params", "controls", "platforms", "enabled",
                                   "title", "source"})


def _platforms(rule: ResolvedRule) -> str:
    return "every platform of its check" if rule.platforms is None else ", ".join(map(str, rule.platforms)) or "none"


def _policy_changes(before: Evidence, after: Evidence, old: dict[str, Finding],
                    new: dict[str, Finding]) -> tuple[list[PolicyChange], set[str]]:
    """What changed in the policy and the checks; also the ids of findings those changes account for."""
    changes: list[PolicyChange] = []
    accounted: set[str] = set()
    old_rules = {r.id: r for r in before.policy.rules}
    new_rules = {r.id: r for r in after.policy.rules}
    old_checks = {c.name: c for c in before.checks}
    new_checks = {c.name: c for c in after.checks}

    def findings_of(rule_id: str) -> list[Change]:
        gone = [f for f in old.values() if f.rule_id == rule_id and f.id not in new]
        accounted.update(f.id for f in gone)
        return [Change(f.id, f.rule_id, f.subject, f.status.value, None) for f in sorted(gone, key=lambda f: f.id)]

    def no_longer_failing(rule_ids: set[str]) -> list[Change]:
        """The findings of these rules that were bad and now are not (or are gone), accounted for."""
        loosened = sorted((f for f in old.values() if f.rule_id in rule_ids and f.id not in accounted
                           and _is_bad(f.status) and not _is_bad(new[f.id].status if f.id in new else None)),
                          key=lambda f: f.id)
        accounted.update(f.id for f in loosened)
        return [Change(f.id, f.rule_id, f.subject, f.status.value, new[f.id].status.value if f.id in new else None)
                for f in loosened]

    for rule_id in sorted(old_rules.keys() | new_rules.keys()):
        was, now = old_rules.get(rule_id), new_rules.get(rule_id)
        if was is None:
            if now is not None and now.enabled:
                changes.append(PolicyChange("rule_added", rule_id, f"new rule (check {now.check})", False))
            continue
        if not was.enabled:
            if now is not None and now.enabled:
                changes.append(PolicyChange("rule_enabled", rule_id, f"rule enabled (check {now.check})", False))
            continue
        if now is None:
            changes.append(PolicyChange("rule_removed", rule_id, f"rule removed from the policy (check {was.check})",
                                        True, findings_of(rule_id)))
            continue
        if not now.enabled:
            changes.append(PolicyChange("rule_disabled", rule_id, f"rule disabled (check {was.check})", True,
                                        findings_of(rule_id)))
            continue
        rule_changes = _rule_changes(was, now)
        losing = [c for c in rule_changes if c.loses_coverage]
        if losing:
            # Judged under a loosened rule (params changed, platforms narrowed...): a failure that
            # passes, is not applicable or is gone now is listed with that change, never as fixed.
            first = rule_changes.index(losing[0])
            rule_changes[first] = replace(losing[0], findings=no_longer_failing({rule_id}))
        changes += rule_changes
        had = any(f.rule_id == rule_id for f in old.values())
        has = any(f.rule_id == rule_id for f in new.values())
        if had and not has:
            changes.append(PolicyChange("findings_vanished", rule_id, "the rule is still enabled but the evidence "
                                        "holds no finding of it", True, findings_of(rule_id)))

    for name in sorted(old_checks.keys() | new_checks.keys()):
        was_check, now_check = old_checks.get(name), new_checks.get(name)
        if now_check is None:
            users = [r for r in before.policy.rules if r.enabled and r.check == name]
            if users and all(r.id not in new_rules or not new_rules[r.id].enabled for r in users):
                continue  # no longer used because its rules were removed or disabled: listed above
            changes.append(PolicyChange("check_missing", name, f"check {name} {was_check.version} "
                                        f"({was_check.origin}) is no longer loaded", True))
        elif was_check is not None and (was_check.version, was_check.origin) != (now_check.version, now_check.origin):
            # Other code judged: findings are not comparable until the change is reviewed, and a
            # failure the new code does not fail is listed with the change, not as fixed.
            users = {r.id for r in after.policy.rules if r.enabled and r.check == name}
            changes.append(PolicyChange("check_version_changed", name, f"{was_check.version} ({was_check.origin}) -> "
                                        f"{now_check.version} ({now_check.origin})", True, no_longer_failing(users)))

    # The policy's waivers and those of a separate waivers file (--waivers): a renewal there is a
    # waiver change like one in the policy, though the policy's digest stays the same.
    before_waivers = [*before.policy.waivers, *(before.waiver_file.waivers if before.waiver_file else [])]
    after_waivers = [*after.policy.waivers, *(after.waiver_file.waivers if after.waiver_file else [])]
    old_waivers = {_waiver_key(w) for w in before_waivers}
    new_waivers = {_waiver_key(w) for w in after_waivers}
    for waiver in after_waivers:
        if _waiver_key(waiver) not in old_waivers:
            changes.append(PolicyChange("waiver_added", waiver.rule, f"waiver added or changed: "
                                        f"{_describe_waiver(waiver)}", True))
    for waiver in before_waivers:
        if _waiver_key(waiver) not in new_waivers:
            changes.append(PolicyChange("waiver_removed", waiver.rule, f"waiver removed or changed: "
                                        f"{_describe_waiver(waiver)}", False))
    changes += _source_changes(before, after, old, new, accounted)
    # --fail-on raised: failures below it stop making the run non-compliant, as a severity lowered
    # does for one rule; the verdict turned compliant with no finding changed.
    was_on, now_on = Severity(before.result.fail_on), Severity(after.result.fail_on)
    if was_on != now_on:
        raised = now_on.rank > was_on.rank
        changes.append(PolicyChange("fail_on_raised" if raised else "fail_on_lowered", after.policy.id,
                                    f"--fail-on {was_on.value} -> {now_on.value}"
                                    + (": failures below it no longer make the run non-compliant" if raised else ""),
                                    raised))
    if before.policy_sha256 != after.policy_sha256 and not changes:
        changes.append(PolicyChange("policy_digest_changed", after.policy.id, f"policy SHA-256 "
                                    f"{before.policy_sha256[:16]}... -> {after.policy_sha256[:16]}... (no rule, "
                                    "check or waiver differs)", False))
    return changes, accounted


def _facts_origin(evidence: Evidence) -> str | None:
    """Where the facts were collected: live (a running host), root (an offline root directory) or
    replay (a captured bundle); a snapshot file says where it was collected from (None: unknown)."""
    provenance = evidence.snapshot.provenance
    return provenance.collected_from if provenance.source == "snapshot" else provenance.source


_ORIGIN_WORDS = {"live": "a running host (live)", "root": "an offline root directory (root)",
                 "replay": "a captured bundle (replay)", None: "an unknown source"}


def _source_changes(before: Evidence, after: Evidence, old: dict[str, Finding], new: dict[str, Finding],
                    accounted: set[str]) -> list[PolicyChange]:
    """A scan of an offline root directory after one of the running host: the image holds only the
    listeners its configuration declares, so a failing listener of the running host is absent from
    it, not closed; and what exists only on a running host (socket counts, loaded audit rules, a
    running audit daemon) is not applicable there, not fixed.  That loses coverage, and the failures
    gone or not applicable are listed with it, not as fixed."""
    was, now = _facts_origin(before), _facts_origin(after)
    if was == now:
        return []
    detail = f"facts of {_ORIGIN_WORDS.get(was, was)} -> {_ORIGIN_WORDS.get(now, now)}"
    if now != "root" or was == "root":
        return [PolicyChange("facts_source_changed", after.snapshot.provenance.hostname, detail, False)]
    unjudged = sorted((f for f in old.values() if f.id not in accounted and _is_bad(f.status)
                       and (f.id not in new or new[f.id].status == Status.NOT_APPLICABLE)), key=lambda f: f.id)
    accounted.update(f.id for f in unjudged)
    return [PolicyChange("facts_source_changed", after.snapshot.provenance.hostname,
                         detail + ": an offline image shows no live socket, so what is gone from it or not applicable "
                         "in it is not fixed", True,
                         [Change(f.id, f.rule_id, f.subject, f.status.value,
                                 new[f.id].status.value if f.id in new else None) for f in unjudged])]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def reversed_order(before: Evidence, after: Evidence) -> str | None:
    """Why BEFORE cannot be the earlier scan, or None.  Read backwards, a listener opened between
    the scans is "gone" (an improvement) and a gate passes on it; so a BEFORE whose facts were
    collected after AFTER's is refused, whenever either was evaluated: an older snapshot evaluated
    again later (with a new policy, or recorded as a backfill) is still the earlier scan, and a newer
    one given before it is backwards.  Of two scans of the same facts, the one evaluated first is
    the earlier (read backwards, a rule removed in between is "added")."""
    collected = (_utc(before.snapshot.provenance.collected_at), _utc(after.snapshot.provenance.collected_at))
    started = (_utc(before.run.started_at), _utc(after.run.started_at))
    if collected[0] > collected[1] or (collected[0] == collected[1] and started[0] > started[1]):
        return (f"BEFORE is the later scan (facts collected {collected[0].isoformat()}, evaluated "
                f"{started[0].isoformat()}; AFTER's {collected[1].isoformat()}, {started[1].isoformat()}): "
                "give the earlier scan first")
    return None


def diff_scans(before: Evidence, after: Evidence) -> ScanDiff:
    """What changed from ``before`` to ``after``.  Its texts (subjects, the notes quoting a finding)
    are the host's, cut as every report cuts them (:func:`auditor.report._shared.bounded_evidence`):
    every consumer of a diff prints them (``diff``, ``history diff``, ``fleet report`` in its
    terminal, JSON and HTML forms), and a process named by a path of a megabyte was repeated whole
    by each, for every host that regressed; so is each policy change's detail, which quotes a rule's
    params whole.  Findings are matched by id and status, which the cut leaves as they are."""
    from auditor.report._shared import bounded_evidence, bounded_text

    before, after = bounded_evidence(before), bounded_evidence(after)
    old: dict[str, Finding] = {f.id: f for f in before.result.findings}
    new: dict[str, Finding] = {f.id: f for f in after.result.findings}
    policy_changes, accounted = _policy_changes(before, after, old, new)
    # A change's detail is built from many texts of the policy, each cut above but not their sum: a
    # rule's params of hundreds of exceptions, changed in one reason, were printed whole, twice.
    policy_changes = [replace(change, subject=bounded_text(change.subject), detail=bounded_text(change.detail))
                      for change in policy_changes]
    # Rules that could not judge everything in AFTER (a listener list unreadable, a check erred):
    # a failure gone from such a rule may be hidden, not fixed.
    unseeing: dict[str, list[Finding]] = {}
    for finding in after.result.findings:
        if finding.status in UNJUDGED:
            unseeing.setdefault(finding.rule_id, []).append(finding)
    regressions, improvements, others = [], [], []
    for finding_id in sorted(old.keys() | new.keys()):
        if finding_id in accounted:
            continue  # listed with the policy change that stopped it being judged
        was, now = old.get(finding_id), new.get(finding_id)
        was_status = was.status if was else None
        now_status = now.status if now else None
        if was_status == now_status:
            continue
        source = now or was
        change = Change(finding_id, source.rule_id, source.subject,
                        was_status.value if was_status else None, now_status.value if now_status else None)
        if _is_bad(now_status) and not _is_bad(was_status):
            regressions.append(change)
        elif now_status == Status.FAIL and was_status in UNJUDGED:
            # Not judged before says nothing about whether it failed: the failure is new (a holder's
            # executable unread before, read now and not the program an exception allows).
            regressions.append(change)
        elif was_status == Status.FAIL and now_status in UNJUDGED:
            regressions.append(change)  # a failure nobody can see any more has not been fixed
        elif was_status == Status.FAIL and now_status is None and source.rule_id in unseeing:
            # Gone while its rule says it could not see everything: the listener may be the one
            # unread (its process unknown gives it another subject), so it has not been fixed.
            blind = unseeing[source.rule_id][0]
            regressions.append(Change(finding_id, source.rule_id, source.subject, was_status.value, None,
                                      bounded_text(f"not seen, not fixed: rule {source.rule_id} could not judge "
                                                   f"everything ({blind.status.value} {blind.subject}: "
                                                   f"{blind.reason or blind.message})")))
        elif _is_bad(was_status) and now_status in (Status.PASS, Status.NOT_APPLICABLE, None):
            # Judged again by the same enabled rule, or gone from a rule that still reports (the
            # listener was closed): a rule that stopped running is accounted for above.
            improvements.append(change)
        else:
            others.append(change)  # among them failing -> waived: the waiver is listed as a policy change
    old_host, new_host = before.snapshot.provenance, after.snapshot.provenance
    return ScanDiff(
        regressions=regressions,
        improvements=improvements,
        other_changes=others,
        policy_changes=policy_changes,
        verdict_before=before.result.verdict.value,
        verdict_after=after.result.verdict.value,
        policy_changed=before.policy_sha256 != after.policy_sha256,
        policy_sha256_before=before.policy_sha256,
        policy_sha256_after=after.policy_sha256,
        same_host=(_identified(old_host) and _identified(new_host)
                   and (old_host.hostname, old_host.machine_id) == (new_host.hostname, new_host.machine_id)),
        host_identified=_identified(old_host) and _identified(new_host),
        host_before=_host_name(old_host.hostname, old_host.machine_id),
        host_after=_host_name(new_host.hostname, new_host.machine_id),
    )


def _identified(provenance: Provenance) -> bool:
    """Whether a scan names the host it is of (:func:`auditor.model.facts.names_its_host`).  Two
    images without a name or machine id of their own compared equal: two hosts were diffed as one,
    and what the first had and the second lacked read as an improvement."""
    return names_its_host(provenance.hostname, provenance.machine_id)


def _host_name(hostname: str, machine_id: str | None) -> str:
    return f"{hostname} (machine id {machine_id or 'unknown'})"
