"""Standard input, output and error as the process that started lbaudit left them: one place that
makes them safe, so that no command has to.

Whoever starts lbaudit decides what descriptors 0, 1 and 2 are: a full disk or ``/dev/full``
(ENOSPC), a terminal that went away (EIO), a pipe whose reader has gone (EPIPE), nothing at all
(``>&-``: EBADF), a descriptor left non-blocking by a shell or a node parent (EAGAIN).  None of
that is a bug in lbaudit (exit 70) or a verdict: :func:`guard_standard_streams`, called first by
the console script and ``python -m auditor.cli``,

* opens ``/dev/null`` on a standard descriptor that is closed, so that the first file lbaudit
  opens (an evidence file, a PDF, the history store) cannot become descriptor 1 or 2 and take in
  text meant for a terminal, from lbaudit or from anything that writes to those numbers;
* puts standard output and error behind :class:`_GuardedDescriptor`, which raises
  :class:`StreamError` (an ``OSError``, a ``BrokenPipeError`` for EPIPE) naming the stream, waits
  on a non-blocking descriptor instead of failing with EAGAIN, and remembers the failure, so that
  code which catches ``OSError`` cannot swallow it: :func:`raise_failure` raises it again when the
  command ends, and the command line exits 74 (EX_IOERR) with one line on standard error (if that
  still works); the files of the run are put back, as for any other failure;
* writes what a stream's encoding cannot hold (``PYTHONIOENCODING=latin-1``, a cp037 terminal) as
  backslash escapes instead of raising UnicodeEncodeError.

The one failure a command may forgive is a reader that stopped reading the run summary (``| head``):
:func:`forgive` (``auditor.commands.output.print_summary``).

A command stopped by a signal (SIGTERM, SIGHUP, Ctrl-C: :func:`stop_waiting_for_readers`, called by
the command line's handlers) waits at most :data:`STOPPED_WAIT_SECONDS` for a reader that does not
read, then drops the rest: what a stream still held was written again on the way out (the command's
last flush, then the interpreter's), and a pipe nobody read kept the stopped process blocked for ever.

This module imports nothing of lbaudit: the console script's fast path (``auditor/entry.py``) uses it
without click.
"""

from __future__ import annotations

import errno
import io
import os
import sys
import time

# A stream that could not be written: EX_IOERR, ExitCode.IO_ERROR (auditor.model.codes), named here for
# the console script's fast path, which never imports the models; tests/test_resource_limits.py holds the two equal.
EXIT_CODE = 74

TYPE_CHECKING = False  # typing itself is 20 ms, a doubling of the console script's fast --help
if TYPE_CHECKING:
    from typing import Any

STANDARD_NAMES = {0: "standard input", 1: "standard output", 2: "standard error"}
# What a stream's encoding cannot hold is escaped (\\u20ac, \\udce9), never an exception.
UNENCODABLE = "backslashreplace"

_failures: list["StreamError"] = []

# How long a stopped command (a signal) still waits for the readers of standard output and error,
# from the signal on; and the moment it stops waiting, once a signal has come.
STOPPED_WAIT_SECONDS = 2.0
_stopped_waiting_at: list[float] = []


class StreamError(OSError):
    """Standard output or standard error could not be written: the environment, not lbaudit."""

    def __init__(self, stream: str, code: int, reason: str, closed_at_start: bool = False):
        super().__init__(code, reason)
        self.stream = stream
        self.closed_at_start = closed_at_start

    @property
    def message(self) -> str:
        if self.closed_at_start:
            return (f"{self.stream} is closed (lbaudit was started without it): nothing could be printed; "
                    f"redirect it to /dev/null to discard what lbaudit prints")
        if self.errno == errno.EPIPE:
            return f"{self.stream}: the reader closed the pipe before everything was written"
        return f"{self.stream}: cannot write: {self.strerror}"


class StreamClosedError(StreamError, BrokenPipeError):
    """EPIPE: the reader has gone.  Still a BrokenPipeError for code that catches that."""


def stream_error(stream: str, exc: OSError, closed_at_start: bool = False) -> StreamError:
    if isinstance(exc, StreamError):
        return exc
    code = exc.errno if exc.errno is not None else errno.EIO
    kind = StreamClosedError if code == errno.EPIPE else StreamError
    return kind(stream, code, exc.strerror or os.strerror(code), closed_at_start)


class _GuardedDescriptor(io.FileIO):
    """The raw file under a guarded standard stream (never closes the descriptor)."""

    def __init__(self, fd: int, closed_at_start: bool):
        super().__init__(fd, "wb", closefd=False)
        self.stream_name = STANDARD_NAMES[fd]
        self.closed_at_start = closed_at_start
        self.failure: StreamError | None = None

    def write(self, data: Any) -> int:
        if self.failure is not None:  # already reported (and the run ends with it): the rest is discarded
            return len(memoryview(data))
        if _stopped_waiting_at:
            return self._write_until(_stopped_waiting_at[0], data)
        try:
            if self.closed_at_start:  # /dev/null stands in for it: never a silent success
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
            while True:
                written = super().write(data)
                if written is not None:
                    return written
                # O_NONBLOCK, set by whoever shares this descriptor, and the reader is behind: wait for it
                from auditor.fdwait import ready  # here: the console script's --help never needs it

                ready(self.fileno(), write=True)
        except OSError as exc:
            self.failure = stream_error(self.stream_name, exc, self.closed_at_start)
            _failures.append(self.failure)
            raise self.failure from None

    def _write_until(self, deadline: float, data: Any) -> int:
        """The command is stopping: write while the reader takes it before ``deadline``, at most
        PIPE_BUF bytes at a time (a pipe with room takes that much without blocking), then drop
        the rest (reported as written: the command ends with the signal's code, not this)."""
        import select  # here: the console script's --help never needs it

        from auditor.fdwait import ready

        whole = len(memoryview(data))
        piece = memoryview(data)[:getattr(select, "PIPE_BUF", 512)]
        try:
            while (left := deadline - time.monotonic()) > 0:
                if not ready(self.fileno(), write=True, timeout=left):
                    break
                written = super().write(piece)
                if written is not None:
                    return written
        except OSError:
            pass
        self.failure = stream_error(self.stream_name, OSError(errno.ETIMEDOUT, "the command was stopped and "
                                                               "the reader was not reading"))
        return whole


def stop_waiting_for_readers() -> None:
    """A signal is stopping the command: from now on standard output and error wait at most
    :data:`STOPPED_WAIT_SECONDS` (from this call) for their readers; what is left then is dropped."""
    if not _stopped_waiting_at:
        _stopped_waiting_at.append(time.monotonic() + STOPPED_WAIT_SECONDS)


def wait_for_readers() -> None:
    """A command begins (run again in one process: the tests): its streams wait for their readers."""
    _stopped_waiting_at.clear()


def _reopen_closed_descriptors() -> set[int]:
    """Open /dev/null on each of descriptors 0, 1, 2 that is closed; returns those that were."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            opened = os.open(os.devnull, os.O_RDWR)
        except OSError:
            continue
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)
        os.set_inheritable(fd, True)
        closed.add(fd)
    return closed


def _guarded_stream(current: Any, fd: int, closed_at_start: bool) -> Any:
    """A text stream on descriptor ``fd`` that raises :class:`StreamError`, like ``current`` (its
    encoding and buffering) when that is the interpreter's stream on ``fd``."""
    if isinstance(current, io.TextIOWrapper) and isinstance(getattr(current, "buffer", None), io.BufferedWriter) \
            and isinstance(current.buffer.raw, _GuardedDescriptor):
        return current  # guarded already (the console script, then cli.main)
    if current is not None:
        try:
            if current.fileno() != fd:
                return current  # not the process's own stream (an embedding application, a test runner)
            current.flush()
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            return current
    encoding = getattr(current, "encoding", None) or "utf-8"
    line_buffering = bool(getattr(current, "line_buffering", fd == 2))
    write_through = bool(getattr(current, "write_through", False))
    return io.TextIOWrapper(io.BufferedWriter(_GuardedDescriptor(fd, closed_at_start)), encoding=encoding,
                            errors=UNENCODABLE, line_buffering=line_buffering, write_through=write_through)


def guard_standard_streams() -> None:
    """At process start, before any file is opened: see the module's description."""
    closed = _reopen_closed_descriptors()
    sys.stdout = _guarded_stream(sys.stdout, 1, 1 in closed)
    sys.stderr = _guarded_stream(sys.stderr, 2, 2 in closed)


def flush_standard_streams() -> None:
    """Write out what the streams hold, so that a failure is the command's (exit 74), not a message
    from the interpreter at exit (exit 120)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except StreamError:
            raise
        except (ValueError, OSError) as exc:  # a stream that is not guarded (an embedding application)
            if isinstance(exc, OSError):
                raise stream_error(STANDARD_NAMES[1 if stream is sys.stdout else 2], exc) from None


def raise_failure() -> None:
    """Raise the first failure of a guarded stream that no one forgave (caught or not on the way)."""
    if _failures:
        raise _failures[0]


def forgive(failure: BaseException) -> None:
    """A failure the command decided is not one (a reader that stopped reading the summary)."""
    if failure in _failures:
        _failures.remove(failure)


def say(text: str) -> None:
    """One line on standard error when it works; nothing (and no exception) when it does not: for
    the message of the failure that ends the command."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass
