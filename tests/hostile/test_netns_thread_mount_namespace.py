"""Hostile corpus, false passes: a network namespace bound in a mount namespace only a thread is in.

unshare(CLONE_NEWNS) moves the calling thread alone (it unshares the thread's fs too): a thread may
be in a mount namespace of its own while ``/proc/PID/ns/mnt`` shows its leader's, which is what
discovery read.  A network namespace bound (an nsfs mount) only in such a thread's mount namespace,
with no process or thread in it, was not found, and what listened there (the kernel's UDP socket
of a VXLAN device) was never judged: net.bind_addresses passed.  (A Go program that locks an OS
thread and unshares there does this.)

Each thread's mount namespace (``/proc/PID/task/TID/ns/mnt``) is now read like any other.

Real namespaces; the thread and its mount namespace end with the process when the test does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import collect_netns
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import require_namespaces

# A thread (not the leader) unshares a mount namespace, mounts a tmpfs on argv[1] there, makes a
# network namespace with a VXLAN device on the UDP wildcard (argv[2]: its port), binds it on
# argv[1]/held and goes back to the host's network namespace.  Prints "pid tid inode".
HOLDER = textwrap.dedent("""\
    import ctypes, os, subprocess, sys, threading
    libc = ctypes.CDLL(None, use_errno=True)
    made, done = {}, threading.Event()

    def check(result, what):
        if result != 0:
            raise OSError(ctypes.get_errno(), what)

    def thread():
        try:
            home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
            check(libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None), "make-rprivate")  # MS_REC|MS_PRIVATE
            check(libc.mount(b"lbaudit-test", sys.argv[1].encode(), b"tmpfs", 0, None), "mount tmpfs")
            open(sys.argv[1] + "/held", "w").close()
            check(libc.unshare(0x40000000), "unshare(CLONE_NEWNET)")
            for args in (["link", "set", "lo", "up"],
                         ["link", "add", "vx-lbaudit", "type", "vxlan", "id", "22", "dstport", sys.argv[2], "dev", "lo"],
                         ["link", "set", "vx-lbaudit", "up"]):
                ip = subprocess.run(["ip", *args], capture_output=True, text=True)
                if ip.returncode != 0:
                    raise OSError(0, ip.stderr.replace("\\n", " "))
            check(libc.mount(b"/proc/thread-self/ns/net", (sys.argv[1] + "/held").encode(), None, 0x1000, None),
                  "bind")  # MS_BIND
            made["inode"] = os.stat("/proc/thread-self/ns/net").st_ino
            check(libc.setns(home, 0x40000000), "setns")
            made["tid"] = threading.get_native_id()
        except OSError as exc:
            made["error"] = str(exc)
        done.set()
        threading.Event().wait()

    threading.Thread(target=thread, daemon=True).start()
    done.wait()
    if "error" in made:
        print("failed", made["error"], flush=True)
        sys.exit(1)
    print(os.getpid(), made["tid"], made["inode"], flush=True)
    sys.stdin.read()
""")


# before: the namespace was not found; the VXLAN listener on 0.0.0.0 had no outcome (no fail)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_namespace_bound_in_a_threads_own_mount_namespace_is_found_and_judged(tmp_path):
    require_namespaces()
    directory = tmp_path / "thread"
    directory.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory), "4795"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().split()
        if "Unknown device type" in " ".join(line):
            pytest.skip("this kernel cannot make a VXLAN device")
        assert len(line) == 3 and line[0].isdigit(), line
        pid, tid, inode = (int(word) for word in line)
        assert os.stat(f"/proc/{pid}/task/{tid}/ns/mnt").st_ino != os.stat(f"/proc/{pid}/ns/mnt").st_ino
        assert os.stat(f"/proc/{pid}/task/{tid}/ns/net").st_ino != inode
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert netns is not None
    [namespace] = [ns for ns in netns.namespaces if ns.inode == inode]
    assert (namespace.entered, [(l.protocol, l.address, l.port) for l in namespace.listeners or []]) == (
        True, [("udp", "0.0.0.0", 4795)])
    assert [(o.status.value, o.subject) for o in _bind_outcomes(netns, gaps)
            if o.subject.startswith("udp 0.0.0.0:4795 ")] == [("fail", f"udp 0.0.0.0:4795 owner unknown in netns net:[{inode}]")]
