"""A listener on a port reserved only past the first page of a long ip_local_reserved_ports line passed.

proc_do_large_bitmap reads a reserved-port list a page at a time, and systemd-sysctl's one write
reaches it whole; procps' ``sysctl --system`` writes through a stdio buffer, and only its first
piece is taken: with a 4,199-byte list of every other port 40000-41398 it reserves 40000-41362 and
nothing after (checked here in a fresh namespace, ``test_procps_reserves_the_first_page_alone``).
lbaudit read the whole list, so an image's listener on 41398 inside the range was "inside but
reserved" and net.ephemeral_port_range passed it, where a boot by procps leaves the port to outgoing
connections.  Which tool boots an image's sysctl.d is not recorded with the value, so a port reserved
only past the first 1,023 bytes of the configured list (what every tool surely delivers in one
write) now leaves such a listener not_reviewed, saying why.  The pool keeps counting every port of
the list as reserved (the smaller pool: a pass stands whatever the tool).
"""

from __future__ import annotations

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.model.facts import Gap, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.netns_env import boot_sysctl_files, procps_sysctl_or_skip

RESERVED = "net.ipv4.ip_local_reserved_ports"
LIST = ",".join(str(port) for port in range(40000, 41400, 2))  # 4,199 bytes


def _outcomes(port: int, reserved: str = LIST):
    persistent = {"net.ipv4.ip_local_port_range": SysctlSetting(value="32768 60999", origin="/etc/sysctl.conf:1"),
                  RESERVED: SysctlSetting(value=reserved, origin="/etc/sysctl.conf:2")}
    image = snapshot(listeners=[listener("0.0.0.0", port, declared_by="/etc/systemd/system/app.socket")],
                     sysctl=SysctlFacts(persistent=persistent), source="root", netns=None,
                     gaps=[Gap(section="netns", kind="not_applicable", reason="offline root directory")])
    return {o.subject: o for o in net_ephemeral_port_range.run(image, EphemeralRangeParams(min_pool_size=16384))}


def test_a_listener_on_a_port_reserved_past_the_first_page_is_not_passed():
    found = _outcomes(41398)
    [listener_finding] = [o for subject, o in found.items() if "41398" in subject]
    # was: no finding of its own, and "no ... listener uses an unreserved port ... (inside but reserved: tcp/41398)"
    assert listener_finding.status == Status.NOT_REVIEWED, listener_finding
    assert "past the first 1,023 bytes" in listener_finding.reason
    assert "listeners in the ephemeral port range" not in found or \
        found["listeners in the ephemeral port range"].status != Status.PASS
    assert found["ephemeral port pool"].observed["reserved_in_range"] == 700  # every port of the list counted


@pytest.mark.parametrize("port", [40000, 40338])
def test_control_case_a_port_reserved_within_the_first_page_is_reserved(port):
    found = _outcomes(port)
    assert found["listeners in the ephemeral port range"].status == Status.PASS
    assert f"inside but reserved: tcp/{port}" in found["listeners in the ephemeral port range"].message


@pytest.mark.slow
def test_procps_reserves_the_first_page_alone(tmp_path):
    before, booted = boot_sysctl_files([procps_sysctl_or_skip(), "--system"], tmp_path,
                                       {"60-net.conf": f"{RESERVED} = {LIST}\n"}, RESERVED)
    assert before == ""
    assert booted.startswith("40000,40002,") and len(booted) < len(LIST), booted
    assert not booted.endswith(",41398")
