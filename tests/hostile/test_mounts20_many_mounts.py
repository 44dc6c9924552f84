"""Hostile scale: a container host's many mounts and many listening processes, judged from one read
of each mount table.

Before, every process whose listener was attributed built a new ``MountJudge`` to judge the mount of
its executable (``exe_elsewhere``): each read its own /proc/PID/mountinfo again (and, when the
device was not found there, the collector's /proc/self/mountinfo), and each read resolved every
overlay's layer directories against every mount of the table (overlays x layers x mounts), whether
or not any process ran from it.  With 2,000 mounts, 40 overlays and 12 processes in one mount
namespace that was 12 reads of the same 2,000-line table and the layers of all 40 overlays resolved
12 times over: processes x mounts, and processes x overlays x layers x mounts, for one collection.

Now a collection reads each mount namespace's table once (keyed by the namespace and the process's
root, which decides which mount points its mountinfo shows) and resolves an overlay's layers only
for an overlay it is asked about, once.  What is judged stays the same: every process runs from an
overlay on tmpfs and its exe is proven (no gap).

A real private mount namespace (``unshare(CLONE_NEWNS)``) with real tmpfs and overlay mounts, real
processes holding real listening sockets on loopback, and a count of real opens of mountinfo files
(Python's audit hook sees every ``os.open``) and of real calls of the layer resolution.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.privileges import CLONE_NEWNS, require_root, run_in_new_namespaces

PLAIN_MOUNTS = 2000
OVERLAYS = 40
PROCESSES = 12  # each holds one listener and runs from its own overlay
LAYERS = 3  # lowerdir, upperdir, workdir of each overlay


def _scenario() -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    from auditor.collect import fdmounts
    from auditor.collect.sockets import attribute_owners
    from auditor.model.facts import Listener

    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source: str, target: str, fstype: str, options: str = "") -> None:
        if libc.mount(source.encode(), target.encode(), fstype.encode(), 0, options.encode() or None) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"mount {fstype} on {target}: {os.strerror(error)}")

    base = tempfile.mkdtemp(prefix="lbaudit-mounts20-", dir="/run")
    mount("tmpfs", base, "tmpfs", "size=64m")
    for index in range(PLAIN_MOUNTS):
        os.mkdir(f"{base}/t{index}")
        mount("tmpfs", f"{base}/t{index}", "tmpfs", "size=16k")
    for index in range(OVERLAYS):
        for part in ("l", "u", "w", "m"):
            os.makedirs(f"{base}/o{index}/{part}")
        mount("overlay", f"{base}/o{index}/m", "overlay",
              f"lowerdir={base}/o{index}/l,upperdir={base}/o{index}/u,workdir={base}/o{index}/w")
    children: list[subprocess.Popen] = []
    listeners = []
    try:
        for index in range(PROCESSES):
            program = f"{base}/o{index}/m/sleep"
            shutil.copy("/bin/sleep", program)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                sock.listen(1)
                listeners.append(Listener(protocol="tcp", family="ipv4", address="127.0.0.1",
                                          port=sock.getsockname()[1], inode=os.fstat(sock.fileno()).st_ino))
                # the child alone holds the socket once this copy is closed
                children.append(subprocess.Popen([program, "120"], pass_fds=[sock.fileno()]))
        for child, index in zip(children, range(PROCESSES)):
            for _ in range(500):  # until it runs the copy (its maps show it), not Python any more
                with open(f"/proc/{child.pid}/maps") as maps:
                    if f"{base}/o{index}/m/sleep" in maps.read():
                        break
                time.sleep(0.01)

        mountinfo_opens: list[str] = []
        watching = [False]

        def hook(event: str, args: tuple) -> None:
            if watching[0] and event == "open" and str(args[0]).endswith("/mountinfo"):
                mountinfo_opens.append(str(args[0]))

        sys.addaudithook(hook)
        resolved: list[str] = []
        holding = fdmounts._mount_holding

        def counted(mounts, path):  # the real resolution, counted
            resolved.append(path)
            return holding(mounts, path)

        fdmounts._mount_holding = counted
        watching[0] = True
        try:
            result, gaps = attribute_owners(listeners)
        finally:
            watching[0] = False
            fdmounts._mount_holding = holding
        exes = [",".join(str(p.exe) for p in listener.processes) for listener in result]
        expected = [f"{base}/o{index}/m/sleep" for index in range(PROCESSES)]
        return mountinfo_opens, resolved, exes, expected, [gap.reason for gap in gaps]
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_many_mounts_and_processes_are_judged_from_one_read_of_the_table():
    require_root()
    if shutil.which("sleep") is None or not os.path.exists("/bin/sleep"):
        pytest.skip("no /bin/sleep to run from the overlays")
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            "d=$(mktemp -d /run/lbaudit-probe-XXXXXX) && mkdir $d/l $d/u $d/w $d/m && "
                            "mount -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m; "
                            "r=$?; umount $d/m 2>/dev/null; rm -rf $d; exit $r"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"this machine cannot mount an overlay in a new mount namespace: {probe.stderr.strip()}")
    opens, resolved, exes, expected, gaps = run_in_new_namespaces(_scenario, CLONE_NEWNS, "rw", timeout=300)
    # the same facts: every process is proven to run the overlay's program, and nothing is a gap
    assert exes == expected
    assert [reason for reason in gaps if "exe" in reason] == []
    # every process and the collector share one mount namespace and one root: the judge opens that
    # table twice (once to poll it for a change of its mounts, once to read it), beside the one read
    # of /proc/self/mountinfo that tells whether /proc lists every process (auditor.collect.procview:
    # its procfs's options); before, 13 reads, one a process
    assert len(opens) <= 3, f"{len(opens)} opens of mountinfo for {PROCESSES} processes in one mount namespace: {opens}"
    # only the overlays the processes run from have their layers resolved, each once
    assert resolved and resolved == list(dict.fromkeys(resolved)), "an overlay's layers were resolved twice"
    assert len(resolved) == PROCESSES * LAYERS, (
        f"{len(resolved)} layer directories resolved; {PROCESSES} overlays of {LAYERS} layers were asked about")


def _changed_scenario() -> tuple[object, object]:
    from auditor.collect.fdmounts import Mount, MountJudge

    libc = ctypes.CDLL(None, use_errno=True)
    base = tempfile.mkdtemp(prefix="lbaudit-mounts20-", dir="/run")
    judge = MountJudge()
    first = subprocess.Popen(["/bin/sleep", "60"])
    second = None
    try:
        time.sleep(0.2)
        before = judge.executable_mount(f"/proc/{first.pid}", os.readlink(f"/proc/{first.pid}/exe"))
        assert isinstance(before, Mount), before
        # a mount made after the shared table was read: a process run from it is judged by it
        if libc.mount(b"tmpfs", base.encode(), b"tmpfs", 0, None) != 0:
            raise OSError(ctypes.get_errno(), "mount tmpfs")
        shutil.copy("/bin/sleep", f"{base}/sleep")
        second = subprocess.Popen([f"{base}/sleep", "60"])
        for _ in range(500):
            with open(f"/proc/{second.pid}/maps") as maps:
                if f"{base}/sleep" in maps.read():
                    break
            time.sleep(0.01)
        after = judge.executable_mount(f"/proc/{second.pid}", f"{base}/sleep")
        return (after.fstype, after.point) if isinstance(after, Mount) else after, base
    finally:
        for child in (first, second):
            if child is not None:
                child.kill()
                child.wait()


def test_a_mount_made_after_the_table_was_read_is_seen():
    """The table shared by a namespace's processes is read again once its mounts change: a table
    kept from before could miss a new mount (a gap where there is none) or, where an unmount freed
    a device number a new FUSE mount took, name the old tmpfs for it (a stat that waits for ever)."""
    require_root()
    judged, base = run_in_new_namespaces(_changed_scenario, CLONE_NEWNS, "rw", timeout=120)
    assert judged == ("tmpfs", base)
