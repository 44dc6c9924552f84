"""Hostile judging: a running tcp_fin_timeout the kernel holds was left unjudged as "depends on HZ".

Whether the kernel takes a write of tcp_fin_timeout between INT_MAX / 1000 and INT_MAX / 100
seconds depends on its HZ (seconds x HZ must fit an int), so an image's configured value there is
rightly not_reviewed.  A running value, though, is what the kernel printed: it holds it.  lbaudit
answered "whether the kernel takes net.ipv4.tcp_fin_timeout = 4000000 ... depends on its HZ" for the
running value too, so a host (HZ 250 here) whose orphaned connections linger 46 days in FIN_WAIT_2
was not_reviewed against ``max_fin_timeout: 60`` instead of failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import SysctlFacts
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts
from tests.netns_env import named_namespace

REPO = Path(__file__).resolve().parents[2]
FIN = "net.ipv4.tcp_fin_timeout"
SUBJECT = f"sysctl {FIN}"

PROBE = """
import json
from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
facts, _ = collect_sysctl(CollectContext())
print(json.dumps(facts.model_dump(mode="json")))
"""


def judged(sysctl: SysctlFacts):
    [found] = [o for o in net_time_wait.run(snapshot(listeners=[], sysctl=sysctl, netns=None),
                                            TimeWaitParams(max_fin_timeout=60)) if o.subject == SUBJECT]
    return found


@pytest.mark.live
def test_a_value_this_kernel_holds_is_judged():
    with named_namespace() as name:
        subprocess.run(["ip", "netns", "exec", name, "sh", "-c", f"echo 4000000 > /proc/sys/{FIN.replace('.', '/')}"],
                       capture_output=True, timeout=10)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", PROBE], capture_output=True,
                              text=True, timeout=60, env=env, check=True)
    facts = SysctlFacts.model_validate(json.loads(done.stdout))
    if facts.runtime is None or facts.runtime[FIN].value != "4000000":
        pytest.skip("this kernel's HZ refuses 4,000,000 s (seconds x HZ beyond an int)")
    found = judged(facts)
    assert found.status == Status.FAIL  # was not_reviewed
    assert found.message == f"{FIN} = 4000000 s, above 60 s (it bounds FIN_WAIT_2, not TIME_WAIT, which stays 60 s)"


@pytest.mark.parametrize("value, status", [("21474836", Status.FAIL), ("-21474836", Status.PASS),
                                           ("21474837", Status.NOT_REVIEWED)])
def test_running_values_are_judged_up_to_what_some_hz_holds(value, status):
    # INT_MAX / 100: held at HZ 100; one more is held on no kernel, so a snapshot showing it was not printed by one
    assert judged(sysctl_facts({**LINUX_DEFAULT_SYSCTLS, FIN: value})).status == status
