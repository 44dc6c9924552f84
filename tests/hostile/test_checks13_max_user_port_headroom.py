"""Hostile Windows headroom: the legacy MaxUserPort range was left out of net.time_wait.

net.ephemeral_port_range judges MaxUserPort, when set, as the range 1025-MaxUserPort that outgoing
connections take where Windows still honours it.  net.time_wait judged the peak only against the
netsh dynamic ranges: with MaxUserPort 0x1388 (ports 1025-5000, 3,976 of them) and TcpTimedWaitDelay
30 s, 150 new connections a second hold 4,500 ports, more than that range has, and a policy with
net.time_wait alone passed (8% of the 55,536-port tcp/ipv4 range).  The legacy range now gets a
headroom finding of its own, judged as the ranges are; not_reviewed when MaxUserPort is set but
malformed or outside its documented 5000-65534.

Each case copies the ``windows-audited`` fixture bundle (MaxUserPort 0xfffe, TcpTimedWaitDelay 30),
sets the captured ``reg query`` value, and replays it with ``lbaudit evaluate --target replay:DIR``.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

LEGACY = ("peak", "ephemeral pool headroom at the declared peak connection rate (legacy MaxUserPort 1025-5000)")

POLICY = """\
id: peak
version: "1"
owner: Test <test@example.com>
rules:
  - id: peak
    check: net.time_wait
    params:
      peak_new_connections_per_second: 150
      max_pool_utilization: 0.8
"""


def replay(tmp_path: Path, data: str) -> tuple[int, dict]:
    def set_max_user_port(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        written = "    MaxUserPort    REG_DWORD    0xfffe"
        text = registry.read_text()
        assert written in text
        registry.write_text(text.replace(written, f"    MaxUserPort    REG_DWORD    {data}", 1))

    code, found, _ = replay_edited(tmp_path, "windows-audited", set_max_user_port, POLICY)
    return code, found


def test_a_legacy_range_too_small_for_the_peak_fails(tmp_path):
    code, found = replay(tmp_path, "0x1388")
    assert code == 1  # was 0: only the netsh ranges were judged
    legacy = found[LEGACY]
    assert legacy["status"] == "fail"
    assert legacy["message"] == (
        "150 new connections/s x 30 s TIME_WAIT (TcpTimedWaitDelay = 30 s (registry)) holds 4,500 ports per (source, "
        "destination, port) tuple = 113% of the 3,975-port pool (without the 1 port TCP listeners hold in the range) "
        "(which sustains at most 132/s), above 80%: "
        "connections fail with EADDRNOTAVAIL near the peak")
    assert found[("peak", "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port "
                          "range)")]["status"] == "pass"


def test_a_wide_legacy_range_passes_and_an_undocumented_value_is_not_reviewed(tmp_path):
    _, found = replay(tmp_path / "wide", "0xfffe")
    wide = [f for (rule, subject), f in found.items() if "legacy MaxUserPort" in subject]
    assert [f["status"] for f in wide] == ["pass"]
    _, found = replay(tmp_path / "odd", "0x1869f")
    [odd] = [f for (rule, subject), f in found.items() if "legacy MaxUserPort" in subject]
    assert odd["status"] == "not_reviewed"
    assert odd["reason"] == ("MaxUserPort = 99999 is outside the range Windows documents (5000-65534); what range "
                             "the stack then uses is not documented")
