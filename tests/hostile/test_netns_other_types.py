"""Hostile namespace discovery: a name under /run/netns that is a namespace of another type.

``ip netns`` lists every file under /run/netns as a network namespace name.  A uts, ipc or cgroup
namespace bound there (or a name whose network namespace was replaced by another type) was skipped
silently: the set of audited namespaces shrank and net.bind_addresses (scope every_namespace)
passed with nothing said.  It is now a discovery gap naming the type, so the discovery finding is
not_reviewed.  A plain file there was a gap already (test_netns.py); both are checked here on a
private directory, so that the host's /run/netns is not touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.netns import discover
from auditor.model.facts import Facts, HostSnapshot, NamespaceFacts, SocketFacts
from auditor.model.result import Status
from tests.factories import provenance


def _discover_with_bound(tmp_path: Path, name: str, proc_file: str) -> tuple[Path, dict, list]:
    """Discovery with ``proc_file`` (a namespace file) bind-mounted as ``name`` in a private
    /run/netns: the bound path, the namespaces found and the gaps."""
    run_netns = tmp_path / "netns"
    run_netns.mkdir()
    bound = run_netns / name
    bound.touch()
    mounted = subprocess.run(["mount", "--bind", proc_file, str(bound)], capture_output=True, text=True, timeout=10)
    try:
        if mounted.returncode != 0:
            pytest.skip(f"cannot bind-mount a namespace file here: {mounted.stderr.strip()}")
        found, _current, gaps = discover("/proc", run_netns=str(run_netns))
    finally:
        subprocess.run(["umount", str(bound)], capture_output=True, timeout=10)
    return bound, found, gaps


@pytest.mark.live
@pytest.mark.parametrize("kind, proc_file", [("uts", "/proc/self/ns/uts"), ("cgroup", "/proc/self/ns/cgroup"),
                                             ("ipc", "/proc/self/ns/ipc")])
def test_a_namespace_of_another_type_under_run_netns_is_a_gap(tmp_path, kind, proc_file):
    bound, found, gaps = _discover_with_bound(tmp_path, "blue", proc_file)
    assert not [entry for entry in found.values() if "blue" in entry.names]
    [gap] = [g for g in gaps if str(bound) in g.reason]  # was: no gap at all
    assert gap.path == ("namespaces",)
    assert gap.reason == (f"{bound}: a {kind} namespace, not a network namespace: the network namespace named "
                          "'blue' is not seen")
    snap = HostSnapshot(provenance=provenance(), gaps=[gap],
                        facts=Facts(sockets=SocketFacts(listeners=[]), netns=NamespaceFacts(namespaces=[])))
    discovery = [o for o in net_bind_addresses.run(snap, BindAddressParams(scope="every_namespace"))
                 if o.subject.endswith("(discovery)")]
    assert [o.status for o in discovery] == [Status.NOT_REVIEWED]


@pytest.mark.live
def test_control_case_a_network_namespace_under_run_netns_is_found(tmp_path):
    bound, found, gaps = _discover_with_bound(tmp_path, "green", "/proc/self/ns/net")
    assert [entry for entry in found.values() if "green" in entry.names]
    assert not [g for g in gaps if str(bound) in g.reason]
