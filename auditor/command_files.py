"""The files one command writes, kept together or put back: the bookkeeping of ``storage/outputs.py``.

:func:`transaction` records each change the writer makes (a file written or removed, a directory
created) with a hard link to the previous version beside it; a block that fails puts every one back,
newest first; one that ends well drops the previous versions.  The command line runs every command in
one transaction (``auditor/cli.py`` ``run``), so an error, Ctrl-C or SIGTERM part way leaves the files
as they were before the command.  Standard library only: the command line enters a transaction for
every command, including those that never write and must not load the writer (``validate``, ``--help``).
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


@dataclass
class Change:
    """One step of a transaction: ``target`` now holds the file ``identity`` (None: removed, or a
    directory created), and its previous version, if it had one, is the hard link ``previous``."""

    target: Path
    identity: tuple[int, int] | None
    previous: Path | None
    directory: bool = False


@dataclass(eq=False)  # each transaction is itself: two with the same changes are not one
class _Transaction:
    pid: int  # a forked child (a fleet worker) never undoes or keeps its parent's files
    changes: list[Change] = field(default_factory=list)
    emptied: list[Path] = field(default_factory=list)  # directories to remove at the end if empty

    def undo(self) -> None:
        """Put every file back as it was, newest change first.  A target that no longer holds what
        this run wrote (someone else wrote it meanwhile) is left alone."""
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
            except OSError:
                continue  # best effort: the next change may still be undone
        for directory in {c.target.parent for c in self.changes if not c.directory}:
            fsync_directory(directory)

    def keep(self) -> None:
        """The run finished: drop the previous versions."""
        for change in self.changes:
            if change.previous is not None:
                try:
                    os.unlink(change.previous)
                except OSError:
                    pass
        for directory in self.emptied:
            remove_if_empty(directory)


_ACTIVE: list[_Transaction] = []


def current() -> _Transaction | None:
    return _ACTIVE[-1] if _ACTIVE and _ACTIVE[-1].pid == os.getpid() else None


@contextmanager
def transaction(keep_on: tuple[type[BaseException], ...] = (SystemExit,)) -> Iterator[None]:
    """Every file written, removed or directory created inside the block is kept if the block ends
    (normally, or by an exception in ``keep_on``: a command's ``sys.exit(verdict)``), and put back
    as it was before if anything else ends it (an error, Ctrl-C, SIGTERM).  So a command that fails
    raises its error; ``sys.exit`` is for a verdict.  Transactions nest: a block that fails undoes
    its own files (a fleet host's), one that ends well hands them to the enclosing block, which
    may still undo them; a forked worker's files are its own (the parent cannot undo them)."""
    active = _Transaction(os.getpid())
    _ACTIVE.append(active)
    try:
        yield
    except keep_on:
        _finish(active)
        raise
    except BaseException:
        _ACTIVE.remove(active)
        active.undo()
        raise
    _finish(active)


def _finish(active: _Transaction) -> None:
    """The block ended well: its changes become the enclosing transaction's (of this process), which
    may still undo them, or are kept when there is none."""
    _ACTIVE.remove(active)
    enclosing = current()
    if enclosing is not None:
        enclosing.changes.extend(active.changes)
        enclosing.emptied.extend(active.emptied)
    else:
        active.keep()


def at_free_name(directory: Path, name: str, suffix: str, make: Callable[[Path], T]) -> T:
    """``make(path)`` at the first free hidden name ``directory/.NAME.RANDOM.SUFFIX`` (``make`` must
    fail with FileExistsError where something is: it creates exclusively).  The one home of the
    temporary files, links and previous versions the writer puts beside an output."""
    for _ in range(100):
        # os.urandom, not secrets: secrets imports hashlib, whose OpenSSL costs every command 4 MiB
        try:
            return make(directory / f".{name}.{os.urandom(6).hex()}.{suffix}")
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free temporary name", str(directory))


def previous_version(target: Path) -> Path | None:
    """A hard link to the file at ``target`` beside it, so that a failed run can put it back; None
    where the file system has no hard links (then the file cannot be put back)."""
    def link(previous: Path) -> Path:
        os.link(target, previous, follow_symlinks=False)
        return previous

    try:
        return at_free_name(target.parent, target.name, "previous", link)
    except OSError:
        return None


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
