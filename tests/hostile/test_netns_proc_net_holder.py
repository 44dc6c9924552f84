"""Hostile corpus, false passes: a network namespace held only by an open /proc/PID/net file.

Opening a file of /proc/PID/net (``/proc/net/udp``, ``/proc/net/dev``) takes a reference on the
network namespace it shows, as long as it stays open.  A process that makes a namespace, opens its
/proc/self/net/udp and goes back (setns), or one of that namespace that hands such a descriptor out
and exits, leaves a namespace nothing discovery looks at holds: no process is in it, no nsfs file
or mount names it, no socket of a descriptor was made in it.  What listens there (the kernel's UDP
socket of a VXLAN device) was never judged, and no gap said so: net.bind_addresses passed.

No descriptor of such a file opens its namespace.  Discovery now compares each open /proc net file
with the same file of each namespace found (the proc entry, and so its inode, is the namespace's
own); one that is of none is a discovery gap naming the holder, so the run says it is incomplete.
A monitoring agent that keeps its own /proc/net/dev open is no gap (the control).

Real namespaces, real descriptors; the holder ends when the test does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import collect_netns
from auditor.model.result import Status
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import require_namespaces

# Makes a network namespace with a VXLAN device on the UDP wildcard (argv[1]: its port), opens its
# /proc/thread-self/net/udp (argv[2] == "away": then goes back to the host's namespace; "home": the
# host's own file, kept open as an agent does) and prints "pid fd inode".
HOLDER = textwrap.dedent("""\
    import ctypes, os, subprocess, sys
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    if sys.argv[2] == "home":
        held = os.open("/proc/thread-self/net/udp", os.O_RDONLY)
        print(os.getpid(), held, os.stat("/proc/self/ns/net").st_ino, flush=True)
        sys.stdin.read()
        sys.exit(0)
    assert libc.unshare(0x40000000) == 0
    for args in (["link", "set", "lo", "up"],
                 ["link", "add", "vx-lbaudit", "type", "vxlan", "id", "18", "dstport", sys.argv[1], "dev", "lo"],
                 ["link", "set", "vx-lbaudit", "up"]):
        made = subprocess.run(["ip", *args], capture_output=True, text=True)
        if made.returncode != 0:
            print("failed", made.stderr.replace("\\n", " "), flush=True)
            sys.exit(1)
    held = os.open("/proc/thread-self/net/udp", os.O_RDONLY)
    inode = os.stat("/proc/thread-self/ns/net").st_ino
    assert libc.setns(home, 0x40000000) == 0
    print(os.getpid(), held, inode, flush=True)
    sys.stdin.read()
""")


def _start(port: int, where: str) -> tuple[subprocess.Popen, int, int, int]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(port), where], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    line = holder.stdout.readline().split()
    if len(line) != 3 or not line[0].isdigit():
        holder.kill()
        holder.wait(timeout=10)
        if "Unknown device type" in " ".join(line):
            pytest.skip("this kernel cannot make a VXLAN device")
        pytest.fail(f"the holder did not start: {line}")
    return holder, int(line[0]), int(line[1]), int(line[2])


def _stop(holder: subprocess.Popen) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=10)


# before: no gap named the holder, and the VXLAN listener had no outcome (nothing said it was unseen)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_namespace_only_an_open_proc_net_file_holds_is_a_discovery_gap():
    require_namespaces()
    holder, pid, fd, inode = _start(4787, "away")
    try:
        assert os.stat(f"/proc/{pid}/ns/net").st_ino != inode
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    finally:
        _stop(holder)
    assert netns is not None
    assert inode not in {ns.inode for ns in netns.namespaces}
    [gap] = [g for g in gaps if f"/proc/{pid}/fd/{fd}" in g.reason]
    assert gap.path == ("namespaces",)
    assert gap.reason == (
        f"open /proc net files show a network namespace none found is (/proc/{pid}/task/{pid}/net/udp held by pid "
        f"{pid} as /proc/{pid}/fd/{fd}): such a file holds its namespace alive and nothing opens that namespace "
        "from it: its listeners are not seen")
    outcomes = _bind_outcomes(netns, gaps)
    assert [o for o in outcomes if o.subject.startswith("udp 0.0.0.0:4787 ")] == []
    discovery = [o for o in outcomes if o.subject.endswith("(discovery)")]
    assert [o.status for o in discovery] == [Status.NOT_REVIEWED]
    assert f"/proc/{pid}/fd/{fd}" in (discovery[0].reason or "")


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_control_a_proc_net_file_of_a_namespace_found_is_no_gap():
    require_namespaces()
    holder, pid, fd, _inode = _start(4788, "home")
    try:
        _netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    finally:
        _stop(holder)
    assert [g.reason for g in gaps if f"/proc/{pid}/fd/{fd}" in g.reason] == []
