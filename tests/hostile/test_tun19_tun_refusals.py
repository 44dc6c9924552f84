"""Hostile corpus, discovery: a tun descriptor that could not be asked was passed over unsaid.

A tun/tap descriptor may be all that holds a network namespace (its holder made the device there
and went back with setns).  Discovery copies the descriptor from its holder (``pidfd_open``,
``pidfd_getfd``) and asks the copy (``TUNGETDEVNETNS``, ``SIOCGSKNS``).  Every failure on that
way was skipped without a word (``continue``): the namespace was not found and discovery said
nothing, so a run missing it called itself complete, and what listened there was never judged.
Realistic ways a refusal happens, each reproduced here with a real tun device in a namespace
made for the test:

* lbaudit runs under a seccomp filter that refuses ``pidfd_getfd`` (Docker's default profile
  does, for a container without CAP_SYS_PTRACE);
* lbaudit runs without CAP_NET_ADMIN (a unit's CapabilityBoundingSet): the kernel refuses both
  ioctls with EPERM;
* the holder registered the descriptor with an io_uring and closed it: the ring's slot has no
  descriptor to copy;
* the holder's main thread ended (``pthread_exit``), before discovery or between the listing of
  its descriptors and the copy: its other thread holds every descriptor, but a pidfd of the
  process reaches the exited leader, which holds none (EBADF), and the descriptor was taken for
  closed.

Now each refusal is a discovery gap naming the descriptor (the run is incomplete), and a
leaderless holder's descriptor is copied through a thread that holds it, so its namespace is
found (a socket's too).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from auditor.collect.fdtables import read_table
from auditor.collect.netns import _part_descriptors, _socket_namespaces, _tun_namespaces, close_held, discover
from tests.netns_env import require_namespaces

ROOT = str(Path(__file__).resolve().parents[2])

# Makes a namespace and a tun device in it (argv[1]: its name), goes back to its own namespace
# (argv[2] == "leaderless": then its main thread ends, another holding everything; "ring": its
# descriptor is registered with an io_uring and closed), prints
# "pid inode", and holds the tun descriptor (nothing else of that namespace) until stdin closes.
HOLDER = textwrap.dedent("""\
    import ctypes, fcntl, os, struct, sys, threading, time
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0
    inode = os.stat("/proc/thread-self/ns/net").st_ino
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, 0x400454CA, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))  # TUNSETIFF
    if sys.argv[2] == "leaves-socket":  # a socket made in the namespace holds it, not the tun descriptor
        import socket
        held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        os.close(tun)
    assert libc.setns(home, 0x40000000) == 0
    os.close(home)
    if sys.argv[2] == "ring":  # registered with an io_uring, its descriptor closed: only the ring holds it
        libc.syscall.restype = ctypes.c_long
        params = (ctypes.c_char * 120)()
        ring = libc.syscall(ctypes.c_long(425), ctypes.c_long(4), params)  # io_uring_setup
        files = (ctypes.c_int * 1)(tun)
        if ring < 0 or libc.syscall(ctypes.c_long(427), ctypes.c_long(ring), ctypes.c_long(2), files,
                                    ctypes.c_long(1)):  # io_uring_register(IORING_REGISTER_FILES)
            print("io_uring refused", flush=True)
            sys.exit(0)
        os.close(tun)
    if sys.argv[2] in ("leaves", "leaves-socket"):  # its main thread ends at the first line on stdin
        go = threading.Event()
        def hold():
            go.wait()
            sys.stdin.read()
        threading.Thread(target=hold).start()
        print(os.getpid(), inode, flush=True)
        sys.stdin.readline()
        go.set()
        libc.pthread_exit(None)
    if sys.argv[2] == "leaderless":  # says so once the main thread has ended (the leader a zombie)
        def hold():
            while open(f"/proc/{os.getpid()}/stat").read().rpartition(")")[2].split()[0] != "Z":
                time.sleep(0.01)
            print(os.getpid(), inode, flush=True)
            sys.stdin.read()
        threading.Thread(target=hold).start()
        libc.pthread_exit(None)
    print(os.getpid(), inode, flush=True)
    sys.stdin.read()
""")

# Discovery in a child interpreter, under a seccomp filter that refuses pidfd_getfd (438) with
# EPERM when argv[1] is "seccomp"; prints the inodes found and the gaps' reasons.
DISCOVER = textwrap.dedent("""\
    import ctypes, json, struct, sys
    if sys.argv[1] == "seccomp":
        libc = ctypes.CDLL(None, use_errno=True)
        program = [(0x20, 0, 0, 0),                    # A = seccomp_data.nr
                   (0x15, 0, 1, 438),                  # if A == pidfd_getfd
                   (0x06, 0, 0, 0x00050000 | 1),       #   return SECCOMP_RET_ERRNO | EPERM
                   (0x06, 0, 0, 0x7FFF0000)]           # return SECCOMP_RET_ALLOW
        code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        fprog = SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
        assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
        assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0, ctypes.get_errno()  # PR_SET_SECCOMP, FILTER
    from auditor.collect.netns import close_held, discover
    found, _current, gaps = discover("/proc")
    close_held(found)
    print(json.dumps({"inodes": [inode for _device, inode in found], "gaps": [g.reason for g in gaps]}))
""")


def _holder(how: str):
    require_namespaces()
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun to hold a namespace by")
    device = f"lbt19{os.getpid() % 100000}"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, device, how], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    line = holder.stdout.readline().split()
    if how == "ring" and len(line) != 2:
        holder.wait(timeout=10)
        pytest.skip(f"this kernel does not let a process register files with io_uring: {line}")
    assert len(line) == 2, line
    return holder, int(line[0]), int(line[1])


def _end(holder: subprocess.Popen) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=10)


def _discover_in_child(prefix: list[str], how: str) -> dict:
    done = subprocess.run([*prefix, sys.executable, "-c", DISCOVER, how], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _tun_gaps(gaps: list[str], pid: int) -> list[str]:
    return [g for g in gaps if "tun/tap" in g and f"pid {pid}" in g]


# before: the namespace was not found and no gap said so (the run called itself complete)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine, in a child interpreter
@pytest.mark.parametrize("refusal", ["seccomp", "no-cap-net-admin"])
def test_a_tun_descriptor_that_could_not_be_asked_is_a_discovery_gap(refusal):
    if refusal == "no-cap-net-admin":
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is not installed to drop CAP_NET_ADMIN")
        prefix = ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", "--"]
        why = "Operation not permitted"
    else:
        prefix = []
        why = "pidfd_getfd: Operation not permitted"
    holder, pid, _inode = _holder("plain")
    try:
        result = _discover_in_child(prefix, "seccomp" if refusal == "seccomp" else "plain")
    finally:
        _end(holder)
    # it cannot be found this way (another process may hold it meanwhile, such as a discovery run
    # beside this one, which holds what it found): the descriptor's refusal is said, not passed over
    [gap] = _tun_gaps(result["gaps"], pid)
    assert why in gap
    assert gap.endswith("namespaces only such devices hold are not seen")


# before: pidfd_getfd through the process reached its exited leader (EBADF), and the namespace
# was neither found nor said to be missing
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_tun_descriptor_of_a_holder_whose_main_thread_ended_is_asked_through_its_thread():
    holder, pid, inode = _holder("leaderless")
    try:
        found, _current, gaps = discover("/proc")
        close_held(found)
    finally:
        _end(holder)
    assert _tun_gaps([g.reason for g in gaps], pid) == []
    assert inode in {found_inode for _device, found_inode in found}


# before: the descriptor, listed while the main thread ran, was asked through a pidfd of the
# process after the main thread ended: EBADF, and its link gone with the leader's table, it was
# taken for closed, though the other thread still held it
@pytest.mark.live
def test_a_tun_descriptor_whose_holders_main_thread_ends_after_the_listing_is_still_asked():
    holder, pid, inode = _holder("leaves")
    found: dict = {}
    try:
        table = read_table("/proc", pid)
        assert table is not None
        tuns: list = []
        for part in table.parts():
            _part_descriptors(pid, part, lambda *args, **kwargs: None, [], [], tuns, {}, [])
        assert [(p, t) for p, t, _fd, _link in tuns] == [(pid, 0)]  # listed through the process, as it was then
        assert holder.stdin is not None
        holder.stdin.write("\n")  # its main thread ends now, between the listing and the question
        holder.stdin.flush()
        while open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] != "Z":
            time.sleep(0.01)
        untold = _tun_namespaces(tuns, found)
    finally:
        close_held(found)
        _end(holder)
    assert untold == []
    assert inode in {found_inode for _device, found_inode in found}


# before: the socket, listed while the main thread ran, was looked for at /proc/PID/fd/N after the
# main thread ended (the leader's table, empty): taken for closed, its namespace was not asked
@pytest.mark.live
def test_a_socket_whose_holders_main_thread_ends_after_the_listing_is_still_asked():
    holder, pid, inode = _holder("leaves-socket")
    found: dict = {}
    try:
        table = read_table("/proc", pid)
        assert table is not None
        holding: list = []
        for part in table.parts():
            _part_descriptors(pid, part, lambda *args, **kwargs: None, holding, [], [], {}, [])
        assert [p for p, _table in holding] == [pid]
        assert holder.stdin is not None
        holder.stdin.write("\n")  # its main thread ends now, between the listing and the question
        holder.stdin.flush()
        while open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] != "Z":
            time.sleep(0.01)
        unasked, _vsock, _xdp = _socket_namespaces(holding, found)
    finally:
        close_held(found)
        _end(holder)
    assert unasked == []
    assert inode in {found_inode for _device, found_inode in found}


# before: a tun file only a ring's slot held was left out of the question unsaid
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
def test_a_tun_file_only_an_io_uring_slot_holds_is_a_discovery_gap():
    holder, pid, _inode = _holder("ring")
    try:
        found, _current, gaps = discover("/proc")
        close_held(found)
    finally:
        _end(holder)
    [gap] = _tun_gaps([g.reason for g in gaps], pid)
    assert "held only in an io_uring's registered files (no descriptor of it to copy) for 1 tun/tap descriptors " \
           f"(e.g. /dev/net/tun in an io_uring slot of pid {pid})" in gap


# Makes a namespace and a tun device in it through a device node of its own (argv[1]: its path under /dev,
# the tun clone device's numbers, 10:200; argv[2] == "deleted": the node is then removed), goes
# back to its own namespace, prints "pid inode fd" and holds the descriptor until stdin closes.
HOLDER_ELSEWHERE = textwrap.dedent("""\
    import ctypes, fcntl, os, stat, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    os.mknod(sys.argv[1], stat.S_IFCHR | 0o600, os.makedev(10, 200))
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0
    inode = os.stat("/proc/thread-self/ns/net").st_ino
    tun = os.open(sys.argv[1], os.O_RDWR)
    fcntl.ioctl(tun, 0x400454CA, struct.pack("16sH", sys.argv[3].encode(), 0x0001 | 0x1000))  # TUNSETIFF
    assert libc.setns(home, 0x40000000) == 0
    os.close(home)
    if sys.argv[2] == "deleted":
        os.unlink(sys.argv[1])
    print(os.getpid(), inode, tun, flush=True)
    sys.stdin.read()
""")


# before: a tun descriptor was recognised by its link text alone, /dev/net/tun: one opened through
# another node of the same device (a container runtime's --device /dev/net/tun:/dev/vpn, a node a
# process made) was not asked, and the namespace only it held was missed without a gap
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
@pytest.mark.parametrize("how", ["elsewhere", "deleted"])
def test_a_tun_descriptor_opened_through_another_device_node_is_asked(how):
    require_namespaces()
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun to hold a namespace by")
    node = f"/dev/lbaudit-tun19-{os.getpid()}-{how}"  # under /dev, where a runtime makes its nodes
    holder = subprocess.Popen([sys.executable, "-c", HOLDER_ELSEWHERE, node, how, f"lbe19{os.getpid() % 100000}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().split()
        assert len(line) == 3, line
        pid, inode, fd = map(int, line)
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == node + (" (deleted)" if how == "deleted" else "")
        found, _current, gaps = discover("/proc")
        close_held(found)
    finally:
        _end(holder)
        if os.path.lexists(node):
            os.unlink(node)
    assert _tun_gaps([g.reason for g in gaps], pid) == []
    assert inode in {found_inode for _device, found_inode in found}
