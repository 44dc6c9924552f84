"""Hostile cases for network namespaces: what cannot be found, opened or entered is a gap and a
not_reviewed finding, never a silent pass; a snapshot with a malformed netns section is exit 2."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect import CollectContext
from auditor.collect.netns import RUN_NETNS, collect_netns, enter_all
from auditor.model.facts import Facts, HostSnapshot, SocketFacts
from auditor.model.result import Status
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, provenance, snapshot
from tests.netns_env import listeners_in, named_namespace, require_namespaces, unique_name

pytestmark = pytest.mark.xdist_group(name="host")  # named namespaces, /run/netns: with the live tests (tests/conftest.py)


def _bind_outcomes(netns, gaps):
    snap = HostSnapshot(provenance=provenance(), facts=Facts(sockets=SocketFacts(listeners=[]), netns=netns), gaps=gaps)
    return net_bind_addresses.run(snap, BindAddressParams(scope="every_namespace"))


@pytest.mark.live
def test_a_file_under_run_netns_that_is_no_namespace_is_a_discovery_gap():
    require_namespaces()
    os.makedirs(RUN_NETNS, exist_ok=True)
    bogus = Path(RUN_NETNS) / unique_name("lbbogus")
    bogus.write_text("not a namespace")
    try:
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    finally:
        bogus.unlink()
    [gap] = [g for g in gaps if str(bogus) in g.reason]
    assert gap.path == ("namespaces",) and "Inappropriate ioctl" in gap.reason
    discovery = [o for o in _bind_outcomes(netns, gaps) if o.subject.endswith("(discovery)")]
    assert [o.status for o in discovery] == [Status.NOT_REVIEWED]


@pytest.mark.live
def test_a_namespace_of_another_type_bound_under_run_netns_is_not_taken_for_a_network_one():
    require_namespaces()
    os.makedirs(RUN_NETNS, exist_ok=True)
    uts = Path(RUN_NETNS) / unique_name("lbuts")
    uts.touch()
    mounted = subprocess.run(["mount", "--bind", "/proc/self/ns/uts", str(uts)], capture_output=True, text=True, timeout=10)
    try:
        if mounted.returncode != 0:
            pytest.skip(f"cannot bind-mount a namespace file here: {mounted.stderr.strip()}")
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    finally:
        subprocess.run(["umount", str(uts)], capture_output=True, timeout=10)
        uts.unlink()
    assert netns is not None
    assert not [ns for ns in netns.namespaces if uts.name in ns.names]
    # fail closed (tests/hostile/test_netns_other_types.py): the name is reported, not dropped unsaid
    [gap] = [g for g in gaps if str(uts) in g.reason]
    assert "a uts namespace, not a network namespace" in gap.reason


@pytest.mark.live  # enter_all reads /proc/net/protocols once before forking
def test_setns_on_something_that_is_not_a_namespace_is_reported_not_raised():
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        results = enter_all([(3, fd)], timeout=10)
    finally:
        os.close(fd)
    assert results == {3: {"index": 3, "entered": False, "error": "OSError: [Errno 22] Invalid argument"}}


@pytest.mark.live
def test_a_child_out_of_time_leaves_each_namespace_it_did_not_reach_a_gap():
    with named_namespace() as name, listeners_in(name, "tcp:0.0.0.0"):
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"}), command_timeout=1e-6))
    assert netns is not None
    [(index, ns)] = [(i, ns) for i, ns in enumerate(netns.namespaces) if name in ns.names]
    assert not ns.entered and ns.listeners is None
    [gap] = [g for g in gaps if g.path == ("namespaces", index)]
    assert gap.reason.endswith("the child that enters namespaces ended before reaching it (timeout or crash)")
    mine = [o for o in _bind_outcomes(netns, gaps) if o.subject.endswith(f"in netns {name}")]
    assert [(o.subject, o.status) for o in mine] == [(f"listeners in netns {name}", Status.NOT_REVIEWED)]


@pytest.mark.parametrize("path, value", [
    (("netns", "namespaces", 0, "interfaces", 0, "kind"), "wormhole"),
    (("netns", "namespaces", 0, "inode"), -1),
    (("netns", "namespaces", 0, "listeners", 0, "address"), "0.0.0.0.0"),
    (("netns", "namespaces", 0, "unexpected"), 1),
])
def test_a_snapshot_with_a_malformed_netns_section_is_exit_2_naming_the_field(tmp_path, path, value):
    from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace

    ns = NetNamespace(inode=4026532300, device=4, entered=True, listeners=[listener("0.0.0.0", 80)],
                      interfaces=[NetInterface(name="lo", index=1, kind="loopback")])
    good = tmp_path / "good.json"
    write_snapshot(snapshot(listeners=[], netns=NamespaceFacts(namespaces=[ns])), good)
    document = json.loads(good.read_text())
    node = document["facts"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    policy = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "good" / "base.yaml"
    result = run_cli("evaluate", "--policy", policy, "--target", f"snapshot:{bad}", "-o", tmp_path / "ev.json")
    assert result.returncode == 2, result.stderr
    assert "netns" in result.stderr and str(path[-1]) in result.stderr
    assert not (tmp_path / "ev.json").exists()
