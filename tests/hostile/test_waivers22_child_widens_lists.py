"""A child policy that widens an inherited rule by a list param is warned about, as one lowering a threshold is.

``validate`` and ``evaluate`` warn where a child sets a ``min_...`` lower, a ``max_...`` higher or a
``require_...`` false than the rule it inherits (tests/hostile/test_waivers17_child_loosens_params.py):
the child passes hosts the parent fails.  A child could do the same through every param named
otherwise, and ``validate`` said ``ok`` with no warning:

* ``net.bind_addresses``: ``allow: [loopback, private]`` under the parent's ``[loopback]``, a new
  exception ``{process: "*d"}`` allowing any address, ``protocols: [tcp]`` (UDP listeners judged
  no more), ``scope: effective`` under ``every_namespace``, or the parent's exception that kept
  telnetd off the private network dropped;
* ``net.time_wait``: ``allowed_tw_reuse: [0, 1]`` under ``[0, 2]`` (reuse for every outgoing
  connection), or null (not judged); ``peak_new_connections_per_second`` declared lower;
* ``audit.socket_logging``: ``syscalls: [bind]`` under four, ``arches: [b64]`` under both, an
  ``accepted_filters`` entry (``auid>=1000``: daemons unrecorded) the parent does not accept;
* ``net.ephemeral_port_range``: ``protocols: [tcp]``; ``drift.sysctl``: ``keys`` naming one where
  the parent compares every key.

Now each is a warning at the param's line naming what was widened and the file it came from (the
exit code is the documented one: warnings never change it).  A child that narrows what passes, or
writes the same list, is not warned about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

PARENT = """id: parent
version: "1"
owner: Sec Team
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [private]
      scope: every_namespace
      exceptions:
        - match: {process: telnetd}
          allow: [loopback]
          reason: telnet must never leave the host
        - match: {process: sshd, ports: [22]}
          allow: [any]
          reason: SSH is the management path
  - id: tw
    check: net.time_wait
    params: {allowed_tw_reuse: [0, 2], peak_new_connections_per_second: 300}
  - id: audit
    check: audit.socket_logging
    params: {syscalls: [bind, connect, accept, accept4], arches: [b64, b32], accepted_filters: ["auid!=unset"]}
  - id: eph
    check: net.ephemeral_port_range
  - id: drift
    check: drift.sysctl
"""

CHILD = """id: child
version: "1"
owner: Sec Team
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


TELNET = "{match: {process: telnetd}, allow: [loopback], reason: telnet must never leave the host}"
SSH = "{match: {process: sshd, ports: [22]}, allow: [any], reason: SSH is the management path}"


@pytest.mark.parametrize(("rule", "param", "value", "said"), [
    ("bind", "allow", "[private, 203.0.113.0/24]", "allows 203.0.113.0/24, outside parent.yaml's private"),
    ("bind", "exceptions", f"[{TELNET}, {SSH}, {{match: {{process: '*d'}}, allow: [any], reason: daemons}}]",
     "exceptions[2] is not parent.yaml's and allows the listeners it matches 0.0.0.0/0, ::/0, which parent.yaml's rule does not"),
    ("bind", "exceptions", f"[{SSH}]", "drops parent.yaml's exceptions[0] (process 'telnetd'), which allowed only loopback"),
    ("bind", "protocols", "[tcp]", "leaves out udp, udplite, sctp, dccp, mptcp, raw, which parent.yaml judges"),
    ("bind", "scope", "effective", "effective where parent.yaml sets every_namespace"),
    ("tw", "allowed_tw_reuse", "[0, 1]", "adds 1, which parent.yaml does not allow"),
    ("tw", "allowed_tw_reuse", "", "null (not judged) where parent.yaml sets 0, 2"),
    ("tw", "peak_new_connections_per_second", "30", "30 is below the 300 inherited from parent.yaml"),
    ("audit", "syscalls", "[bind]", "leaves out connect, accept, accept4, which parent.yaml judges"),
    ("audit", "arches", "[b64]", "leaves out b32, which parent.yaml judges"),
    ("audit", "accepted_filters", '["auid!=unset", "auid>=1000"]', "adds auid>=1000, which parent.yaml does not allow"),
    ("eph", "protocols", "[tcp]", "leaves out sctp, dccp, mptcp, which parent.yaml judges"),
    ("drift", "keys", "[net.ipv4.tcp_fin_timeout]", "names only net.ipv4.tcp_fin_timeout, where parent.yaml judges every one"),
])
def test_a_child_widening_an_inherited_list_is_warned_about(tmp_path, rule, param, value, said):
    """Before: exit 0, ``ok``, no warning."""
    run = _validate(tmp_path, rule, param, value)
    out = (run.stdout + run.stderr).replace("\n", " ")
    assert run.returncode == 0, out
    assert f"child.yaml:8:7: warning: rules[0].params.{param}: " in out, out
    assert said in out, out
    assert "so the rule passes what that policy's rule fails" in out, out


@pytest.mark.parametrize(("rule", "param", "value"), [
    ("bind", "allow", "[10.0.0.0/8]"),                       # inside private: narrower
    ("bind", "allow", "[10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7]"),  # private spelt out: the same
    ("bind", "exceptions", f"[{TELNET}, {{match: {{process: sshd, ports: [22], protocol: tcp}}, allow: [any], "
                           "reason: SSH}]"),                 # the parent's ssh exception narrowed
    ("bind", "exceptions", f"[{TELNET}, {SSH}, {{match: {{process: cupsd}}, allow: [10.1.0.0/16], reason: print}}]"),
    ("bind", "protocols", "[tcp, udp, udplite, sctp, dccp, mptcp, raw]"),
    ("tw", "allowed_tw_reuse", "[0]"),
    ("tw", "peak_new_connections_per_second", "3000"),
    ("audit", "syscalls", "[accept, bind, connect, accept4]"),   # the same, reordered
    ("audit", "accepted_filters", "[]"),
    ("eph", "protocols", "[tcp, sctp, dccp, mptcp, udp]"),
])
def test_control_case_a_child_narrowing_a_list_is_not_warned_about(tmp_path, rule, param, value):
    run = _validate(tmp_path, rule, param, value)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "warning" not in out, out
