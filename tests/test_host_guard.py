"""The guard of tests/conftest.py: a unit test's reads of this host are seen (and would fail it)."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests import conftest


def _seen_and_forgiven() -> list[str]:
    """What the guard recorded for this test so far; cleared, so that this test itself passes."""
    assert conftest._watching is not None, "the guard is not watching a unit test"
    seen = list(conftest._watching)
    conftest._watching.clear()
    return seen


def test_reads_of_host_files_and_netlink_and_host_tools_are_recorded(tmp_path):
    with open("/proc/sys/net/ipv4/ip_local_port_range", "rb"):
        pass
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4):  # NETLINK_SOCK_DIAG
        pass
    try:
        subprocess.run(["sysctl", "--version"], capture_output=True, check=False, timeout=30)
    except FileNotFoundError:
        pass
    assert _seen_and_forgiven() == ["open /proc/sys/net/ipv4/ip_local_port_range", "netlink socket", "runs sysctl"]


def test_files_of_an_image_or_of_the_test_are_not_host_reads(tmp_path):
    image = tmp_path / "proc" / "sys"
    image.mkdir(parents=True)
    (image / "x").write_text("1")
    assert (image / "x").read_text() == "1"
    assert _seen_and_forgiven() == []


@pytest.mark.live
def test_a_live_test_is_not_watched():
    with open("/proc/net/sockstat", "rb"):
        pass
    assert conftest._watching is None
