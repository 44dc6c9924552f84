"""Hostile corpus, false passes: a host listener is a published port's proxy only in its family.

A host listener that serves a port published to a container (docker-proxy, dockerd, rootlessport)
is judged as the container's exposure, so an exception for the container decides it.  lbaudit took
*any* wildcard listener on the port for the proxy, of either family.  But with the proxy on
0.0.0.0:8080 (``-p 0.0.0.0:8080:80``), any local user may bind [::]:8080 with IPV6_V6ONLY (the two do
not conflict; proven on the running kernel below): that listener, open on every IPv6 address, was
named "(publishes container web)" and passed under the container's exception.
"""

from __future__ import annotations

import subprocess
import sys

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import ProcessInfo
from auditor.model.result import Status
from tests.collect.test_netns_parsers import _engine, _nat, _snap
from tests.factories import listener
from tests.netns_env import require_namespaces

WEB_IS_PUBLIC = BindAddressParams.model_validate({"exceptions": [
    {"match": {"container": "web", "ports": [8080]}, "allow": ["any"], "reason": "public web front end"}]})


def judged(published, *host_listeners):
    outcomes = net_bind_addresses.run(_snap(published, host_listeners=list(host_listeners)), WEB_IS_PUBLIC)
    return {o.subject: o.status for o in outcomes if o.subject.startswith(("tcp ", "published "))}


def proxy(address: str = "0.0.0.0", v6only: bool | None = None):
    return listener(address, 8080, v6only=v6only, processes=[ProcessInfo(pid=5, name="docker-proxy")], uid=0)


def intruder(address: str = "::", v6only: bool | None = True):
    return listener(address, 8080, v6only=v6only, processes=[ProcessInfo(pid=666, name="nc", user="mallory")],
                    uid=1000, user="mallory")


def test_an_ipv6_only_wildcard_beside_the_ipv4_proxy_is_not_the_container():
    statuses = judged([_engine(), _nat()], proxy(), intruder())
    assert statuses == {
        "tcp 0.0.0.0:8080 docker-proxy pid 5 (publishes container web)": Status.PASS,
        "tcp [::]:8080 nc pid 666": Status.FAIL,
    }


def test_an_ipv4_wildcard_is_not_the_proxy_of_a_port_published_on_ipv6():
    statuses = judged([_engine("::"), _nat("::")], proxy("::", v6only=True), intruder("0.0.0.0", None))
    assert statuses == {
        "tcp [::]:8080 docker-proxy pid 5 (publishes container web)": Status.PASS,
        "tcp 0.0.0.0:8080 nc pid 666": Status.FAIL,
    }


def test_control_cases_a_proxy_of_the_published_family_carries_the_container():
    # a dual-stack [::] proxy takes IPv4 too: it serves the 0.0.0.0 publish
    assert judged([_engine(), _nat()], proxy("::", v6only=False)) == {
        "tcp [::]:8080 docker-proxy pid 5 (publishes container web)": Status.PASS}
    # v6only unknown is judged as dual-stack, as everywhere
    assert judged([_engine(), _nat()], proxy("::", v6only=None)) == {
        "tcp [::]:8080 docker-proxy pid 5 (publishes container web)": Status.PASS}
    # no host listener at all (DNAT only): the published port is judged on its own
    assert judged([_engine(), _nat()]) == {"published tcp 0.0.0.0:8080 -> container web:80": Status.PASS}


COEXIST = """
import socket
v4 = socket.socket(socket.AF_INET); v4.bind(("0.0.0.0", 0)); v4.listen(1)
port = v4.getsockname()[1]
v6 = socket.socket(socket.AF_INET6); v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
v6.bind(("::", port)); v6.listen(1)
dual = socket.socket(socket.AF_INET6); dual.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
try:
    dual.bind(("::", port)); print("dual-stack bound")
except OSError as exc:
    print("both bound; dual-stack refused:", exc.errno)
"""


def test_the_kernel_lets_an_ipv6_only_wildcard_bind_beside_an_ipv4_one():
    """In a network namespace of its own (unshare --net): no address of this host is bound."""
    require_namespaces()
    done = subprocess.run(["unshare", "--net", "--", sys.executable, "-c", COEXIST], capture_output=True, text=True,
                          timeout=30, check=True)
    assert done.stdout.strip() == "both bound; dual-stack refused: 98"  # EADDRINUSE: only the v6-only one fits
