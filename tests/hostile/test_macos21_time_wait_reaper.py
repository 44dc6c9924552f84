"""Hostile figures, false passes: macOS TIME_WAIT was taken as exactly 2 x net.inet.tcp.msl.

XNU (bsd/netinet/tcp_timer.c) does not end TIME_WAIT with a timer of its own: add_to_time_wait_locked
only records the time 2 x MSL ends (``t_timer[TCPT_2MSL] = tcp_now + delay``) and queues the socket
on tcp_tw_tailq.  The port is freed when the PCB garbage collector next runs and finds that time
past (tcp_gc -> tcp_garbage_collect -> tcp_close / in_pcbdispose -> in_pcbremlists).  While TIME_WAIT
sockets exist, the collector re-arms itself as a lazy timer (bsd/netinet/in_pcb.c inpcb_timeout,
_inpcb_sched_timeout: due 1 s after its last run, ``inpcb_timeout_lazy`` = 10 s leeway), so a run
may come 11 s after the previous one; and tcp_gc gives up a run whose list lock is busy (one in a
row: ``tcp_gc_done``), so a port can stay held up to 22 s past 2 x MSL, 52 s at the default 30 s.
Counted as 30 s, 400 new connections/s held 12,000 of the default 16,383-port pool (73%) and passed
a maximum of 80%; at the worst they hold 20,800, more than the pool.

Each case copies the macos-default fixture bundle, edits sysctl.txt where needed, and replays it
with ``lbaudit evaluate --target replay:DIR`` in-process, asserting the exact status and figures.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited
from tests.hostile.test_platforms_cut_values import HEADROOM


def _policy(rate: float, maximum: float) -> str:
    return f"""\
id: peak
version: "1"
owner: Security Engineering
rules:
  - id: time-wait-headroom
    check: net.time_wait
    params:
      peak_new_connections_per_second: {rate}
      max_pool_utilization: {maximum}
"""


def _msl(milliseconds: int):
    def edit(bundle: Path) -> None:
        sysctl = bundle / "sysctl.txt"
        sysctl.write_text(sysctl.read_text().replace("net.inet.tcp.msl: 15000\n", f"net.inet.tcp.msl: {milliseconds}\n"))
    return edit


def _headroom(tmp_path: Path, rate: float, maximum: float, edit=lambda d: None) -> dict:
    _, found, _ = replay_edited(tmp_path, "macos-default", edit, _policy(rate, maximum))
    return found[("time-wait-headroom", HEADROOM)]


def test_a_peak_that_holds_more_than_the_pool_at_the_worst_fails(tmp_path):
    headroom = _headroom(tmp_path, 400, 0.8)
    assert headroom["status"] == "fail"  # was pass: 400/s x 30 s = 12,000 of 16,383 ports = 73%
    assert headroom["observed"]["time_wait_seconds"] == 52
    assert headroom["observed"]["ports_in_time_wait"] == 20_800
    message = headroom["message"]
    assert "2 x net.inet.tcp.msl (15000 ms) = 30 s" in message
    assert "up to 22 s later" in message and "tcp_gc" in message and "10 s leeway" in message


def test_the_lateness_is_added_to_a_short_msl_not_scaled_with_it(tmp_path):
    # msl 5,000 ms: 10 s, freed up to 32 s after the close; 300/s x 32 s = 9,600 ports = 59% of
    # 16,383 (was 3,000 = 18%, which passed a maximum of 50%)
    headroom = _headroom(tmp_path, 300, 0.5, _msl(5000))
    assert headroom["status"] == "fail"
    assert headroom["observed"]["time_wait_seconds"] == 32
    assert "2 x net.inet.tcp.msl (5000 ms) = 10 s" in headroom["message"]


def test_control_case_a_peak_within_the_worst_case_passes(tmp_path):
    # 200/s x 52 s = 10,400 ports = 63% of 16,383
    headroom = _headroom(tmp_path, 200, 0.8)
    assert headroom["status"] == "pass"
    assert headroom["observed"]["time_wait_seconds"] == 52
    assert headroom["observed"]["sustainable_per_second"] == 315  # 16,383 / 52 s, less than a whole pool


def test_the_macos_figure_is_per_source_address_not_per_destination(tmp_path):
    """macOS gives a port no other socket holds to every outgoing connection: XNU's in_pcbbind, for
    connect()'s implicit bind, forces ``wild = 1`` ("we always use an unused port") and looks the port
    up by local address and port alone (in_pcblookup_local_and_cleanup), so a port in TIME_WAIT to one
    destination is given to no connection to any other (IPv6, in6_pcbsetport: the same unless the
    socket sets SO_REUSEADDR or SO_REUSEPORT).  The message said the ports were held "per (source,
    destination, port) tuple", as on Linux, where connect() shares a port among destinations: a
    host that opens the declared rate to each of several destinations read a pass for a pool that
    all of them draw from."""
    headroom = _headroom(tmp_path, 200, 0.8)
    message = headroom["message"]
    assert "per (source, destination, port) tuple" not in message
    assert "per source address" in message
    assert "whatever its destination" in message and "the host's total rate" in message
