"""The policy loader: good policies resolve, every bad one names file, line and what was expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.engine.registry import load_registry
from auditor.errors import PolicyError
from auditor.model.result import Severity
from auditor.policy.loader import MAX_POLICY_BYTES, load_policy
from auditor.resources import data_dir

FIXTURES = Path(__file__).parent / "fixtures" / "policies"
BAD = FIXTURES / "bad"


@pytest.fixture(scope="module")
def registry():
    return load_registry(plugins=False)


def problems_of(path: Path, registry) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path, registry)
    return [str(p) for p in info.value.problems] or [str(info.value)]


# (file, line the first problem points at, text the message must contain)
BAD_CASES = [
    ("duplicate_keys.yaml", 9, "duplicate key 'allow' (first defined at line 8)"),
    ("unknown_key.yaml", 7, "rules[0]: unknown key 'severty' (expected one of:"),
    ("wrong_type.yaml", 9, "rules[0].params.min_pool_size"),
    ("bad_cidr.yaml", 8, "10.0.0.0/33"),
    ("unknown_control.yaml", 7, "unknown NIST SP 800-53 Rev. 5 control 'XX-99'"),
    ("yaml_tag.yaml", 6, "python/object/apply:os.system' is not allowed"),
    ("empty.yaml", 1, "the file is empty"),
    ("non_utf8.yaml", 3, "byte 0xe9 is not UTF-8"),
    ("unknown_check.yaml", 6, "unknown check 'os.run_command' (expected one of:"),
    ("alias.yaml", 4, "anchors and aliases"),
    ("no_enabled_rules.yaml", 1, "no enabled rule"),
    ("waiver_unknown_rule.yaml", 8, "no rule 'bnid' in this policy"),
    ("not_a_mapping.yaml", 1, "expected a mapping"),
    ("syntax.yaml", 8, "invalid YAML"),
]


@pytest.mark.parametrize("name, line, text", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_policy_names_the_place(registry, name, line, text):
    problems = problems_of(BAD / name, registry)
    first = problems[0]
    assert f"{name}:{line}:" in first, problems
    assert any(text in p for p in problems), problems


def test_yaml_tag_runs_nothing(registry, tmp_path):
    marker = Path("/tmp/lbaudit-pwned")
    marker.unlink(missing_ok=True)
    problems_of(BAD / "yaml_tag.yaml", registry)
    assert not marker.exists()


def test_extends_cycle_is_reported(registry):
    with pytest.raises(PolicyError) as info:
        load_policy(BAD / "extends_cycle_a.yaml", registry)
    message = info.value.render()
    assert "'extends' cycle" in message
    assert "extends_cycle_a.yaml -> " in message and "extends_cycle_b.yaml" in message


def test_oversized_policy_is_refused(registry, tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("id: big\n" + "# padding\n" * (MAX_POLICY_BYTES // 10 + 1))
    with pytest.raises(PolicyError, match="the limit is"):
        load_policy(big, registry)


def test_unreadable_policy_is_a_policy_error(registry, tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml", registry)


def test_extends_merges_and_overrides(registry):
    policy = load_policy(FIXTURES / "good" / "child.yaml", registry)
    assert policy.id == "test-child" and policy.version == "2"
    rules = {r.id: r for r in policy.rules}
    assert rules["pool"].enabled is False
    assert rules["pool"].params["min_pool_size"] == 1000  # inherited untouched
    bind = rules["bind"]
    assert bind.severity == Severity.CRITICAL
    assert "AC-4" in bind.controls and "CM-7" in bind.controls  # extra control added to the check's own
    assert bind.source.endswith("child.yaml:8")
    assert [w.rule for w in policy.waivers] == ["bind"]  # inherited waiver
    assert [s.path.split("/")[-1] for s in policy.sources] == ["child.yaml", "base.yaml"]
    assert all(len(s.sha256) == 64 for s in policy.sources)


def test_policy_digest_is_stable(registry):
    from auditor.engine.evidence import policy_digest

    first = policy_digest(load_policy(FIXTURES / "good" / "base.yaml", registry))
    second = policy_digest(load_policy(FIXTURES / "good" / "base.yaml", registry))
    assert first == second and len(first) == 64


@pytest.mark.parametrize("path", sorted(data_dir("policies").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_policies_are_valid(registry, path):
    policy = load_policy(path, registry)
    assert any(r.enabled for r in policy.rules)
    for rule in policy.rules:
        assert rule.controls, f"{rule.id} maps to no control"


def test_corp_policy_uses_all_four_core_checks(registry):
    policy = load_policy(data_dir("policies") / "corp.yaml", registry)
    assert {r.check for r in policy.rules} >= {
        "net.bind_addresses", "net.ephemeral_port_range", "net.time_wait", "audit.socket_logging"}


def test_permission_denied_policy(registry, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    path = tmp_path / "locked.yaml"
    path.write_text("id: x\n")
    path.chmod(0)
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(path, registry)


@pytest.mark.parametrize("expires, message", [
    ("2027-02-30", "invalid date '2027-02-30': day is out of range for month"),
    ("2027-13-01", "invalid date '2027-13-01': month must be in 1..12"),
    ("0000-01-01", "invalid date '0000-01-01': year 0 is out of range"),
    ("9999-12-31T25:00:00", "invalid date '9999-12-31T25:00:00': hour must be in 0..23"),
])
def test_impossible_date_is_a_located_policy_error(registry, tmp_path, expires, message):
    """datetime() raised ValueError out of the YAML constructor: exit 70 with no file or line."""
    path = tmp_path / "p.yaml"
    path.write_text("id: p\nversion: '1'\nowner: o\nrules:\n  - {id: r, check: net.bind_addresses}\n"
                    f"waivers:\n  - {{rule: r, reason: x, approver: y, expires: {expires}}}\n")
    assert problems_of(path, registry) == [f"{path}:7:48: {message}"]


def test_policy_that_is_a_fifo_is_refused_without_blocking(registry, tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    with pytest.raises(PolicyError, match="cannot read policy: it is a FIFO, not a regular file"):
        load_policy(fifo, registry)


def test_nesting_deeper_than_the_limit_is_refused_at_its_line(registry, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("id: p\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problems_of(path, registry) == [f"{path}:2:67: nested deeper than 64 levels"]
