"""Hostile Windows legacy MaxUserPort: a value outside the range Windows documents.

Microsoft documents MaxUserPort (Tcpip\\Parameters, REG_DWORD) with a valid range of 5000-65534
(KB 196271 and the TCP/IP registry reference); what the stack does with another value (clamped? its
default 5000, ports 1025-5000?) is not documented.  The check judged the value as written, so
0x1869f (99,999) passed a "legacy range 1025-99999" of 98,975 ports that no port number can hold,
and 0xffff passed 64,511 ports: passes the facts do not prove.  Such a value is now not_reviewed,
with the reason, as an out-of-range TcpTimedWaitDelay already is.

Each case copies the ``windows-audited`` fixture bundle (MaxUserPort 0xfffe), sets the captured
``reg query`` value, and replays it with ``lbaudit evaluate --target replay:DIR`` in-process, judged
by policies/corp.yaml (min_pool_size 28,232).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

LEGACY = ("ephemeral-pool", "legacy MaxUserPort")


def replay(tmp_path: Path, data: str) -> tuple[int, dict]:
    def set_max_user_port(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        written = "    MaxUserPort    REG_DWORD    0xfffe"
        text = registry.read_text()
        assert written in text
        registry.write_text(text.replace(written, f"    MaxUserPort    REG_DWORD    {data}", 1))

    return replay_edited(tmp_path, "windows-audited", set_max_user_port)[:2]


@pytest.mark.parametrize("data, value", [("0x1869f", 99999), ("0xffff", 65535), ("0xffffffff", 4294967295),
                                         ("0x1387", 4999), ("0x0", 0)])
def test_a_max_user_port_outside_5000_65534_is_not_reviewed_never_judged_as_written(tmp_path, data, value):
    code, found = replay(tmp_path, data)
    assert code == 1
    assert found[LEGACY]["status"] == "not_reviewed"  # 0x1869f and 0xffff were pass
    assert found[LEGACY]["reason"] == (f"MaxUserPort = {value} is outside the range Windows documents (5000-65534); "
                                       "what range the stack then uses is not documented")


@pytest.mark.parametrize("data, status", [("0xfffe", "pass"), ("0x1388", "fail"), ("0x6e47", "fail"),
                                          ("0x7e47", "pass")])
def test_the_documented_range_is_judged(tmp_path, data, status):
    # 0x1388 = 5000: 1025-5000 is 3,976 ports; 0x6e47 = 28231 gives 27,207 and 0x7e47 = 32327 gives 31,303
    _, found = replay(tmp_path, data)
    assert found[LEGACY]["status"] == status
