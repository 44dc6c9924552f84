"""Hostile inputs to policy authoring: configuration files, waivers files, ``init`` outputs and
``validate DIR``.  Each is exit 2 naming the file (never 70, never a hang), and nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.model.result import ExitCode
from tests.cli import REPO, run_cli

POLICY = REPO / "policies" / "corp.yaml"


@pytest.mark.parametrize("name, content, message", [
    ("tag", "policy: !!python/object/apply:os.system ['true']\n", "YAML tag"),
    ("alias", "policy: &p corp.yaml\nwaivers: *p\n", "anchors and aliases"),
    ("duplicate", "policy: a.yaml\npolicy: b.yaml\n", "duplicate key 'policy'"),
    ("not-utf8", b"policy: caf\xe9.yaml\n", "1:12: byte 0xe9 is not UTF-8; save the file as UTF-8"),
    ("empty-path", "policy: ''\n", "policy: expected a path; found ''"),
    ("bool-days", "expiry_warning_days: true\n", "expiry_warning_days: expected an integer from 0 to 3650; found True"),
    ("list", "[policy]\n", "expected a mapping of policy"),
])
def test_hostile_configuration_file_is_exit_2_naming_it(tmp_path, name, content, message):
    config = tmp_path / "config.yaml"
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_cli("validate", POLICY, env={"LBAUDIT_CONFIG": str(config)}, timeout=30)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert str(config) in result.stderr and message in result.stderr, result.stderr


@pytest.mark.parametrize("kind", ["fifo", "directory", "dev-zero", "huge"])
def test_configuration_file_that_is_not_a_small_regular_file_is_refused_without_blocking(tmp_path, kind):
    config = tmp_path / "config.yaml"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "directory":
        config.mkdir()
    elif kind == "huge":
        config.write_text("# padding\n" * 10_000)
    else:
        config = Path("/dev/zero")
    result = run_cli("validate", POLICY, env={"LBAUDIT_CONFIG": str(config)}, timeout=30)
    assert result.returncode == ExitCode.USAGE
    assert f"lbaudit: {config}: cannot read the configuration file: " in result.stderr


@pytest.mark.parametrize("content, message", [
    ('{"schema": "lbaudit/evidence", "schema_version": "1.0"}', "this is an lbaudit evidence file, not a waivers file"),
    ("- rule: x\n", "expected a mapping with waivers; found list"),
    ("waivers: []\nrules: []\n", "policy: unknown key 'rules'"),
    ("waivers:\n  - {rule: listeners-loopback-only, reason: r, approver: a, expires: 2027-02-30}\n",
     "invalid date '2027-02-30'"),
])
def test_hostile_waivers_file_is_exit_2_and_writes_nothing(tmp_path, content, message):
    waivers = tmp_path / "w.yaml"
    waivers.write_text(content)
    out = tmp_path / "e.json"
    result = run_cli("evaluate", "--policy", POLICY, "--waivers", waivers, "--root", tmp_path, "-o", out, "-q")
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert message in result.stderr, result.stderr
    assert not out.exists()


def test_waivers_file_that_is_the_output_is_refused(tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers: []\n")
    result = run_cli("evaluate", "--policy", POLICY, "--waivers", waivers, "--root", tmp_path, "-o", waivers, "-q")
    assert result.returncode == ExitCode.USAGE
    assert waivers.read_text() == "waivers: []\n"


@pytest.mark.parametrize("kind", ["directory", "dev-null", "missing-directory", "dangling-symlink"])
def test_init_output_that_would_destroy_something_is_exit_2(tmp_path, kind):
    target = {"directory": tmp_path, "dev-null": Path("/dev/null"),
              "missing-directory": tmp_path / "no" / "p.yaml", "dangling-symlink": tmp_path / "link.yaml"}[kind]
    if kind == "dangling-symlink":
        target.symlink_to(tmp_path / "elsewhere.yaml")
    result = run_cli("init", "--output", target)
    assert result.returncode == ExitCode.USAGE, result.stdout + result.stderr
    assert not (tmp_path / "elsewhere.yaml").exists()


def test_validate_directory_of_fifos_only_is_exit_2_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "p.yaml")
    result = run_cli("validate", tmp_path, timeout=30)
    assert result.returncode == ExitCode.USAGE
    assert f"{tmp_path}: a directory with no policy in it" in result.stderr


def test_policy_that_extends_itself_is_a_located_problem(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("id: p\nversion: '1'\nowner: o\nextends: p.yaml\nrules:\n  - {id: r, check: net.bind_addresses}\n")
    result = run_cli("validate", policy)
    assert result.returncode == ExitCode.USAGE
    assert f"  {policy}:4:1: 'extends' cycle: {policy} -> {policy}; a policy cannot extend itself" in result.stderr


def test_evidence_given_as_snapshot_is_named(tmp_path):
    evidence = tmp_path / "e.json"
    evidence.write_text('{"schema": "lbaudit/evidence", "schema_version": "1.0"}')
    result = run_cli("evaluate", "--policy", POLICY, "--snapshot", evidence, "-o", tmp_path / "out.json", "-q")
    assert result.returncode == ExitCode.USAGE
    assert result.stderr == f"lbaudit: {evidence}: this is an lbaudit evidence file, not an lbaudit snapshot\n"
