"""Containers and published ports with a real dockerd (tests/docker_env.py), with and without
its userland proxy: a port published on the wildcard fails net.bind_addresses naming the
container; one published on loopback fails as published (its DNAT reaches it from the links, moby#41872)
unless Docker 28's raw-table drop guards it, and its host listener passes under ``allow: [loopback]``
except where the daemon turned route_localnet on for docker0 (no userland proxy), which opens
127.0.0.1 to the containers."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.result import Status
from tests.collect.test_netns_live import live_snapshot
from tests.docker_env import IMAGE, Docker, dockerd

pytestmark = [pytest.mark.live, pytest.mark.docker]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module", params=[True, False], ids=["userland-proxy", "no-userland-proxy"])
def docker(request, tmp_path_factory) -> Iterator[tuple[Docker, bool]]:
    with dockerd(tmp_path_factory.mktemp("dockerd"), userland_proxy=request.param) as daemon:
        yield daemon, request.param


def snapshot_with(docker: Docker, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker.host)
    return live_snapshot()


def snapshot_with_published(docker: Docker, monkeypatch, name: str, address: str, port: int):
    """The snapshot taken while container ``name`` publishes its port 8080 on ``address:port``
    (removed afterwards)."""
    docker.run("run", "-d", "--name", name, "-p", f"{address}:{port}:8080", IMAGE,
               "/bin/busybox", "httpd", "-f", "-p", "8080")
    try:
        return snapshot_with(docker, monkeypatch)
    finally:
        docker.run("rm", "-f", name)


def test_a_port_published_on_the_wildcard_fails_naming_the_container(docker, monkeypatch):
    daemon, proxy = docker
    port = free_port()
    snapshot = snapshot_with_published(daemon, monkeypatch, f"lbt-wild-{port}", "0.0.0.0", port)
    netns = snapshot.facts.netns
    assert netns is not None and "engine" in netns.published_sources and "nat" in netns.published_sources
    [ns] = [ns for ns in netns.namespaces if any(w.name == f"lbt-wild-{port}" for w in ns.workloads)]
    [workload] = ns.workloads
    assert workload.image == IMAGE and workload.runtime == "docker" and workload.source.endswith("engine API")
    outcomes = net_bind_addresses.run(snapshot, BindAddressParams(allow=["loopback"]))
    exposure = [o for o in outcomes if f":{port}" in o.subject and "in netns" not in o.subject]
    assert len(exposure) == 1, [o.subject for o in outcomes]
    [finding] = exposure
    assert finding.status == Status.FAIL
    assert f"lbt-wild-{port}" in finding.subject
    # the host listener that holds the port: docker-proxy, or dockerd itself with --userland-proxy=false;
    # either is attributed to the container
    holder = "docker-proxy" if proxy else "dockerd"
    assert finding.subject.startswith(f"tcp 0.0.0.0:{port} {holder} pid ")
    assert finding.subject.endswith(f"(publishes container lbt-wild-{port})")
    assert finding.subject_detail["container"] == f"lbt-wild-{port}"
    # dockerd turns forwarding on: a neighbour that routes the container's address through the host
    # reaches its listener there unless the FORWARD rules (not read) drop it
    inside = [o for o in outcomes if o.subject.endswith(f"in netns container lbt-wild-{port}")]
    assert [o.status for o in inside] == [Status.NOT_REVIEWED]
    assert inside[0].reason.startswith("the host forwards IPv4 arriving on ")
    assert not [o for o in outcomes if o.subject.startswith("published ports (engine and NAT rules disagree)")]
    selected = BindAddressParams.model_validate({"allow": ["loopback"], "exceptions": [
        {"match": {"container": f"lbt-wild-{port}"}, "allow": ["any"], "reason": "public web"}]})
    again = [o for o in net_bind_addresses.run(snapshot, selected) if o.subject == finding.subject]
    assert [o.status for o in again] == [Status.PASS]


def test_a_port_published_on_loopback_is_judged_as_the_links_reach_it(docker, monkeypatch):
    daemon, _proxy = docker
    port = free_port()
    snapshot = snapshot_with_published(daemon, monkeypatch, f"lbt-lo-{port}", "127.0.0.1", port)
    outcomes = net_bind_addresses.run(snapshot, BindAddressParams(allow=["loopback"]))
    exposure = [o for o in outcomes if f":{port}" in o.subject and "in netns" not in o.subject]
    assert exposure and all(f"lbt-lo-{port}" in o.subject for o in exposure), [o.subject for o in exposure]
    # The DNAT rule in PREROUTING forwards 127.0.0.1 before the kernel drops it as a martian from a
    # link: a neighbour reaches the container (moby#41872) unless Docker 28's raw-table drop comes first.
    guarded = int(daemon.run("version", "--format", "{{.Server.Version}}").split(".")[0]) >= 28
    published = [o for o in exposure if o.subject.startswith("published ")]
    listeners = [o for o in exposure if not o.subject.startswith("published ")]
    if guarded:
        assert not published, [(o.subject, o.status) for o in published]
    else:
        assert [o.status for o in published] == [Status.FAIL]
        assert "moby#41872" in published[0].message and "forwards a loopback destination" in published[0].message
    # dockerd without the userland proxy (20.10 here) sets route_localnet=1 on docker0 so that its
    # DNAT reaches 127.0.0.1: every container on the bridge can then reach the host's 127.0.0.1
    opened = Path("/proc/sys/net/ipv4/conf/docker0/route_localnet").read_text().strip() == "1"
    expected = Status.FAIL if opened else Status.PASS
    assert listeners and all(o.status == expected for o in listeners), [(o.subject, o.status) for o in listeners]
    if opened:
        assert all("route_localnet=1 on docker0" in o.message for o in listeners)
