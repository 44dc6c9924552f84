"""Hostile corpus, false passes: a network namespace bound where a later mount covers its mount point.

An nsfs bind mount (``ip netns add``, ``mount --bind /proc/PID/ns/net FILE``) holds its network
namespace alive.  Discovery opened each nsfs mount by its mount point; when another mount covers
that point (a tmpfs mounted on its directory, as a second ``mount -t tmpfs`` on /run/netns does, or
another namespace bound on the same file), the path reaches the covering mount, the open failed
with ENOENT (or opened the other namespace) and the bound namespace was dropped without a word.
Its listeners (here the kernel's UDP socket of a VXLAN device, which no process holds) escaped the
audit: net.bind_addresses passed them.

The root of an nsfs mount in mountinfo names the namespace it binds (``net:[I]``).  Each one bound
that discovery did not find is now a discovery gap naming the mount point and the namespace, so the
run says it is incomplete (the check's "(discovery)" outcome is not_reviewed).

Real namespaces and mounts under the test's temporary directory; each is unmounted at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import collect_netns
from auditor.model.result import Status
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import require_namespaces

# In a new network namespace: a VXLAN device on the UDP wildcard (argument 2: its port), the
# namespace bound on the file of argument 1, its inode printed.  The process then exits: the bind
# mount alone holds the namespace.
BIND = textwrap.dedent("""\
    set -e
    ip link set lo up
    ip link add vx-lbaudit type vxlan id 17 dstport "$2" dev lo
    ip link set vx-lbaudit up
    mount --bind /proc/self/ns/net "$1"
    stat -L -c %i "$1"
""")


def _bind(path: Path, port: int) -> int:
    path.parent.mkdir(exist_ok=True)
    path.touch()
    made = subprocess.run(["unshare", "--net", "sh", "-c", BIND, "sh", str(path), str(port)],
                          capture_output=True, text=True, timeout=30)
    if "Unknown device type" in made.stderr:
        pytest.skip("this kernel cannot make a VXLAN device")
    assert made.returncode == 0, made.stderr
    return int(made.stdout.split()[-1])


def _unmount_all(*paths: Path) -> None:
    """Every mount stacked on each path, the last made first."""
    for path in paths:
        for _ in range(4):
            if subprocess.run(["umount", str(path)], capture_output=True, timeout=10).returncode != 0:
                break


def _discovery_gaps(inode: int, port: int) -> list[str]:
    """The reasons of the gaps naming namespace ``inode``; and that its listener is judged nowhere
    while the check's discovery outcome is not_reviewed."""
    netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    assert netns is not None
    assert inode not in {ns.inode for ns in netns.namespaces}
    outcomes = _bind_outcomes(netns, gaps)
    assert [o for o in outcomes if o.subject.startswith(f"udp 0.0.0.0:{port} ")] == []
    assert [o.status for o in outcomes if o.subject.endswith("(discovery)")] == [Status.NOT_REVIEWED]
    return [g.reason for g in gaps if f"net:[{inode}]" in g.reason and g.path == ("namespaces",)]


# before: no gap named the namespace (its mount was skipped on ENOENT): the listener passed unsaid
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_namespace_bound_under_a_directory_a_later_tmpfs_covers_is_a_discovery_gap(tmp_path):
    require_namespaces()
    directory = tmp_path / "netns"
    inode = _bind(directory / "hidden", 4784)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "lbaudit-test", str(directory)], check=True, timeout=10)
        assert not (directory / "hidden").exists()
        assert _discovery_gaps(inode, 4784) == [
            f"the nsfs mount {directory}/hidden of the collector's mount namespace binds network namespace "
            f"net:[{inode}], which that path no longer reaches (a later mount covers it) and nothing else discovery "
            "looks at holds: its listeners are not seen"]
    finally:
        _unmount_all(directory, directory / "hidden")


# before: the path opened the namespace bound on top; the one under it was dropped unsaid
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_namespace_bound_under_another_bound_on_the_same_file_is_a_discovery_gap(tmp_path):
    require_namespaces()
    path = tmp_path / "netns" / "stacked"
    under = _bind(path, 4785)
    try:
        subprocess.run(["unshare", "--net", "mount", "--bind", "/proc/self/ns/net", str(path)], check=True,
                       timeout=10)
        assert os.stat(path).st_ino != under
        assert _discovery_gaps(under, 4785) == [
            f"the nsfs mount {path} of the collector's mount namespace binds network namespace net:[{under}], which "
            "that path no longer reaches (a later mount covers it) and nothing else discovery looks at holds: its "
            "listeners are not seen"]
    finally:
        _unmount_all(path)


# the same in another mount namespace, read through a process in it
COVER_IN_PRIVATE = textwrap.dedent("""\
    import subprocess, sys
    directory, script = sys.argv[1], sys.argv[2]
    made = subprocess.run(["unshare", "--net", "sh", "-c", script, "sh", directory + "/hidden", "4786"],
                          capture_output=True, text=True)
    if made.returncode != 0:
        print("failed", made.stderr.replace("\\n", " "), flush=True)
        sys.exit(1)
    subprocess.run(["mount", "-t", "tmpfs", "lbaudit-test", directory], check=True)
    print(made.stdout.split()[-1], flush=True)
    sys.stdin.read()
""")


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_covered_bind_in_another_mount_namespace_is_a_discovery_gap(tmp_path):
    require_namespaces()
    directory = tmp_path / "netns"
    directory.mkdir()
    (directory / "hidden").touch()
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", sys.executable, "-c",
                               COVER_IN_PRIVATE, str(directory), BIND],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        if "Unknown device type" in line:
            pytest.skip("this kernel cannot make a VXLAN device")
        assert line.isdigit(), line
        inode = int(line)
        mount_namespace = os.stat(f"/proc/{holder.pid}/ns/mnt").st_ino
        [reason] = _discovery_gaps(inode, 4786)
        assert reason.startswith(f"the nsfs mount {directory}/hidden of mount namespace mnt:[{mount_namespace}] (pid ")
        assert reason.endswith(f") binds network namespace net:[{inode}], which that path no longer reaches (a later "
                               "mount covers it) and nothing else discovery looks at holds: its listeners are not seen")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


# before: the mount namespace, bound where a tmpfs then covered it, was dropped on ENOENT unsaid
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_mount_namespace_bound_under_a_directory_a_later_tmpfs_covers_is_a_discovery_gap(tmp_path):
    require_namespaces()
    directory = tmp_path / "mnt"
    directory.mkdir()
    (directory / "held").touch()
    made = subprocess.run(["unshare", f"--mount={directory}/held", "--propagation", "private", "true"],
                          capture_output=True, text=True, timeout=30)
    assert made.returncode == 0, made.stderr
    try:
        inode = os.stat(directory / "held").st_ino
        subprocess.run(["mount", "-t", "tmpfs", "lbaudit-test", str(directory)], check=True, timeout=10)
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
        assert netns is not None
        assert [g.reason for g in gaps if f"mnt:[{inode}]" in g.reason] == [
            f"the nsfs mount {directory}/held of the collector's mount namespace binds mount namespace "
            f"mnt:[{inode}], which that path no longer reaches (a later mount covers it) and nothing else discovery "
            "looks at holds: network namespaces bound only there are not seen"]
        assert [o.status for o in _bind_outcomes(netns, gaps) if o.subject.endswith("(discovery)")] == [
            Status.NOT_REVIEWED]
    finally:
        _unmount_all(directory, directory / "held")
