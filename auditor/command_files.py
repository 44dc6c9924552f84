"""The files one command writes, kept together or put back: the bookkeeping of ``storage/outputs.py``.

:func:`transaction` records each change the writer makes (a file written or removed, a directory
created) with a hard link to the previous version beside it (a copy where there can be none); a
block that fails puts every one back, newest first; one that ends well drops the previous versions.  The command line runs every command in
one transaction (``auditor/cli.py`` ``run``), so an error, Ctrl-C or SIGTERM part way leaves the files
as they were before the command.  Standard library only (and auditor.safeio, which is too): the
command line enters a transaction for every command, including those that never write and must not
load the writer (``validate``, ``--help``).
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from auditor.model.records import mutable_record
from auditor.resource_limits import out_of_memory
from auditor.resource_limits import release as release_reserve
from auditor.safeio import NAME_MAX

T = TypeVar("T")


@mutable_record
class Change:
    """One step of a transaction: ``target`` now holds the file ``identity`` (None: removed, or a
    directory created), and its previous version, if it had one, is ``previous`` (a hard link, or a
    copy)."""

    target: Path
    identity: tuple[int, int] | None
    previous: Path | None
    directory: bool = False
    # The suffixes of the files a library writes beside a file this run created (SQLite's -wal and
    # -shm beside a new history store): removed with it when it is put back.
    beside: tuple[str, ...] = ()


@dataclass(eq=False)  # each transaction is itself: two with the same changes are not one
class _Transaction:
    pid: int  # a forked child (a fleet worker) never undoes or keeps its parent's files
    changes: list[Change] = field(default_factory=list)
    emptied: list[Path] = field(default_factory=list)  # directories to remove at the end if empty
    # What the command changed outside its files and ends with them (a history store's transaction
    # holding the run's record): (commit, roll back), committed only once every file is written
    # and every stream flushed, rolled back when the files are put back (see :func:`ends_with_files`).
    outcomes: list[tuple[Callable[[], None], Callable[[], None]]] = field(default_factory=list)
    # Each output path checked before the work (absolute, as given) -> the file it led to then and
    # that file's (st_dev, st_ino), None when nothing was there: the write compares (see
    # :func:`checked_output`).
    checked: dict[str, tuple[str, tuple[int, int] | None]] = field(default_factory=dict)

    def undo(self) -> None:
        """Put every file back as it was, newest change first.  A target that no longer holds what
        this run wrote (someone else wrote it meanwhile) is left alone.  A second Ctrl-C waits until
        every file is back."""
        with uninterrupted():
            self._undo()

    def _undo(self) -> None:
        for change in reversed(self.changes):
            try:
                if change.directory:
                    os.rmdir(change.target)  # only when empty: nothing of anyone else's is lost
                    continue
                now = os.lstat(change.target) if os.path.lexists(change.target) else None
                ours = (now is not None and (now.st_dev, now.st_ino) == change.identity if change.identity is not None
                        else now is None)  # removed by this run and not recreated by someone else since
                if not ours:
                    if change.previous is not None:
                        os.unlink(change.previous)
                    continue
                if change.previous is not None:
                    os.replace(change.previous, change.target)
                elif change.identity is not None:
                    os.unlink(change.target)
                    for suffix in change.beside:
                        try:
                            os.unlink(f"{change.target}{suffix}")
                        except FileNotFoundError:
                            pass
            except OSError:
                continue  # best effort: the next change may still be undone
        for directory in {c.target.parent for c in self.changes if not c.directory}:
            fsync_directory(directory)

    def keep(self) -> None:
        """The run finished: drop the previous versions (all of them, even when interrupted)."""
        with uninterrupted():
            self._keep()

    def _keep(self) -> None:
        for change in self.changes:
            if change.previous is not None:
                try:
                    os.unlink(change.previous)
                except OSError:
                    pass
        for directory in self.emptied:
            remove_if_empty(directory)


_ACTIVE: list[_Transaction] = []

# The directories this process writes in, each held with an exclusive flock(2) on the directory
# itself until its outermost transaction ends: (st_dev, st_ino) -> (descriptor, pid that took it).
# A forked child (a fleet worker) inherits the parent's entries, and with them the parent's lock
# (flock belongs to the open file, shared across fork): it neither waits for it nor releases it.
_HELD: dict[tuple[int, int], tuple[int, int]] = {}
LOCK_WAIT_VARIABLE = "LBAUDIT_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 120.0  # seconds: longer than any one run's writing takes; a stopped run is not waited for forever


class DirectoryBusy(OSError):
    """Another process held a directory this command writes in for longer than the wait."""

    def __init__(self, directory: Path, waited: float, holder: int | None):
        by = f"lbaudit process {holder}" if holder is not None else "another lbaudit process"
        super().__init__(errno.EAGAIN, f"{by} is writing in this directory; gave up after waiting {waited:g} s "
                                       f"(set {LOCK_WAIT_VARIABLE} to wait longer)")
        self.directory = directory


MAX_LOCK_WAIT = 86400.0  # a day: a wait longer than the scan interval of any schedule is a mistake


def lock_wait() -> float:
    """``LBAUDIT_LOCK_WAIT`` in seconds, or the default when it is unset or empty.  A value that is
    not a number from 0 to a day is refused (ValueError, which the command line turns into exit 2
    before any work): ``abc`` silently waited the default 120 s and ``nan`` did not wait at all."""
    text = os.environ.get(LOCK_WAIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_LOCK_WAIT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0.0 <= seconds <= MAX_LOCK_WAIT:  # also false for nan
        raise ValueError(f"{LOCK_WAIT_VARIABLE}={text[:40]!r}: expected a number of seconds from 0 to "
                         f"{MAX_LOCK_WAIT:g} (how long to wait for another lbaudit process writing in the "
                         "same directory)")
    return seconds


def lock_directories(directories: list[Path]) -> None:
    """Hold every directory of ``directories`` for the rest of this process's outermost transaction
    (nothing outside one): two commands writing in one directory then write one after the other,
    each its whole set of files, never evidence of one run beside the reports or signature of the
    other.  Taken in one order (by device and inode), so two commands never wait for each other.
    Waits up to ``LBAUDIT_LOCK_WAIT`` seconds; then DirectoryBusy.  A directory that cannot be
    opened is not held: writing in it fails on its own."""
    if current() is None:
        return
    opened: list[tuple[tuple[int, int], int, Path]] = []
    for directory in directories:
        try:
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        if key in _HELD or any(key == k for k, _, _ in opened):
            os.close(fd)
            continue
        opened.append((key, fd, Path(directory)))
    opened.sort()
    wait = lock_wait()
    for index, (key, fd, directory) in enumerate(opened):
        try:
            _flock_within(fd, directory, wait)
        except DirectoryBusy:
            for _, rest, _ in opened[index:]:
                os.close(rest)
            raise
        except OSError:  # a file system without flock (some FUSE mounts): written unheld, as before
            os.close(fd)
            continue
        except BaseException:  # Ctrl-C, SIGTERM while waiting
            for _, rest, _ in opened[index:]:
                os.close(rest)
            raise
        _HELD[key] = (fd, os.getpid())


def held_by_parent(directory: Path) -> None:
    """A worker process started for the command (a fleet worker, spawned where it cannot be forked)
    writes in ``directory``, which the command holds for as long as the worker lives: the worker
    must not wait for its own command."""
    try:
        st = os.stat(directory)
    except OSError:
        return
    _HELD.setdefault((st.st_dev, st.st_ino), (-1, os.getppid()))


def _flock_within(fd: int, directory: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    pause = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise DirectoryBusy(directory, wait, _flock_holder(fd)) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def _flock_holder(fd: int) -> int | None:
    """The process holding the flock on the directory open as ``fd``, from /proc/locks (Linux)."""
    st = os.fstat(fd)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a waiter's line has "->" after the number
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode and fields[4].isdigit():
                    return int(fields[4])
    except OSError:
        pass
    return None


def _release_locks() -> None:
    """The outermost transaction of this process ended: let go of the directories it took."""
    pid = os.getpid()
    for key, (fd, owner) in list(_HELD.items()):
        if owner == pid:
            del _HELD[key]
            os.close(fd)  # the last descriptor of the open file: the flock goes with it


# Steps of the writer that must happen together or not at all.  SIGTERM and Ctrl-C raise where the
# process is (auditor/cli.py): between creating a temporary file and knowing it, between replacing
# a file and recording the change, or half way through putting files back, that left a temporary
# file, a previous version, or a new file that the failed run never put back.  Their handlers call
# interrupt(), which holds the exception while such steps are under way and raises it after them.
_UNINTERRUPTED = [0]  # depth of nested uninterrupted() blocks in this process
_HELD_INTERRUPTION: list[BaseException] = []


class uninterrupted:
    """A block that SIGTERM and Ctrl-C do not cut: an interruption that arrives inside it (through
    :func:`interrupt`) is raised when the outermost such block ends, replacing whatever else it
    raised.  Short steps only (a few system calls): never while data is made or written."""

    def __enter__(self) -> None:
        _UNINTERRUPTED[0] += 1

    def __exit__(self, *exc: object) -> None:
        _UNINTERRUPTED[0] -= 1
        if _UNINTERRUPTED[0] == 0 and _HELD_INTERRUPTION:
            _act(_HELD_INTERRUPTION.pop())


def interrupt(exception: BaseException | Callable[[], None]) -> None:
    """What a signal handler does: raise ``exception`` (or call it: a worker that stops) here, or,
    inside :class:`uninterrupted` steps, once they are done (one interruption is enough: a second
    is not queued)."""
    if _UNINTERRUPTED[0]:
        if not _HELD_INTERRUPTION:
            _HELD_INTERRUPTION.append(exception)
        return
    _act(exception)


def ignore_signal(signum: int, frame: object) -> None:
    """What a stopping signal does once the process is already stopping (a second SIGTERM, SIGHUP
    after SIGTERM, SIGTERM in a fleet worker told to stop): nothing.  Installed in place of SIG_IGN:
    a signal the interpreter has received but whose handler has not run yet (SIGTERM and SIGHUP at
    once, as systemd's SendSIGHUP sends them, or a fleet worker's STOP_WITH_THE_RUN with the SIGTERM
    of ``systemctl stop``) found SIG_IGN when its turn came and raised OSError "Signal 15 ignored due
    to race condition" wherever the process was: in the middle of putting a file in place."""


# The interruptions raised in this process, newest last: a library that catches everything (reportlab
# turns any exception while it reads a font into TTFError) can turn Ctrl-C or SIGTERM into an error of
# its own; the command line then still ends with the signal's code (auditor/cli.py run).
DELIVERED: list[BaseException] = []


def _act(interruption: BaseException | Callable[[], None]) -> None:
    if isinstance(interruption, BaseException):
        DELIVERED.append(interruption)
        raise interruption
    interruption()


# The temporary files the writer of this process is writing: a worker stopped by SIGTERM removes
# them before it dies (it dies at once, raising nothing, so the writer cannot remove them itself).
WRITING: set[Path] = set()


def stop_worker(handed: bool = True) -> None:
    """A worker process (fleet) stopped by its command: put back the files of the host it was
    writing and remove the temporary file it was writing, then die by the default action of SIGTERM
    (raising here could leave the pool's locks held for ever).  ``handed``: put back the hosts it
    finished and handed over too, as a command that stops (SIGTERM) may never have received them;
    a command that goes on without this worker (another worker died) keeps those it received and
    evaluates the others again, so it asks with ``handed=False``."""
    put_back_unfinished(handed)
    for temporary in list(WRITING):
        try:
            os.unlink(temporary)
        except OSError:
            pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _forked_child() -> None:
    # a forked worker (fleet) starts with none of its parent's steps under way
    _UNINTERRUPTED[0] = 0
    _HELD_INTERRUPTION.clear()
    _HANDED.clear()
    WRITING.clear()


os.register_at_fork(after_in_child=_forked_child)


def current() -> _Transaction | None:
    return _ACTIVE[-1] if _ACTIVE and _ACTIVE[-1].pid == os.getpid() else None


def remember_checked(path: str, target: str, identity: tuple[int, int] | None) -> None:
    """Record that the output ``path`` (absolute) led to ``target``, the file ``identity`` (None:
    nothing there), when this command checked it; outside a transaction nothing is recorded."""
    active = current()
    if active is not None:
        active.checked[path] = (target, identity)


def checked_output(path: str) -> tuple[str, tuple[int, int] | None] | None:
    """What :func:`remember_checked` recorded of ``path`` in this process's transactions, the
    innermost first; None when it was not checked in them."""
    for active in reversed(_ACTIVE):
        if active.pid == os.getpid() and path in active.checked:
            return active.checked[path]
    return None


def ends_with_files(commit: Callable[[], None], roll_back: Callable[[], None]) -> bool:
    """Tie a change outside the files (a database transaction still open) to this command's files:
    ``commit`` runs when the outermost transaction keeps them, after everything else the command
    did (its last output written, its streams flushed), and a commit that fails puts the files back;
    ``roll_back`` runs when they are put back (an error, exit 74, Ctrl-C, SIGTERM).  Returns False
    outside a transaction (a library call): the caller commits at once, as it would have."""
    active = current()
    if active is None:
        return False
    active.outcomes.append((commit, roll_back))
    return True


def _roll_back(outcomes: list[tuple[Callable[[], None], Callable[[], None]]]) -> None:
    for _, roll_back in reversed(outcomes):
        try:
            roll_back()
        except Exception:  # noqa: BLE001 - best effort, as for files: the next one may still roll back
            continue


@contextmanager
def transaction(keep_on: tuple[type[BaseException], ...] = (SystemExit,),
                kept: list[Change] | None = None) -> Iterator[None]:
    """Every file written, removed or directory created inside the block is kept if the block ends
    (normally, or by an exception in ``keep_on``: a command's ``sys.exit(verdict)``), and put back
    as it was before if anything else ends it (an error, Ctrl-C, SIGTERM).  So a command that fails
    raises its error; ``sys.exit`` is for a verdict.  Transactions nest: a block that fails undoes
    its own files (a fleet host's), one that ends well hands them to the enclosing block, which
    may still undo them; a forked worker's files are its own (the parent cannot undo them).
    ``kept``, when given, receives the changes of a block that ends well, which the enclosing block
    holds from then on: :func:`put_back` of them undoes that block alone (a fleet host found later
    to be one of two snapshots of one host)."""
    active = _Transaction(os.getpid())
    _ACTIVE.append(active)
    try:
        yield
    except keep_on:
        _finish(active)
        raise
    except BaseException as exc:
        if out_of_memory(exc):  # putting back the files allocates: in the memory held back for it
            release_reserve()
        _put_back(active)
        raise
    _finish(active)
    if kept is not None:
        kept.extend(active.changes)


def _put_back(active: _Transaction) -> None:
    """A block that failed: its files put back as they were, and this process's locks let go when
    no enclosing block still holds them."""
    _ACTIVE.remove(active)
    try:
        active.undo()
    finally:
        try:
            _roll_back(active.outcomes)
        finally:
            if current() is None:
                _release_locks()


@contextmanager
def handed_over(changes: list[Change]) -> Iterator[None]:
    """:func:`transaction` for a worker process whose files are its command's (a fleet worker): a
    block that fails puts back its files; one that ends well leaves its changes in ``changes``,
    their previous versions still beside them, for the command to :func:`adopt`.  Before, each
    worker kept its hosts' files itself, and a fleet run stopped by SIGTERM (exit 143) left the
    evidence of every host its workers had finished."""
    active = _Transaction(os.getpid())
    _ACTIVE.append(active)
    try:
        yield
    except BaseException:
        _put_back(active)
        raise
    _ACTIVE.remove(active)
    changes.extend(active.changes)
    _HANDED.append(active)  # until the command has them: results travel in batches (imap chunks)
    for directory in active.emptied:
        remove_if_empty(directory)
    if current() is None:
        _release_locks()


# What this worker process handed over (handed_over): undone too if the worker is stopped, as the
# command may never have received it.  Undoing twice is harmless: the second finds the file not its own.
_HANDED: list[_Transaction] = []


def adopt(changes: list[Change]) -> None:
    """Make a worker's changes (:func:`handed_over`) this command's: kept or put back with its own."""
    active = current()
    if active is not None:
        active.changes.extend(changes)
    else:
        _Transaction(os.getpid(), list(changes)).keep()


def put_back(changes: list[Change]) -> None:
    """Put back a worker's changes (:func:`handed_over`), or a nested block's (``transaction(kept=)``),
    that the command will not keep: the host they belong to failed after its worker handed them over
    (its run could not be recorded, or another snapshot named the same host).  The enclosing block
    keeping or undoing them later finds them not its own, and leaves them as they are."""
    _Transaction(os.getpid(), list(changes)).undo()


def put_back_unfinished(handed: bool = True) -> None:
    """A worker stopped by its command puts back what its unfinished blocks wrote, before it dies:
    the host it was writing leaves none of its files (and, with ``handed``, neither do the hosts it
    handed over)."""
    for active in reversed([t for t in _ACTIVE if t.pid == os.getpid()]):
        _ACTIVE.remove(active)
        active.undo()
    if not handed:
        return
    for handed_over_block in reversed([t for t in _HANDED if t.pid == os.getpid()]):
        _HANDED.remove(handed_over_block)
        handed_over_block.undo()


def _finish(active: _Transaction) -> None:
    """The block ended well: its changes become the enclosing transaction's (of this process), which
    may still undo them, or are kept when there is none."""
    _ACTIVE.remove(active)
    enclosing = current()
    if enclosing is not None:
        enclosing.changes.extend(active.changes)
        enclosing.emptied.extend(active.emptied)
        enclosing.outcomes.extend(active.outcomes)
        return
    try:
        _commit(active)
        active.keep()
    finally:
        _release_locks()


def _commit(active: _Transaction) -> None:
    """Commit what ends with the files, in order; the first that fails rolls back the rest and puts
    the files back (the command then fails with that error: nothing of the run is kept).  A signal
    that arrives meanwhile waits until every one is committed or rolled back."""
    with uninterrupted():
        for index, (commit, _) in enumerate(active.outcomes):
            try:
                commit()
            except BaseException:
                _roll_back(active.outcomes[index + 1:])
                active.undo()
                raise


_RANDOM_BYTES = 6  # the RANDOM of a hidden name: 12 hex digits


def hidden_stem(name: str, suffix: str) -> str:
    """The part of ``name`` that the hidden names beside it (``.STEM.RANDOM.SUFFIX``) carry: all of
    it, or its first bytes when the whole would be longer than a name can be.  An output named
    with 233 to 255 bytes, a legal name, had no previous version kept (its link's name was
    ENAMETOOLONG, so a failed run deleted the file instead of putting it back) or could not be
    written at all ("File name too long" of a name the user never gave)."""
    room = NAME_MAX - len(f"..{'0' * 2 * _RANDOM_BYTES}.{suffix}".encode())
    encoded = os.fsencode(name)
    # cut at a byte: the cut name is bytes the kernel takes (surrogate escapes stand for a cut character)
    return name if len(encoded) <= room else os.fsdecode(encoded[:room])


def at_free_name(directory: Path, name: str, suffix: str, make: Callable[[Path], T]) -> T:
    """``make(path)`` at the first free hidden name ``directory/.STEM.RANDOM.SUFFIX`` (``make`` must
    fail with FileExistsError where something is: it creates exclusively), STEM being ``name`` or as
    much of it as fits (:func:`hidden_stem`).  The one home of the temporary files, links and
    previous versions the writer puts beside an output."""
    stem = hidden_stem(name, suffix)
    for _ in range(100):
        # os.urandom, not secrets: secrets imports hashlib, whose OpenSSL costs every command 4 MiB
        try:
            return make(directory / f".{stem}.{os.urandom(_RANDOM_BYTES).hex()}.{suffix}")
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free temporary name", str(directory))


def previous_version(target: Path) -> Path:
    """The file at ``target`` kept beside it, so that a failed run can put it back: a hard link, or,
    where there can be none (a file system without them: FAT, sshfs; a file at its link limit,
    EMLINK), a copy.  OSError when neither can be made (a full disk): then the caller must not
    replace or remove the file.  Before, no previous version was kept there, and a run that failed
    afterwards deleted the file it had replaced: neither the earlier version nor its own was left."""
    def link(previous: Path) -> Path:
        os.link(target, previous, follow_symlinks=False)
        return previous

    try:
        return at_free_name(target.parent, target.name, "previous", link)
    except OSError:
        return at_free_name(target.parent, target.name, "previous", lambda previous: _copy_aside(target, previous))


def _copy_aside(target: Path, previous: Path) -> Path:
    """A copy of the file (or symbolic link) ``target`` at the new name ``previous``, with its mode:
    what a hard link would have kept.  Nothing is left at ``previous`` when it fails."""
    import shutil
    import stat

    st = os.lstat(target)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(target), previous)
        return previous
    nofollow = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with open(os.open(target, os.O_RDONLY | os.O_NONBLOCK | nofollow), "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(target))
        copy = os.open(previous, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600)
        try:
            with open(copy, "wb") as out:
                os.fchmod(copy, stat.S_IMODE(st.st_mode))
                if os.geteuid() == 0:
                    os.fchown(copy, st.st_uid, st.st_gid)
                shutil.copyfileobj(source, out, 1 << 20)
                out.flush()
                os.fsync(copy)
        except BaseException:
            os.unlink(previous)
            raise
    return previous


def remove_if_empty(directory: Path) -> None:
    try:
        os.rmdir(directory)
    except OSError:
        pass  # not empty (or already gone): it holds something that is not ours to remove


def fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot; the data itself is already synced
    finally:
        os.close(fd)
