"""Policy and configuration scalars that YAML 1.1 and YAML 1.2 read as different values.

PyYAML (YAML 1.1) read ``min_pool_size: 023420`` as the octal 10000, ``1:20`` as 80 (base 60),
``1_000`` as 1000 and ``yes``/``no``/``on``/``off`` as booleans; a YAML 1.2 reader (the editor
checking the policy against ``lbaudit schema policy``, a reviewer's tooling) reads 23420, text,
text and text.  The policy meant something other than what its author and reviewer read, silently:
the octal pool minimum let a 10,001-port pool pass a policy that asks for 23,420 (exit 0).  Each is
now exit 2 at its file, line and column, saying what each YAML version reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # ip_local_port_range 40000 50000

POLICY = """id: yaml11
version: "1"
owner: T
rules:
  - id: pool
    check: net.ephemeral_port_range
    params:
      {param}
  - id: listeners
    check: net.bind_addresses
    enabled: {enabled}
"""


def _write(tmp_path: Path, param: str = "min_pool_size: 23420", enabled: str = "true") -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(param=param, enabled=enabled), encoding="utf-8")
    return policy


def _evaluate(policy: Path, tmp_path: Path):
    return run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}",
                   "-o", tmp_path / "evidence.json", "--color", "never")


def test_control_case_the_pool_fails_a_decimal_minimum(tmp_path):
    run = _evaluate(_write(tmp_path, enabled="false"), tmp_path)
    assert run.returncode == 1, run.stderr


def test_an_octal_pool_minimum_is_refused_not_read_as_10000(tmp_path):
    """On main: exit 0, the 10,001-port pool passing "at least 023420" (read as 10000)."""
    policy = _write(tmp_path, param="min_pool_size: 023420", enabled="false")
    run = _evaluate(policy, tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("policy.yaml:8:22: '023420' is an octal number in YAML 1.1 but a decimal one in YAML 1.2; write it "
            "without the leading zero") in run.stderr
    assert not (tmp_path / "evidence.json").exists()


@pytest.mark.parametrize("param, enabled, place, said", [
    ("min_pool_size: 16384", "no", "11:14", "'no' is the boolean false in YAML 1.1 but text in YAML 1.2; write false"),
    ("min_pool_size: 16384", "Off", "11:14", "'Off' is the boolean false in YAML 1.1 but text in YAML 1.2; write false"),
    ("forbid_listeners_in_range: on", "true", "8:34", "'on' is the boolean true in YAML 1.1"),
    ("min_low: 0b10000000000", "true", "8:16", "'0b10000000000' is a binary number in YAML 1.1 but text in YAML 1.2"),
    ("min_pool_size: 16_384", "true", "8:22", "'16_384' is a number in YAML 1.1 but text in YAML 1.2"),
    ("min_low: 17:04", "true", "8:16", "'17:04' is a base-60 number in YAML 1.1 but text in YAML 1.2"),
    ("min_low: !!int 01024", "true", "8:16", "'01024' is an octal number in YAML 1.1"),
])
def test_a_scalar_yaml_versions_disagree_on_is_exit_2_at_its_place(tmp_path, param, enabled, place, said):
    policy = _write(tmp_path, param=param, enabled=enabled)
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:{place}: {said}" in run.stdout + run.stderr


@pytest.mark.parametrize("param", ["min_pool_size: 0x4000", "min_pool_size: +16384", "min_low: 0",
                                   "forbid_listeners_in_range: True"])
def test_scalars_both_versions_read_alike_still_load(tmp_path, param):
    run = run_cli("validate", "--no-plugins", _write(tmp_path, param=param))
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_quoted_word_is_text_as_before(tmp_path):
    run = run_cli("validate", "--no-plugins", _write(tmp_path, enabled='"no"'))
    assert run.returncode == 2
    assert "rules[1].enabled: expected true or false; found 'no'" in run.stdout + run.stderr


def test_the_configuration_file_refuses_an_octal_day_count(tmp_path):
    """``expiry_warning_days: 030`` was 24 days."""
    config = tmp_path / "config.yaml"
    config.write_text("expiry_warning_days: 030\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", _write(tmp_path), env={"LBAUDIT_CONFIG": str(config)})
    assert run.returncode == 2, run.stdout + run.stderr
    assert "config.yaml:1:22: '030' is an octal number in YAML 1.1" in run.stderr
