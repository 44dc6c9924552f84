"""Hostile Windows legacy MaxUserPort: its range ends above the policy's max_high.

Where Windows honours the legacy MaxUserPort (Tcpip\\Parameters), outgoing connections take ports
1025-MaxUserPort, and net.ephemeral_port_range judges that range on a finding of its own.  It was
judged on its size and its start (min_low) only: MaxUserPort 0xfffe (ports 1025-65534) passed a
policy whose ``max_high: 60000`` the same range fails as a dynamic port range ("ends at 65534,
above 60000").  Its end is now held to max_high too.

Each case copies the ``windows-audited`` fixture bundle (MaxUserPort 0xfffe), sets the captured
``reg query`` value, and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

LEGACY = ("pool", "legacy MaxUserPort")

POLICY = """\
id: max-high
version: "1"
owner: Test <test@example.com>
rules:
  - id: pool
    check: net.ephemeral_port_range
    params:
      min_pool_size: 3000
      min_low: 1024
      max_high: 60000
      forbid_listeners_in_range: false
"""


def replay(tmp_path: Path, data: str) -> dict:
    def set_max_user_port(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        written = "    MaxUserPort    REG_DWORD    0xfffe"
        text = registry.read_text()
        assert written in text
        registry.write_text(text.replace(written, f"    MaxUserPort    REG_DWORD    {data}", 1))

    return replay_edited(tmp_path, "windows-audited", set_max_user_port, POLICY)[1]


def test_a_legacy_range_ending_above_max_high_fails(tmp_path):
    found = replay(tmp_path, "0xfffe")[LEGACY]
    assert found["status"] == "fail"  # was pass: 64,510 ports, at least the minimum 3,000
    assert found["message"] == (
        "MaxUserPort = 65534 is set in Tcpip\\Parameters: where Windows still honours it, outgoing connections take "
        "ports 1025-65534 (64,507 ports: 64,510 less 3 held by TCP listeners: 3389,8080,49664), ending above 60000")
    assert found["expected"] == {"min_pool_size": 3000, "low_at_least": 1024, "high_at_most": 60000}


@pytest.mark.parametrize("data, status", [("0xea60", "pass"), ("0xea61", "fail"), ("0xbb8", "not_reviewed")])
def test_the_end_is_judged_at_max_high_itself(tmp_path, data, status):
    # 0xea60 = 60000 ends at max_high (58,976 ports); 0xea61 = 60001 one above; 0xbb8 = 3000 is outside 5000-65534
    assert replay(tmp_path, data)[LEGACY]["status"] == status
