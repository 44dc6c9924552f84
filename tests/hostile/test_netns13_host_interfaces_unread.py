"""Hostile corpus, false passes: a veth into the host whose interfaces could not be read.

A veth into the host keeps a namespace's listener inside only when its end there is routed (not a
port of a bridge onto a link beyond) and the host does not forward.  With the host's interfaces
unread (its rtnetlink dump failed: interfaces null and a gap), neither is known, but the veth was
taken for a routed one and the listener passed as "reachable only inside".  It is now judged as
reaching beyond, naming why.  (The collector pairs a veth with the host by the id of the host's
namespace, IFLA_LINK_NETNSID, which it knows without the host's interface list.)
"""

from __future__ import annotations

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import Gap, NamespaceFacts, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_falsepass_netns_weak_host import HOST_INODE, INNER, INTO_HOST, LO, container, web


def _judged(host_interfaces, **params):
    host = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=host_interfaces, local_routes=[])
    gaps = [] if host_interfaces is not None else [
        Gap(section="netns", path=("namespaces", 0, "interfaces"), reason="rtnetlink dump failed: [Errno 105]")]
    snap = snapshot(listeners=[], gaps=gaps, netns=NamespaceFacts(
        namespaces=[host, container(web("0.0.0.0"), interfaces=[LO, INTO_HOST])], published=[],
        published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.endswith(f"in netns net:[{INNER}]")]


def test_a_veth_into_a_host_whose_interfaces_are_unread_is_judged_as_reaching_beyond():
    [outcome] = _judged(None, allow=["loopback"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["172.17.0.2"]  # type: ignore[index]
    assert ("eth0 (veth into the host, whose interfaces could not be read: whether its end there is bridged onto a "
            "link beyond is not known, judged as reaching beyond)") in outcome.message
    # allowed at its addresses: a pass
    [allowed] = _judged(None, allow=["loopback", "private"])
    assert allowed.status == Status.PASS


def test_control_the_host_read_routing_the_veth_keeps_it_inside():
    [outcome] = _judged([LO], allow=["loopback"])
    assert outcome.status == Status.PASS
    assert outcome.observed["exposure"]["addresses"] == []  # type: ignore[index]
