"""An explicit YAML tag that disagrees with what it tags is exit 2 at its place, never exit 70.

The strict reader allows the tags plain data needs (``!!str``, ``!!int``, ``!!float``, ``!!bool``,
``!!null``, ``!!timestamp``, ``!!map``, ``!!seq``), and handed a tagged scalar to PyYAML's
constructor whatever its text: ``!!timestamp 2027`` raised AttributeError, ``!!int ''`` and
``!!int '-'`` IndexError, ``!!bool maybe`` KeyError, each an internal error (exit 70) with no file
or line; ``!!map [a]`` built a list where a mapping was tagged.  A tag may now only say what its
text already is (``!!float 1`` is the widening YAML allows; ``!!str`` tags any scalar).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: tags
version: "1"
owner: T
rules:
  - id: r
    check: net.time_wait
    params:
      {param}
waivers:
  - rule: r
    reason: r
    approver: a
    expires: {expires}
"""


def _validate(tmp_path: Path, param: str = "max_fin_timeout: 60", expires: str = "2099-01-01"):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(param=param, expires=expires), encoding="utf-8")
    return run_cli("validate", "--no-plugins", policy)


@pytest.mark.parametrize("expires, said", [
    ("!!timestamp 2027", "13:14: '2027' is not a valid !!timestamp value"),
    ("!!timestamp '2027-01-01T'", "13:14: '2027-01-01T' is not a valid !!timestamp value"),
])
def test_a_timestamp_tag_on_no_timestamp_is_exit_2(tmp_path, expires, said):
    run = _validate(tmp_path, expires=expires)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:{said}" in run.stderr


@pytest.mark.parametrize("param, said", [
    ("max_fin_timeout: !!int ''", "8:24: '' is not a valid !!int value"),
    ("max_fin_timeout: !!int '-'", "8:24: '-' is not a valid !!int value"),
    ("max_time_wait_share: !!float ''", "8:28: '' is not a valid !!float value"),
    ("max_fin_timeout: !!int 1.5", "8:24: '1.5' is not a valid !!int value"),
    ("max_fin_timeout: !!int ' 60'", "8:24: ' 60' is not a valid !!int value"),
    ("allowed_tw_reuse: !!map [0]", "8:25: the tag !!map does not fit a sequence"),
    ("allowed_tw_reuse: !!str [0]", "8:25: the tag !!str does not fit a sequence"),
    ("max_fin_timeout: !!null 60", "8:24: '60' is not a valid !!null value"),
])
def test_a_number_or_kind_tag_that_does_not_fit_is_exit_2(tmp_path, param, said):
    run = _validate(tmp_path, param=param)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:{said}" in run.stderr


def test_a_bool_tag_on_no_boolean_is_exit_2(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(param="max_fin_timeout: 60", expires="2099-01-01")
                      .replace("    check: net.time_wait\n", "    check: net.time_wait\n    enabled: !!bool maybe\n"),
                      encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "policy.yaml:7:14: 'maybe' is not a valid !!bool value" in run.stderr


@pytest.mark.parametrize("param", ["max_fin_timeout: !!int 60", "max_time_wait_share: !!float 1",
                                   "max_time_wait_share: !!float 0.5", "allowed_tw_reuse: !!seq [0]"])
def test_a_tag_that_says_what_the_text_is_still_loads(tmp_path, param):
    run = _validate(tmp_path, param=param)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_str_tag_makes_text_as_before(tmp_path):
    run = _validate(tmp_path, param="max_fin_timeout: !!str 60")
    assert run.returncode == 2
    assert "rules[0].params.max_fin_timeout: expected an integer; found '60'" in run.stderr
