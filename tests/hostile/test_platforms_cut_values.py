"""Hostile captured bundles cut off mid-value: what is left of a number is a number.

``net.inet.tcp.msl: 1500`` is what is left of ``15000`` when the capture stops there (a full disk,
a copy interrupted), ``Number of Ports : 5553`` of ``55536``, and an excludedportrange table cut at
the end of its first row has lost every exclusion after it.  The listings (netstat, lsof,
tasklist, reg query) already refused a last line without a line end; sysctl and netsh outputs were
read as they were: a 3 s TIME_WAIT passed the headroom a 30 s one fails, a 5,553-port range let a
listener inside the real 55,536-port range pass, and a pool with its Hyper-V exclusions cut off
passed the minimum.  Every probe a command prints ends its last line with a line end, so a last
line without one is refused whole (not_reviewed), in the one place every probe output is read.

Each case copies a fixture bundle, cuts one file, and replays it with ``lbaudit evaluate --target
replay:DIR`` in-process, asserting the exact status.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
POOL = "ephemeral port pool ({} dynamic port range)"
# 500 connections/s: 15,000 ports at a 30 s TIME_WAIT (92% of macOS's 16,384, a fail), 1,500 at 3 s
PEAK_500 = """\
id: peak-500
version: "1"
owner: Security Engineering
rules:
  - id: time-wait-headroom
    check: net.time_wait
    params:
      peak_new_connections_per_second: 500
      max_pool_utilization: 0.8
"""


def _cut_after(path: Path, marker: bytes) -> None:
    data = path.read_bytes()
    assert data.count(marker) == 1
    path.write_bytes(data[:data.index(marker) + len(marker)])


def test_control_case_the_whole_outputs_are_judged(tmp_path):
    _, found, _ = replay_edited(tmp_path / "mac", "macos-default", lambda d: None, PEAK_500)
    assert found[("time-wait-headroom", HEADROOM)]["status"] == "fail"
    _, found, _ = replay_edited(tmp_path / "win", "windows-audited", lambda d: None)
    assert found[("ephemeral-pool", "tcp 0.0.0.0:49664 wininit.exe pid 684")]["status"] == "fail"


def test_macos_msl_cut_in_its_value_is_not_a_shorter_time_wait(tmp_path):
    # 1500 of 15000 ms: a 3 s TIME_WAIT holds 1,500 ports at 500/s, where 30 s holds 15,000 (92% of 16,384)
    _, found, _ = replay_edited(tmp_path, "macos-default", lambda d: _cut_after(d / "sysctl.txt", b"tcp.msl: 1500"),
                                PEAK_500)
    headroom = found[("time-wait-headroom", HEADROOM)]
    assert headroom["status"] == "not_reviewed"  # was pass
    assert "bundle file sysctl.txt: not understood: the output ends mid-line ('net.inet.tcp.msl: 1500' has no line " \
           "end): it was cut off, rows after it are missing" in headroom["reason"]


def test_netsh_count_cut_in_its_value_is_not_a_narrower_range(tmp_path):
    # 5553 of 55536: 10000-15552, so wininit's listener on 49664 was outside the range and passed
    _, found, _ = replay_edited(tmp_path, "windows-audited",
                                lambda d: _cut_after(d / "netsh-dynamicport-tcp.txt", b"Number of Ports : 5553"))
    listener = found[("ephemeral-pool", "tcp 0.0.0.0:49664 wininit.exe pid 684")]
    assert listener["status"] == "not_reviewed"  # was no finding at all: outside 10000-15552
    assert "bundle file netsh-dynamicport-tcp.txt: not understood: the output ends mid-line ('Number of Ports : " \
           "5553' has no line end)" in listener["reason"]
    assert found[("ephemeral-pool", POOL.format("tcp/ipv4"))]["status"] == "not_reviewed"


def test_excluded_port_ranges_cut_after_a_row_have_not_lost_the_rows_after_it(tmp_path):
    # Hyper-V's 300 blocks of 100 ports after 5357: cut after the first row, the pool was 55,535 ports
    def edit(directory: Path) -> None:
        table = directory / "netsh-excludedportrange-tcp.txt"
        blocks = "".join(f"{20000 + 100 * i:>10}  {20099 + 100 * i:>10}\r\n" for i in range(300))
        table.write_bytes(table.read_bytes().replace(b"      5357        5357\r\n",
                                                     b"      5357        5357\r\n" + blocks.encode()))
        _cut_after(table, b"      5357        5357")

    _, found, _ = replay_edited(tmp_path, "windows-audited", edit)
    pool = found[("ephemeral-pool", POOL.format("tcp/ipv4"))]
    assert pool["status"] == "not_reviewed"  # was pass: 55,535 ports where 25,535 are left
    assert "bundle file netsh-excludedportrange-tcp.txt: not understood: the output ends mid-line ('5357        " \
           "5357' has no line end)" in pool["reason"]
