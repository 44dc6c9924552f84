"""A parameter set to something other than its default that the rule's other parameters leave unused
is refused (exit 2), like a rule with nothing to judge.

``net.time_wait`` with ``max_pool_utilization: 0.5`` and no ``peak_new_connections_per_second``
judged no headroom at all; ``net.ephemeral_port_range`` with ``forbid_listeners_in_range: false``
and ``protocols: [tcp, udp]``, no listener; ``audit.socket_logging`` with ``require_enabled: false``
(and, since the persistent scopes judge the boot's -b, ``require_persistent: false``) and
``min_backlog_limit: 65536``, no backlog, and with ``require_auditd: false`` and
``refuse_lossy_log_actions: true``, no auditd action.  Each loaded (exit 0 from ``validate``) and
the rule judged less than it read: the threshold a reviewer approved was dead text.  A parameter
given its default stays accepted, so that a policy extending one that sets it can switch it off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: unused
version: "1"
owner: T
rules:
  - id: r
    check: {check}
    params: {params}
"""


def _validate(tmp_path: Path, check: str, params: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(check=check, params=params), encoding="utf-8")
    return run_cli("validate", "--no-plugins", policy)


@pytest.mark.parametrize(("check", "params", "said"), [
    ("net.time_wait", "{allowed_tw_reuse: [0, 2], max_pool_utilization: 0.5}",
     "max_pool_utilization is never used: it is the share of the pool the declared peak rate may hold, and "
     "peak_new_connections_per_second is not set; set that, or leave max_pool_utilization out (its default is 0.8)"),
    ("net.ephemeral_port_range", "{forbid_listeners_in_range: false, protocols: [tcp, udp]}",
     "protocols is never used: it names the listeners forbid_listeners_in_range judges, and that is false; set "
     'that, or leave protocols out (its default is ["tcp", "sctp", "dccp", "mptcp"])'),
    ("audit.socket_logging", "{require_enabled: false, require_persistent: false, min_backlog_limit: 65536}",
     "min_backlog_limit is never used: it is judged with the enabled state and in the persistent rules, and "
     "require_enabled and require_persistent are false; set one, or leave min_backlog_limit out (its default is "
     "8192)"),
    ("audit.socket_logging", "{require_auditd: false, refuse_lossy_log_actions: true}",
     "refuse_lossy_log_actions is never used: it is judged with the audit daemon, and require_auditd is false; "
     "set that, or leave refuse_lossy_log_actions out (its default is false)"),
    ("audit.socket_logging", "{require_loaded: false, require_persistent: false, syscalls: [bind]}",
     "syscalls is never used: it is judged in the loaded and the persistent rules, and require_loaded and "
     "require_persistent are false; set one, or leave syscalls out (its default is "
     '["bind", "connect", "accept", "accept4"])'),
])
def test_a_parameter_the_others_leave_unused_is_exit_2(tmp_path, check, params, said):
    """On main: exit 0, the parameter loaded and never judged."""
    run = _validate(tmp_path, check, params)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:7:5: rules[0].params: {said}" in run.stdout + run.stderr


@pytest.mark.parametrize(("check", "params"), [
    ("net.time_wait", "{allowed_tw_reuse: [0, 2], max_pool_utilization: 0.8}"),  # the default
    ("net.time_wait", "{peak_new_connections_per_second: 100, max_pool_utilization: 0.5}"),
    ("net.ephemeral_port_range", "{forbid_listeners_in_range: true, protocols: [tcp, udp]}"),
    ("audit.socket_logging", "{require_enabled: true, min_backlog_limit: 65536}"),
    # the persistent scopes judge the boot rules' last -b with it
    ("audit.socket_logging", "{require_enabled: false, min_backlog_limit: 65536}"),
    ("audit.socket_logging", "{require_loaded: false, syscalls: [bind]}"),
])
def test_control_case_used_parameters_and_defaults_load(tmp_path, check, params):
    run = _validate(tmp_path, check, params)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_child_policy_switching_the_judgement_off_gives_the_inherited_value_its_default(tmp_path):
    (tmp_path / "base.yaml").write_text(POLICY.format(
        check="net.time_wait", params="{peak_new_connections_per_second: 100, max_pool_utilization: 0.5}"),
        encoding="utf-8")
    child = tmp_path / "child.yaml"
    head = 'id: child\nversion: "1"\nowner: T\nextends: base.yaml\nrules:\n  - id: r\n'
    child.write_text(head + "    params: {peak_new_connections_per_second: null, allowed_tw_reuse: [0]}\n",
                     encoding="utf-8")
    run = run_cli("validate", "--no-plugins", child)
    assert run.returncode == 2
    assert "max_pool_utilization is never used" in run.stdout + run.stderr
    child.write_text(head + "    params: {peak_new_connections_per_second: null, allowed_tw_reuse: [0], "
                     "max_pool_utilization: 0.8}\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", child)
    assert run.returncode == 0, run.stdout + run.stderr
