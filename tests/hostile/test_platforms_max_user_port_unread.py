"""Hostile Windows bundle: the TCP/IP registry values were not captured, so whether the legacy
MaxUserPort is set is unknown.

net.ephemeral_port_range judges MaxUserPort when it is set (1025-5000 is a 3,976-port pool), and
left the finding out both when it is not set and when the registry was never read, relying on
net.time_wait's headroom to report the unread registry.  A policy without net.time_wait then passed
(exit 0, complete) a host whose MaxUserPort could be 5000.  Unread, it is not_reviewed.

Each case copies the ``windows-audited`` fixture bundle, edits it, and replays it with ``lbaudit
evaluate --target replay:DIR`` in-process, judged by a policy with net.ephemeral_port_range alone.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

EPHEMERAL_ONLY = """\
id: ephemeral-only
version: "1"
owner: Security Engineering
rules:
  - id: ephemeral-pool
    check: net.ephemeral_port_range
    params:
      min_pool_size: 16384
      min_low: 1024
      forbid_listeners_in_range: false
"""
LEGACY = ("ephemeral-pool", "legacy MaxUserPort")


def test_control_case_a_legacy_range_of_5000_fails(tmp_path):
    def low(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        data = registry.read_bytes()
        assert data.count(b"MaxUserPort    REG_DWORD    0xfffe") == 1
        registry.write_bytes(data.replace(b"MaxUserPort    REG_DWORD    0xfffe", b"MaxUserPort    REG_DWORD    0x1388"))

    code, found, _ = replay_edited(tmp_path, "windows-audited", low, EPHEMERAL_ONLY)
    assert code == 1
    assert found[LEGACY]["status"] == "fail"


def test_a_registry_never_read_leaves_max_user_port_not_reviewed(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-audited", lambda d: (d / "tcpip-parameters.txt").unlink(),
                                   EPHEMERAL_ONLY)
    assert code == 3  # was 0: compliant, with no word about MaxUserPort
    assert found[LEGACY]["status"] == "not_reviewed"
    assert found[LEGACY]["reason"] == "bundle file tcpip-parameters.txt: missing from the bundle"


def test_a_registry_that_does_not_set_it_gives_no_finding(tmp_path):
    def unset(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        lines = registry.read_bytes().split(b"\r\n")
        kept = [line for line in lines if b"MaxUserPort" not in line]
        assert len(kept) == len(lines) - 1
        registry.write_bytes(b"\r\n".join(kept))

    code, found, _ = replay_edited(tmp_path, "windows-audited", unset, EPHEMERAL_ONLY)
    assert code == 0
    assert LEGACY not in found
