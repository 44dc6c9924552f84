"""A parameter that is one of a few integers takes an integer, not ``true`` or ``1.0``.

pydantic compares a value with the choices of an integer ``Literal`` by Python equality, strict mode
or not, and ``True == 1`` and ``1.0 == 1``: ``net.time_wait`` with ``allowed_tw_reuse: [true]`` was
read as ``[1]`` (reuse for every outgoing connection) and ``[false]`` as ``[0]``, silently, where the
README promises parameters typed strictly ("``"yes"`` is not a boolean") and the policy's JSON
Schema (``enum: [0, 1, 2]``), which an editor checks, refuses a boolean.  A policy that reads as a
switch (``[true]``: reuse allowed?) was taken as a value of the kernel's.  Each is now exit 2 at its
line, saying what was expected and what was found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: tw
version: "1"
owner: T
rules:
  - id: tw
    check: net.time_wait
    params:
      allowed_tw_reuse: [{value}]
"""


def _validate(tmp_path: Path, value: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(value=value), encoding="utf-8")
    return run_cli("validate", "--no-plugins", policy)


@pytest.mark.parametrize(("value", "found"), [("true", "true"), ("false", "false"), ("1.0", "1.0"),
                                              ("!!float 2", "2")])
def test_a_boolean_or_a_float_for_an_integer_choice_is_exit_2_at_its_place(tmp_path, value, found):
    """On main: exit 0, ``[true]`` read as ``[1]``, ``[false]`` as ``[0]``, ``[1.0]`` as ``[1]``."""
    run = _validate(tmp_path, value)
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"policy.yaml:8:26: rules[0].params.allowed_tw_reuse[0]: expected an integer (0, 1 or 2); "
            f"found {found}") in run.stdout + run.stderr


@pytest.mark.parametrize("value", ["0", "1", "2", "0, 2"])
def test_control_case_integers_still_load(tmp_path, value):
    run = _validate(tmp_path, value)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_value_outside_the_choices_is_still_named_as_before(tmp_path):
    run = _validate(tmp_path, "3")
    assert run.returncode == 2
    assert "rules[0].params.allowed_tw_reuse[0]: expected one of 0, 1 or 2; found 3" in run.stdout + run.stderr
