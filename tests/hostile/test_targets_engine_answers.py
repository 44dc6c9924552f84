"""Container engine answers that were passed over in silence.

``/containers/json`` entries without a usable id, containers past the 10,000th, and published-port
bindings of a shape the Engine API never writes were skipped: their published ports were simply
not in the facts, so "published ports" was judged on the rest as if that were all.  Each is now a
gap of the engine (it adds nothing, as an engine that fails part way), so "published ports" is
not_reviewed with the reason.  (An engine server of the tests' own on a unix socket, speaking HTTP
as dockerd does: tests/hostile/test_hostile_reads.py.)"""

from __future__ import annotations

import json

import pytest

from auditor.collect.containers import MAX_CONTAINERS, read_engines
from auditor.model.facts import GapKind
from tests.hostile.test_hostile_reads import CID, _engine


def _read(tmp_path, listing: object, inspect: object | None = None):
    socket_path = tmp_path / "engine.sock"
    answers = {"/containers/json": json.dumps(listing).encode()}
    if inspect is not None:
        answers[f"/containers/{CID}/json"] = json.dumps(inspect).encode()
    server = _engine(socket_path, answers)
    try:
        return read_engines(10, environ={"DOCKER_HOST": f"unix://{socket_path}"}), socket_path
    finally:
        server.shutdown()
        server.server_close()


def _only_gap(view, socket_path) -> str:
    assert view.read == [] and view.published == [] and view.workloads == []
    [gap] = view.gaps
    assert (gap.path, gap.kind) == (("published", "engine"), GapKind.UNREADABLE)
    prefix = f"docker engine API at {socket_path} could not be read: "
    assert gap.reason.startswith(prefix)
    return gap.reason[len(prefix):]


def _inspect(ports: dict) -> dict:
    return {"Name": "/web", "Config": {"Image": "nginx"}, "State": {"Pid": 4242},
            "NetworkSettings": {"Ports": ports, "Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}}


@pytest.mark.parametrize("entry", [{"Id": 7}, {"Id": "../../x"}, {"Names": ["/web"]}, "web"])
def test_a_listed_container_without_an_id_is_a_gap_not_skipped(tmp_path, entry):
    view, path = _read(tmp_path, [{"Id": CID}, entry], _inspect({}))
    assert _only_gap(view, path) == "/containers/json: entry 1 has no container id"


def test_more_containers_than_are_read_is_a_gap_not_the_first_ten_thousand(tmp_path):
    view, path = _read(tmp_path, [{"Id": CID}] * (MAX_CONTAINERS + 1), _inspect({}))
    assert _only_gap(view, path) == (f"/containers/json: {MAX_CONTAINERS + 1} running containers, more than the "
                                     f"{MAX_CONTAINERS} lbaudit reads")


@pytest.mark.parametrize("ports, reason", [
    ({"http": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, "NetworkSettings.Ports key 'http' is not PORT/PROTOCOL"),
    ({"80/quic": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, "NetworkSettings.Ports key '80/quic' is not PORT/PROTOCOL"),
    ({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "eighty"}]}, "80/tcp HostPort 'eighty' is not a port"),
    ({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": ""}]}, "80/tcp HostPort '' is not a port"),
    ({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080-x"}]}, "80/tcp HostPort '8080-x' is not a port"),
    ({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "８０８０"}]}, "80/tcp HostPort '８０８０' is not a port"),
])
def test_a_binding_the_engine_api_never_writes_is_a_gap_not_skipped(tmp_path, ports, reason):
    view, path = _read(tmp_path, [{"Id": CID}], _inspect(ports))
    assert _only_gap(view, path) == f"/containers/{CID[:12]}/json: {reason}"


def test_control_case_an_exposed_port_and_a_published_one_are_read(tmp_path):
    view, _ = _read(tmp_path, [{"Id": CID}], _inspect({"443/tcp": None, "80/tcp": [{"HostIp": "", "HostPort": "8080"}]}))
    assert view.gaps == []
    assert [(p.protocol, p.host_address, p.host_port, p.target_address, p.target_port, p.container)
            for p in view.published] == [("tcp", "0.0.0.0", 8080, "172.17.0.2", 80, "web")]
