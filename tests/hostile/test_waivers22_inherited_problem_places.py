"""A problem in a rule a child policy overrides is reported where it is written, not at the child's rule.

A child policy overriding an inherited rule (``{id: eph, params: {min_pool_size: 20000}}``) is merged
with the parent's rule, and every problem of the merged rule was reported at the child's rule: a
parent's ``min_low: 70000`` as ``child.yaml:10:5: rules[1].params.min_low: must be at most 65535``
(the child's rules[1] has no min_low; parent.yaml:9 has it), a parent's misspelt check
``net.bind_adresses`` as ``child.yaml:8:5: rules[1].check``, a parent's unknown control at the
child's ``rules[2].controls[0]``, which the child does not write, and a parent's param warning
(``allow`` covering every IPv4 address) at the child's rule.  The reader is sent to a file and line
that do not hold what is wrong.  Now each is reported at the file, line and path that wrote it.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli

PARENT = """id: parent
version: "1"
owner: Sec Team
rules:
  - id: eph
    check: net.ephemeral_port_range
    params:
      min_pool_size: 16384
      min_low: 70000
  - id: a
    check: net.bind_adresses
  - id: b
    check: net.time_wait
    controls: [XX-99]
    params: {max_fin_timeout: 60}
"""

CHILD = """id: child
version: "1"
owner: Sec Team
extends: parent.yaml
rules:
  - id: x
    check: drift.sysctl
  - id: eph
    params:
      min_pool_size: 20000
  - id: a
    title: A
  - id: b
    title: B
"""


def _validate(tmp_path: Path, parent: str, child: str):
    (tmp_path / "parent.yaml").write_text(parent, encoding="utf-8")
    (tmp_path / "child.yaml").write_text(child, encoding="utf-8")
    return run_cli("validate", "--no-plugins", tmp_path / "child.yaml")


def test_each_problem_of_an_inherited_rule_is_reported_where_it_is_written(tmp_path):
    run = _validate(tmp_path, PARENT, CHILD)
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "parent.yaml:9:7: rules[0].params.min_low: must be at most 65535; found 70000" in out, out
    assert "parent.yaml:11:5: rules[1].check: unknown check 'net.bind_adresses'" in out, out
    assert "parent.yaml:14:16: rules[2].controls[0]: unknown NIST SP 800-53 Rev. 5 control 'XX-99'" in out, out
    assert "child.yaml" not in out.replace(str(tmp_path / "child.yaml") + ": invalid policy", ""), out


def test_a_param_warning_of_an_inherited_param_is_at_the_parent(tmp_path):
    parent = ("id: parent\nversion: \"1\"\nowner: Sec Team\nrules:\n  - id: bind\n    check: net.bind_addresses\n"
              "    params:\n      allow: [0.0.0.0/0]\n      protocols: [tcp, udp]\n")
    child = ("id: child\nversion: \"1\"\nowner: Sec Team\nextends: parent.yaml\nrules:\n  - id: bind\n"
             "    params:\n      protocols: [tcp, udp, raw]\n")
    run = _validate(tmp_path, parent, child)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "parent.yaml:8:7: warning: rules[0].params.allow: covers every IPv4 address" in out, out


def test_control_case_a_problem_the_child_writes_is_at_the_child(tmp_path):
    child = CHILD.replace("min_pool_size: 20000", "min_pool_size: 0")
    run = _validate(tmp_path, PARENT.replace("min_low: 70000", "min_low: 1024"), child)
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "child.yaml:10:7: rules[1].params.min_pool_size: must be at least 1; found 0" in out, out
