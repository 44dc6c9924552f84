"""``lbaudit init --from-host`` writes the same policy for the same listeners, whatever their pids.

The defect: each exception's ``# found:`` comment held the subject of the listeners it covers,
``tcp 0.0.0.0:8080 nginx pid 812 (+3 more)``: the pid of the first holder the scan saw.  Two runs on
the same host whose service had restarted, or whose pre-fork workers had been recycled, wrote
different files for the same exposure (a policy kept in version control showed a change where
there was none).  Now the comment names each listener by protocol, address, port and the names of
its holders, sorted, without pids, and the listeners in the order of those names.
"""

from __future__ import annotations

from auditor.commands.init import policy_text
from auditor.model.facts import ProcessInfo
from tests.factories import listener, snapshot


def _host(pids: tuple[int, int, int], reverse: bool = False):
    listeners = [
        listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=pids[0], name="nginx"), ProcessInfo(pid=pids[1], name="nginx")]),
        listener("0.0.0.0", 8081, processes=[ProcessInfo(pid=pids[2], name="nginx")]),
    ]
    return snapshot(listeners=listeners[::-1] if reverse else listeners)


def test_the_same_listeners_after_a_restart_give_the_same_policy():
    first = policy_text(_host((812, 813, 814)), "2026.11.29")
    second = policy_text(_host((4410, 4402, 4420), reverse=True), "2026.11.29")
    assert first == second
    assert "        # found: tcp 0.0.0.0:8080 nginx (2 processes); tcp 0.0.0.0:8081 nginx\n" in first
    assert " pid " not in first
