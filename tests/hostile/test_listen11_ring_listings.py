"""Hostile corpus: an io_uring ring's registered files as each kernel lists them.

The owner scan and namespace discovery read a ring's files from its ``/proc/PID/fdinfo/N``
(``UserFiles: COUNT`` then one ``SLOT: NAME`` line a file).  The reader wanted COUNT lines:

* a kernel of today leaves an empty slot out (``IORING_REGISTER_FILES`` with -1, liburing's
  ``io_uring_register_files_sparse``): every such ring was a table "not all listed", its process
  one whose descriptors could not be read, and every listener of the host "may be held by other
  processes too": not_reviewed, the run incomplete (exit 3), on a host that hides nothing;
* a kernel before the switch to paths names each file by its dentry's short name: a TCP socket is
  ``TCP``, no inode.  Such a name was taken for a file that is no socket, so a listener held only
  in such a ring had no holder there, silently.  Now it is a ring whose files are unknown.

Real rings through the syscalls (io_uring_setup 425, io_uring_register 427) where this kernel
writes the list; a fixture directory for what only another kernel writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.collect import fdtables
from auditor.collect.sockets import scan_socket_owners
from tests.privileges import require_root

# A listener registered in slot 1 of a ring whose slot 0 is empty, its descriptor closed.
# Prints "pid inode", or "refused ERRNO" when the kernel will not make the ring.
SPARSE_RING = textwrap.dedent("""
    import ctypes, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    inode = os.fstat(held.fileno()).st_ino
    ring = libc.syscall(425, 4, ctypes.create_string_buffer(120))  # struct io_uring_params
    files = (ctypes.c_int * 2)(-1, held.fileno())
    if ring < 0 or libc.syscall(427, ring, 2, files, 2) != 0:  # IORING_REGISTER_FILES
        print("refused", ctypes.get_errno(), flush=True)
        sys.exit(0)
    held.close()
    print(os.getpid(), inode, flush=True)
    sys.stdin.read()
""")


@pytest.mark.live
def test_a_sparse_ring_is_read_whole_and_its_socket_found_through_it():
    """Before: the ring was a refused table, its process unreadable (every listener of the host
    not_reviewed).  Now its one file is read and the listener's holder found through slot 1."""
    require_root()
    process = subprocess.Popen([sys.executable, "-c", SPARSE_RING], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdin is not None
    try:
        said = process.stdout.readline().split()
        if said[0] == "refused":
            pytest.skip(f"the kernel refused to make or fill an io_uring ring here ({os.strerror(int(said[1]))})")
        pid, inode = map(int, said)
        ring_fd = next(e.name for e in os.scandir(f"/proc/{pid}/fd") if os.readlink(e.path) == "anon_inode:[io_uring]")
        table = fdtables.read_table("/proc", pid)
        scan = scan_socket_owners({inode})
    finally:
        process.stdin.close()
        process.wait(timeout=10)
    assert table is not None
    assert [(p.fd_dir, p.refused, p.fds, p.targets) for p in table.parts()[1:]] == [
        (f"/proc/{pid}/fdinfo/{ring_fd}", False, ["1"], [f"socket:[{inode}]"])]
    assert scan.owners == {inode: [pid]}
    assert pid not in scan.unreadable


def _fake_ring(root: Path, fdinfo: str) -> None:
    """A /proc fixture: process 4242 holds an io_uring ring (descriptor 3) whose fdinfo is ``fdinfo``."""
    (root / "4242" / "fd").mkdir(parents=True)
    (root / "4242" / "fdinfo").mkdir()
    (root / "4242" / "task" / "4242").mkdir(parents=True)
    os.symlink("anon_inode:[io_uring]", root / "4242" / "fd" / "3")
    (root / "4242" / "fdinfo" / "3").write_text(fdinfo)


@pytest.mark.parametrize("fdinfo", [
    # a kernel that names files by their dentry's short name: slot 0 holds a TCP socket, which one unknown
    "UserFiles:\t2\n    0: TCP\n    1: <none>\nUserBufs:\t0\n",
    "UserFiles:\t1\n    0: UNIX\nUserBufs:\t0\n",
])
def test_a_ring_whose_files_are_named_by_short_names_is_a_table_refused(tmp_path, fdinfo):
    """Before: ``TCP`` was read as a file that is no socket, the ring as read whole, and the
    process as one known to hold no listener there."""
    _fake_ring(tmp_path, fdinfo)
    assert fdtables.registered_files(f"{tmp_path}/4242/fdinfo/3") is None
    scan = scan_socket_owners({777}, str(tmp_path))
    assert scan.owners == {} and list(scan.unreadable) == [4242]


@pytest.mark.parametrize("fdinfo, files", [
    # a kernel of today: empty slots left out, files by their path
    ("UserFiles:\t3\n    0: socket:[777]\n    2: net:[4026531840]\nUserBufs:\t0\n",
     [("0", "socket:[777]"), ("2", "net:[4026531840]")]),
    # an older kernel: every slot written, an empty one as <none>
    ("UserFiles:\t2\n    0: <none>\n    1: socket:[777]\nUserBufs:\t0\n", [("1", "socket:[777]")]),
    ("UserFiles:\t0\nUserBufs:\t0\n", []),
])
def test_control_case_a_ring_s_files_as_either_kernel_lists_them(tmp_path, fdinfo, files):
    _fake_ring(tmp_path, fdinfo)
    assert fdtables.registered_files(f"{tmp_path}/4242/fdinfo/3") == files


@pytest.mark.parametrize("fdinfo", [
    "pos:\t0\nflags:\t02000002\n",  # a recent kernel that could not take the ring's lock: no list at all
    "UserFiles:\t2\nUserBufs:\t0\n",  # an older one: the count, no slot under it
    "UserFiles:\t2\n    0: socket:[777]\n    x: junk\n",
    "UserFiles:\t1\n    3: socket:[777]\n",  # a slot past the count
])
def test_a_ring_whose_files_are_not_listed_is_unknown(tmp_path, fdinfo):
    _fake_ring(tmp_path, fdinfo)
    assert fdtables.registered_files(f"{tmp_path}/4242/fdinfo/3") is None
