"""``lbaudit init --from-host`` never writes an ephemeral-pool minimum below the check's defaults.

The defect: the starter policy took this host's pool as its minimum (``min_pool_size``: the host's
size) and ``min_low: min(1024, low)``.  On a host whose range was ``500 1500`` (1,001 ports, 524
of them privileged) it wrote ``min_pool_size: 1001`` and ``min_low: 500``, so the next evaluate
passed a pool sixteen times smaller than the check's default and a range that hands privileged
ports to outgoing connections, without a word: the starter policy approved what the host exposes.
Now a host below a default gets the default, and a comment saying the host fails it until fixed.
A host above the defaults still pins its own pool (stricter).
"""

from __future__ import annotations

import yaml

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.commands.init import policy_text
from tests.factories import snapshot, sysctl_facts


def _pool_rule(text: str) -> dict:
    [rule] = [r for r in yaml.safe_load(text)["rules"] if r["check"] == "net.ephemeral_port_range"]
    return rule["params"]


def test_a_small_privileged_pool_is_not_written_as_the_minimum():
    host = snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="500 1500"))
    text = policy_text(host, "2026.11.29")
    params = _pool_rule(text)
    assert (params["min_pool_size"], params["min_low"]) == (16384, 1024)
    assert ("      min_pool_size: 16384        # TODO: this host's pool now is 500-1500, reserved none (1,000 "
            "usable ports; less one an odd range leaves out of each search), below this minimum: widen "
            "net.ipv4.ip_local_port_range\n") in text
    assert ("      min_low: 1024        # TODO: this host's range starts at 500, below this: privileged ports "
            "are handed to outgoing connections\n") in text
    # and the check, so configured, fails the host as it is
    statuses = {o.subject: o.status.value for o in net_ephemeral_port_range.run(host, EphemeralRangeParams.model_validate(params))}
    assert statuses["ephemeral port pool"] == "fail"
    assert statuses["ephemeral port range bounds"] == "fail"


def test_control_a_large_pool_is_pinned_as_it_is():
    host = snapshot(sysctl=sysctl_facts(net__ipv4__ip_local_port_range="32768 60999"))
    params = _pool_rule(policy_text(host, "2026.11.29"))
    assert (params["min_pool_size"], params["min_low"]) == (28232, 1024)
