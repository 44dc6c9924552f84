"""A command that meets a resource limit (memory, open files, processes): exit 71 naming the limit,
whatever step of the command met it; a process a collector could not start is a gap naming it
(:func:`process_not_started`).

The limits are the environment's (``ulimit -v``, ``ulimit -d``, ``ulimit -n``, ``ulimit -u``, a
container's), not bad input and not a bug, so neither exit 2 nor exit 70.  :func:`limit_met` names
the limit an exception is; what follows is for memory, which saying so needs too.

A run that meets its memory limit (``ulimit -v``, ``ulimit -d``) must still put back the files it
wrote, say so and exit 71.  Each of those steps allocates (an exception's traceback, a message's
text, the pattern that escapes it, a module imported to write it), and with nothing left each raised
MemoryError again: a traceback and exit 1, the code that reads "non-compliant", or "SystemError:
error return without exception set" and exit 70.  So a command holds a reserve from its start,
given back as soon as it is known to have run out, and the message of that end is encoded before
anything can fail (:data:`OUT_OF_MEMORY_MESSAGE`), written with one system call when even the
reserve was not enough.

Standard library only, and nothing of lbaudit imported: the console script says a limit met while it
imports the command line itself (:mod:`auditor.entry`)."""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False  # typing is imported by no command's start (auditor/stdio.py says why)
if TYPE_CHECKING:
    from collections.abc import Iterator

# Enough for the end of a run (its files put back, its message escaped and written); little beside
# the address space a run needs (64 MiB for a host's evaluation).  bytes(n), which CPython takes
# from calloc: pages never touched, address space against ulimit -v and no resident memory
# (bytearray(n) writes its zeros: 4 MiB more of every run's peak).
RESERVE_BYTES = 4 * 1024 * 1024
# A limit met: EX_OSERR, ExitCode.RESOURCE_LIMIT (auditor.model.codes), named here for what must not
# import the models (the console script's own start); tests/test_resource_limits.py holds the two equal.
EXIT_CODE = 71

OUT_OF_MEMORY = "out of memory (ulimit -v, or the memory of this host or container)"
LIMIT_ENDING = ": the run could not finish; nothing was written (raise the limit, or run where more is free)"
OUT_OF_MEMORY_MESSAGE = f"lbaudit: {OUT_OF_MEMORY}{LIMIT_ENDING}\n".encode("ascii")
TOO_MANY_FILES = "too many open files (ulimit -n)"
# fork and clone refuse with EAGAIN (Python's BlockingIOError) at ulimit -u or a cgroup's pids.max
TOO_MANY_PROCESSES = "too many processes (ulimit -u, or the pids.max of a cgroup or container)"

# What the kernel says when a process is at its limit of open files or memory (ulimit -n, ulimit -v,
# a cgroup): the environment, not a bug in lbaudit.  An extension module that cannot be mapped is
# the same limit met by the dynamic loader (its ImportError carries dlerror's text).
LIMIT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})
LOADER_OUT_OF_MEMORY = ("failed to map segment from shared object", "cannot allocate memory")

_RESERVE: list[bytes] = []

# The innermost function of the standard library's that forks, where its fork's error is raised:
# multiprocessing's (a fleet's pool starting a worker, in the run or in the pool's manager thread)
# and subprocess's (fork and exec in one call).
_FORKING_FUNCTIONS = frozenset({"_launch", "_execute_child"})

# What CPython raises, instead of MemoryError, when an allocation failed where no exception could be
# set (a C function that returned NULL without one): seen only when memory ran out.
_LOST_EXCEPTION = ("without setting an exception", "error return without exception set")


def hold() -> None:
    """Hold the reserve (once): a command's first step."""
    if not _RESERVE:
        try:
            _RESERVE.append(bytes(RESERVE_BYTES))
        except MemoryError:  # too little even for this: the command meets its limit soon, and says so
            pass


def release() -> None:
    """Give the reserve back: what ends a run that ran out of memory runs in it."""
    _RESERVE.clear()


CHAIN_DEPTH = 10  # links of a chain looked at: a chain is a few links; a cycle or a hostile one is not walked for ever


def exception_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or while handling (``__cause__``, else ``__context__``),
    nearest first, at most CHAIN_DEPTH links: what a limit met deep inside a library is found by."""
    for _link in range(CHAIN_DEPTH):
        if exc is None:
            return
        yield exc
        exc = exc.__cause__ or exc.__context__


def out_of_memory(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from) is memory running out: a MemoryError, ENOMEM, or
    the SystemError CPython raises when an allocation failed where no exception could be set."""
    return any(isinstance(link, MemoryError) or (isinstance(link, OSError) and link.errno == errno.ENOMEM)
               or (isinstance(link, SystemError) and any(text in str(link) for text in _LOST_EXCEPTION))
               for link in exception_chain(exc))


def say_out_of_memory() -> None:
    """The message of a run out of memory on standard error, in one system call of bytes encoded at
    import: what is said when saying it any other way ran out of memory too."""
    release()
    try:
        os.write(2, OUT_OF_MEMORY_MESSAGE)
    except OSError:  # standard error closed or full: the exit code still says it
        pass


def process_not_started(exc: OSError) -> str:
    """Why a process (a tool, or a child lbaudit forks to read something) could not be started, in
    words: the limit met, or the error.  A fact that needed the process is a gap saying so."""
    if exc.errno == errno.EAGAIN:
        return TOO_MANY_PROCESSES
    if exc.errno in (errno.EMFILE, errno.ENFILE):  # its pipes
        return TOO_MANY_FILES
    if exc.errno == errno.ENOMEM:
        return "out of memory (ulimit -v, or the memory of this host or container)"
    return exc.strerror or str(exc)


def _raised_by_fork(exc: BaseException) -> bool:
    """Whether ``exc`` was raised where the standard library forks (EAGAIN is also a non-blocking
    descriptor with nothing to read, which escaping into the command line is a bug)."""
    frames = exc.__traceback__
    while frames is not None and frames.tb_next is not None:
        frames = frames.tb_next
    return frames is not None and frames.tb_frame.f_code.co_name in _FORKING_FUNCTIONS


def limit_met(exc: BaseException) -> str | None:
    """What limit ``exc`` met, or None when it is not a resource limit."""
    if isinstance(exc, BlockingIOError) and _raised_by_fork(exc):
        return f"cannot start a process: {TOO_MANY_PROCESSES}"
    if isinstance(exc, MemoryError) or (isinstance(exc, SystemError) and out_of_memory(exc)):
        return OUT_OF_MEMORY
    if isinstance(exc, OSError) and exc.errno in LIMIT_ERRNOS:
        what = {errno.ENOMEM: "out of memory", errno.ENFILE: "too many open files in the system"}.get(
            exc.errno, TOO_MANY_FILES)
        return what + (f" (opening {exc.filename})" if exc.filename else "")
    if isinstance(exc, SyntaxError) and str(exc.filename or "").endswith(".py") and _memory_limited():
        # CPython's parser, out of memory while it compiles a module being imported (no cached
        # bytecode), says "SyntaxError: expected ':'" of a line that has one: exit 70, "a bug"
        return f"out of memory compiling {exc.filename} (ulimit -v)"
    if isinstance(exc, RuntimeError) and str(exc) == "can't start new thread":  # its stack not mapped, or ulimit -u
        return "cannot start a thread (out of memory for its stack, ulimit -v, or too many processes, ulimit -u)"
    if isinstance(exc, ImportError) and any(text in str(exc).lower() for text in LOADER_OUT_OF_MEMORY):
        return f"out of memory loading a library (ulimit -v): {exc}"
    return None


def say_limit_met(exc: BaseException) -> bool:
    """Whether ``exc`` is a resource limit met, said on standard error (in one system call of bytes
    encoded at import when formatting it runs out of memory too): for what ends before the command line's
    own mapping of errors (:func:`auditor.cli.run`) is in place, while it is imported."""
    limit = limit_met(exc)
    if limit is None:
        return False
    release()
    try:
        os.write(2, f"lbaudit: {limit}{LIMIT_ENDING}\n".encode("utf-8", "backslashreplace"))
    except MemoryError:
        say_out_of_memory()
    except OSError:
        pass
    return True


def descriptors_exhausted() -> int | None:
    """EMFILE or ENFILE when this process can open no more files, else None: asked where a library
    says only that it could not open its file (SQLite's "unable to open database file", for a
    store's database, its journal or its -wal), which a full table of descriptors is as well as a
    missing directory."""
    try:
        probe = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        return exc.errno if exc.errno in (errno.EMFILE, errno.ENFILE) else None
    os.close(probe)
    return None


def file_size_limit() -> int | None:
    """The size in bytes ``ulimit -f`` (RLIMIT_FSIZE) lets this process write a file to, or None when
    unlimited: asked where a library says only "disk I/O error" (SQLite, whose -shm beside a store
    is 32 KiB from its first reader on), which a file held under that size is as well as a failing disk."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def _memory_limited() -> bool:
    """Whether this process runs under a limit of address space or data (``ulimit -v``, ``-d``)."""
    import resource

    return any(resource.getrlimit(limit)[0] != resource.RLIM_INFINITY
               for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA))
