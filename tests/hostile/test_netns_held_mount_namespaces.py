"""Hostile corpus, false passes: a network namespace bound only in a mount namespace no process is in.

Discovery reads the nsfs mounts of every mount namespace through a process in it
(``/proc/PID/mountinfo``).  A mount namespace outlives its processes while something refers to it:
a bind mount of its namespace file (``unshare --mount=FILE``, ``mount --bind /proc/PID/ns/mnt
FILE``) or a descriptor of it a process holds.  ``ip netns add`` run in such a mount namespace
binds the network namespace there only; once its processes exit, nothing discovery looked at
showed that network namespace, and what listens in it (the kernel's UDP socket of a VXLAN
device, held by no descriptor) was never judged: net.bind_addresses passed.

Now a mount namespace that is bound or held open but has no process is entered by a forked child,
which reads its nsfs mounts and hands back a descriptor of each network namespace bound there (and
of each mount namespace bound there, read in turn).

Real mount and network namespaces; each test unmounts what it bound and ends what it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from auditor.collect import CollectContext
from auditor.collect.fdtables import read_table
from auditor.collect.netns import _part_descriptors, close_held, collect_netns, discover
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import require_namespaces
from tests.privileges import run_as_unprivileged

# Run in a private mount namespace: a tmpfs over /run/netns, `ip netns add`, a VXLAN device
# listening on the UDP wildcard (argument 1: its port), and the network namespace's inode printed.
# The network namespace is bound only in that mount namespace, and no process is in it.
MAKE = textwrap.dedent("""\
    set -e
    mkdir -p /run/netns
    mount -t tmpfs lbaudit-test /run/netns
    ip netns add lbaudit-held
    ip netns exec lbaudit-held ip link set lo up
    ip netns exec lbaudit-held ip link add vx-lbaudit type vxlan id 16 dstport "$1" dev lo
    ip netns exec lbaudit-held ip link set vx-lbaudit up
    stat -L -c %i /run/netns/lbaudit-held
""")


def _vxlan_outcomes(port: int, inode: int) -> list[tuple[str, str]]:
    """(status, subject) of each outcome of net.bind_addresses (loopback only, in every namespace)
    for the VXLAN listener on ``port`` in namespace ``inode``."""
    netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    assert netns is not None
    [namespace] = [ns for ns in netns.namespaces if ns.inode == inode]
    assert [(l.protocol, l.address, l.port) for l in namespace.listeners or []] == [("udp", "0.0.0.0", port)]
    return [(o.status.value, o.subject) for o in _bind_outcomes(netns, gaps)
            if o.subject.startswith(f"udp 0.0.0.0:{port} ")]


def _made(result: subprocess.CompletedProcess) -> int:
    if "Unknown device type" in result.stderr:
        pytest.skip("this kernel cannot make a VXLAN device")
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


# before: the namespace was not found, its VXLAN listener on 0.0.0.0 had no outcome at all (no fail)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_network_namespace_bound_in_a_mount_namespace_only_a_bind_mount_holds_is_found(tmp_path):
    require_namespaces()
    holder = tmp_path / "mnt"
    holder.touch()
    made = subprocess.run(["unshare", f"--mount={holder}", "--propagation", "private", "sh", "-c", MAKE, "sh",
                           "4781"], capture_output=True, text=True, timeout=30)
    try:
        inode = _made(made)
        # no process is in the mount namespace now: only the bind mount at `holder` holds it
        found, _current, _gaps = discover("/proc")
        try:
            assert [e.inode for e in found.values() if e.inode == inode] == [inode]
        finally:
            close_held(found)
        assert _vxlan_outcomes(4781, inode) == [("fail", "udp 0.0.0.0:4781 owner unknown in netns lbaudit-held")]
    finally:
        subprocess.run(["umount", str(holder)], capture_output=True, timeout=10)


# the mount namespace held by a descriptor of a process of the host's mount namespace (the process
# that made it has exited)
HOLD_FD = textwrap.dedent("""\
    import os, subprocess, sys
    maker = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                              sys.argv[1] + "\\nexec cat", "sh", "4782"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = maker.stdout.readline().strip()
    if not line.isdigit():
        maker.stdin.close()
        print("failed", maker.communicate()[1].replace("\\n", " "), flush=True)
        sys.exit(1)
    held = os.open(f"/proc/{maker.pid}/ns/mnt", os.O_RDONLY)
    maker.stdin.close()
    maker.wait()
    print(line, flush=True)
    sys.stdin.read()
""")


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_network_namespace_bound_in_a_mount_namespace_only_a_descriptor_holds_is_found():
    require_namespaces()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FD, MAKE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        if "Unknown device type" in line:
            pytest.skip("this kernel cannot make a VXLAN device")
        assert line.isdigit(), line
        inode = int(line)
        assert _vxlan_outcomes(4782, inode) == [("fail", "udp 0.0.0.0:4782 owner unknown in netns lbaudit-held")]
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


# before: a mount namespace bound only inside another such mount namespace was not read either
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_mount_namespace_bound_inside_a_held_mount_namespace_is_read_in_turn(tmp_path):
    require_namespaces()
    outer = tmp_path / "outer"
    outer.touch()
    inner = tmp_path / "inner"  # a tmpfs there in the outer mount namespace only
    inner.mkdir()
    script = textwrap.dedent(f"""\
        set -e
        mount -t tmpfs lbaudit-test {inner}
        touch {inner}/mnt
        unshare --mount={inner}/mnt --propagation private sh -c '{MAKE}' sh 4783
    """)
    # One CPU for the whole setup: the kernel refuses to bind a mount namespace's file in one whose id
    # is not lower (a loop check, mnt_ns_loop), and since Linux 6.18 each CPU hands out ids from a
    # batch of its own, so a mount namespace made later on another CPU may have the lower id.
    cpu = min(os.sched_getaffinity(0))
    made = subprocess.run(["unshare", f"--mount={outer}", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=30, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    try:
        inode = _made(made)
        assert not (inner / "mnt").exists()
        assert _vxlan_outcomes(4783, inode) == [("fail", "udp 0.0.0.0:4783 owner unknown in netns lbaudit-held")]
    finally:
        subprocess.run(["umount", str(outer)], capture_output=True, timeout=10)


def _discovery_reasons() -> list[str]:
    _found, _current, gaps = discover("/proc")
    close_held(_found)
    return [gap.reason for gap in gaps]


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine, as root and as nobody
def test_a_held_mount_namespace_that_cannot_be_opened_is_a_discovery_gap(tmp_path):
    """Run without privileges, the mount namespace bound at a path of root's cannot be opened: it is
    said, with the path and the reason, never passed over."""
    require_namespaces()
    holder = tmp_path / "mnt"
    holder.touch()
    made = subprocess.run(["unshare", f"--mount={holder}", "--propagation", "private", "true"], capture_output=True,
                          text=True, timeout=30)
    assert made.returncode == 0, made.stderr
    try:
        inode = os.stat(holder).st_ino
        reasons = [r for r in run_as_unprivileged(_discovery_reasons) if f"mnt:[{inode}]" in r]
        assert reasons == [f"mount namespace mnt:[{inode}], which no process is in, could not be opened ({holder}: "
                           "Permission denied): network namespaces bound only there are not seen"]
        assert [r for r in _discovery_reasons() if f"mnt:[{inode}]" in r] == []  # as root it is read
    finally:
        subprocess.run(["umount", str(holder)], capture_output=True, timeout=10)


# A mount namespace whose only process is chrooted: its /proc/PID/mountinfo lists only the mounts
# under its root, so /run/netns/lbaudit-held, bound outside the chroot, is not there.
CHROOTED = textwrap.dedent("""\
    import os, subprocess, sys
    made = subprocess.run(["sh", "-c", sys.argv[1], "sh", "4796"], capture_output=True, text=True)
    if made.returncode != 0:
        print("failed", made.stderr.replace("\\n", " "), flush=True)
        sys.exit(1)
    os.chroot(sys.argv[2])
    os.chdir("/")
    print(made.stdout.split()[-1], flush=True)
    sys.stdin.read()
""")


# before: the chrooted process's mountinfo was read, which does not show the bind: no outcome
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_network_namespace_bound_outside_the_chroot_of_every_process_of_its_mount_namespace_is_found(tmp_path):
    require_namespaces()
    jail = tmp_path / "jail"
    jail.mkdir()
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", CHROOTED, MAKE,
                               str(jail)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        if "Unknown device type" in line:
            pytest.skip("this kernel cannot make a VXLAN device")
        assert line.isdigit(), line
        inode = int(line)
        assert "lbaudit" not in open(f"/proc/{holder.pid}/mountinfo").read()  # noqa: SIM115
        assert _vxlan_outcomes(4796, inode) == [("fail", "udp 0.0.0.0:4796 owner unknown in netns lbaudit-held")]
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


# A process registers a descriptor of a mount namespace (no process in it: its maker exited) with
# an io_uring and closes the descriptor: only the ring's registered files hold it, and no path
# opens it.  Prints "pid inode".
RING_HOLDS_A_MOUNT_NAMESPACE = textwrap.dedent("""\
    import ctypes, os, subprocess, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    maker = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "cat"], stdin=subprocess.PIPE)
    while os.stat(f"/proc/{maker.pid}/ns/mnt").st_ino == os.stat("/proc/self/ns/mnt").st_ino:
        pass  # until unshare has made it
    held = os.open(f"/proc/{maker.pid}/ns/mnt", os.O_RDONLY)
    maker.stdin.close()
    maker.wait()
    params = (ctypes.c_char * 120)()
    ring = libc.syscall(ctypes.c_long(425), ctypes.c_long(4), params)
    files = (ctypes.c_int * 1)(held)
    if ring < 0 or libc.syscall(ctypes.c_long(427), ctypes.c_long(ring), ctypes.c_long(2), files, ctypes.c_long(1)):
        print("io_uring refused", flush=True)
        sys.exit(0)
    inode = os.fstat(held).st_ino
    os.close(held)
    print(os.getpid(), inode, flush=True)
    sys.stdin.read()
""")


# before: the mount namespace was passed over unsaid (the ring's slot has no path to open it by)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_mount_namespace_only_a_ring_slot_holds_makes_its_holders_files_a_gap():
    require_namespaces()
    process = subprocess.Popen([sys.executable, "-c", RING_HOLDS_A_MOUNT_NAMESPACE], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    try:
        if len(line) != 2:
            pytest.skip(f"this kernel does not let a process register files with io_uring: {line}")
        pid = int(line[0])
        table = read_table("/proc", pid)
        assert table is not None
        refused: list[int] = []
        for part in table.parts():  # the process's own table and its ring's registered files
            _part_descriptors(pid, part, lambda *args, **kwargs: None, [], refused, None, {}, [])
        reasons = [r for r in _discovery_reasons() if "the open files of" in r]
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
    assert refused == [pid]
    [reason] = reasons
    assert reason.endswith(": namespaces only their descriptors or sockets hold, or only their mount namespace "
                               "binds, are not seen")
