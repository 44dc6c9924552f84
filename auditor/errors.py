"""Errors a user can cause and fix.  Each carries the exit code the CLI returns for it."""

from __future__ import annotations

import errno

from auditor.model.codes import ExitCode
from auditor.model.records import record


@record
class Problem:
    """One located problem in an input file: ``file:line:column: message``."""

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        from auditor.text import one_line

        # A file name may hold a line feed; the printed message keeps its own line feeds
        # (auditor.text.terminal_lines), so the name's would start a line it did not write.
        where = one_line(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


# The most problems a message lists (of an invalid policy, snapshot or evidence): far more than anyone
# fixes in one go, and the rest are counted ("... and 9,900 more problems not shown").  A policy of
# 10,000 list items that are no rules listed 10,001 lines (700 KB) on standard error.
MAX_LISTED_PROBLEMS = 100


def listed_problems(problems: list[Problem], noun: str = "problem") -> list[str]:
    """Each of ``problems`` as a line of a message (``  file:line:column: message``), at most
    :data:`MAX_LISTED_PROBLEMS` of them, then one line saying how many more there are."""
    lines = [f"  {p}" for p in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  ... and {more_problems(len(problems) - MAX_LISTED_PROBLEMS, noun)} not shown")
    return lines


def more_problems(count: int, noun: str = "problem") -> str:
    """``N more problems`` (``1 more problem``)."""
    return f"{count:,} more {noun}{'' if count == 1 else 's'}"


class LbauditError(Exception):
    """Base of errors shown to the user as a message (never a traceback)."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def render(self) -> str:
        """The message and its problems, one a line (at most :data:`MAX_LISTED_PROBLEMS` of them),
        as the error says them: where it is printed (cli.py's ``_say``), each line is shown with its
        control and bidi characters as escapes, and cut (:func:`auditor.text.terminal_lines`)."""
        return "\n".join([str(self), *listed_problems(self.problems)])


class PolicyError(LbauditError):
    """The policy file (or one it extends) is invalid."""


class RegistryError(LbauditError):
    """The set of loaded checks is unusable: duplicates, shadowing, unknown controls, none at all."""


class InputError(LbauditError):
    """A snapshot, evidence or key file given on the command line is unreadable or invalid."""


class Busy(LbauditError):
    """Another lbaudit process is writing in a directory this command writes in, for longer than
    this command waits (EX_TEMPFAIL: try again later; never one of the verdict codes)."""

    exit_code = ExitCode.BUSY


class Terminated(BaseException):
    """SIGTERM (systemd stopping a timer's scan, ``timeout``) or SIGHUP (the terminal or SSH session
    closed): raised where the process is, so that the files the run wrote are put back as they were,
    as for Ctrl-C; the exit code is 128 + ``signum``.  A BaseException, so that no ``except
    Exception`` turns it into a finding or exit 70."""

    def __init__(self, signum: int = 15):  # SIGTERM (the signal module is not imported for this)
        super().__init__(signum)
        self.signum = signum


# What the kernel says when a file cannot be written (or read) for a reason of the medium, not of the
# path the user gave: the disk or the quota is full, the device fails, the file outgrew what the file
# system or ``ulimit -f`` allows.  A read-only file system is not among them: the check before any
# work refuses it (exit 2), as it does a missing directory.
IO_FAILURE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})
# The same said by a database: SQLite's primary result codes SQLITE_IOERR and SQLITE_FULL (the
# extended codes keep them in their low byte), PostgreSQL's SQLSTATE disk_full and io_error.
SQLITE_IO_FAILURES = frozenset({10, 13})
SQLSTATE_IO_FAILURES = frozenset({"53100", "58030"})


def io_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says a file or database could not be written or read for a reason of the
    medium (:data:`IO_FAILURE_ERRNOS`): exit 74 (EX_IOERR) wherever it is met, as for a standard
    stream that cannot be written, never exit 2 (a usage error) nor 70 (a bug)."""
    if isinstance(exc, OSError):
        # EFBIG is also what lbaudit's own bounds on what it reads say (safeio.FileTooLarge): an
        # input refused for its size (exit 2), not a disk that could not take a file
        return exc.errno in IO_FAILURE_ERRNOS and not getattr(exc, "lbaudits_bound", False)
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in SQLITE_IO_FAILURES
    return getattr(exc, "sqlstate", None) in SQLSTATE_IO_FAILURES


def io_failure_behind(exc: BaseException) -> bool:
    """Whether ``exc`` or an error it was made from (``raise ... from``, or raised while handling
    it; a SQLAlchemy error's ``orig``) is an :func:`io_failure`."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending and len(seen) < 20:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if io_failure(error):
            return True
        pending.extend(e for e in (error.__cause__, error.__context__, getattr(error, "orig", None))
                       if isinstance(e, BaseException))
    return False


def exit_code_of(exc: LbauditError) -> int:
    """The exit code of an error shown as a message: its own, but exit 74 (EX_IOERR) for one that a
    disk that could not take a file (full, over quota, failing) is behind (:func:`io_failure_behind`):
    the environment, as a standard output that cannot be written is, not a command line to fix
    (exit 2).  The one rule of every command, and of each host of a fleet run."""
    if exc.exit_code == ExitCode.USAGE and io_failure_behind(exc):
        return int(ExitCode.IO_ERROR)
    return int(exc.exit_code)
