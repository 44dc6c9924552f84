"""Hostile Windows snapshots judged centrally: facts a collector elsewhere wrote (a fleet's Ansible
run, an older lbaudit, a snapshot stitched from two) that say less, or more, than one netsh and one
reg query of one host can.

* ``facts.sysctl.runtime`` null with no gap: the Tcpip\\Parameters values were never read, yet
  TcpTimedWaitDelay was taken as "not set" and judged at the Windows default (120 s): the TIME_WAIT
  headroom passed for a registry nobody read.
* two ``dynamic_ports`` entries for one protocol and family: the checks kept the last one, so a
  255-port tcp/ipv4 range next to a wide one passed the pool minimum.  Windows keeps one range per
  protocol and family; such a snapshot contradicts itself and is refused (exit 2), as is a range
  present while a gap says it could not be read.

Each case collects the ``windows-audited`` fixture bundle (tcp range 10000-65535) into a snapshot (``lbaudit collect
--replay``), edits its JSON, and evaluates it with ``lbaudit evaluate --snapshot`` in-process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.bundles import BUNDLES, CORP
from tests.cli import run_cli

HEADROOM = "ephemeral pool headroom at the declared peak connection rate ({} dynamic port range)"
POOL = "ephemeral port pool ({} dynamic port range)"


def evaluate_edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> tuple[int, dict, str]:
    snapshot = tmp_path / "host.snapshot.json"
    collected = run_cli("collect", "--replay", BUNDLES / "windows-audited", "--output", snapshot, "-q",
                        cwd=tmp_path, timeout=60)
    assert collected.returncode == 0, collected.stderr
    data = json.loads(snapshot.read_text())
    edit(data)
    snapshot.write_text(json.dumps(data, indent=1))
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "--output", out, "-q", "--no-plugins",
                     cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    found = {}
    if out.exists():
        found = {(f["rule_id"], f["subject"]): f for f in json.loads(out.read_text())["result"]["findings"]}
    return result.returncode, found, result.stderr


def test_control_case_an_unset_delay_in_a_registry_that_was_read_is_the_windows_default(tmp_path):
    def unset(data: dict[str, Any]) -> None:
        del data["facts"]["sysctl"]["runtime"]["TcpTimedWaitDelay"]  # read, and not set

    _, found, _ = evaluate_edited(tmp_path, unset)
    finding = found[("time-wait-headroom", HEADROOM.format("tcp/ipv4"))]
    assert finding["status"] == "pass"
    assert "TcpTimedWaitDelay is not set, so the Windows default applies: 120 s" in finding["message"]


def test_registry_values_never_read_are_not_reviewed_not_the_default(tmp_path):
    def unread(data: dict[str, Any]) -> None:
        assert data["facts"]["sysctl"]["runtime"] is not None
        data["facts"]["sysctl"]["runtime"] = None  # and no gap says why

    code, found, _ = evaluate_edited(tmp_path, unread)
    for label in ("tcp/ipv4", "tcp/ipv6"):
        finding = found[("time-wait-headroom", HEADROOM.format(label))]
        assert finding["status"] == "not_reviewed"  # was pass: 300/s x 120 s (the default) for an unread registry
        assert finding["message"] == (
            "not reviewed: how long Windows keeps a port in TIME_WAIT is not known: the TCP/IP registry values "
            r"(HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters) were not collected (no reason recorded)")
    assert code in (1, 3)


def test_two_ranges_for_one_protocol_and_family_are_refused_not_the_last_one_judged(tmp_path):
    def second(data: dict[str, Any]) -> None:
        ranges = data["facts"]["sysctl"]["dynamic_ports"]
        assert (ranges[0]["protocol"], ranges[0]["family"]) == ("tcp", "ipv4")
        ranges.insert(0, dict(ranges[0], start=65000, count=255, excluded=[]))

    code, found, stderr = evaluate_edited(tmp_path, second)
    assert code == 2  # was 0/1 with the tcp/ipv4 pool passing on the wide range listed last
    assert found == {}
    assert "the snapshot contradicts itself (1 problem(s))" in stderr
    assert ("/facts/sysctl/dynamic_ports/1: a second tcp/ipv4 dynamic port range (10000-65535, the first is "
            "65000-65254): Windows keeps one per protocol and IP family") in stderr


def test_a_range_present_while_a_gap_says_it_was_not_read_is_refused(tmp_path):
    def contradicted(data: dict[str, Any]) -> None:
        data["gaps"].append({"section": "sysctl", "path": ["dynamic_ports", "udp", "ipv6"],
                             "reason": "bundle file netsh-dynamicport-udp6.txt: empty", "kind": "unreadable"})

    code, found, stderr = evaluate_edited(tmp_path, contradicted)
    assert code == 2
    assert found == {}
    assert "says the udp/ipv6 dynamic port range could not be read, but it is present" in stderr
