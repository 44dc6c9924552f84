"""One read of every process's descriptors a collection serves both the owner scan and network
namespace discovery (issue 16): each ``/proc/PID/fd/N`` link is read once, and what discovery
finds through a descriptor (a namespace only a socket, or only a namespace file, holds) is the
same as when it reads the tables itself.

Real processes holding a real namespace no process is in; ``os.readlink`` is wrapped only to count
which links are read, and calls the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from typing import Any

import pytest

from auditor.collect import fdtables, rootfs
from auditor.collect.netns import close_held, discover
from auditor.collect.sockets import scan_socket_owners
from tests.privileges import require_root

# Makes a network namespace, binds a socket in it, keeps a descriptor of the namespace file too,
# and goes back to its own namespace: the namespace is held only by the two descriptors.  Holds 50
# more sockets of its own namespace.  Prints "socket-inode namespace-inode".
PINNER = textwrap.dedent("""
    import ctypes, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0, ctypes.get_errno()
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    pinned = os.open("/proc/self/ns/net", os.O_RDONLY)
    namespace = os.fstat(pinned).st_ino
    assert libc.setns(home, 0x40000000) == 0, ctypes.get_errno()
    others = [socket.socket() for _ in range(50)]
    print(os.fstat(held.fileno()).st_ino, namespace, flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def pinner() -> Any:
    require_root()
    process = subprocess.Popen([sys.executable, "-c", PINNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    socket_inode, namespace = map(int, process.stdout.readline().split())
    try:
        yield process.pid, socket_inode, namespace
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def _count_reads_of(pid: int, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The links of ``pid``'s table read from now on, by ``/proc/PID/fd/N``, each with its count."""
    real = os.readlink
    reads: Counter[str] = Counter()

    def counting(path: Any, *, dir_fd: int | None = None) -> str:
        where = os.fspath(path) if dir_fd is None else f"{real(f'/proc/self/fd/{dir_fd}')}/{os.fspath(path)}"
        if where.startswith(f"/proc/{pid}/fd/"):
            reads[where] += 1
        return real(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "readlink", counting)
    return reads


@pytest.mark.live  # discovers every network namespace of this host
def test_discovery_after_the_owner_scan_of_the_same_collection_reads_no_link_again(pinner, monkeypatch):
    pid, socket_inode, namespace = pinner
    reads = _count_reads_of(pid, monkeypatch)
    with rootfs.one_view_of_each_root():
        scan = scan_socket_owners({socket_inode}, "/proc")
        scanned = dict(reads)
        found, _current, gaps = discover("/proc")
        close_held(found)
        assert fdtables.kept_tables("/proc") == {}  # taken by discovery, not kept for the run
    assert scan.owners[socket_inode] == [pid]
    assert len(scanned) >= 53 and set(scanned.values()) == {1}  # 50 sockets, the pinned two, stdio
    assert reads == scanned  # discovery read none of them again
    assert any(entry.inode == namespace for entry in found.values())
    assert not [gap.reason for gap in gaps if f"pids {pid}" in gap.reason or f"of pid {pid}" in gap.reason]


@pytest.mark.live
def test_discovery_alone_reads_every_link_itself_and_finds_the_same_namespace(pinner, monkeypatch):
    """Without an owner scan before it (no listener needs an owner, or outside a collection),
    discovery reads each table itself, once."""
    pid, _socket_inode, namespace = pinner
    reads = _count_reads_of(pid, monkeypatch)
    with rootfs.one_view_of_each_root():
        found, _current, _gaps = discover("/proc")
        close_held(found)
    assert len(reads) >= 53 and set(reads.values()) == {1}
    assert any(entry.inode == namespace for entry in found.values())


@pytest.mark.live
def test_a_namespace_file_descriptor_reused_after_the_scan_is_not_taken_for_the_namespace(pinner):
    """A descriptor the scan read as ``net:[I]`` that names another file when discovery follows it
    (closed, its number reused) is closed for discovery: the other file is not a namespace."""
    pid, _socket_inode, namespace = pinner
    with rootfs.one_view_of_each_root():
        scan_socket_owners({1}, "/proc")
        tables = fdtables.kept_tables("/proc")
        table = tables[pid]
        assert table is not None
        at = table.targets.index(f"net:[{namespace}]")
        # as if the descriptor now held a regular file: the link of the pinner's stdin pipe
        swapped = fdtables.FdTable(table.fd_dir, [*table.fds[:at], "0", *table.fds[at + 1:]],
                                   [*table.targets[:at], f"net:[{namespace}]", *table.targets[at + 1:]],
                                   started=table.started)  # the pinner's own table, as kept
        fdtables.keep_tables("/proc", {**tables, pid: swapped})
        found, _current, gaps = discover("/proc")
        close_held(found)
    assert not [entry for entry in found.values() if entry.inode == os.stat(f"/proc/{pid}/fd/0").st_ino]
    assert not [gap.reason for gap in gaps if f"pids {pid}" in gap.reason]


def test_the_sockets_left_to_ask_are_each_socket_link_no_dump_placed_with_its_first_holder():
    """Discovery looks at a table's links one by one only for the sockets a dump did not place: a
    path that merely contains a socket's text is no socket, and a socket two processes hold is
    asked through the first (lowest pid, then listing order)."""
    from auditor.collect.netns import _held_sockets

    first = fdtables.FdTable("/proc/7/fd", ["0", "3", "4", "5", "6"],
                             ["/dev/null", "socket:[10]", "/tmp/socket:[11]", "socket:[12]", "socket:[13]\n"])
    second = fdtables.FdTable("/proc/9/fd", ["8", "9"], ["socket:[14]", "socket:[12]"])
    assert _held_sockets([(7, first), (9, second)], {10}) == {
        12: (7, 0, 5, "/proc/7/fd/5"), 14: (9, 0, 8, "/proc/9/fd/8")}
    assert _held_sockets([(7, first), (9, second)], {10, 12, 14}) == {}


@pytest.mark.live
def test_tcp_sockets_of_either_family_are_placed_here_and_a_family_the_kernel_counts_none_of_is_not_dumped():
    """The dump of a family is skipped only where /proc/net/protocols counts none of its sockets:
    an IPv6 connection on loopback is placed (its sockets are not asked for their namespace)."""
    import socket

    from auditor.collect.netns import Found, placed_here

    st = os.stat("/proc/thread-self/ns/net")
    here = {(st.st_dev, st.st_ino): Found(st.st_dev, st.st_ino)}
    try:
        listener = socket.socket(socket.AF_INET6)
        listener.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with listener:
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]) as client:
            server, _ = listener.accept()
            with server:
                placed = placed_here(here, 10.0)
                assert {os.fstat(s.fileno()).st_ino for s in (listener, client, server)} <= placed
