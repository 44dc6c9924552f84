"""Hostile corpus, false passes: a listener on 127.0.0.0/8 where the interfaces could not be read.

route_localnet (net.ipv4.conf.all or .IFACE) makes the kernel deliver 127.0.0.0/8 from a link, so
a listener on 127.0.0.1 is loopback-only only while no interface of its namespace has it on; a
setting that could not be read makes such a listener not_reviewed.  When the rtnetlink dump of a
namespace's interfaces failed (the collector writes interfaces: null and a gap at
namespaces/N/interfaces), no interface's setting was read either, but lbaudit judged the listener
as on the host with nothing to add, and passed it: for another namespace ("the interfaces of netns
N could not be read: judged as if on the host", then allowed as loopback) and for the host's own.
Now it is not_reviewed and says why; ::1, which no setting delivers from a link, still passes.
"""

from __future__ import annotations

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import Gap, NamespaceFacts, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_falsepass_netns_weak_host import HOST_INODE, LO, container, judged, web

UNKNOWN = ("the interfaces of its namespace could not be read, so whether one delivers 127.0.0.0/8 from its "
           "link (route_localnet) is not known")


def test_a_namespace_whose_interfaces_could_not_be_read_leaves_127_listeners_not_reviewed():
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "127.0.0.53"):
        [outcome] = judged(container(web(address), interfaces=None), allow=["loopback"])
        assert outcome.status == Status.NOT_REVIEWED, address
        assert outcome.reason == UNKNOWN
        assert outcome.observed["route_localnet"] == {  # type: ignore[index]
            "through": [], "reachable_as": [], "unknown": ["its interfaces (they could not be read)"]}
    # ::1 is dropped from any other interface whatever the settings: still a pass
    [six] = judged(container(web("::1"), interfaces=None), allow=["loopback"])
    assert six.status == Status.PASS
    # the interfaces read (lo only): a pass, as before
    [read] = judged(container(web("127.0.0.1"), interfaces=[LO]), allow=["loopback"])
    assert read.status == Status.PASS


def test_the_hosts_own_interfaces_not_read_leave_127_listeners_not_reviewed():
    def host_judged(interfaces):
        current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=interfaces)
        gaps = [] if interfaces is not None else [
            Gap(section="netns", path=("namespaces", 0, "interfaces"), reason="rtnetlink dump failed: [Errno 105]")]
        snap = snapshot(listeners=[web("127.0.0.1")], gaps=gaps,
                        netns=NamespaceFacts(namespaces=[current], published=[], published_sources=["nat"]))
        [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate({"allow": ["loopback"]}))
                     if o.subject.startswith("tcp 127.0.0.1:8080")]
        return outcome

    unread = host_judged(None)
    assert unread.status == Status.NOT_REVIEWED
    assert unread.reason == UNKNOWN
    assert host_judged([LO]).status == Status.PASS
