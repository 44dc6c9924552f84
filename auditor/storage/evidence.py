"""The evidence file: its bytes, writing, reading back (bounded, validated) and its JSON Schema.

The engine builds the evidence (:mod:`auditor.engine.evidence`); reporters render from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from pydantic import BaseModel, ValidationError

from auditor.errors import InputError, Problem
from auditor.gcpause import cycle_collector_paused
from auditor.model.base import digest_of, sha256_hex
from auditor.model.evidence import EVIDENCE_SCHEMA, EVIDENCE_SCHEMA_VERSION, Evidence
from auditor.model.facts import Listener, plain_gaps, snapshot_json, snapshot_parts
from auditor.model.result import Finding, RunResult, RunTally, Status, tally_run
from auditor.model.waiving import applied_waiver, judge_waivers
from auditor.storage.jsonfile import (
    canonical_sha256,
    parse_document,
    read_as_written,
    read_bounded,
    validate_versioned,
)
from auditor.storage.jsontext import indented_json, indented_json_chunks
from auditor.storage.outputs import write_atomic
from auditor.text import quoted_name

MAX_EVIDENCE_BYTES = 256 * 1024 * 1024


FINDING_JSON_VALUES = ("subject_detail", "observed", "expected")


def float_holders(data: dict[str, Any]) -> Iterator[tuple[Any, Iterable[str]]]:
    """Where a dumped evidence may hold a float: the policy (rule params) and each finding's JSON
    values.  Nothing else in the evidence's schema is a number that is not an int
    (tests/test_jsontext.py checks this against the schema)."""
    yield data, ("policy",)
    for finding in data["result"]["findings"]:
        if type(finding) is dict:  # a Finding model is written by its part (_finding_part)
            yield finding, FINDING_JSON_VALUES


# Every field of a finding, as finding_json writes it: a field added to Finding without being
# added here makes the evidence fall back to pydantic's dump (tests/storage/test_finding_json.py).
_FINDING_FIELDS = ("id", "rule_id", "check", "status", "severity", "controls", "subject", "subject_detail",
                   "observed", "expected", "message", "reason", "evidence", "waiver")


def finding_json(finding: Finding) -> dict[str, Any]:
    """``finding.model_dump(mode="json")``, built directly: its JSON values are plain JSON already
    (validated as JsonValue, or made plain by the outcome helpers) and are shared, not copied.
    Dumping them through pydantic's JsonValue serializer was most of writing the evidence of
    5,000 listeners, and its copies most of the memory the writing took."""
    values = finding.__dict__
    data = values.copy()  # a copy of a dict as it is (its keys table cloned), not item by item
    data["status"] = values["status"].value
    data["severity"] = values["severity"].value
    data["controls"] = list(values["controls"])
    data["evidence"] = list(values["evidence"])
    if values["waiver"] is not None:
        data["waiver"] = values["waiver"].model_dump(mode="json")
    return data


def _plain_findings() -> bool:
    return tuple(Finding.model_fields) == _FINDING_FIELDS


def _evidence_value(evidence: Evidence) -> tuple[dict[str, Any], dict[type, Any]]:
    """The evidence as the value indented_json writes, and the parts it writes one at a time."""
    if _plain_findings():
        data = evidence.model_dump(mode="json", by_alias=True, exclude={
            "result": {"findings"}, "snapshot": {"facts", "gaps"} if plain_gaps() else {"facts"}})
        # Findings, listeners and gaps are left as models and written one at a time: the plain form
        # of all of them at once was a third of the memory writing 5,000 listeners' evidence took.
        data["snapshot"] = snapshot_json(evidence.snapshot, data["snapshot"], listeners_as_models=True)
        data["result"]["findings"] = list(evidence.result.findings)
    else:  # pragma: no cover - a Finding field finding_json does not know yet
        data = evidence.model_dump(mode="json", by_alias=True)
    if data.get("waiver_file", 0) is None:  # written only when the run had a waivers file (--waivers)
        del data["waiver_file"]
    return data, {**snapshot_parts(), Finding: _finding_part}


def evidence_bytes(evidence: Evidence) -> bytes:
    """The file form: sorted keys and two-space indents, so that diffs between scans are readable
    (``json.dumps(indent=2, sort_keys=True, ensure_ascii=False)``, written at C speed)."""
    data, parts = _evidence_value(evidence)
    return indented_json(data, float_holders, parts=parts)


def evidence_chunks(evidence: Evidence) -> Iterator[bytes]:
    """:func:`evidence_bytes` in pieces (their concatenation is exactly those bytes), findings and
    listeners 32 at a time, for a file written without holding its bytes whole."""
    data, parts = _evidence_value(evidence)
    return indented_json_chunks(data, float_holders, parts=parts)


def _finding_part(finding: Finding) -> tuple[dict[str, Any], tuple[str, ...]]:
    return finding_json(finding), FINDING_JSON_VALUES


def write_evidence(evidence: Evidence, path: Path) -> bytes:
    data = evidence_bytes(evidence)
    write_atomic(path, data)
    return data


def stream_evidence(evidence: Evidence, path: Path) -> None:
    """:func:`write_evidence` (the same bytes, as atomically), its pieces written as they are made
    and its bytes never held whole: for a run that needs no bytes afterwards (no report, no record)."""
    write_atomic(path, evidence_chunks(evidence))


def evidence_schema() -> dict[str, Any]:
    schema = Evidence.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://lbaudit.invalid/schemas/evidence-1.0.json"
    return schema


EVIDENCE_WHAT = "an lbaudit evidence file"


def load_evidence(path: Path) -> tuple[Evidence, bytes]:
    """Read and validate an evidence file; any problem is an InputError (exit 2), never a traceback."""
    raw = read_bounded(Path(path), MAX_EVIDENCE_BYTES, EVIDENCE_WHAT)
    return parse_evidence(raw, str(path)), raw


def load_evidence_by_findings(path: Path, raw: bytes | None = None) -> tuple[Evidence, list[str]]:
    """Read an evidence file for a comparison of its findings (``lbaudit diff``): a summary, verdict
    or control judgement that contradicts the findings is not refused, as :func:`load_evidence`
    does for the reports that print them, but replaced by what the findings give, and each
    contradiction returned for a warning.  Every other problem is an InputError (exit 2).  ``raw``:
    the file's bytes, when the caller has read them (to check their signature first)."""
    if raw is None:
        raw = read_bounded(Path(path), MAX_EVIDENCE_BYTES, EVIDENCE_WHAT)
    with cycle_collector_paused():
        evidence, written = _parse_evidence(raw, str(path), refuse_contradictions=False)
    derived = derived_result(evidence)
    evidence = _controls_rolled_up_as_now(evidence, derived)
    problems = result_contradictions(evidence, derived, *written)
    if problems:
        evidence = evidence.model_copy(update={"result": evidence.result.model_copy(update={
            "verdict": derived.verdict, "exit_code": derived.exit_code, "complete": derived.complete})})
    return evidence, problems


# The content digest of evidence files read in this process, by the SHA-256 of the file's bytes:
# reports print it, and parsing 29 MB of JSON once more for it (twice for a PDF) held another copy
# of the whole document beside the validated one (issue 16).
_CONTENT_DIGESTS: dict[str, str] = {}
def known_content_sha256(raw: bytes, file_sha256: str | None = None) -> str | None:
    """The content digest (SHA-256 of the canonical JSON) of evidence bytes this process has read
    with :func:`parse_evidence`, else None.  ``file_sha256``: the SHA-256 of ``raw``, when the caller
    has taken it already (the PDF prints it): not hashing 7-29 MB once more."""
    return _CONTENT_DIGESTS.get(file_sha256 if file_sha256 is not None else sha256_hex(raw))


def parse_evidence(raw: bytes, name: str) -> Evidence:
    """Validate the bytes of an evidence file (``name`` is used in messages); InputError if not."""
    with cycle_collector_paused():
        return _parse_evidence(raw, name)[0]


def _written_digest(data: Any, key: str) -> str | None:
    """The canonical digest of ``data[key]`` as the file holds it (None when there is none): a
    recorded digest is of the value as lbaudit wrote it, which a model of this version, with
    fields added since (defaults), would dump otherwise."""
    try:
        return canonical_sha256(data[key]) if type(data) is dict and key in data else None
    except ValueError:  # no canonical form (a lone surrogate): validation says what is wrong
        return None


def _written_facts_digest(data: Any) -> str | None:
    """HostSnapshot.facts_digest of the snapshot's facts and gaps as the file holds them (a gap's
    ``path`` left out, as there), None when there is none to take: the digest recorded is of the
    facts as lbaudit wrote them, which a model of this version, with fields added since, would dump
    otherwise."""
    snapshot = data.get("snapshot") if type(data) is dict else None
    gaps = snapshot.get("gaps") if type(snapshot) is dict else None
    if type(gaps) is not list or "facts" not in snapshot:
        return None
    plain = [{key: value for key, value in gap.items() if key != "path"} if type(gap) is dict else gap for gap in gaps]
    try:
        return canonical_sha256({"facts": snapshot["facts"], "gaps": plain})
    except ValueError:  # no canonical form (a lone surrogate): validation says what is wrong
        return None


def _version_key(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    return tuple(int(part) for part in parts) if all(part.isascii() and part.isdigit() for part in parts) else None


def _refuse_unsupported_snapshot(data: Any, name: str) -> None:
    """Refuse evidence of a supported schema version around a snapshot of a schema version this
    lbaudit does not read, as a snapshot file of that version is refused.  Snapshot versions move
    while the evidence's stays 1.0, so a newer lbaudit writes evidence 1.0 around a snapshot 1.9:
    show and report called it "invalid evidence" with the model's list of literals, which reads as
    a damaged file, not one this lbaudit is too old for."""
    import typing

    from auditor.model.facts import HostSnapshot

    if type(data) is not dict or data.get("schema") != EVIDENCE_SCHEMA \
            or data.get("schema_version") != EVIDENCE_SCHEMA_VERSION:
        return  # validate_versioned says what is wrong with the evidence itself
    snapshot = data.get("snapshot")
    version = snapshot.get("schema_version") if type(snapshot) is dict else None
    supported = typing.get_args(HostSnapshot.model_fields["schema_version"].annotation)
    if type(version) is not str or version in supported:
        return  # a version that is not text: the model names it
    key, newest = _version_key(version), _version_key(supported[-1])
    newer = ": it was written by a newer lbaudit" if key is not None and newest is not None and key > newest else ""
    raise InputError(f"{name}: {EVIDENCE_WHAT} whose snapshot is of schema version {version[:40]!r}, which is not "
                     f"supported by this lbaudit (supported: {', '.join(supported)}){newer}")


def _parse_evidence(raw: bytes, name: str, refuse_contradictions: bool = True
                    ) -> tuple[Evidence, tuple[str | None, str | None]]:
    """The evidence, and the digests of its policy and of its facts and gaps as written (for
    :func:`result_contradictions`)."""
    written = read_as_written(raw)  # the bytes lbaudit wrote: parsed and digested at C speed
    if written is not None:
        data, content = written
        _CONTENT_DIGESTS[sha256_hex(raw)] = content
    else:
        data = parse_document(raw, name, EVIDENCE_WHAT)
        try:
            content = canonical_sha256(data)
        except ValueError:  # no canonical form (a lone surrogate): whoever asks for it gets the error then
            pass
        else:
            _CONTENT_DIGESTS[sha256_hex(raw)] = content
    _refuse_unsupported_snapshot(data, name)
    policy_sha256 = _written_digest(data, "policy")
    facts_sha256 = _written_facts_digest(data)  # before the listeners are replaced by their models
    try:
        _validate_long_lists_in_place(data)
    except ValidationError:  # reported as always, from the whole document read once more
        data = parse_document(raw, name, EVIDENCE_WHAT)
    evidence = validate_versioned(data, name, EVIDENCE_WHAT, "evidence", Evidence, EVIDENCE_SCHEMA,
                                  (EVIDENCE_SCHEMA_VERSION,))
    derived = derived_result(evidence)
    evidence = _controls_rolled_up_as_now(evidence, derived)
    problems = result_contradictions(evidence, derived, policy_sha256, facts_sha256) if refuse_contradictions else []
    if problems:
        # Every report renders the verdict, the counts and the control judgements as recorded, so a
        # recorded "compliant" over a failing finding (a hand edit, a buggy plugin) would be printed
        # as a pass: refuse the file instead (exit 2).
        shown = [Problem(name, None, None, text) for text in problems[:20]]
        if len(problems) > len(shown):
            shown.append(Problem(name, None, None, f"... and {len(problems) - len(shown)} more"))
        raise InputError(f"{name}: the evidence contradicts its own findings ({len(problems)} problem(s)); "
                         "it was edited or written by a faulty tool, and no report is rendered from it", shown)
    return evidence, (policy_sha256, facts_sha256)


def _controls_rolled_up_as_now(evidence: Evidence, derived: RunTally) -> Evidence:
    """``evidence`` with each control an earlier lbaudit recorded as ``pass`` over passing findings
    beside waived failures recorded as this version judges it, ``waived`` (rollup_status: waived
    before pass).  Evidence those versions wrote is read, not refused as contradicting its findings,
    and no report renders such a control as a plain pass, nor as satisfied (a waived failure is no pass)."""
    controls = evidence.result.controls
    rolled_up = [
        control.model_copy(update={"status": Status.WAIVED})
        if control.status is Status.PASS and control.id in derived.controls
        and derived.controls[control.id].status is Status.WAIVED else control
        for control in controls]
    if all(new is old for new, old in zip(rolled_up, controls)):
        return evidence
    return evidence.model_copy(update={"result": evidence.result.model_copy(update={"controls": rolled_up})})


def derived_result(evidence: Evidence) -> RunTally:
    """What the engine records from the findings alone: the one judgement of a run
    (auditor/model/result.py tally_run) over the evidence's findings and enabled rules."""
    result = evidence.result
    return tally_run(result.findings, [r for r in evidence.policy.rules if r.enabled], result.fail_on)


def result_contradictions(evidence: Evidence, derived: RunTally | None = None,
                          policy_sha256: str | None = None, facts_sha256: str | None = None) -> list[str]:
    """Where the recorded summary, verdict, exit code or control judgements of ``evidence`` differ
    from what its findings give (JSON pointers into the file).  Empty for evidence the engine wrote.
    ``derived``: :func:`derived_result` of ``evidence``, when the caller has it already;
    ``policy_sha256``: the digest of the policy as the file holds it (else of ``evidence.policy``);
    ``facts_sha256``: of the snapshot's facts and gaps as the file holds them (else of ``evidence.snapshot``)."""
    result: RunResult = evidence.result
    if derived is None:
        derived = derived_result(evidence)
    problems: list[str] = []

    def differs(pointer: str, recorded: Any, expected: Any) -> None:
        if recorded != expected:
            # each side quoted within a bound: a rule id of a megabyte was quoted whole on every
            # control line it is one of the rules of, and the error ran to megabytes
            problems.append(f"{pointer}: records {quoted_name(recorded)}, but the findings give {quoted_name(expected)}")

    summary = result.summary
    for status, count in derived.by_status.items():
        differs(f"/result/summary/by_status/{status}", summary.by_status.get(status, 0), count)
    for severity, count in derived.failing_by_severity.items():
        differs(f"/result/summary/failing_by_severity/{severity}", summary.failing_by_severity.get(severity, 0),
                count)
    differs("/result/summary/findings", summary.findings, derived.findings)
    differs("/result/summary/rules", summary.rules, derived.rules)
    differs("/result/verdict", result.verdict.value, derived.verdict.value)
    differs("/result/exit_code", result.exit_code, derived.exit_code)
    differs("/result/complete", result.complete, derived.complete)
    if bool(result.incomplete_reasons) == result.complete:
        problems.append("/result/incomplete_reasons: "
                        + ("empty for an incomplete run" if not result.complete else "set for a complete run"))
    elif _reasons_differ(result.incomplete_reasons, derived.incomplete_reasons):
        # Every report says why the run is incomplete in these words: replaced ("scheduled
        # maintenance"), or one left out, they hid what could not be seen.
        problems.append(f"/result/incomplete_reasons: records {_shown_list(result.incomplete_reasons)}, but the "
                        f"findings give {_shown_list(derived.incomplete_reasons)}")
    problems += _finding_rule_contradictions(evidence, policy_sha256 or digest_of(evidence.policy))
    facts_sha256 = facts_sha256 or evidence.snapshot.facts_digest()
    if evidence.facts_sha256 != facts_sha256:  # the digest every attestation prints for the facts it shows
        problems.append(f"/facts_sha256: records {evidence.facts_sha256}, but the recorded snapshot's facts and gaps "
                        f"have the digest {facts_sha256}: the facts were edited")
    problems += _shared_finding_ids(result.findings)
    waivers = [*evidence.policy.waivers, *(evidence.waiver_file.waivers if evidence.waiver_file else [])]
    judged = judge_waivers(result.findings, waivers, evidence.run.evaluated_on, failed=(Status.FAIL, Status.WAIVED))
    for index, (finding, waiver) in enumerate(zip(result.findings, judged.applied)):
        if waiver is None and finding.waiver is None and finding.status is not Status.WAIVED:
            continue  # most findings: nothing waived, nothing to waive
        # A waiver is honoured through its expiry day (auditor/engine/waivers.py): a waived finding
        # without one, or under one expired on the evaluation day, or under one the run did not
        # have, is a failure shown as accepted.
        if finding.status == Status.WAIVED and finding.waiver is None:
            problems.append(f"/result/findings/{index}/waiver: the finding is waived, but no waiver is recorded")
        elif finding.status == Status.WAIVED and finding.waiver is not None \
                and finding.waiver.expires < evidence.run.evaluated_on:
            problems.append(f"/result/findings/{index}/waiver/expires: the waiver expired on "
                            f"{finding.waiver.expires.isoformat()}, before the evaluation day "
                            f"{evidence.run.evaluated_on.isoformat()}, so the finding cannot be waived")
        elif finding.status == Status.WAIVED and (waiver is None or applied_waiver(waiver) != finding.waiver):
            problems.append(f"/result/findings/{index}/waiver: the finding is waived, but "
                            + ("no waiver of the run (the policy's or --waivers') covers it" if waiver is None else
                               f"by a waiver other than the one of the run that covers it (approved by "
                               f"{waiver.approver!r}, expires {waiver.expires.isoformat()})"))
        elif finding.status == Status.FAIL and waiver is not None:
            problems.append(f"/result/findings/{index}/status: records fail, but the run's waiver of rule "
                            f"{waiver.rule} (expires {waiver.expires.isoformat()}) waives it")
        elif finding.status != Status.WAIVED and finding.waiver is not None:
            problems.append(f"/result/findings/{index}/waiver: records a waiver on a {finding.status.value} finding")
    recorded_states = [state.model_dump(mode="json") for state in result.waivers]
    for index, state in enumerate(judged.states):
        if index >= len(recorded_states):
            problems.append(f"/result/waivers: the waiver of rule {state.rule_id} (expires "
                            f"{state.expires.isoformat()}) is missing")
        elif recorded_states[index] != state.model_dump(mode="json"):
            differing = sorted(k for k, v in state.model_dump(mode="json").items() if recorded_states[index].get(k) != v)
            problems.append(f"/result/waivers/{index}: records {', '.join(differing)} otherwise than the run's "
                            f"waivers and findings give (state {state.state}, {len(state.findings)} finding(s))")
    for index in range(len(judged.states), len(recorded_states)):
        problems.append(f"/result/waivers/{index}: no waiver of the run (the policy's or --waivers') is this one")
    for rule_id in derived.silent_rules if result.complete else ():  # why "complete" is wrong
        problems.append(f"/result/findings: enabled rule {rule_id} has no finding, so nothing was judged for it")
    recorded_ids = [c.id for c in result.controls]
    for cid in sorted(set(derived.controls) - set(recorded_ids)):
        status = derived.controls[cid].status.value
        problems.append(f"/result/controls: control {cid} (rolled up from the findings: {status}) is missing")
    first_index: dict[str, int] = {}
    for index, control in enumerate(result.controls):
        # One judgement per control: a copy of an entry agrees with the findings as the entry does, and
        # every report showed it twice (OSCAL: two findings of one uuid; the HTML and PDF counted two).
        earlier = first_index.setdefault(control.id, index)
        if earlier != index:
            problems.append(f"/result/controls/{index}/id: control {control.id} is judged at /result/controls/{earlier} "
                            "too; each control is judged once")
            continue
        expected = derived.controls.get(control.id)
        if expected is None:
            problems.append(f"/result/controls/{index}: control {control.id} is mapped by no enabled rule or finding")
            continue
        differs(f"/result/controls/{index}/status", control.status.value, expected.status.value)
        # what every report says of the control beside its status: the rules it rests on, its family's chart
        differs(f"/result/controls/{index}/rules", list(control.rules), list(expected.rules))
        differs(f"/result/controls/{index}/family", control.family, control.id.split("-")[0])
        for status, count in expected.counts.items():
            differs(f"/result/controls/{index}/counts/{status}", control.counts.get(status, 0), count)
    return problems


_NOTHING_JUDGED = "nothing was judged"


def _reasons_differ(recorded: list[str], derived: list[str]) -> bool:
    """Whether the recorded reasons a run is incomplete are other than its findings give.  The last
    reason of a run that judged nothing said "nothing was judged: every finding is not_applicable"
    before it named the findings' statuses (c051a63): evidence of that wording is read."""
    if recorded == derived:
        return False
    return not (len(recorded) == len(derived) and recorded[:-1] == derived[:-1]
                and recorded[-1].startswith(_NOTHING_JUDGED) and derived[-1].startswith(_NOTHING_JUDGED))


def _shown_list(reasons: list[str], limit: int = 3, width: int = 160) -> str:
    """The first ``limit`` reasons, each cut at ``width`` characters: a reason holds a subject, which
    a host makes as long as it likes."""
    shown = repr([r if len(r) <= width else r[:width] + "..." for r in reasons[:limit]])
    return shown if len(reasons) <= limit else f"{shown[:-1]}, ... ({len(reasons)} in all)]"


def _shared_finding_ids(findings: list[Finding]) -> list[str]:
    """A finding's id is its identity in every report (SARIF fingerprints, OSCAL uuids, HDF and
    waiver states): two findings of one id are merged there, a pass standing for a failure.  The
    engine gives each finding its own id (auditor/engine/evaluate.py _findings)."""
    first: dict[str, int] = {}
    problems: list[str] = []
    for index, finding in enumerate(findings):
        earlier = first.setdefault(finding.id, index)
        if earlier != index:
            problems.append(f"/result/findings/{index}/id: {finding.id!r} is the id of /result/findings/{earlier} too; "
                            "each finding has its own")
    return problems


def _finding_rule_contradictions(evidence: Evidence, policy_sha256: str) -> list[str]:
    """Each finding is made by an enabled rule of the recorded policy, with that rule's severity and
    controls (auditor/engine/evaluate.py): a failure whose severity was lowered below ``fail_on``
    stops blocking, and one moved to other controls clears a control, with every count consistent."""
    problems: list[str] = []
    # One rule of an id, as the policy loader allows: a second copy (another severity, or disabled)
    # was a JUnit test case and an HDF control of one name twice, while findings were checked against
    # the last copy alone.
    first_index: dict[str, int] = {}
    for index, rule in enumerate(evidence.policy.rules):
        earlier = first_index.setdefault(rule.id, index)
        if earlier != index:
            problems.append(f"/policy/rules/{index}/id: rule id {rule.id!r} is that of /policy/rules/{earlier} too; "
                            "each rule has its own")
    rules = {rule.id: rule for rule in evidence.policy.rules if rule.enabled}
    seen: set[tuple[str, Any, tuple[str, ...], str]] = set()  # a wrong kind of finding is named once
    for index, finding in enumerate(evidence.result.findings):
        rule = rules.get(finding.rule_id)
        if rule is not None and finding.severity is rule.severity and finding.controls == rule.controls \
                and finding.check == rule.check:
            continue  # every finding the engine made
        kind = (finding.rule_id, finding.severity, tuple(finding.controls), finding.check)
        if kind in seen:
            continue
        seen.add(kind)
        if rule is None:
            problems.append(f"/result/findings/{index}/rule_id: {finding.rule_id!r} is no enabled rule of the "
                            "recorded policy")
            continue
        if finding.severity != rule.severity:
            problems.append(f"/result/findings/{index}/severity: records {finding.severity.value!r}, but rule "
                            f"{rule.id} has severity {rule.severity.value!r}")
        elif list(finding.controls) != list(rule.controls):
            problems.append(f"/result/findings/{index}/controls: records {list(finding.controls)!r}, but rule "
                            f"{rule.id} maps to {list(rule.controls)!r}")
        elif finding.check != rule.check:
            # SARIF files a result under its finding's check (ruleId), JUnit and HDF's control under the rule's
            problems.append(f"/result/findings/{index}/check: records {finding.check!r}, but rule {rule.id} runs "
                            f"check {rule.check!r}")
    if evidence.policy_sha256 != policy_sha256:  # the digest reports print for the policy it names
        problems.append(f"/policy_sha256: records {evidence.policy_sha256}, but the recorded policy's digest is "
                        f"{policy_sha256}: the policy was edited")
    return problems


def _item_list(data: Any, *keys: str) -> list[Any] | None:
    for key in keys:
        data = data.get(key) if type(data) is dict else None
    return data if type(data) is list else None


# The lists that grow with the host: findings, and the listeners of the snapshot they judge.
_LONG_LISTS: tuple[tuple[tuple[str, ...], type[BaseModel]], ...] = (
    (("result", "findings"), Finding),
    (("snapshot", "facts", "sockets", "listeners"), Listener),
)


def _validate_long_lists_in_place(data: Any) -> None:
    """Replace each finding and listener of the parsed document by its validated model, one by one,
    so each parsed item is freed as its model is made: the whole parsed document beside the whole
    model was the peak of reading 20,000 findings.  Validating the document then takes these models
    as they are (pydantic does not validate a model instance again) and everything else as before."""
    for keys, model in _LONG_LISTS:
        items = _item_list(data, *keys)
        if items is None:
            continue
        # model.model_validate's own call, bound once: its Python wrapper was a tenth of this loop
        # (the first attribute read builds the deferred validator, as model_validate does)
        validate = model.__pydantic_validator__.validate_python
        for index, item in enumerate(items):
            items[index] = validate(item)
