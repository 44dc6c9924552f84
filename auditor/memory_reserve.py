"""Memory held back from the start of a command for its end, should the command run out.

A run that meets its memory limit (``ulimit -v``, ``ulimit -d``) must still put back the files it
wrote, say so and exit 71.  Each of those steps allocates (an exception's traceback, a message's
text, the pattern that escapes it, a module imported to write it), and with nothing left each raised
MemoryError again: a traceback and exit 1, the code that reads "non-compliant", or "SystemError:
error return without exception set" and exit 70.  So a command holds a reserve from its start,
given back as soon as it is known to have run out, and the message of that end is encoded before
anything can fail (:data:`OUT_OF_MEMORY_MESSAGE`), written with one system call when even the
reserve was not enough.

Standard library only, and nothing imported: the command line holds the reserve before it imports
anything heavy."""

from __future__ import annotations

import errno
import os

# Enough for the end of a run (its files put back, its message escaped and written); little beside
# the address space a run needs (64 MiB for a host's evaluation).  calloc's pages, never touched:
# address space against ulimit -v, no resident memory.
RESERVE_BYTES = 4 * 1024 * 1024

OUT_OF_MEMORY = "out of memory (ulimit -v, or the memory of this host or container)"
LIMIT_ENDING = ": the run could not finish; nothing was written (raise the limit, or run where more is free)"
OUT_OF_MEMORY_MESSAGE = f"lbaudit: {OUT_OF_MEMORY}{LIMIT_ENDING}\n".encode("ascii")

_RESERVE: list[bytearray] = []

# What CPython raises, instead of MemoryError, when an allocation failed where no exception could be
# set (a C function that returned NULL without one): seen only when memory ran out.
_LOST_EXCEPTION = ("without setting an exception", "error return without exception set")


def hold() -> None:
    """Hold the reserve (once): a command's first step."""
    if not _RESERVE:
        try:
            _RESERVE.append(bytearray(RESERVE_BYTES))
        except MemoryError:  # too little even for this: the command meets its limit soon, and says so
            pass


def release() -> None:
    """Give the reserve back: what ends a run that ran out of memory runs in it."""
    _RESERVE.clear()


def out_of_memory(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from) is memory running out: a MemoryError, ENOMEM, or
    the SystemError CPython raises when an allocation failed where no exception could be set."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM):
            return True
        if isinstance(exc, SystemError) and any(text in str(exc) for text in _LOST_EXCEPTION):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def say_out_of_memory() -> None:
    """The message of a run out of memory on standard error, in one system call of bytes encoded at
    import: what is said when saying it any other way ran out of memory too."""
    release()
    try:
        os.write(2, OUT_OF_MEMORY_MESSAGE)
    except OSError:  # standard error closed or full: the exit code still says it
        pass
