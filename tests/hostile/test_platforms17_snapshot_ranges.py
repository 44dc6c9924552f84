"""Hostile Windows snapshots whose dynamic port range or exclusions no netsh prints.

A snapshot is judged as it stands (one written by another collector, an older lbaudit, or by hand),
and two things no Windows host holds were judged as written:

* a dynamic port range netsh refuses to set (a start below 1025, fewer than 255 ports, KB 929851).
  The bundle parser gaps it (test_platforms12_windows_range_floor), but a snapshot naming start 1
  with 65,535 ports was judged: a pool of 65,535 ports with the reserved ones in it passed the
  minimum size the host's real range fails.
* an excluded port span whose first port is above its last (``65535-49152``).  netsh prints
  ``Start Port  End Port`` rows first to last; a reversed span excluded nothing from the pool
  (``max(0, ...)``) and not its ports either, so an exclusion of the whole range passed a pool
  minimum it fails.

Both are now refused when the snapshot is read (exit 2, the pointer and what is wrong), never judged.
Each case collects the ``windows-audited`` fixture bundle into a snapshot, edits its JSON and
evaluates it in-process (the helper of test_fleet_windows_snapshots).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hostile.test_fleet_windows_snapshots import POOL, evaluate_edited


def test_control_case_the_collected_snapshot_judges_its_pool(tmp_path):
    code, found, stderr = evaluate_edited(tmp_path, lambda data: None)
    assert found[("ephemeral-pool", POOL.format("tcp/ipv4"))]["status"] == "pass", stderr


@pytest.mark.parametrize("start, count", [(1, 65535), (1024, 64512), (60000, 254)])
def test_a_range_netsh_refuses_to_set_is_refused_in_a_snapshot(tmp_path, start, count):
    def edit(data: dict[str, Any]) -> None:
        ranges = data["facts"]["sysctl"]["dynamic_ports"]
        assert (ranges[0]["protocol"], ranges[0]["family"]) == ("tcp", "ipv4")
        ranges[0].update(start=start, count=count, excluded=[])

    code, found, stderr = evaluate_edited(tmp_path, edit)
    assert code == 2, stderr  # start 1 was pass: a 65,535-port pool no Windows runs
    assert found == {}
    assert "/facts/sysctl/dynamic_ports/0" in stderr
    assert "netsh accepts no such range" in stderr


def test_a_reversed_excluded_span_is_refused_not_read_as_excluding_nothing(tmp_path):
    def edit(data: dict[str, Any]) -> None:
        tcp4 = data["facts"]["sysctl"]["dynamic_ports"][0]
        assert (tcp4["protocol"], tcp4["family"]) == ("tcp", "ipv4")
        tcp4["excluded"] = [{"first": 65535, "last": tcp4["start"]}]

    code, found, stderr = evaluate_edited(tmp_path, edit)
    assert code == 2, stderr  # was pass: the whole range "excluded" backwards counted as no exclusion
    assert found == {}
    assert "/facts/sysctl/dynamic_ports/0/excluded/0" in stderr
    assert "65535-10000 runs backwards" in stderr
