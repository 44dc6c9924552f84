"""A host listener on every address is not the proxy of a port published on one address.

A userland proxy binds the address the port is published on: docker-proxy ``-host-ip
127.0.0.1``, Podman's conmon and rootlessport likewise.  lbaudit took any root listener of the
port on a wildcard of the published address's family for the proxy: with Docker's userland proxy
off (DNAT rules only) nothing holds 127.0.0.1:8080, so a root daemon of the host may listen on
0.0.0.0:8080, and it was named "(publishes container web)" and judged under the container's
exception, which allows the container anywhere: every address of the host passed as the
container's.  A wildcard listener now serves only a port published on every address of its family.
"""

from __future__ import annotations

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import LoopbackDrop, ProcessInfo
from auditor.model.result import Status
from tests.collect.test_netns_parsers import _engine, _nat, _snap
from tests.factories import listener

WEB_IS_PUBLIC = BindAddressParams.model_validate({"exceptions": [
    {"match": {"container": "web", "ports": [8080]}, "allow": ["any"], "reason": "public web front end"}]})


# Docker 28's raw-table drop: no link reaches the loopback DNAT (tests/hostile/test_falsepass_published_loopback.py)
CLOSED = [LoopbackDrop(origin="iptables-save:5 (table raw)", destination="127.0.0.1/32", protocol="tcp", port=8080,
                       port_end=8080)]


def judged(published, *host_listeners):
    outcomes = net_bind_addresses.run(_snap(published, host_listeners=list(host_listeners), loopback_drops=CLOSED),
                                      WEB_IS_PUBLIC)
    return {o.subject: o.status for o in outcomes if o.subject.startswith(("tcp ", "published "))}


def roots(address: str, name: str = "nginx", v6only: bool | None = None):
    return listener(address, 8080, v6only=v6only, processes=[ProcessInfo(pid=99, name=name, user="root")],
                    uid=0, user="root")


def test_a_root_wildcard_listener_beside_a_loopback_publish_is_the_hosts_own():
    assert judged([_engine("127.0.0.1"), _nat("127.0.0.1")], roots("0.0.0.0")) == {
        "tcp 0.0.0.0:8080 nginx pid 99": Status.FAIL,  # before: "(publishes container web)", pass
        "published tcp 127.0.0.1:8080 -> container web:80": Status.PASS,
    }


def test_a_root_dual_stack_listener_beside_an_address_publish_is_the_hosts_own():
    assert judged([_engine("10.0.0.5"), _nat("10.0.0.5")], roots("::", v6only=False)) == {
        "tcp [::]:8080 nginx pid 99": Status.FAIL,
        "published tcp 10.0.0.5:8080 -> container web:80": Status.PASS,
    }


def test_control_case_the_proxy_on_the_published_address_carries_the_container():
    # (not_reviewed: the fixture's namespace has no interfaces, so route_localnet is not known)
    assert judged([_engine("127.0.0.1"), _nat("127.0.0.1")], roots("127.0.0.1", "docker-proxy")) == {
        "tcp 127.0.0.1:8080 docker-proxy pid 99 (publishes container web)": Status.NOT_REVIEWED}
    assert judged([_engine(), _nat()], roots("0.0.0.0", "docker-proxy")) == {
        "tcp 0.0.0.0:8080 docker-proxy pid 99 (publishes container web)": Status.PASS}
