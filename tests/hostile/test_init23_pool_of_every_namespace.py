"""``lbaudit init --from-host`` pins the pool minimum at the smallest pool the check judges.

The defect: net.ephemeral_port_range judges every network namespace the host holds (each
container's, each ``ip netns``) against the one ``min_pool_size``, but init pinned it at the pool of
the namespace it ran in alone.  A host of 32768-60999 (28,232 ports) with a container whose range is
40000-59999 (20,000 ports, above the check's default 16,384) got ``min_pool_size: 28232``, and the
next evaluate failed the container's pool on the very host the policy was written from ("20,000
usable ... fewer than the minimum 28,232"), a pool the default passes.  Seen live in a private netns
with the host's namespace beside it.  Now the minimum is the smallest pool of them all, and its
comment names the namespace it came from.
"""

from __future__ import annotations

import yaml

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.commands.init import policy_text
from auditor.model.facts import NamespaceFacts, NetNamespace, SysctlSetting
from tests.factories import snapshot, sysctl_facts

RANGE = "net.ipv4.ip_local_port_range"
RESERVED = "net.ipv4.ip_local_reserved_ports"


def _namespace(inode: int, name: str, port_range: str) -> NetNamespace:
    return NetNamespace(inode=inode, device=4, names=[name], entered=True, listeners=[],
                        sysctl={RANGE: SysctlSetting(value=port_range, origin="/proc/sys/net/ipv4/ip_local_port_range"),
                                RESERVED: SysctlSetting(value="", origin="/proc/sys/net/ipv4/ip_local_reserved_ports")})


def _host(other_range: str):
    this = NetNamespace(inode=4026531840, device=4, current=True)
    return snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768 60999"), listeners=[],
                    netns=NamespaceFacts(namespaces=[this, _namespace(4026532999, "app", other_range)]))


def _pool_statuses(text: str, host) -> dict[str, str]:
    [rule] = [r for r in yaml.safe_load(text)["rules"] if r["check"] == "net.ephemeral_port_range"]
    params = EphemeralRangeParams.model_validate(rule["params"])
    return {o.subject: o.status.value for o in net_ephemeral_port_range.run(host, params)
            if o.subject.startswith("ephemeral port pool")}


def test_a_namespace_with_a_smaller_pool_above_the_default_passes_the_policy_written_beside_it():
    host = _host("40000 59999")
    text = policy_text(host, "2026.11.30")
    assert "min_pool_size: 20000 " in text
    assert "in netns app" in text
    statuses = _pool_statuses(text, host)
    assert statuses == {"ephemeral port pool": "pass", "ephemeral port pool in netns app": "pass"}


def test_a_namespace_below_the_default_is_written_as_a_todo_at_the_default():
    host = _host("60000 60100")
    text = policy_text(host, "2026.11.30")
    assert "min_pool_size: 16384        # TODO" in text
    assert "in netns app" in text
    assert _pool_statuses(text, host)["ephemeral port pool in netns app"] == "fail"
    assert _pool_statuses(text, host)["ephemeral port pool"] == "pass"


def test_control_a_namespace_with_a_larger_pool_leaves_the_host_pool_pinned():
    host = _host("10000 60999")
    text = policy_text(host, "2026.11.30")
    assert "min_pool_size: 28232        # this host's pool now: 32768-60999" in text
    assert set(_pool_statuses(text, host).values()) == {"pass"}


def test_a_listener_in_another_namespaces_range_is_named_in_the_todo():
    """The check fails a listener inside another namespace's ephemeral range as it fails the host's;
    the TODO above ``forbid_listeners_in_range`` named the host's alone, so a reviewer read no
    failure coming for the container's."""
    from tests.factories import listener

    other = _namespace(4026532999, "app", "40000 59999").model_copy(update={"listeners": [listener("127.0.0.1", 45000)]})
    this = NetNamespace(inode=4026531840, device=4, current=True)
    host = snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768 60999"), listeners=[],
                    netns=NamespaceFacts(namespaces=[this, other]))
    text = policy_text(host, "2026.11.30")
    assert "# TODO: listeners inside the ephemeral range" in text
    assert "tcp 127.0.0.1:45000 owner unknown in netns app" in text
