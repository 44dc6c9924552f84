"""A child policy that loosens a threshold it inherits is warned about, as one that lowers a severity is.

``validate`` and ``evaluate`` warn where a child switches an inherited rule off, limits its platforms
or lowers its severity: each lets a run pass what the parent fails.  A child could do the same by a
param and nothing was said: ``{id: eph, params: {min_pool_size: 100}}`` under a parent asking
16,384 ephemeral ports, ``max_fin_timeout: 86400`` under 60, ``require_persistent: false`` under
true, or ``min_max_tw_buckets:`` written as null over the parent's 65,536 (null gives a param back
its default, which for that threshold is "not judged"): ``validate`` said ``ok`` and the child passed
hosts the parent fails.  Now each is a warning at the param's line naming the value inherited and
the file it came from (the exit code is the documented one: warnings never change it).  A child
that tightens a param, or sets one the parent leaves to a stricter value, is not warned about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

PARENT = """id: parent
version: "1"
owner: Sec
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {min_pool_size: 16384, min_low: 1024}
  - id: tw
    check: net.time_wait
    params: {min_max_tw_buckets: 65536, max_fin_timeout: 60}
  - id: audit
    check: audit.socket_logging
    params: {require_persistent: true, require_loaded: true}
"""

CHILD = """id: child
version: "1"
owner: Sec
extends: parent.yaml
rules:
  - id: {rule}
    params:
      {param}: {value}
"""


def _validate(tmp_path: Path, rule: str, param: str, value: str):
    (tmp_path / "parent.yaml").write_text(PARENT, encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text(CHILD.format(rule=rule, param=param, value=value), encoding="utf-8")
    return run_cli("validate", "--no-plugins", child)


@pytest.mark.parametrize(("rule", "param", "value", "said"), [
    ("eph", "min_pool_size", "100", "rules[0].params.min_pool_size: 100 is below the 16384 inherited from parent.yaml"),
    ("eph", "min_low", "1", "rules[0].params.min_low: 1 is below the 1024 inherited from parent.yaml"),
    ("tw", "max_fin_timeout", "86400", "rules[0].params.max_fin_timeout: 86400 is above the 60 inherited from parent.yaml"),
    ("tw", "min_max_tw_buckets", "", "rules[0].params.min_max_tw_buckets: null (not judged) where parent.yaml sets 65536"),
    ("audit", "require_persistent", "false", "rules[0].params.require_persistent: false where parent.yaml sets true"),
])
def test_a_child_loosening_an_inherited_param_is_warned_about(tmp_path, rule, param, value, said):
    """On main: exit 0, ``ok``, no warning."""
    run = _validate(tmp_path, rule, param, value)
    out = (run.stdout + run.stderr).replace("\n", " ")
    assert run.returncode == 0, out
    assert f"child.yaml:8:7: warning: {said}, so the rule passes what that policy's rule fails" in out


@pytest.mark.parametrize(("rule", "param", "value"), [
    ("eph", "min_pool_size", "28232"),      # stricter
    ("tw", "max_fin_timeout", "30"),        # stricter
    ("tw", "max_time_wait_share", "0.5"),   # set where the parent judges nothing: nothing loosened
    ("eph", "max_high", "60999"),           # below the default the parent leaves it at: stricter
])
def test_control_case_a_child_tightening_a_param_is_not_warned_about(tmp_path, rule, param, value):
    run = _validate(tmp_path, rule, param, value)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "warning" not in out
