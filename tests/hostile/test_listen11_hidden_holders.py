"""Hostile corpus, false passes: a holder of a socket that ``/proc/PID/fd`` does not show.

Which processes hold a listening socket is read from the descriptor tables, and a listener an
exception allows for one program is judged for every other holder too (any holder can accept on
it).  Two places a process can hold a socket that its ``/proc/PID/fd`` does not list:

* a thread's own descriptor table: a thread that called ``unshare(CLONE_FILES)`` has a private
  copy of the table, listed only at ``/proc/PID/task/TID/fd``; the process can close the socket in
  the shared table and keep it in the thread's;
* an io_uring's registered files (``IORING_REGISTER_FILES``): the ring holds a reference to each
  file registered, and the process can close the descriptor and keep accepting through the ring.
  ``/proc/PID/fdinfo/RING`` lists them (``    0: socket:[I]``).

Before: the hidden holder was not seen, so a wildcard socket it shares with an allowed program
passed under that program's exception (exit 0), and a network namespace kept alive only by a socket
held that way was never found, with no gap.  Now each table of a process is read (the threads
whose table is not the leader's, told apart with ``kcmp(KCMP_FILES)``) and each ring's registered
files, for the owner scan and namespace discovery alike; a ring whose list the kernel did not give
is a gap, never an empty ring.

Real processes, sockets, threads, rings and namespaces.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect import fdtables
from tests.cli import run_cli
from tests.hostile.test_listeners_pinned_namespaces import _policy
from tests.privileges import CLONE_NEWNET, require_root, run_in_new_namespaces

# Makes a wildcard listener, hands it to the program argv[2:] (which holds it from then on), then
# keeps it in the place argv[1] names and closes it in the process's shared table: "thread" (a
# thread with a table of its own) or "ring" (an io_uring's registered files).  Checks that
# /proc/self/fd no longer shows it, prints the port and holds everything until stdin closes.
HIDER = textwrap.dedent("""
    import ctypes, os, socket, subprocess, sys, threading
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    where, hand_to = sys.argv[1], sys.argv[2:]
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    port, inode = held.getsockname()[1], os.fstat(held.fileno()).st_ino
    child = subprocess.Popen(hand_to, pass_fds=[held.fileno()], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL) if hand_to else None
    if where == "thread":
        ready, done = threading.Event(), threading.Event()
        def keep():
            if libc.unshare(0x400) != 0:  # CLONE_FILES: this thread's table is a copy of its own
                print("unshare failed", ctypes.get_errno(), flush=True)
                os._exit(1)
            ready.set()
            done.wait()
        threading.Thread(target=keep, daemon=True).start()
        ready.wait()
    else:
        params = (ctypes.c_char * 120)()
        ring = libc.syscall(ctypes.c_long(425), ctypes.c_long(4), params)  # io_uring_setup
        files = (ctypes.c_int * 1)(held.fileno())
        if ring < 0 or libc.syscall(ctypes.c_long(427), ctypes.c_long(ring), ctypes.c_long(2), files,
                                    ctypes.c_long(1)) != 0:  # io_uring_register(IORING_REGISTER_FILES)
            print("io_uring refused", ctypes.get_errno(), flush=True)
            os._exit(1)
    held.close()
    shown = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            shown.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:
            pass  # the listing's own descriptor
    assert f"socket:[{inode}]" not in shown
    print(port, inode, flush=True)
    sys.stdin.read()
    if child:
        child.kill()
        child.wait()
""")


def _hide(where: str, hand_to: list[str]) -> tuple[subprocess.Popen[str], int, int]:
    process = subprocess.Popen([sys.executable, "-c", HIDER, where, *hand_to], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2 or not line[0].isdigit():
        process.kill()
        process.wait(timeout=10)
        if where == "ring":
            pytest.skip(f"this kernel does not let a process register files with io_uring: {line}")
        pytest.fail(f"the hiding process did not start: {line}")
    return process, int(line[0]), int(line[1])


def _stop(process: subprocess.Popen[str]) -> None:
    if process.stdin:
        process.stdin.close()
    process.wait(timeout=10)


def _refused() -> str:
    """What a listener no rule allows is: fail where every holder can be seen; not_reviewed where
    some process's tables cannot be read (a container's pid 1 from an outer user namespace)."""
    from auditor.collect.sockets import scan_socket_owners

    return "fail" if not scan_socket_owners({0}).unreadable else "not_reviewed"


@pytest.mark.live
@pytest.mark.parametrize("where", ["thread", "ring"])
def test_a_co_holder_keeping_the_socket_out_of_its_shared_table_takes_no_exception(where):
    require_root()
    sleep = shutil.which("sleep")
    assert sleep is not None
    params = BindAddressParams.model_validate({
        "allow": ["loopback"],
        "exceptions": [{"match": {"exe": os.path.realpath(sleep)}, "allow": ["any"], "reason": "the allowed service"}]})

    def scenario():
        from auditor.collect.live import collect_live

        hider, port, _inode = _hide(where, [sleep, "600"])
        try:
            taken = collect_live(frozenset({"sockets"}))
            judged = [(o.status.value, o.subject, o.message) for o in net_bind_addresses.run(taken, params)
                      if o.subject_detail.get("port") == port]
            return hider.pid, judged, _refused()
        finally:
            _stop(hider)

    hider_pid, judged, refused = run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")
    [(status, subject, message)] = judged
    assert status == refused  # before: pass, under the exception for sleep (the only holder seen)
    assert subject.endswith(" (+1 more)")
    assert "held by 2 different processes, each of which can accept on it, so it is judged for each" in message
    if refused == "fail":
        assert f"pid {hider_pid}" in message or ": not allowed for python" in message


@pytest.mark.live
@pytest.mark.parametrize("where", ["thread", "ring"])
def test_the_owner_scan_names_the_hidden_holder_and_how_it_holds_the_socket(where):
    require_root()
    from auditor.collect.sockets import links_to_socket, scan_socket_owners

    hider, _port, inode = _hide(where, [])
    try:
        scan = scan_socket_owners({inode})
        assert scan.owners.get(inode) == [hider.pid]  # before: None (no holder seen)
        link = scan.links[(hider.pid, inode)]
        if where == "thread":
            assert link.startswith(f"/proc/{hider.pid}/task/") and "/fd/" in link
        else:
            assert link.startswith(f"/proc/{hider.pid}/fdinfo/")
        assert links_to_socket(link, inode)  # read again once the process is described
        assert not links_to_socket(link, inode + 1)
    finally:
        _stop(hider)
    assert not links_to_socket(link, inode)  # gone with its process


def test_a_ring_whose_registered_files_the_kernel_did_not_list_is_refused_not_empty(tmp_path):
    """fdinfo lists the registered files only when it got the ring's lock (mutex_trylock): a count
    without its lines is a table of unknown content, like a descriptor that could not be read."""
    listed = tmp_path / "listed"
    listed.write_text("pos:\t0\nUserFiles:\t2\n    0: socket:[41]\n    1: <none>\nUserBufs:\t0\n")
    assert fdtables.registered_files(str(listed)) == [("0", "socket:[41]")]
    unlisted = tmp_path / "unlisted"
    unlisted.write_text("pos:\t0\nUserFiles:\t2\nUserBufs:\t0\n")
    assert fdtables.registered_files(str(unlisted)) is None
    assert fdtables.registered_files(str(tmp_path / "gone")) is None
    empty = tmp_path / "empty"
    empty.write_text("pos:\t0\nUserFiles:\t0\nUserBufs:\t0\n")
    assert fdtables.registered_files(str(empty)) == []


# ------------------------------------------------------------------ namespace discovery

# A thread with a table of its own makes a new network namespace, listens on the IPv4 wildcard
# there and comes back (setns): the namespace is then held only by the socket in that thread's
# table.  Prints "port inode" and holds them until stdin closes.
THREAD_COMES_BACK = textwrap.dedent("""
    import ctypes, os, socket, sys, threading
    libc = ctypes.CDLL(None, use_errno=True)
    out, done = [], threading.Event()
    def away():
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        if libc.unshare(0x400) != 0 or libc.unshare(0x40000000) != 0:
            out.append(f"unshare failed {ctypes.get_errno()}")
            done.set()
            return
        held = socket.socket()
        held.bind(("0.0.0.0", 0))
        held.listen()
        inode = os.stat("/proc/thread-self/ns/net").st_ino
        if libc.setns(home, 0x40000000) != 0:
            out.append(f"setns failed {ctypes.get_errno()}")
        os.close(home)
        out.append(f"{held.getsockname()[1]} {inode}")
        done.set()
        threading.Event().wait()
    threading.Thread(target=away, daemon=True).start()
    done.wait()
    print(out[0], flush=True)
    sys.stdin.read()
""")


# before: no finding for the listener (its namespace was never found) and no gap said so
@pytest.mark.live  # discovers every network namespace of this host
def test_a_namespace_only_a_threads_own_table_holds_is_found_and_its_wildcard_listener_fails(tmp_path):
    require_root()
    process = subprocess.Popen([sys.executable, "-c", THREAD_COMES_BACK], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    try:
        assert len(line) == 2 and line[0].isdigit(), line
        port, inode = int(line[0]), int(line[1])
        assert os.stat(f"/proc/{process.pid}/ns/net").st_ino != inode
        out = tmp_path / "evidence.json"
        result = run_cli("evaluate", "--policy", _policy(tmp_path, port), "--output", out, "--quiet",
                         env={"LBAUDIT_CONFIG": ""})
        assert result.returncode in (1, 3), result.stderr
        findings: list[dict[str, Any]] = json.loads(out.read_text())["result"]["findings"]
    finally:
        _stop(process)
    mine = [(f["status"], f["subject"].split(" pid ", 1)[1]) for f in findings
            if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")]
    assert mine == [("fail", f"{process.pid} in netns net:[{inode}]")]


@pytest.mark.live
def test_kcmp_tells_a_thread_with_its_own_table_from_one_sharing_the_leaders():
    """The one system call that says whether two threads share a file table; where it is refused,
    every thread's table is read (slower, never blind)."""
    require_root()
    import threading

    libc = ctypes.CDLL(None, use_errno=True)
    shared_ready, own_ready, done = threading.Event(), threading.Event(), threading.Event()
    tids: dict[str, int] = {}

    def shared() -> None:
        tids["shared"] = threading.get_native_id()
        shared_ready.set()
        done.wait()

    def own() -> None:
        assert libc.unshare(0x400) == 0
        tids["own"] = threading.get_native_id()
        own_ready.set()
        done.wait()

    threads = [threading.Thread(target=shared), threading.Thread(target=own)]
    for thread in threads:
        thread.start()
    shared_ready.wait(10)
    own_ready.wait(10)
    try:
        pid = os.getpid()
        assert fdtables.same_table(pid, tids["shared"]) is True
        assert fdtables.same_table(pid, tids["own"]) is False
        table = fdtables.read_table("/proc", pid)
        assert table is not None
        assert [(t.tid, t.fd_dir) for t in table.others] == [(tids["own"], f"/proc/{pid}/task/{tids['own']}/fd")]
    finally:
        done.set()
        for thread in threads:
            thread.join()


# A process that makes a new network namespace, listens on the wildcard there, registers the socket
# with an io_uring, closes its descriptor and comes back: the namespace is held only by a ring
# slot, which has no descriptor to ask its namespace through.  Prints the namespace's inode.
RING_COMES_BACK = textwrap.dedent("""
    import ctypes, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    inode = os.stat("/proc/self/ns/net").st_ino
    params = (ctypes.c_char * 120)()
    ring = libc.syscall(ctypes.c_long(425), ctypes.c_long(4), params)
    files = (ctypes.c_int * 1)(held.fileno())
    if ring < 0 or libc.syscall(ctypes.c_long(427), ctypes.c_long(ring), ctypes.c_long(2), files, ctypes.c_long(1)):
        print("io_uring refused", flush=True)
        sys.exit(0)
    held.close()
    assert libc.setns(home, 0x40000000) == 0
    print(inode, flush=True)
    sys.stdin.read()
""")


# before: the namespace was not found and nothing said so
@pytest.mark.live  # discovers every network namespace of this host
def test_a_namespace_only_a_ring_slot_holds_is_a_gap_not_silence():
    require_root()
    from auditor.collect.netns import close_held, discover

    process = subprocess.Popen([sys.executable, "-c", RING_COMES_BACK], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    try:
        if not line.isdigit():
            pytest.skip(f"this kernel does not let a process register files with io_uring: {line}")
        found, _current, gaps = discover("/proc")
        close_held(found)
    finally:
        _stop(process)
    assert int(line) not in {entry.inode for entry in found.values()}
    [reason] = [gap.reason for gap in gaps if "io_uring" in gap.reason]
    assert reason.startswith("the network namespace of sockets no dump placed could not be asked "
                             "for (held only in an io_uring's registered files (no descriptor of it to copy) for 1 "
                             "sockets (e.g. socket:[")
    assert f"of pid {process.pid})): namespaces only such sockets hold are not seen" in reason


def test_where_kcmp_cannot_tell_every_threads_table_is_read(tmp_path):
    """A /proc other than this one (a host's mounted elsewhere, here a fixture directory of links
    written as the kernel writes them) cannot be asked with kcmp, whose pids are this namespace's:
    each thread's table is read, a copy of the leader's kept once, and a socket held only in
    another thread's table has its holder."""
    from auditor.collect.sockets import scan_socket_owners

    proc = tmp_path / "proc"
    for directory, links in {"100/fd": {"0": "/dev/null", "3": "socket:[70]"},
                             "100/task/100/fd": {"0": "/dev/null", "3": "socket:[70]"},
                             "100/task/101/fd": {"0": "/dev/null", "3": "socket:[70]"},  # a copy
                             "100/task/102/fd": {"0": "/dev/null", "5": "socket:[77]"}}.items():
        (proc / directory).mkdir(parents=True)
        for fd, target in links.items():
            (proc / directory / fd).symlink_to(target)
    table = fdtables.read_table(str(proc), 100)
    assert table is not None
    assert [(t.tid, sorted(zip(t.fds, t.targets))) for t in table.others] == [
        (102, [("0", "/dev/null"), ("5", "socket:[77]")])]
    scan = scan_socket_owners({70, 77}, str(proc))
    assert scan.owners == {70: [100], 77: [100]}
    assert scan.links[(100, 77)] == f"{proc}/100/task/102/fd/5"
