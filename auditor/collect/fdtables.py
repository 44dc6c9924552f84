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
closed meanwhile is recognised as closed, as before).  A kept table is used only for the process it
was read from (the same start time under its pid, :func:`kept_table`): a process that exited after
the scan leaves its pid to another, whose descriptors are not the table's.

A process may hold a file in more places than ``/proc/PID/fd`` lists, and a holder not seen is a
holder not judged (a shell holding sshd's wildcard socket beside it took sshd's exception), so a
process's table is every one of them (:attr:`FdTable.others`):

* the table of each thread that has one of its own (``unshare(CLONE_FILES)``, or ``clone``
  without ``CLONE_FILES``): listed only at ``/proc/PID/task/TID/fd``.  Whether a thread shares the
  leader's table is asked with ``kcmp(KCMP_FILES)`` (one system call a thread, and only in a
  process with more than one thread, which ``/proc/PID/task``'s link count tells); where kcmp is
  missing or refused, every thread's table is read;
* the files registered with each io_uring it holds (``IORING_REGISTER_FILES``), which the ring
  keeps after the descriptor is closed: ``/proc/PID/fdinfo/RING`` lists them (an empty slot left
  out, or ``<none>`` on older kernels).  The kernel lists them only when it gets the ring's lock at
  once (read again a few times), and older kernels name each by its short name (``TCP``): a ring
  whose files are not listed, or not by their path or inode, is a table refused.

Not seen, said in the README: a ring registered with ``IORING_REGISTER_RING_FDS`` (or kept only by
its memory mapping, which an ``IORING_SETUP_SQPOLL`` ring's kernel thread polls) whose descriptor
was closed, and a descriptor in flight in a unix socket's queue (``SCM_RIGHTS`` sent, not yet
received); /proc gives no list of either's files.  (A socket kept only by a memory mapping of it,
``socket:[I]`` in /proc/PID/maps, cannot be accepted on, so the mapping is no holder for the owner
scan; a network namespace only such a mapping keeps is not found, a limit the README states.)
"""

from __future__ import annotations

import os
from dataclasses import field, replace
from functools import partial
from typing import Any

from auditor.collect import rootfs
from auditor.collect.procview import descriptor_target
from auditor.model.records import record
from auditor.patterns import first_use


@record
class FdTable:
    """One process's descriptors, as read: ``fds[i]`` links to ``targets[i]``."""

    fd_dir: str  # where they were read (another thread's table for a zombie leader)
    fds: list[str]
    targets: list[str]
    # a listed descriptor could not be read (the process exec'd a setuid program meanwhile, or the
    # table cannot be listed at all): what it and those after it hold is unknown
    refused: bool = False
    # the thread whose own table this is, or the live thread a zombie leader's table was read
    # through (a copy of a descriptor is taken through it: a pidfd of the process reaches the
    # exited leader, which holds none); 0: the process's, through /proc/PID/fd
    tid: int = 0
    # an io_uring's registered files: ``fd_dir`` is the ring's fdinfo file, ``fds`` the slots
    ring: bool = False
    # the process's other tables: each thread's own, then each ring's files (none for most)
    others: list[FdTable] = field(default_factory=list)
    # the process's start time (:func:`process_start`), read before the table, for a table kept for
    # a later reader: the pid then names the same process only while it is the same (None: not read)
    started: str | None = None

    def parts(self) -> list[FdTable]:
        """This table and every other table of the process."""
        return [self, *self.others] if self.others else [self]


def _key(proc: str) -> tuple[str, str]:
    return ("fd tables", proc)


def fds_of_live_thread(proc: str, pid: int, fd_dir: str) -> tuple[str, list[str], int]:
    """The descriptor table of ``pid`` through another of its threads: after the main thread ends
    (pthread_exit), ``/proc/PID/fd`` is the exited leader's, empty, while the others still hold
    every descriptor.  ``(its fd directory, its descriptors, that thread)``, and ``(fd_dir, [],
    pid)`` when no other thread lists one."""
    try:
        tids = [tid for tid in os.listdir(f"{proc}/{pid}/task") if tid != str(pid) and tid.isdigit()]
    except OSError:
        return fd_dir, [], pid
    for tid in tids:
        try:
            return f"{proc}/{pid}/task/{tid}/fd", os.listdir(f"{proc}/{pid}/task/{tid}/fd"), int(tid)
        except OSError:
            continue  # ended meanwhile (one that cannot be read is refused for the leader too)
    return fd_dir, [], pid


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
    """The links of every descriptor ``pid`` holds, in each of its tables (:attr:`FdTable.others`);
    None when it exited (it holds nothing)."""
    fd_dir = f"{proc}/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return None  # exited meanwhile
    except OSError:
        return FdTable(fd_dir, [], [], refused=True)
    if not fds:  # a kernel thread, or a zombie leader whose other threads still hold the table
        fd_dir, fds, thread = fds_of_live_thread(proc, pid, fd_dir)
        table = _one_at_a_time(fd_dir, fds)
        return _with_others(proc, pid, table if thread == pid else replace(table, tid=thread), thread)
    table = _read_listed(fd_dir, fds)
    return None if table is None else _with_others(proc, pid, table, pid)


def _read_listed(fd_dir: str, fds: list[str]) -> FdTable | None:
    """The links of the descriptors ``fds`` listed in ``fd_dir``; None when the table is gone.

    Read relative to the directory, opened once, by ``map`` at C speed (issue 16); a table that
    changes while it is read (a descriptor closed, a setuid exec) or holds a file whose path is
    past PATH_MAX (readlink's ENAMETOOLONG) is read again one descriptor at a time, which says
    which descriptor and what it means."""
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


def _read_links(fd_dir: str) -> FdTable | None:
    """The links of one table by its directory (a thread's): None when it is gone."""
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return None
    except OSError:
        return FdTable(fd_dir, [], [], refused=True)
    return _read_listed(fd_dir, fds) if fds else FdTable(fd_dir, [], [])


# kcmp(2)'s number where it is known; elsewhere every thread's table is read.
_SYS_KCMP = {"x86_64": 312, "aarch64": 272, "riscv64": 272}
_KCMP_FILES = 2
_KCMP_FS = 3
_kcmp: Any = None  # libc's syscall, loaded by the first process with a second thread


def same_table(pid: int, tid: int) -> bool | None:
    """Whether thread ``tid`` shares the descriptor table of ``pid`` (kcmp KCMP_FILES); None when
    kcmp cannot tell (not on this architecture or kernel, refused, or either thread gone)."""
    return _same(pid, tid, _KCMP_FILES)


def same_fs(pid: int, tid: int) -> bool | None:
    """Whether thread ``tid`` shares the fs (root, cwd) of ``pid`` (kcmp KCMP_FS), and so its mount
    namespace: unshare(CLONE_NEWNS) and setns into a mount namespace both need a thread's fs
    unshared.  None when kcmp cannot tell."""
    return _same(pid, tid, _KCMP_FS)


def _same(pid: int, tid: int, kind: int) -> bool | None:
    global _kcmp
    number = _SYS_KCMP.get(os.uname().machine)
    if number is None:
        return None
    if _kcmp is None:
        import ctypes  # here: a process with one thread (most of them) never needs it

        _kcmp = ctypes.CDLL(None, use_errno=True).syscall
    answer = _kcmp(number, pid, tid, kind, 0, 0)
    return None if answer < 0 else answer == 0


def _with_others(proc: str, pid: int, table: FdTable, thread: int) -> FdTable:
    """``table`` (read through ``thread``: the leader, or another thread of a zombie leader) with the
    process's other tables: each thread's own and each io_uring's files."""
    if table.refused:
        # what this process holds is unknown already (its threads' tables are refused alike: the
        # same credentials are checked), and it is said where the table is used
        return table
    others: list[FdTable] = []
    try:
        # the link count of /proc/PID/task is 2 and one per thread: one stat tells a process of one
        # thread (most of them) from one of many without listing them; any count but that of one
        # thread (a /proc that counts otherwise) has its threads listed
        threaded = os.stat(f"{proc}/{pid}/task").st_nlink != 3
    except OSError:
        threaded = False  # gone; or /proc/PID/task unreadable, in which case so is its fd table
    if threaded:
        others.extend(_thread_tables(proc, pid, table, thread))
    for part in [table, *others]:
        if "anon_inode:[io_uring]" in part.targets:
            others.extend(_ring_tables(part))
    return replace(table, others=others) if others else table


def _thread_tables(proc: str, pid: int, table: FdTable, reference: int) -> list[FdTable]:
    """The tables of ``pid``'s threads that do not share ``table``, the one read for the process
    through thread ``reference``."""
    try:
        tids = sorted(int(tid) for tid in os.listdir(f"{proc}/{pid}/task") if tid.isdigit())
    except OSError:
        return []  # gone meanwhile
    tables = []
    for tid in tids:
        if tid == reference:
            continue
        shared = same_table(reference, tid) if proc == "/proc" else None
        if shared:
            continue
        own = _read_links(f"{proc}/{pid}/task/{tid}/fd")
        if own is not None and not own.refused and dict(zip(own.fds, own.targets)) == dict(zip(table.fds, table.targets)):
            continue  # the process's own table, read again where kcmp could not tell (or a copy of it)
        if own is not None and (own.refused or own.fds):
            tables.append(FdTable(own.fd_dir, own.fds, own.targets, own.refused, tid=tid))
    return tables


def _ring_tables(table: FdTable) -> list[FdTable]:
    """The registered files of each io_uring ``table`` holds, one table a ring."""
    rings = []
    fdinfo_dir = table.fd_dir[:-len("fd")] + "fdinfo"
    for fd, target in zip(table.fds, table.targets):
        if target != "anon_inode:[io_uring]":
            continue
        path = f"{fdinfo_dir}/{fd}"
        files = registered_files(path)
        if files is None:
            if os.path.exists(path):  # not listed, rather than closed meanwhile
                rings.append(FdTable(path, [], [], refused=True, tid=table.tid, ring=True))
            continue
        if files:
            rings.append(FdTable(path, [slot for slot, _ in files], [link for _, link in files], tid=table.tid,
                                 ring=True))
    return rings


# "    0: socket:[41]": a registered file's slot and its name, as io_uring's fdinfo writes them
_REGISTERED = first_use(r"^ *([0-9]+): (.*)$")
# A name as d_path writes it: a path, or a pseudo file's "socket:[N]", "net:[N]", "pipe:[N]",
# "anon_inode:[eventfd]".  Kernels before the switch to paths wrote the dentry's short name
# instead ("TCP" for a TCP socket, "UNIX"), which names no inode.
_NAMED_BY_PATH = first_use(r"/|[A-Za-z_][A-Za-z0-9_.-]*:")
RING_READS = 3  # reads of a ring's fdinfo that does not list its files (its lock was busy)


def registered_files(fdinfo: str) -> list[tuple[str, str]] | None:
    """``(slot, link text)`` of each file registered with the io_uring whose fdinfo is ``fdinfo``;
    None when which files they are is unknown, or the ring is gone.

    The kernel lists them only when it gets the ring's lock at once: recent kernels then write no
    ``UserFiles`` line, older ones the count and no slot; each is read again, up to RING_READS
    times.  Recent kernels leave an empty slot out (a sparse table: fewer lines than the count),
    older ones write it as ``<none>``; a slot named by its dentry's short name (``TCP``, older
    kernels) could be any socket, so its ring's files are unknown.  (A sparse table with no file
    in it yet is a count alone, as a busy ring is on an older kernel: unknown too.)"""
    for _attempt in range(RING_READS):
        try:
            with open(fdinfo, encoding="utf-8", errors="surrogateescape") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return None
        at = next((index for index, line in enumerate(lines) if line.startswith("UserFiles:")), None)
        if at is None:
            continue  # not listed (the ring was busy), or a kernel that does not say
        try:
            count = int(lines[at].split(":", 1)[1])
        except ValueError:
            return None
        listed = _listed_slots(lines[at + 1:], count)
        if listed is None:
            return None
        if listed or count == 0:
            return [(slot, link) for slot, link in listed if link != "<none>"]
    return None


def _listed_slots(lines: list[str], count: int) -> list[tuple[str, str]] | None:
    """The slots listed under ``UserFiles: count``, up to the next heading (``UserBufs:``); None
    for a line that is neither, a slot past the count, or a file named by its short name."""
    listed = []
    for line in lines:
        slot = _REGISTERED().match(line)
        if slot is None:
            if line == "" or line[:1].isalpha():
                break  # the end, or the next heading
            return None
        if int(slot[1]) >= count or (slot[2] != "<none>" and not _NAMED_BY_PATH().match(slot[2])):
            return None
        listed.append((slot[1], slot[2]))
    return listed


def process_start(proc: str, pid: int) -> str | None:
    """When process ``pid`` started (``starttime``, field 22 of ``/proc/PID/stat``, in clock ticks
    since boot); None when it cannot be read (exited).  A pid and its start time name one process:
    a pid freed by an exit and taken by another process names that one with another start."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as stat_file:
            text = stat_file.read(4096)
    except OSError:
        return None
    fields = text.rpartition(b")")[2].split()  # after the name, which may hold spaces and ")"
    return fields[19].decode("ascii", "replace") if len(fields) > 19 else None


def kept_table(tables: dict[int, FdTable | None], proc: str, pid: int) -> FdTable | None:
    """The table kept (:func:`kept_tables`) for ``pid``, taken out of ``tables``, when it was read from
    the process that has that pid now (same start time); None otherwise: not kept, gone by the
    scan, or read from a process that exited since, its pid now another's, which the kept table
    would misrepresent (a socket that alone holds a network namespace hidden: its namespace not
    found, its listeners not judged)."""
    table = tables.pop(pid, None)
    if table is None or table.started is None or table.started != process_start(proc, pid):
        return None
    return table


def keep_tables(proc: str, tables: dict[int, FdTable | None]) -> None:
    """Keep the tables a whole scan of ``proc`` read for this collection's namespace discovery."""
    rootfs.keep(_key(proc), tables)


def kept_tables(proc: str) -> dict[int, FdTable | None]:
    """The tables kept by this collection's last whole scan of ``proc`` (empty: none), given once."""
    return rootfs.take(_key(proc)) or {}
