"""Check parameters under which the rule can never fail are refused, like a rule with nothing to judge.

``net.time_wait`` already refused a rule with no threshold set and ``audit.socket_logging`` one that
requires nothing ("a check with nothing to judge would pass everywhere: that is a defect, not a
policy").  Two ways around it were accepted and passed every host (exit 0):

* ``net.time_wait`` with ``allowed_tw_reuse: [0, 1, 2]``: every value the kernel takes;
* ``net.bind_addresses`` whose default ``allow`` covers 0.0.0.0/0 and ::/0 (``any``, or the two
  CIDRs) with no exception allowing less: no listener can be outside it.

Each is now exit 2 naming file, line and why, before anything is collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import listener, snapshot, sysctl_facts

HEAD = """id: never-fails
version: "1"
owner: T
rules:
  - id: r
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """sshd on every IPv4 address, tcp_tw_reuse 1 (reuse for every outgoing connection)."""
    path = tmp_path / "host.snapshot.json"
    sshd = [ProcessInfo(pid=1, name="sshd", exe="/usr/sbin/sshd", user="root")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=sshd)],
                                             sysctl=sysctl_facts(net__ipv4__tcp_tw_reuse="1"))))
    return path


def _evaluate(tmp_path: Path, host: Path, rule: str):
    return evaluate_snapshot(tmp_path, HEAD + rule, host)


@pytest.mark.parametrize("allow", ["[any]", '["0.0.0.0/0", "::/0"]', '[private, "0.0.0.0/0", "::/0"]'])
def test_a_default_allow_of_every_address_is_refused(tmp_path, host, allow):
    """On main: exit 0, sshd on 0.0.0.0 passing."""
    run, evidence = _evaluate(tmp_path, host, f"    check: net.bind_addresses\n    params:\n      allow: {allow}\n")
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("policy.yaml:7:5: rules[0].params: allow covers every IPv4 and IPv6 address and no exception allows "
            "less, so no listener can fail this rule") in run.stderr
    assert not evidence.exists()


def test_every_exception_allowing_every_address_too_is_refused(tmp_path, host):
    rule = ("    check: net.bind_addresses\n    params:\n      allow: [any]\n      exceptions:\n"
            "        - match: {process: sshd}\n          allow: [any]\n          reason: management\n")
    run, _ = _evaluate(tmp_path, host, rule)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no listener can fail this rule" in run.stderr


def test_control_case_an_exception_allowing_less_can_fail(tmp_path, host):
    rule = ("    check: net.bind_addresses\n    params:\n      allow: [any]\n      exceptions:\n"
            "        - match: {process: sshd}\n          allow: [loopback]\n          reason: sshd stays local\n")
    run, _ = _evaluate(tmp_path, host, rule)
    assert run.returncode == 1, run.stdout + run.stderr


def test_allowing_every_tw_reuse_value_is_refused(tmp_path, host):
    """On main: exit 0, tcp_tw_reuse 1 passing a rule that allows 0, 1 and 2."""
    run, evidence = _evaluate(tmp_path, host, "    check: net.time_wait\n    params:\n      allowed_tw_reuse: [2, 1, 0]\n")
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("policy.yaml:8:7: rules[0].params.allowed_tw_reuse: lists every value net.ipv4.tcp_tw_reuse can take "
            "(0, 1, 2), so it can never fail") in run.stderr
    assert not evidence.exists()


def test_control_case_allowing_two_values_fails_the_third(tmp_path, host):
    run, _ = _evaluate(tmp_path, host, "    check: net.time_wait\n    params:\n      allowed_tw_reuse: [0, 2]\n")
    assert run.returncode == 1, run.stdout + run.stderr
