"""Hostile corpus, false passes: a container's listener closed and reopened while lbaudit reads it.

Another namespace's listeners are read by a child that enters it; their owners are looked up
afterwards, from the host's ``/proc``.  A service in the namespace that closes its listener on
127.0.0.1:P and opens 0.0.0.0:P in between left the old listener in the list (no holder: "owner
unknown", a pass) and the new one nowhere.  Now each entered namespace's listeners are read again
after the owner scan; a list that changed is an unreadable Gap on that namespace's listeners, so
its rule is ``not_reviewed`` rather than judged on a list that is not whole.

The reads are lbaudit's own (its child entering a namespace the test made); the service swaps
its listener between the first read and the second, as a restart at that moment would.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.netns import enter_all, identities_changed
from auditor.model.facts import Gap, NamespaceFacts, NetNamespace
from tests.factories import snapshot
from tests.hostile.test_listeners_race import SWAPPER
from tests.netns_env import named_namespace


@pytest.mark.live
def test_a_namespace_whose_listener_is_reopened_during_the_owner_scan_is_not_reviewed():
    with named_namespace() as name:
        swapper = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", SWAPPER],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert swapper.stdin is not None and swapper.stdout is not None
        fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            port = int(swapper.stdout.readline())
            first = enter_all([(0, fd)], 10.0)[0]
            unchanged = identities_changed(first["listeners"], enter_all([(0, fd)], 10.0, identities_only=True)[0])
            swapper.stdin.write("swap\n")
            swapper.stdin.flush()
            assert swapper.stdout.readline() == "swapped\n"
            changed = identities_changed(first["listeners"], enter_all([(0, fd)], 10.0, identities_only=True)[0])
        finally:
            os.close(fd)
            swapper.stdin.close()
            swapper.wait(timeout=10)
    assert [(item["address"], item["port"]) for item in first["listeners"]] == [("127.0.0.1", port)]
    assert unchanged is None  # the control: read twice, nothing changed
    assert changed == ("its listeners changed while their owners were looked up (1 opened and 1 closed): "
                       "the list read is not known to be whole")
    # the namespace's rule: not reviewed, never "no listener found" or a pass on the old list alone
    inner = NetNamespace.model_validate({"inode": 4026532999, "device": 4, "names": [name], "entered": True,
                                         "listeners": first["listeners"], "counts": None, "sysctl": {}})
    current = NetNamespace(inode=4026531840, device=4, current=True)
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]),
                    gaps=[Gap(section="netns", path=("namespaces", 1, "listeners"), reason=f"network namespace: {changed}")])
    found = {o.subject: o.status.value for o in net_bind_addresses.run(snap, BindAddressParams())
             if o.subject.endswith(f"in netns {name}")}
    assert found[f"listeners (collection) in netns {name}"] == "not_reviewed"
