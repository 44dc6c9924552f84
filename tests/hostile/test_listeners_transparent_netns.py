"""Hostile corpus, false passes: a transparent 127.0.0.1 listener in another namespace with a link out.

A transparent socket (IP_TRANSPARENT) takes what a TPROXY rule hands it, for any destination
address: bound to 127.0.0.1, it is reached by whatever the namespace's links deliver.  On the host
lbaudit judges it at every address of its family.  In another namespace, though, its exposure was
worked out from its own address first: none of the namespace's addresses is 127.0.0.1, so it was
"reachable only inside namespace N (outward interfaces ... deliver none of the addresses it
accepts)", a pass, while the message itself said TPROXY rules could hand it every IPv4 address.

Now a transparent TCP, UDP or MPTCP listener of a namespace with an outward link is judged at the
wildcard of its family, as on the host; one whose namespace the host only forwards to is
not_reviewed unless that wildcard is allowed; one with no way in from beyond still passes.

``test_a_link_reaches_the_transparent_listener_of_another_namespace_and_lbaudit_fails_it`` proves it
on the running kernel: the server namespace's veth to a peer namespace (a link out), a TPROXY rule
there, the peer served by the 127.0.0.1 listener, and lbaudit run in a third namespace standing for
the host.
"""

from __future__ import annotations

import json
import shutil

import pytest

from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import INTO_HOST, LO, MACVLAN, container, judged, web
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.hostile.test_listeners_transparent import CONNECT, PORT, TPROXY_RULES, _start
from tests.netns_env import ip, join_by_veth, require_namespaces, route_tproxy, unique_name


def transparent(address: str = "127.0.0.1", transparent: bool | None = True):
    return web(address).model_copy(update={"transparent": transparent})


# before: pass, "reachable only inside namespace net:[4026532300] (outward interfaces out0 (macvlan
# macvlan) deliver none of the addresses it accepts)"
def test_a_transparent_loopback_listener_of_a_namespace_with_a_link_out_fails():
    [outcome] = judged(container(transparent(), interfaces=[LO, INTO_HOST, MACVLAN]))
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"] == {  # type: ignore[index]
        "addresses": None, "note": "reachable from beyond the host through out0; transparent, so at any address it is routed"}
    assert outcome.observed["accepts_networks"] == ["0.0.0.0/0"]  # type: ignore[index]


def test_one_whose_transparency_is_unknown_beside_tproxy_rules_is_not_reviewed():
    from auditor.model.facts import TproxyRule

    inner = container(transparent(transparent=None), interfaces=[LO, INTO_HOST, MACVLAN]).model_copy(
        update={"tproxy": [TproxyRule(origin="nft: table ip lbt chain pre", family="ipv4", protocol="tcp", port=8080)]})
    [outcome] = judged(inner)
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith("whether it is transparent (IP_TRANSPARENT) is unknown")


def test_control_case_no_way_in_from_beyond_still_passes():
    # loopback and a veth into a host that forwards nothing from its links
    [outcome] = judged(container(transparent(), interfaces=[LO, INTO_HOST]))
    assert outcome.status == Status.PASS
    # not transparent: 127.0.0.1 is what it accepts, and no link delivers it
    [plain] = judged(container(transparent(transparent=False), interfaces=[LO, INTO_HOST, MACVLAN]))
    assert plain.status == Status.PASS


# Run in the namespace standing for the host: the collector (with every namespace) and the check,
# printing the status and exposure of each finding about the listener on PORT in another namespace.
JUDGE = f"""
import json
from auditor.collect.live import collect_live
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
snapshot = collect_live(frozenset({{"sockets", "netns"}}))
found = [o for o in net_bind_addresses.run(snapshot, BindAddressParams())
         if o.subject_detail.get("port") == {PORT} and " in netns " in o.subject]
print(json.dumps([(o.subject, o.status.value, (o.observed or {{}}).get("exposure")) for o in found]))
"""


@pytest.mark.live
@pytest.mark.slow  # three namespaces and child interpreters, about 3 s
def test_a_link_reaches_the_transparent_listener_of_another_namespace_and_lbaudit_fails_it():
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables; scripts/bootstrap --test installs it)")
    host_ns, server_ns, peer_ns = unique_name("lbth"), unique_name("lbts"), unique_name("lbtp")
    for name in (host_ns, server_ns, peer_ns):
        ip("netns", "add", name)
    serving = None
    try:
        ip("-n", host_ns, "link", "set", "lo", "up")
        join_by_veth(server_ns, peer_ns, "10.196.0", "lbtv")  # the server's link out: a veth to another namespace
        route_tproxy(server_ns, TPROXY_RULES)
        serving = _start(server_ns, 1)
        reached = _in(peer_ns, CONNECT, "10.196.0.1", str(PORT))
        found = json.loads(_in(host_ns, JUDGE))
        assert reached == "served"  # the peer reaches the 127.0.0.1 listener through the TPROXY rule
        [(subject, status, exposure)] = [item for item in found if item[0].endswith(f"in netns {server_ns}")]
        assert subject.startswith(f"tcp 127.0.0.1:{PORT} python")
        assert (status, exposure["addresses"]) == ("fail", None)  # before: pass, "reachable only inside"
        assert exposure["note"].startswith("reachable from beyond the host through lbtv")
    finally:
        _stop(serving, server_ns, peer_ns, host_ns)


def test_a_transparent_listener_behind_a_veth_the_host_forwards_to_is_not_reviewed():
    from tests.hostile.test_listeners_forwarded_veth import judged as forwarded
    from tests.hostile.test_listeners_forwarded_veth import nic

    [outcome] = forwarded(nic(True), transparent())
    assert outcome.status == Status.NOT_REVIEWED  # before: pass (127.0.0.1 is none of the namespace's addresses)
    assert outcome.reason == (
        "the host forwards IPv4 arriving on enp1s0 (net.ipv4.conf.enp1s0.forwarding=1) to eth0 (veth into the host): "
        "a neighbour that routes any address through the host to it reaches it (transparent) unless the host's "
        "firewall drops what it forwards there, and lbaudit does not read the FORWARD rules")
    assert outcome.observed["exposure"]["if_forwarded"] == ["0.0.0.0"]  # type: ignore[index]
    [quiet] = forwarded(nic(False), transparent())
    assert quiet.status == Status.PASS
