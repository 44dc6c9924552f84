"""``lbaudit init --from-host`` pins the pool as the check counts it, so its policy passes the host.

The defect: the starter policy pinned ``min_pool_size`` at the range's size less reserved and held
ports, while net.ephemeral_port_range compares the ports one connect() searches, one fewer for an
odd Linux range.  A host of ``32768 61000`` (28,233 ports, 28,232 searched) got
``min_pool_size: 28233`` and the next evaluate failed the very host the policy was pinned from
("28,232 usable ... fewer than the minimum 28,233"); the comment named no reason for a number that
already left out a listener's port.  Now the pinned minimum is the searched size, and the comment
says what it leaves out.
"""

from __future__ import annotations

import yaml

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.commands.init import policy_text
from tests.factories import listener, snapshot, sysctl_facts


def _pool_rule(text: str) -> dict:
    [rule] = [r for r in yaml.safe_load(text)["rules"] if r["check"] == "net.ephemeral_port_range"]
    return rule["params"]


def _pool_status(host, params: dict) -> str:
    outcomes = net_ephemeral_port_range.run(host, EphemeralRangeParams.model_validate(params))
    return {o.subject: o.status.value for o in outcomes}["ephemeral port pool"]


def test_an_odd_range_is_pinned_at_what_connect_searches():
    host = snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768 61000"), listeners=[])
    text = policy_text(host, "2026.11.30")
    params = _pool_rule(text)
    assert params["min_pool_size"] == 28232
    assert "# this host's pool now: 32768-61000, reserved none; less one an odd range leaves out of each search" in text
    assert _pool_status(host, params) == "pass"


def test_a_port_a_listener_holds_is_named_in_the_comment():
    host = snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768 60999"),
                    listeners=[listener("0.0.0.0", 47111)])
    text = policy_text(host, "2026.11.30")
    params = _pool_rule(text)
    assert params["min_pool_size"] == 28231
    assert "# this host's pool now: 32768-60999, reserved none; less 1 held by listeners" in text
    assert _pool_status(host, params) == "pass"


def test_control_an_even_range_without_listeners_is_pinned_whole():
    host = snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768 60999"), listeners=[])
    params = _pool_rule(policy_text(host, "2026.11.30"))
    assert params["min_pool_size"] == 28232
    assert _pool_status(host, params) == "pass"


def test_an_owner_unknown_to_root_is_not_blamed_on_privileges():
    """Run as root, a listener whose owner is not visible (a process in another PID namespace) was
    written with "run init as root to match on the process name": advice the run had followed."""
    listeners = [listener("0.0.0.0", 2024)]
    as_root = policy_text(snapshot(listeners=listeners, privileged=True), "2026.11.30")
    assert "# owner not identified even as root" in as_root
    assert "run init as root" not in as_root
    unprivileged = policy_text(snapshot(listeners=listeners, privileged=False), "2026.11.30")
    assert "# owner not identified (run init as root to match on the process name)" in unprivileged
