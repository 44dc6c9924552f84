"""Hostile judging, false passes: route_localnet on a VRF's member, and a listener bound to the VRF.

A VRF (``ip link add vrf-blue type vrf table 10``) is an L3 master: its members (``ip link set
eth1 master vrf-blue``) are where packets come in, and IP input happens with the member as the
input device: ip_rcv_finish hands the packet to the VRF (l3mdev_ip_rcv) and then routes it with the
member (ip_route_input_noref(..., dev)), whose route_localnet (or ``all``'s) decides whether 127.0.0.0/8
from its link is a martian; the socket lookup compares a socket's SO_BINDTODEVICE with the VRF
(dif) or the member (sdif), so a listener bound to the VRF takes what its members bring.  A bridge
port or bond slave is different: its master takes the frame and IP input happens there.

lbaudit took every enslaved interface for a bridge port: a member of vrf-blue with route_localnet=1
was left out, and a listener on 127.0.0.1 bound to vrf-blue (its interfaces filtered by name to
the VRF device alone) or unbound passed under ``allow: [loopback]`` though a neighbour on eth1's
link reaches it.  Now a VRF member is judged as any interface IP input happens on, and a listener
bound to a device is judged through every interface that delivers to it (the device and its
members), as its exposure in another namespace already was.

The kernel this suite was written on has no VRF (``ip link add ... type vrf``: Unknown device
type), so these are judged from snapshots with the interfaces rtnetlink reports for a VRF (its
IFLA_INFO_KIND "vrf", the member's IFLA_MASTER).
"""

from __future__ import annotations

from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_judging_route_localnet import ETH0, HOST_INODE, LO, redis, statuses

VRF = NetInterface(name="vrf-blue", index=7, kind="other", link_kind="vrf", up=True, addresses=["127.0.0.1/8"],
                   route_localnet=False)
MEMBER = NetInterface(name="eth1", index=8, kind="physical", up=True, master="vrf-blue", addresses=["10.0.1.5/24"],
                      route_localnet=True)
BRIDGE = NetInterface(name="br0", index=9, kind="bridge", up=True, addresses=["10.0.2.1/24"], route_localnet=False)
PORT = NetInterface(name="eth2", index=10, kind="physical", up=True, master="br0", route_localnet=True)


def _host(*interfaces: NetInterface, bound_to: str | None = None, hooks_read: bool = False):
    links = [ETH0, *interfaces]
    if hooks_read:  # the links' ingress hooks read, and none: one may put their packets on lo
        links = [link.model_copy(update={"ingress_hooks": []}) for link in links]
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, *links])
    listener = redis().model_copy(update={"interface": bound_to})
    return snapshot(listeners=[listener], netns=NamespaceFacts(namespaces=[current], published=[],
                                                               published_sources=["nat"]))


SUBJECT = "tcp 127.0.0.1:6379 redis-server pid 4242"


def test_a_loopback_listener_bound_to_a_vrf_whose_member_has_route_localnet_fails():
    # before: pass (its interfaces filtered to vrf-blue alone, route_localnet 0)
    assert statuses(_host(VRF, MEMBER, bound_to="vrf-blue"))[SUBJECT] == Status.FAIL


def test_a_vrf_member_with_route_localnet_is_an_interface_ip_input_happens_on():
    # before: pass (eth1 has a master, so was taken for a bridge port); an unbound listener gets
    # what the VRF's members bring when net.ipv4.tcp_l3mdev_accept is 1, which is not read
    assert statuses(_host(VRF, MEMBER))[SUBJECT] == Status.FAIL
    assert statuses(_host(VRF, MEMBER), allow=["loopback", "10.0.1.0/24"])[SUBJECT] == Status.PASS


def test_control_cases_a_bridge_port_and_a_member_with_route_localnet_off():
    # the bridge takes its port's frames: br0's route_localnet (0) decides, as before
    assert statuses(_host(BRIDGE, PORT))[SUBJECT] == Status.PASS
    assert statuses(_host(BRIDGE, PORT, bound_to="br0"))[SUBJECT] == Status.PASS
    quiet = MEMBER.model_copy(update={"route_localnet": False})
    assert statuses(_host(VRF, quiet, bound_to="vrf-blue"))[SUBJECT] == Status.PASS
    # bound to lo: nothing from a link arrives on it
    assert statuses(_host(VRF, MEMBER, bound_to="lo", hooks_read=True))[SUBJECT] == Status.PASS
