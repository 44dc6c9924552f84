"""Hostile corpus, policy round 10: a plain scalar that YAML 1.2 reads as a number and PyYAML's
YAML 1.1 as text is refused where it is written, saying both readings.

YAML 1.1 floats need a "." and a signed exponent, and ``0o`` is no prefix there: ``1e3``,
``5e-1``, ``1.0e3``, ``-.5`` and ``0o17`` were text to lbaudit and numbers to every YAML 1.2
reader (the editor checking the policy against ``lbaudit schema policy``).  A numeric param
written so (``max_time_wait_share: 5e-1``) was refused as "expected a number; found '5e-1'", a
number being what its author had written, and a text field (``version: 1e3``) held text a
reviewer's tooling read as 1000.0.  Round 9 refused the scalars read the other way round (``010``,
``1_000``, ``yes``); these are now exit 2 at their place too, with what to write.  Quoted, or
tagged ``!!str``, they are text as before.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli

POLICY = """\
id: numbers
version: {version}
owner: Sec
rules:
  - id: tw
    check: net.time_wait
    params:
      max_time_wait_share: {share}
"""


def _validate(tmp_path, version='"1"', share="0.5", env=None):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(version=version, share=share))
    return policy, run_cli("validate", policy, env=env)


@pytest.mark.parametrize(("written", "number"), [
    ("5e-1", "0.5"), ("1e3", "1000"), ("1.0e3", "1000"), ("-.5", "-0.5"), ("0o17", "15"), ("25E-2", "0.25"),
    ("1e-320", "1.0e-320"),
])
def test_a_yaml12_number_in_a_numeric_param_says_both_readings(tmp_path, written, number):
    """On main: "expected a number; found '5e-1'"."""
    policy, result = _validate(tmp_path, share=written)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"{policy}:8:28: {written!r} is text in YAML 1.1 but the number {number} in YAML 1.2; write {number} "
            "(or quote it for text)") in result.stderr


def test_a_yaml12_number_in_a_text_field_is_refused(tmp_path):
    """On main: ok, the version '1e3' that a YAML 1.2 reader reads as 1000.0."""
    policy, result = _validate(tmp_path, version="1e3")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{policy}:2:10: '1e3' is text in YAML 1.1 but the number 1000 in YAML 1.2" in result.stderr


@pytest.mark.parametrize("version", ['"1e3"', "'1e3'", "!!str 1e3", "2026.11-rc1", "1e3x"])
def test_quoted_tagged_or_not_a_number_is_text_as_before(tmp_path, version):
    _, result = _validate(tmp_path, version=version)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("share", ["0.5", "1", "1.0e-1", ".5"])
def test_numbers_both_versions_read_alike_still_load(tmp_path, share):
    _, result = _validate(tmp_path, share=share)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_configuration_file_is_read_the_same_way(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("expiry_warning_days: 3e1\n")
    _, result = _validate(tmp_path, env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{config}:1:22: '3e1' is text in YAML 1.1 but the number 30 in YAML 1.2; write 30" in result.stderr
