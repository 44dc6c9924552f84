"""Hostile macOS captures whose ephemeral range starts below 1024, which no running macOS holds.

XNU's sysctl handler for ``net.inet.ip.portrange.first`` / ``.last`` (``sysctl_net_ipport_check``
in bsd/netinet/in_pcb.c) clamps both to ``IPPORT_RESERVED``-``USHRT_MAX`` (1024-65535) on every
write, so a running value read back is never below 1024.  A capture showing ``first: 0`` or
``first: 80`` is garbled or not macOS's output; judged as written it made a pool of 65,536 ports
(the reserved ports and port 0 among them) that passed a TIME_WAIT headroom the real pool fails.
Like Windows's MaxUserPort outside its documented range, such a value is not_reviewed with the reason.

Each case copies the macos-default fixture bundle, edits sysctl.txt, and replays it with
``lbaudit evaluate --target replay:DIR`` in-process, asserting the exact status.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited
from tests.hostile.test_platforms_cut_values import HEADROOM, PEAK_500

# PEAK_500: 500 connections/s at macOS's 30 s TIME_WAIT hold 15,000 ports, 92% of 16,384 (fail) and
# 23% of the 65,536 a range read from 0 would give.


def _set(name: str, value: int):
    def edit(bundle: Path) -> None:
        sysctl = bundle / "sysctl.txt"
        text = sysctl.read_text()
        old = next(line for line in text.splitlines() if line.startswith(f"{name}:"))
        sysctl.write_text(text.replace(old + "\n", f"{name}: {value}\n"))
    return edit


def test_control_case_the_default_range_fails_the_headroom(tmp_path):
    _, found, _ = replay_edited(tmp_path, "macos-default", lambda d: None, PEAK_500)
    assert found[("time-wait-headroom", HEADROOM)]["status"] == "fail"


@pytest.mark.parametrize(("name", "value"), [("net.inet.ip.portrange.first", 0),
                                             ("net.inet.ip.portrange.first", 80),
                                             ("net.inet.ip.portrange.last", 1023)])
def test_a_range_end_below_1024_is_not_a_running_macos_value(tmp_path, name, value):
    _, found, _ = replay_edited(tmp_path, "macos-default", _set(name, value), PEAK_500)
    headroom = found[("time-wait-headroom", HEADROOM)]
    assert headroom["status"] == "not_reviewed"  # was pass: a pool of up to 65,536 ports
    assert f"= {value}" in headroom["reason"] or f"{value}-" in headroom["reason"] or f"-{value}" in headroom["reason"]
    assert "macOS holds only 1024-65535" in headroom["reason"]


def test_a_range_from_1024_is_judged(tmp_path):
    # 1024-65535: 64,512 ports, 23% at 15,000: the floor itself is a value macOS holds
    _, found, _ = replay_edited(tmp_path, "macos-default", _set("net.inet.ip.portrange.first", 1024), PEAK_500)
    assert found[("time-wait-headroom", HEADROOM)]["status"] == "pass"
