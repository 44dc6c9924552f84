"""Hostile corpus, crashes: a published port's host address that is no IP address.

The Engine API's ``HostIp`` was taken as it came: an engine (or a proxy in front of one) that
answered ``"localhost"`` or ``"127.0.0.1 "`` put a published port in the facts whose address the
checks compute on as a network, and net.bind_addresses raised (ValueError: 'localhost' does not
appear to be an IPv4 or IPv6 network): an ``error`` that left every listener of the host unjudged,
not a gap naming the engine.  A snapshot could carry the same.  Now the collector refuses such a
binding (a gap of the engine, as for every shape the Engine API never writes) and the model refuses
a published port whose host address is no IP address or network (an invalid snapshot, exit 2).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from auditor.model.facts import PublishedPort
from tests.hostile.test_hostile_reads import CID
from tests.hostile.test_targets_engine_answers import _inspect, _only_gap, _read


# before: read as published on "localhost"; net.bind_addresses then raised on it
@pytest.mark.parametrize("host_ip", ["localhost", "127.0.0.1 ", "0.0.0.0/0", "::1]"])
def test_a_binding_on_no_ip_address_is_a_gap_of_the_engine(tmp_path, host_ip):
    view, path = _read(tmp_path, [{"Id": CID}], _inspect({"80/tcp": [{"HostIp": host_ip, "HostPort": "8080"}]}))
    assert _only_gap(view, path) == f"/containers/{CID[:12]}/json: 80/tcp HostIp {host_ip!r} is not an IP address"


def test_control_case_addresses_the_engine_writes_are_read(tmp_path):
    view, _ = _read(tmp_path, [{"Id": CID}], _inspect({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"},
                                                                 {"HostIp": "::", "HostPort": "8080"}]}))
    assert view.gaps == []
    assert [(p.host_address, p.host_port) for p in view.published] == [("127.0.0.1", 8080), ("::", 8080)]


@pytest.mark.parametrize("host_address", ["localhost", "127.0.0.1 ", ""])
def test_a_published_port_on_no_ip_address_is_refused_by_the_model(host_address):
    with pytest.raises(ValidationError, match="host_address .* is not an IP address or network"):
        PublishedPort(source="nat", protocol="tcp", host_address=host_address, host_port=8080)


def test_control_case_networks_and_addresses_are_accepted():
    for address in ("0.0.0.0", "::", "10.0.0.0/8", "fd00::/64", "127.0.0.1"):
        assert PublishedPort(source="nat", protocol="tcp", host_address=address, host_port=8080).host_address == address
