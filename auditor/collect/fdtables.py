"""What each process holds open: the links of ``/proc/PID/fd``, read once per collection.

Two readers need every descriptor of every process: the owner scan of the sockets section (which
processes hold each listener, :func:`auditor.collect.sockets.scan_socket_owners`) and network
namespace discovery (a namespace file or a socket may be all that keeps a namespace alive,
:func:`auditor.collect.netns.discover`).  The kernel's ``readlink`` of ``/proc/PID/fd/N`` is most
of what either costs (about 3 us a descriptor; a host of 10,000 connections with both ends on it
has 20,000), so within one collection the tables the owner scan read are kept
(:func:`auditor.collect.rootfs.keep`) and discovery, which runs after it, reads only the processes
the scan did not (issue 16).

The owner scan always reads afresh: it is bracketed by two reads of the socket tables, and a
holder it finds must be one at that moment.  Discovery has no such bracket: a table read by the
scan a moment before is a snapshot as good as its own (a namespace opened after either is not
seen by either), and what it then does with a link re-checks it on the host (a namespace file is
stat'ed and compared with the inode the link named; a socket is copied from its holder, and one
closed meanwhile is recognised as closed, as before).
"""

from __future__ import annotations

import os
from functools import partial

from auditor.collect import rootfs
from auditor.collect.procview import descriptor_target
from auditor.model.records import record


@record
class FdTable:
    """One process's descriptors, as read: ``fds[i]`` links to ``targets[i]``."""

    fd_dir: str  # where they were read (another thread's table for a zombie leader)
    fds: list[str]
    targets: list[str]
    # a listed descriptor could not be read (the process exec'd a setuid program meanwhile, or the
    # table cannot be listed at all): what it and those after it hold is unknown
    refused: bool = False


def _key(proc: str) -> tuple[str, str]:
    return ("fd tables", proc)


def fds_of_live_thread(proc: str, pid: int, fd_dir: str) -> tuple[str, list[str]]:
    """The descriptor table of ``pid`` through another of its threads: after the main thread ends
    (pthread_exit), ``/proc/PID/fd`` is the exited leader's, empty, while the others still hold
    every descriptor.  ``(fd_dir, [])`` when no other thread lists one."""
    try:
        tids = [tid for tid in os.listdir(f"{proc}/{pid}/task") if tid != str(pid)]
    except OSError:
        return fd_dir, []
    for tid in tids:
        try:
            return f"{proc}/{pid}/task/{tid}/fd", os.listdir(f"{proc}/{pid}/task/{tid}/fd")
        except OSError:
            continue  # ended meanwhile (one that cannot be read is refused for the leader too)
    return fd_dir, []


def _one_at_a_time(fd_dir: str, fds: list[str]) -> FdTable:
    """Each descriptor's link by its path: one closed meanwhile is skipped, one listed that cannot
    be read ends the table, refused."""
    read: list[str] = []
    targets: list[str] = []
    for fd in fds:
        try:
            target = descriptor_target(f"{fd_dir}/{fd}")  # a path past PATH_MAX is a file, not refused
        except FileNotFoundError:
            continue  # closed meanwhile
        except OSError:
            return FdTable(fd_dir, read, targets, refused=True)
        read.append(fd)
        targets.append(target)
    return FdTable(fd_dir, read, targets)


def read_table(proc: str, pid: int) -> FdTable | None:
    """The links of every descriptor ``pid`` holds; None when it exited (it holds nothing).

    Each table is read relative to its directory, opened once, by ``map`` at C speed (issue 16);
    a table that changes while it is read (a descriptor closed, a setuid exec) or holds a file whose
    path is past PATH_MAX (readlink's ENAMETOOLONG) is read again one descriptor at a time, which
    says which descriptor and what it means."""
    fd_dir = f"{proc}/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return None  # exited meanwhile
    except OSError:
        return FdTable(fd_dir, [], [], refused=True)
    if not fds:  # a kernel thread, or a zombie leader whose other threads still hold the table
        fd_dir, fds = fds_of_live_thread(proc, pid, fd_dir)
        return _one_at_a_time(fd_dir, fds)
    # Opened after the listing (listing through it would list its own duplicate, closed by then).
    try:
        dir_fd = os.open(fd_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        return FdTable(fd_dir, [], [], refused=True)
    try:
        targets: list[str] | None = list(map(partial(os.readlink, dir_fd=dir_fd), fds))
    except OSError:
        targets = None
    finally:
        os.close(dir_fd)
    if targets is None:
        return _one_at_a_time(fd_dir, fds)
    return FdTable(fd_dir, fds, targets)


def keep_tables(proc: str, tables: dict[int, FdTable | None]) -> None:
    """Keep the tables a whole scan of ``proc`` read for this collection's namespace discovery."""
    rootfs.keep(_key(proc), tables)


def kept_tables(proc: str) -> dict[int, FdTable | None]:
    """The tables kept by this collection's last whole scan of ``proc`` (empty: none), given once."""
    return rootfs.take(_key(proc)) or {}
