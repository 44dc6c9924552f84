"""The outcome helpers (passed, failed, not_reviewed, not_applicable) build outcomes whose values are
plain JSON and text without validating them a second time; anything else is validated as
``Outcome(...)`` always was.  Either way, the invariants hold: a check cannot waive, and an outcome
that is not a pass or a fail says why.  These tests hold the helpers to ``Outcome(...)``: the same
outcome for every input it accepts, the same refusal for every input it refuses."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
from pydantic import ValidationError

from auditor.model.check import Outcome, _outcome, failed, not_applicable, not_reviewed, passed, shared_json
from auditor.model.result import Status, json_ready


class Colour(str, Enum):
    RED = "red"


def validated(status: Status, subject: Any, message: Any, **kw: Any) -> Outcome:
    """What the helpers built before: json_ready values, then full validation."""
    for key in ("observed", "expected", "subject_detail"):
        if key in kw:
            kw[key] = json_ready(kw[key])
    return Outcome(status=status, subject=subject, message=message, **kw)


ACCEPTED = [
    {},
    {"observed": {"address": "0.0.0.0", "port": 22, "v6only": None, "ratio": 0.5, "wildcard": True},
     "expected": [{"rule": "default", "allow": ["loopback"], "networks": ["127.0.0.0/8", "::1/128"], "reason": None}],
     "subject_detail": {"pids": [1, 2], "process": "sshd"}, "evidence": ["/facts/sockets/listeners/0"],
     "key": "tcp 0.0.0.0:22 sshd", "reason": "why"},
    {"observed": (1, (2, 3)), "expected": {4: "four"}},  # a tuple and an int key: made plain
    {"observed": {3, 1, 2}, "expected": frozenset({"b", "a"})},  # sets: sorted lists (json_ready)
    {"observed": Colour.RED, "subject_detail": {"colour": Colour.RED}},  # an enum: its value
    {"observed": 2**70, "expected": float("inf")},  # what JsonValue accepts, as before
]


@pytest.mark.parametrize("kw", ACCEPTED)
@pytest.mark.parametrize("status", [Status.PASS, Status.FAIL, Status.NOT_REVIEWED, Status.NOT_APPLICABLE,
                                    Status.ERROR])
def test_an_accepted_outcome_is_the_one_validation_builds(status: Status, kw: dict[str, Any]) -> None:
    kw = {"reason": "the reason", **kw}
    fast = _outcome(status, "subject", "message", dict(kw))
    slow = validated(status, "subject", "message", **dict(kw))
    assert fast == slow
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.model_fields_set == slow.model_fields_set
    assert [type(v) for v in fast.__dict__.values()] == [type(v) for v in slow.__dict__.values()]


def test_the_helpers_give_their_status_and_keep_values_plain() -> None:
    outcome = failed("s", "m", observed={"networks": ("127.0.0.0/8",)}, expected=[{"port": 22}])
    assert outcome.status is Status.FAIL
    assert outcome.observed == {"networks": ["127.0.0.0/8"]}
    assert type(outcome.observed["networks"]) is list  # type: ignore[index]
    assert passed("s", "m").subject_detail == {} and passed("s", "m").evidence == []


def test_the_values_given_are_not_shared_with_the_outcome() -> None:
    observed = {"ports": [1, 2]}
    outcome = passed("s", "m", observed=observed)
    observed["ports"].append(3)
    assert outcome.observed == {"ports": [1, 2]}


def test_a_shared_value_is_held_as_it_is_by_every_outcome_given_it() -> None:
    # A rule's expected value, built once and handed to every listener's outcome: one object, not a
    # copy per outcome (issue 16); what it holds is what a copy would hold.
    built = {"rule": "the default allow list", "allow": ("loopback",), "networks": ["127.0.0.0/8"], "reason": None}
    expected = shared_json([built])
    assert expected == [{"rule": "the default allow list", "allow": ["loopback"], "networks": ["127.0.0.0/8"],
                         "reason": None}]
    assert expected[0] is not built  # made plain once, a copy: changing what was given changes nothing
    networks = shared_json(("127.0.0.0/8",))
    first = passed("a", "m", expected=expected, observed={"networks": networks})
    second = failed("b", "m", expected=expected)
    assert first.expected is expected and second.expected is expected
    assert first.observed["networks"] is networks  # type: ignore[index]  # inside a value too
    assert first == validated(Status.PASS, "a", "m", expected=expected, observed={"networks": ["127.0.0.0/8"]})
    # Any other value is still copied.
    other = [{"rule": "x"}]
    assert passed("c", "m", expected=other).expected is not other


def test_shared_json_refuses_what_is_not_json() -> None:
    with pytest.raises(TypeError, match="not plain JSON"):
        shared_json({"pid": object()})


def test_the_shared_values_are_bounded_and_a_dropped_one_is_copied() -> None:
    from auditor.model import check as check_module

    kept = shared_json(["kept"])
    for number in range(check_module._SHARED_AT_MOST):
        shared_json([number])
    assert len(check_module._SHARED) <= check_module._SHARED_AT_MOST
    outcome = passed("s", "m", expected=kept)
    assert outcome.expected == ["kept"] and outcome.expected is not kept  # no longer listed: copied


REFUSED = [
    (Status.WAIVED, {"reason": "r"}, "checks do not waive"),
    (Status.NOT_REVIEWED, {}, "needs a reason"),
    (Status.NOT_APPLICABLE, {"reason": ""}, "needs a reason"),
    (Status.ERROR, {"reason": None}, "needs a reason"),
    (Status.PASS, {"observed": object()}, "observed"),  # not JSON
    (Status.FAIL, {"subject_detail": {"pid": object()}}, "subject_detail"),
    (Status.PASS, {"subject_detail": ["not", "a", "mapping"]}, "subject_detail"),
    (Status.PASS, {"evidence": "/facts/sockets"}, "evidence"),  # a string is not a list of pointers
    (Status.PASS, {"evidence": [1]}, "evidence"),
    (Status.PASS, {"key": 7}, "key"),
    (Status.PASS, {"waiver": {"reason": "r"}}, "Extra inputs are not permitted"),  # checks do not waive
]


@pytest.mark.parametrize(("status", "kw", "error"), REFUSED)
def test_a_refused_outcome_is_refused_as_validation_refuses_it(status: Status, kw: dict[str, Any],
                                                               error: str) -> None:
    with pytest.raises(ValidationError, match=error) as fast:
        _outcome(status, "subject", "message", dict(kw))
    with pytest.raises(ValidationError) as slow:
        validated(status, "subject", "message", **dict(kw))
    assert str(fast.value) == str(slow.value)


def test_not_reviewed_and_not_applicable_need_a_reason() -> None:
    with pytest.raises(ValidationError, match="needs a reason"):
        not_reviewed("s", "")
    with pytest.raises(ValidationError, match="needs a reason"):
        not_applicable("s", "")
    assert not_reviewed("s", "unreadable").message == "not reviewed: unreadable"


@pytest.mark.parametrize(("subject", "message"), [(1, "m"), ("s", None)])
def test_subject_and_message_are_text(subject: Any, message: Any) -> None:
    with pytest.raises(ValidationError):
        passed(subject, message)


def test_what_validation_converts_it_still_converts() -> None:
    # Anything but plain text and JSON goes through validation, as before (bytes are read as UTF-8).
    assert passed(b"s", "m") == validated(Status.PASS, b"s", "m")
    assert passed(b"s", "m").subject == "s"


def test_construct_valid_builds_what_model_construct_builds() -> None:
    # Findings and outcomes are built from valid values by construct_valid: the same field values
    # in the same order, the same fields set and no extra, as pydantic's model_construct.
    from auditor.model.base import construct_valid
    from auditor.model.result import Finding, Severity

    values = {"id": "f", "rule_id": "r", "check": "c", "status": Status.FAIL, "severity": Severity.HIGH,
              "controls": ["CM-7"], "subject": "s", "message": "m", "observed": {"port": 22}}
    fast, slow = construct_valid(Finding, dict(values)), Finding.model_construct(**dict(values))
    assert fast == slow and list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_fields_set == slow.model_fields_set == set(values)
    assert fast.subject_detail == {} and fast.evidence == [] and fast.waiver is None
    assert fast.subject_detail is not construct_valid(Finding, dict(values)).subject_detail  # a default each
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.__pydantic_extra__ is None and fast.__pydantic_private__ is None


def test_construct_valid_leaves_aliased_models_to_pydantic() -> None:
    from auditor.model.base import construct_valid
    from auditor.model.evidence import ToolInfo

    # No alias here: built directly; a model with an alias (Evidence's "schema") goes through model_construct.
    assert construct_valid(ToolInfo, {"version": "1"}) == ToolInfo(version="1")
    from auditor.model.base import _construct_plan
    from auditor.model.evidence import Evidence

    assert _construct_plan(Evidence) is None and _construct_plan(ToolInfo) is not None


@pytest.mark.parametrize("kw", ACCEPTED[:2])
def test_a_finding_is_the_one_construct_valid_builds_from_its_outcome(kw: dict[str, Any]) -> None:
    # The engine builds each finding from its outcome by a dict display in Finding's field order;
    # construct_valid of the same values (the path any other Outcome type takes) builds the same.
    from auditor.engine.evaluate import _FINDING_LAYOUT_KNOWN, _FROM_OUTCOME, _findings
    from auditor.model.base import construct_valid
    from auditor.model.check import CheckParams, CheckSpec
    from auditor.model.policy import ResolvedRule
    from auditor.model.result import Finding, Severity

    assert _FINDING_LAYOUT_KNOWN  # else every finding takes construct_valid's path, and this compares nothing
    rule = ResolvedRule(id="r", check="c", title="t", severity=Severity.HIGH, controls=["CM-7", "SC-7"],
                        params={}, enabled=True, source="p.yaml:1")
    spec = CheckSpec(name="c", title="t", version="1", needs=(), params=CheckParams, severity=Severity.HIGH,
                     controls=("CM-7",), rationale="r", remediation="r", func=lambda snapshot, params: [])
    outcome = passed("subject", "message", **dict(kw))
    (fast,) = _findings(rule, spec, [outcome])
    slow = construct_valid(Finding, {"id": fast.id, "rule_id": "r", "check": "c", "severity": Severity.HIGH,
                                     "controls": ["CM-7", "SC-7"], **{n: getattr(outcome, n) for n in _FROM_OUTCOME}})
    assert fast == slow and list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.__pydantic_extra__ is None and fast.__pydantic_private__ is None


def test_copy_with_copies_as_model_copy_does() -> None:
    from auditor.model.base import copy_with
    from auditor.model.facts import Listener, ProcessInfo

    listener = Listener(protocol="tcp", family="ipv4", address="127.0.0.1", port=22, inode=7)
    process = ProcessInfo(pid=1, name="sshd")
    for update in ({"processes": [process]}, {"owner_reason": "why"}, {"port": 22}):
        fast, slow = copy_with(listener, update), listener.model_copy(update=update)
        assert fast == slow and list(fast.__dict__) == list(slow.__dict__)
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
        assert listener.processes == [] and listener.owner_reason is None  # the original is left alone
        assert fast.__dict__ is not listener.__dict__
