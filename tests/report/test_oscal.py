"""OSCAL assessment-results reporter.

The fixed evidence comes from ``tests/evidence_fixtures.py`` (real engine, checks defined there).
Golden file: ``tests/fixtures/golden/corp-baseline.oscal.json``.  After an intended change of the
output, regenerate it with

    LBAUDIT_UPDATE_GOLDEN=1 python3 -m pytest -q tests/report

and review the diff before committing.  Schema tests use ../shared/reference/oscal (skipped when
that folder is absent); the read-back uses compliance-trestle's OSCAL models (skipped when not installed).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta

import pytest

from auditor.errors import InputError
from auditor.report import load_reporters
from auditor.report.oscal import render_oscal
from auditor.storage.evidence import load_evidence, write_evidence
from tests.evidence_fixtures import make_evidence
from tests.report.conftest import check_golden, conformance_module, golden_context


@pytest.fixture(scope="module")
def validator(oscal_validator):
    return oscal_validator


@pytest.fixture(scope="module")
def document(evidence, context):
    return json.loads(render_oscal(evidence, context))


def _errors(validator, document) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]


def test_validates_against_the_official_schema(validator, document):
    assert _errors(validator, document) == []


def test_the_schema_check_is_not_vacuous(validator, document):
    broken = json.loads(json.dumps(document))
    result = broken["assessment-results"]["results"][0]
    result["uuid"] = "not-a-uuid"
    result["findings"][0]["target"]["status"]["state"] = "compliant"
    result["observations"][0]["props"][0]["name"] = "has space"
    result["start"] = "2026-11-01T12:00:05"  # no time zone
    errors = _errors(validator, broken)
    assert any("/results/0/uuid" in e for e in errors)
    assert any("/target/status/state" in e for e in errors)
    assert any("/props/0/name" in e for e in errors)
    assert any("/results/0/start" in e for e in errors)


def _without_time_format(value):
    """Trestle writes +00:00 where lbaudit writes Z; compare the moments, not the spelling."""
    if isinstance(value, dict):
        return {k: _without_time_format(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_time_format(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _plain(value):
    """Trestle wraps scalars in RootModels (sometimes twice) and enums; unwrap to the JSON value."""
    while hasattr(value, "root"):
        value = value.root
    return getattr(value, "value", value)


@pytest.mark.slow  # imports compliance-trestle
def test_read_back_with_compliance_trestle(tmp_path, evidence, context, document):
    trestle_ar = conformance_module("trestle.oscal.assessment_results", "compliance-trestle is not installed")
    path = tmp_path / "ar.json"
    path.write_bytes(render_oscal(evidence, context))
    model = trestle_ar.AssessmentResults.oscal_read(path)

    result = model.results[0]
    assert _plain(model.metadata.oscal_version) == "1.1.2"
    assert [_plain(c.control_id) for c in result.reviewed_controls.control_selections[0].include_controls] == [
        "ac-4", "au-2", "au-12", "ca-7", "cm-6", "cm-7", "sc-5", "sc-7", "sc-7.5",
    ]
    states = {_plain(f.target.target_id): _plain(f.target.status.state) for f in result.findings}
    assert states == {
        "ac-4_obj": "satisfied", "au-2_obj": "not-satisfied", "au-12_obj": "not-satisfied",
        "ca-7_obj": "not-satisfied", "cm-6_obj": "not-satisfied", "cm-7_obj": "not-satisfied",
        "sc-5_obj": "not-satisfied", "sc-7_obj": "not-satisfied", "sc-7.5_obj": "not-satisfied",
    }
    assert sorted(_plain(r.status) for r in result.risks) == ["deviation-approved", "open", "open", "open", "open"]
    # Nothing lost or changed in trestle's hands: its serialisation equals ours.
    reserialised = json.loads(model.oscal_serialize_json(pretty=False, wrapped=True))
    assert _without_time_format(reserialised) == _without_time_format(document)


def test_findings_per_control_with_reasons(document):
    result = document["assessment-results"]["results"][0]
    by_target = {f["target"]["target-id"]: f for f in result["findings"]}
    assert by_target["sc-7_obj"]["target"]["type"] == "objective-id"
    sc7 = by_target["sc-7_obj"]["target"]["status"]
    assert (sc7["state"], sc7["reason"]) == ("not-satisfied", "fail")
    assert by_target["ac-4_obj"]["target"]["status"]["reason"] == "pass"
    # Missing evidence and a crashing check are never a pass.
    assert by_target["au-2_obj"]["target"]["status"]["reason"] == "other"
    assert "permission denied" in by_target["au-2_obj"]["target"]["status"]["remarks"]
    assert by_target["ca-7_obj"]["target"]["status"]["state"] == "not-satisfied"
    # The disabled rule's extra control is not reviewed.
    assert "si-4_obj" not in by_target
    assert len(by_target["sc-7_obj"]["related-risks"]) == 4  # three failing listeners and the waived one


def test_waiver_is_a_deviation_with_approver_and_deadline(document):
    ar = document["assessment-results"]
    result = ar["results"][0]
    deviation = next(r for r in result["risks"] if r["status"] == "deviation-approved")
    assert deviation["deadline"] == "2026-12-31T23:59:59Z"
    entry = deviation["risk-log"]["entries"][0]
    parties = {p["uuid"]: p for p in ar["metadata"]["parties"]}
    assert parties[entry["logged-by"][0]["party-uuid"]]["name"] == "Dana Whitfield (CISO)"
    assert "Legacy billing API" in entry["description"]
    opened = next(r for r in result["risks"] if r["status"] == "open")
    assert "udp 0.0.0.0:5353 avahi-daemon pid 640" in opened["title"]
    assert opened["remediations"][0]["lifecycle"] == "recommendation"
    assert opened["remediations"][0]["description"].startswith("Bind the service")


def _resolve(document, pointer: str):
    for step in pointer.strip("/").split("/"):
        document = document[int(step)] if isinstance(document, list) else document[step]
    return document


def test_relevant_evidence_points_into_the_evidence_file(document, context, evidence):
    ar = document["assessment-results"]
    evidence_json = json.loads(context.evidence_bytes)
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    for observation in ar["results"][0]["observations"]:
        assert observation["methods"] == ["TEST"]
        assert observation["collected"] == "2026-11-01T12:00:00Z"
        targets = []
        for item in observation["relevant-evidence"]:  # the finding, then the facts it rests on
            file_part, pointer = item["href"].split("#", 1)
            assert file_part == "corp-baseline.json"
            targets.append(_resolve(evidence_json, pointer))
        first = observation["relevant-evidence"][0]
        finding_id = next(p["value"] for p in observation["props"] if p["name"] == "finding-id")
        assert targets[0]["id"] == finding_id
        finding = next(f for f in evidence.result.findings if f.id == finding_id)
        assert targets[1:] == [_resolve(evidence_json["snapshot"], p) for p in finding.evidence]
        resource = resources[first["links"][0]["href"].lstrip("#")]
        assert resource["rlinks"][0]["href"] == "corp-baseline.json"
        assert resource["rlinks"][0]["hashes"] == [
            {"algorithm": "SHA-256", "value": hashlib.sha256(context.evidence_bytes).hexdigest()}
        ]


def test_every_reference_resolves_and_uuids_are_unique_v5(document):
    defined: list[str] = []
    referenced: list[str] = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key == "uuid":
            defined.append(value)
        elif key.endswith("-uuid") or key == "party-uuids":
            referenced.append(value)
        elif key == "href" and value.startswith("#"):
            referenced.append(value[1:])

    walk(document)
    assert len(defined) == len(set(defined))
    assert all(uuid.UUID(u).version == 5 for u in defined)
    assert set(referenced) <= set(defined)


def test_same_evidence_same_bytes_also_from_the_evidence_file(tmp_path, evidence, context):
    first = render_oscal(evidence, context)
    assert render_oscal(make_evidence(), golden_context(make_evidence())) == first
    # `lbaudit report evidence.json`: the evidence read back from its file renders the same document.
    path = tmp_path / "corp-baseline.json"
    write_evidence(evidence, path)
    loaded, raw = load_evidence(path)
    assert render_oscal(loaded, type(context)(evidence_bytes=raw, evidence_path="corp-baseline.json",
                                              assessor="Jane Auditor")) == first


def test_run_ids_follow_the_evidence_and_host_ids_persist(evidence, context):
    later = evidence.model_copy(update={"run": evidence.run.model_copy(
        update={"started_at": evidence.run.started_at + timedelta(days=1),
                "finished_at": evidence.run.finished_at + timedelta(days=1)})})
    later_context = type(context)(evidence_bytes=context.evidence_bytes + b" ", evidence_path=context.evidence_path)
    one = json.loads(render_oscal(evidence, context))["assessment-results"]
    two = json.loads(render_oscal(later, later_context))["assessment-results"]
    assert one["uuid"] != two["uuid"]
    assert one["results"][0]["uuid"] != two["results"][0]["uuid"]
    host = lambda doc: doc["results"][0]["local-definitions"]["inventory-items"][0]["uuid"]  # noqa: E731
    assert host(one) == host(two)
    assert two["results"][0]["start"] == "2026-11-02T12:00:05Z"


def test_golden(evidence, context):
    check_golden("corp-baseline.oscal.json", render_oscal(evidence, context))


def test_reporters_are_registered_by_name():
    reporters = load_reporters(plugins=False)
    assert {name: reporters[name].extension for name in ("oscal", "sarif", "junit")} == {
        "oscal": ".oscal.json", "sarif": ".sarif", "junit": ".junit.xml",
    }


def test_a_bad_control_id_in_hand_edited_evidence_is_an_input_error(evidence, context):
    # OSCAL renders the engine's control results, so the bad id is edited into those.
    bad = evidence.result.controls[0].model_copy(update={"id": "XX-999"})
    result = evidence.result.model_copy(update={"controls": [bad, *evidence.result.controls[1:]]})
    edited = evidence.model_copy(update={"result": result})
    with pytest.raises(InputError, match="'XX-999'"):
        render_oscal(edited, context)


@pytest.mark.parametrize("state, key, trust", [
    ("verified", "ab" * 32, "verified snapshot"),
    ("not_checked", None, "unverified snapshot"),
    ("unsigned", None, "unverified snapshot"),
])
def test_result_says_whether_the_facts_came_from_a_verified_snapshot(validator, evidence, state, key, trust):
    prov = evidence.snapshot.provenance.model_copy(update={
        "source": "snapshot", "source_detail": "web01.snapshot.json", "source_sha256": "cd" * 32,
        "source_signature": state, "source_signature_key": key})
    from_snapshot = evidence.model_copy(update={"snapshot": evidence.snapshot.model_copy(update={"provenance": prov})})
    document = json.loads(render_oscal(from_snapshot, golden_context(from_snapshot)))
    result = document["assessment-results"]["results"][0]
    props = {p["name"]: p["value"] for p in result["props"]}
    assert (props["facts-source"], props["snapshot-sha256"], props["snapshot-signature"]) == \
        ("snapshot", "cd" * 32, state)
    assert props.get("snapshot-signature-key") == key
    assert result["remarks"].startswith(f"Facts: {trust} (SHA-256 {'cd' * 32})")
    item = result["local-definitions"]["inventory-items"][0]
    assert {p["name"]: p["value"] for p in item["props"]}["snapshot-signature"] == state
    assert _errors(validator, document) == []


def test_live_facts_carry_no_snapshot_signature_props(document):
    result = document["assessment-results"]["results"][0]
    names = {p["name"] for p in result["props"]}
    assert "facts-source" in names and not names & {"snapshot-signature", "snapshot-signature-key"}
    assert result["remarks"] == "Facts: collected by this run (live host)."
