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
    ("unknown_key.yaml", 7, "rules[0]: unknown key 'severty'; did you mean 'severity'?"),
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


def test_extends_cycle_is_reported_at_the_extends_line_that_closes_it(registry):
    problems = problems_of(BAD / "extends_cycle_a.yaml", registry)
    assert len(problems) == 1
    # extends_cycle_b.yaml line 4 is its `extends: extends_cycle_a.yaml`, which closes the cycle
    assert problems[0].startswith("tests/fixtures/policies/bad/extends_cycle_b.yaml:4:1: 'extends' cycle: ")
    assert "extends_cycle_a.yaml -> " in problems[0] and "extends_cycle_b.yaml" in problems[0]


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


DOZEN = "tests/fixtures/policies/bad/dozen_mistakes.yaml"


def test_a_dozen_mistakes_are_reported_in_one_run_sorted_with_suggestions():
    """Structural and semantic problems together, sorted by line, in plain words, each with the
    suggestion difflib finds; before, the second batch appeared only after the first was fixed."""
    from tests.cli import run_cli

    result = run_cli("validate", DOZEN)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{DOZEN}: invalid policy (15 problems, 0 warnings)"] + [f"  {DOZEN}:{line}" for line in [
        "2:1: id: must start with an ASCII letter or digit and hold only ASCII letters, digits, '.', '_' and '-' (at most 128 "
        "characters); found 'web baseline'",
        "2:1: owner: required key is missing",
        '3:1: version: expected text; found 2026.11 (YAML reads it as a number: write version: "2026.11")',
        "4:1: policy: unknown key 'ower'; did you mean 'owner'?",
        "7:5: rules[0].check: unknown check 'net.bind_adresses'; did you mean 'net.bind_addresses'?",
        "10:5: rules[1]: unknown key 'severty'; did you mean 'severity'?",
        "11:16: rules[1].controls[0]: unknown NIST SP 800-53 Rev. 5 control 'XX-99' (expected an id such as SC-7 "
        "or SC-7(5) listed in controls/nist-sp800-53-r5.yaml)",
        "13:15: rules[1].params.allow[0]: 'loopbak' is neither a named set (loopback, any, private, link-local) "
        "nor a valid IPv4/IPv6 address or CIDR; did you mean 'loopback'?",
        "15:19: rules[1].params.exceptions[0].match: unknown key 'proces'; did you mean 'process'?",
        "21:7: rules[2].params.peak_new_connections_per_second: expected a number; found '300'",
        "24:5: rules[3].enabled: expected true or false; found 'yes'",
        "26:7: rules[3].params.require_loaded: expected true or false; found 'yes'",
        "30:7: rules[4].params.keys: 'nonsense key' is not a sysctl name: a name holds no white space "
        "(e.g. net.ipv4.tcp_fin_timeout)",
        "31:5: rules[5]: rule id 'bind' is used twice in this file",
        "34:5: waivers[0].rule: no rule 'bnid' in this policy; did you mean 'bind'?",
    ]]


@pytest.mark.parametrize("text, message", [
    ("min_pool_size: '30000'", "rules[0].params.min_pool_size: expected an integer; found '30000'"),
    ("forbid_listeners_in_range: 'yes'", "rules[0].params.forbid_listeners_in_range: expected true or false; found 'yes'"),
    ("min_low: 1024.5", "rules[0].params.min_low: expected an integer; found 1024.5"),
])
def test_parameter_types_are_strict(registry, tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(f"id: p\nversion: '1'\nowner: o\nrules:\n  - id: r\n    check: net.ephemeral_port_range\n"
                    f"    params:\n      {text}\n")
    assert problems_of(path, registry) == [f"{path}:8:7: {message}"]


@pytest.mark.parametrize("key, message", [
    ("nonsense key", "'nonsense key' is not a sysctl name: a name holds no white space (e.g. net.ipv4.tcp_fin_timeout)"),
    ("net..ipv4", "'net..ipv4' is not a sysctl name: expected components separated by dots, e.g. net.ipv4.tcp_fin_timeout"),
    ("nett.ipv4.tcp_fin_timeout", "'nett.ipv4.tcp_fin_timeout' is not a sysctl name: it must start with one of abi, "
     "crypto, debug, dev, fs, kernel, net, sunrpc, user, vm (the directories of /proc/sys); did you mean "
     "'net.ipv4.tcp_fin_timeout'?"),
])
def test_drift_sysctl_keys_must_be_sysctl_names(registry, tmp_path, key, message):
    path = tmp_path / "p.yaml"
    path.write_text(f"id: p\nversion: '1'\nowner: o\nrules:\n  - id: r\n    check: drift.sysctl\n"
                    f"    params:\n      keys: [{key!r}]\n")
    assert problems_of(path, registry) == [f"{path}:8:7: rules[0].params.keys: {message}"]


def test_evidence_and_snapshot_given_as_policy_are_named(registry, tmp_path):
    evidence = tmp_path / "e.json"
    evidence.write_text('{"schema": "lbaudit/evidence", "schema_version": "1.0"}')
    snapshot = tmp_path / "s.json"
    snapshot.write_text('{"schema": "lbaudit/snapshot", "schema_version": "1.0"}')
    with pytest.raises(PolicyError, match=r"e.json: this is an lbaudit evidence file, not a policy"):
        load_policy(evidence, registry)
    with pytest.raises(PolicyError, match=r"s.json: this is an lbaudit snapshot file, not a policy"):
        load_policy(snapshot, registry)


def test_validate_a_directory_validates_every_policy_in_it(tmp_path):
    from tests.cli import run_cli

    result = run_cli("validate", "policies")
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines() if ": ok (" in line] == [
        "policies/ci-runner.yaml", "policies/corp.yaml", "policies/dev-workstation.yaml"]
    empty = run_cli("validate", tmp_path)
    assert empty.returncode == 2
    assert f"{tmp_path}: a directory with no policy in it" in empty.stderr
