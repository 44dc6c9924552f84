"""Hostile corpus, the systemd unit's hardening: the scheduled scan could not enter a mount namespace.

Network-namespace discovery enters, in a forked child, each mount namespace no process is in (held
by a bind mount of its namespace file) to find the network namespaces bound only there
(``ip netns add`` run in it).  setns(2) into a mount namespace needs CAP_SYS_CHROOT as well as
CAP_SYS_ADMIN, and the unit's RestrictNamespaces= must allow ``mnt``.  The unit had
``CapabilityBoundingSet=`` without CAP_SYS_CHROOT and ``RestrictNamespaces=net``: on a host with such
a namespace every scheduled scan had a gap (EPERM entering it), its listeners unjudged, and the
night ended incomplete, while ``lbaudit evaluate`` run by hand saw them.

Measured the way tests/schedule/test_capabilities.py measures the bounding set: ``lbaudit collect``
under ``setpriv --bounding-set`` with exactly :data:`auditor.schedule.CAPABILITIES`.
"""

from __future__ import annotations

import subprocess

import pytest

from auditor import schedule as sched
from tests.hostile.test_netns_held_mount_namespaces import MAKE, _made
from tests.netns_env import require_namespaces
from tests.schedule.conftest import POLICY
from tests.schedule.test_capabilities import _collect


@pytest.mark.live
@pytest.mark.slow  # lbaudit collect of the whole machine under setpriv
def test_the_units_capabilities_enter_a_mount_namespace_no_process_is_in(tmp_path):
    require_namespaces()
    holder = tmp_path / "mnt"
    holder.touch()
    made = subprocess.run(["unshare", f"--mount={holder}", "--propagation", "private", "sh", "-c", MAKE, "sh",
                           "4783"], capture_output=True, text=True, timeout=30)
    try:
        inode = _made(made)
        snapshot = _collect(tmp_path, "bounded", list(sched.CAPABILITIES))
    finally:
        subprocess.run(["umount", str(holder)], capture_output=True, timeout=30)
    mount_gaps = [g["reason"] for g in snapshot["gaps"] if g["section"] == "netns" and "mount namespace" in g["reason"]]
    assert mount_gaps == []
    assert inode in [ns["inode"] for ns in snapshot["facts"]["netns"]["namespaces"]]


def test_the_unit_lets_the_scan_enter_mount_namespaces():
    service = sched.render_service(sched.ScheduleConfig(executable="/usr/bin/lbaudit", policy=POLICY))
    [line] = [line for line in service.splitlines() if line.startswith("RestrictNamespaces=")]
    assert set(line.removeprefix("RestrictNamespaces=").split()) >= {"net", "mnt"}
    [caps] = [line for line in service.splitlines() if line.startswith("CapabilityBoundingSet=")]
    assert "CAP_SYS_CHROOT" in caps.split("=", 1)[1].split()


def _expanded(group: str) -> set[str]:
    """The system calls of a systemd group (or one call), as systemd itself lists them."""
    if not group.startswith("@"):
        return {group}
    listing = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    calls: set[str] = set()
    for line in listing.splitlines()[1:]:
        word = line.strip()
        if word and not word.startswith("#"):
            calls |= _expanded(word)
    return calls


@pytest.mark.live
@pytest.mark.integration  # runs systemd-analyze syscall-filter
def test_the_units_system_call_filter_lets_collection_make_its_calls():
    """Before: ``SystemCallFilter=~@privileged`` (with ``SystemCallErrorNumber=EPERM``) refused bpf(2),
    and ``@system-service`` has no pidfd_getfd (``@debug``): under the unit every TCP/UDP listener had a
    gap (whether a BPF sk_lookup program steers it: EPERM), every night, and vsock/tun holders were
    never asked.  The filter is read with systemd's own group lists and its merge rule (the first
    assignment an allow list; a later ``~`` removes, a later plain one adds)."""
    import shutil

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    service = sched.render_service(sched.ScheduleConfig(executable="/usr/bin/lbaudit", policy=POLICY))
    allowed: set[str] = set()
    for line in service.splitlines():
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.removeprefix("SystemCallFilter=")
        deny = value.startswith("~")
        calls = set().union(*(_expanded(word) for word in value.removeprefix("~").split()))
        allowed = allowed - calls if deny else allowed | calls
    for call in ("bpf", "pidfd_getfd", "pidfd_open", "setns", "kcmp"):
        assert call in allowed, call
    assert "reboot" not in allowed and "setrlimit" not in allowed  # the rest of the deny lists stays
