"""Hostile corpus, false passes: a host listener on a published port is the proxy only when it is root's.

A host listener that serves a port published to a container (docker-proxy, dockerd, conmon) is
judged as the container's exposure, so an exception for the container decides it.  lbaudit took any
listener of the port's protocol and family for the proxy, whoever owned it.  With Docker's userland
proxy off (``--userland-proxy=false``: DNAT rules only) no process holds the published port on the
host, so any local user may bind it: ``0.0.0.0:8080``, or a dual-stack ``[::]:8080`` that takes
every IPv6 address (which no IPv4 DNAT rule forwards).  Such a listener was named "(publishes
container web)" and passed under the container's exception.  A port a DNAT rule of the host
forwards is a rootful engine's, whose proxy runs as root: a socket another user owns on it is now
judged as the host listener it is.  (A rootless engine writes no DNAT rule on the host, and its
forwarder, rootlessport, runs as its user: a port only the engine declares keeps any owner.)  The
live case binds the port as nobody in a network namespace of the test's own and judges what the
collector read there.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import ProcessInfo
from auditor.model.result import Status
from tests.collect.test_netns_parsers import _engine, _nat, _snap
from tests.factories import listener
from tests.privileges import CLONE_NEWNET, require_root, run_in_new_namespaces

WEB_IS_PUBLIC = BindAddressParams.model_validate({"exceptions": [
    {"match": {"container": "web", "ports": [8080]}, "allow": ["any"], "reason": "public web front end"}]})
NOBODY = 65534


def judged(published, *host_listeners):
    outcomes = net_bind_addresses.run(_snap(published, host_listeners=list(host_listeners)), WEB_IS_PUBLIC)
    return {o.subject: o.status for o in outcomes if o.subject.startswith(("tcp ", "published "))}


def users_listener(address: str, v6only: bool | None = None, uid: int | None = 1000, user: str | None = "mallory"):
    return listener(address, 8080, v6only=v6only, processes=[ProcessInfo(pid=666, name="nc", user=user)],
                    uid=uid, user=user)


def test_a_users_ipv4_wildcard_on_a_port_published_without_a_proxy_is_not_the_container():
    assert judged([_engine(), _nat()], users_listener("0.0.0.0")) == {
        "tcp 0.0.0.0:8080 nc pid 666": Status.FAIL,  # before: "... (publishes container web)", pass
        "published tcp 0.0.0.0:8080 -> container web:80": Status.PASS,  # the container's own exposure
    }


def test_a_users_dual_stack_wildcard_takes_every_ipv6_address_and_is_not_the_container():
    assert judged([_engine(), _nat()], users_listener("::", v6only=False)) == {
        "tcp [::]:8080 nc pid 666": Status.FAIL,  # before: pass under the container's exception
        "published tcp 0.0.0.0:8080 -> container web:80": Status.PASS,
    }


def test_an_owner_not_known_to_be_root_is_not_taken_for_the_proxy():
    # no socket owner from the kernel and a holder whose user is not known: not proven root's
    assert judged([_engine(), _nat()], users_listener("0.0.0.0", uid=None, user=None))[
        "tcp 0.0.0.0:8080 nc pid 666"] == Status.FAIL
    # no socket owner, but every holder is root's: the proxy
    root_held = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=5, name="docker-proxy", user="root")])
    assert judged([_engine(), _nat()], root_held) == {
        "tcp 0.0.0.0:8080 docker-proxy pid 5 (publishes container web)": Status.PASS}


def test_control_case_root_s_proxy_still_carries_the_container():
    proxy = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=5, name="docker-proxy", user="root")], uid=0, user="root")
    assert judged([_engine(), _nat()], proxy) == {
        "tcp 0.0.0.0:8080 docker-proxy pid 5 (publishes container web)": Status.PASS}


def test_control_case_a_rootless_engine_s_forwarder_runs_as_its_user():
    # no DNAT rule on the host: the engine alone declares the port, and rootlessport holds it as alice
    forwarder = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=7, name="rootlessport", user="alice")],
                         uid=1000, user="alice")
    assert judged([_engine()], forwarder) == {
        "tcp 0.0.0.0:8080 rootlessport pid 7 (publishes container web)": Status.PASS}


# Binds 0.0.0.0 as nobody (as with the userland proxy off, no proxy holds the port), prints the
# port, and holds it until stdin closes
BIND_AS_NOBODY = textwrap.dedent(f"""
    import os, socket, sys
    os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
    v4 = socket.socket(); v4.bind(("0.0.0.0", 0)); v4.listen()
    port = v4.getsockname()[1]
    print(port, flush=True)
    sys.stdin.read()
""")


@pytest.mark.live
def test_live_a_port_bound_by_nobody_is_judged_as_nobody_s():
    require_root()

    def scenario():
        from auditor.collect.live import collect_live

        holder = subprocess.Popen([sys.executable, "-c", BIND_AS_NOBODY], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None
            port = int(holder.stdout.readline())
            taken = collect_live(frozenset({"sockets"}))
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=10)
        assert taken.facts.sockets is not None and taken.facts.sockets.listeners is not None
        return port, [l for l in taken.facts.sockets.listeners if l.port == port]

    port, found = run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")
    [bound] = found
    assert (bound.address, bound.uid) == ("0.0.0.0", NOBODY)  # the kernel's socket owner
    params = BindAddressParams.model_validate({"exceptions": [
        {"match": {"container": "web", "ports": [port]}, "allow": ["any"], "reason": "public web front end"}]})
    outcomes = net_bind_addresses.run(_snap([_engine(port=port), _nat(port=port)], host_listeners=[bound]), params)
    statuses = {o.subject: o.status for o in outcomes if o.subject.startswith(("tcp ", "published "))}
    [host] = [subject for subject in statuses if subject.startswith(f"tcp 0.0.0.0:{port} ")]
    assert not host.endswith("(publishes container web)")  # before: named so, and passed
    assert statuses == {host: Status.FAIL, f"published tcp 0.0.0.0:{port} -> container web:80": Status.PASS}
