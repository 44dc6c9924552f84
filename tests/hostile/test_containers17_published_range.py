"""Hostile corpus, false passes: a published port range was judged by its first port only.

``docker run -p 8000-8100:8000-8100`` (or a DNAT rule of ``--dport 8000:8100``, or one with no
``--dport`` at all: every port) publishes every port of the range, but the check asked the policy
about the range's first port alone: an exception that allows the container's port 8000 on every
address passed all 101 ports, 8001-8100 with it, which no rule allows.
"""

from __future__ import annotations

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import PublishedPort
from auditor.model.result import Status
from tests.collect.test_netns_parsers import DOCKER_ID, _snap

ONLY_8000_IS_PUBLIC = BindAddressParams.model_validate({"exceptions": [
    {"match": {"container": "web", "ports": [8000]}, "allow": ["any"], "reason": "public web front end"}]})
WHOLE_RANGE_IS_PUBLIC = BindAddressParams.model_validate({"exceptions": [
    {"match": {"container": "web", "ports": ["8000-8100"]}, "allow": ["any"], "reason": "public web front end"}]})


def _range(source: str, low: int, high: int) -> PublishedPort:
    engine = source == "engine"
    return PublishedPort(source=source, protocol="tcp", host_address="0.0.0.0", host_port=low, host_port_end=high,
                         target_address="172.17.0.2", target_port=low, container_id=DOCKER_ID if engine else None,
                         container="web" if engine else None, origin="docker engine" if engine else "iptables-save:3")


def _statuses(published, params):
    outcomes = net_bind_addresses.run(_snap(published), params)
    return {o.subject: o.status for o in outcomes if o.subject.startswith("published tcp")}


def test_an_exception_for_the_first_port_does_not_pass_the_whole_range():
    statuses = _statuses([_range("engine", 8000, 8100), _range("nat", 8000, 8100)], ONLY_8000_IS_PUBLIC)
    assert list(statuses.values()) == [Status.FAIL], statuses


def test_a_dnat_of_every_port_is_not_passed_by_an_exception_for_port_0():
    port_zero = BindAddressParams.model_validate({"exceptions": [
        {"match": {"ports": [0]}, "allow": ["any"], "reason": "port 0 only"}]})
    statuses = _statuses([_range("nat", 0, 65535)], port_zero)
    assert list(statuses.values()) == [Status.FAIL], statuses


def test_control_an_exception_for_the_whole_range_passes_it():
    statuses = _statuses([_range("engine", 8000, 8100), _range("nat", 8000, 8100)], WHOLE_RANGE_IS_PUBLIC)
    assert list(statuses.values()) == [Status.PASS], statuses
