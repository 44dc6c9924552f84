"""Containers run with the host's network (``docker run --network host``): their listeners are the
host's, in the host's own namespace, beside every other process of the host.

An exception selecting such a container (``match: {container: web, ports: [8080]}``) matched every
listener of the host namespace on that port, because the selector asked "is a container named web
in the listener's namespace?": a host process (``nc -l 0.0.0.0 8080``) passed under the web
container's exception.  In the host's namespace a container selector now matches the container
whose process holds the listener; a listener of another process fails on the default rule."""

from __future__ import annotations

import socket
import time

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import NamespaceFacts, NetNamespace, ProcessInfo, Workload
from auditor.model.result import Status
from tests.factories import listener, snapshot

WEB = Workload(runtime="docker", id="a" * 64, name="web", image="nginx", pids=[500, 501],
               source="cgroup + docker engine API")


def _params(*ports: int, container: str = "web") -> BindAddressParams:
    return BindAddressParams.model_validate({"allow": ["loopback"], "exceptions": [
        {"match": {"container": container, "ports": list(ports)}, "allow": ["any"], "reason": "host-network web"}]})


def _statuses(listeners, params) -> dict[str, Status]:
    host = NetNamespace(inode=4026531840, device=4, current=True, pids=[1, 500, 501, 900], workloads=[WEB])
    snap = snapshot(listeners=listeners, netns=NamespaceFacts(namespaces=[host], published=[], published_sources=["nat"]))
    return {o.subject: o.status for o in net_bind_addresses.run(snap, params) if ":8080" in o.subject}


def test_a_host_process_on_the_port_of_a_host_network_containers_exception_fails():
    rogue = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=900, name="nc")])
    assert _statuses([rogue], _params(8080)) == {"tcp 0.0.0.0:8080 nc pid 900": Status.FAIL}


def test_the_host_network_containers_own_listener_passes_under_its_exception():
    own = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=501, name="nginx")])
    assert _statuses([own], _params(8080)) == {"tcp 0.0.0.0:8080 nginx pid 501": Status.PASS}


def test_a_listener_the_container_holds_with_a_host_process_is_judged_for_the_host_process_too():
    # each holder can accept on a shared socket, so it is judged for each (as a process selector
    # is: tests/hostile/test_listeners_holders.py); the host process is in no container, and the
    # default refuses it (this test passed it once: tests/hostile/test_bindclass18_shared_namespace_containers.py)
    shared = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=501, name="nginx"), ProcessInfo(pid=900, name="nc")])
    assert list(_statuses([shared], _params(8080)).values()) == [Status.FAIL]


def test_a_listener_whose_holder_is_unknown_is_not_passed_by_a_container_exception():
    unknown = listener("0.0.0.0", 8080, processes=[])
    assert list(_statuses([unknown], _params(8080)).values()) == [Status.FAIL]


# ---------------------------------------------------------------- with a real dockerd


@pytest.fixture(scope="module")
def docker(tmp_path_factory):
    from tests.docker_env import dockerd

    with dockerd(tmp_path_factory.mktemp("dockerd"), userland_proxy=True) as daemon:
        yield daemon


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.live
@pytest.mark.docker
def test_a_host_network_container_and_a_host_process_with_a_real_dockerd(docker, monkeypatch):
    from tests.collect.test_netns_live import live_snapshot
    from tests.docker_env import IMAGE

    container_port, host_port = _free_port(), _free_port()
    name = f"lbt-hostnet-{container_port}"
    docker.run("run", "-d", "--name", name, "--network", "host", IMAGE,
               "/bin/busybox", "httpd", "-f", "-p", f"0.0.0.0:{container_port}")
    host_listener = socket.socket()
    try:
        host_listener.bind(("0.0.0.0", host_port))
        host_listener.listen()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # httpd binds after the container starts
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", container_port)) == 0:
                    break
            time.sleep(0.1)
        monkeypatch.setenv("DOCKER_HOST", docker.host)
        snap = live_snapshot()
    finally:
        host_listener.close()
        docker.run("rm", "-f", name)
    [host] = [ns for ns in snap.facts.netns.namespaces if ns.current]
    assert name in [w.name for w in host.workloads]  # the container is in the host's namespace
    outcomes = net_bind_addresses.run(snap, _params(container_port, host_port, container=name))
    by_port = {port: [o.status for o in outcomes if o.subject.startswith(f"tcp 0.0.0.0:{port} ")]
               for port in (container_port, host_port)}
    assert by_port == {container_port: [Status.PASS], host_port: [Status.FAIL]}
