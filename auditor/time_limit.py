"""A bound on the time a plugin's check, a plugin's reporter, or the import of a plugin may take.

Standard library only, and outside the engine, so that auditor.plugins (which every reporter and the
engine use) bounds the import of an entry point with it; auditor/engine/time_limit.py holds the
limits of checks and reporters.

The built-in checks are pure functions of the facts and end; a plugin's check is code lbaudit did not
write, and one that waits forever (a socket, a lock, a loop) held the whole run, the release gate
with it, with nothing saying which check it was.  Under :func:`time_limit` an interval timer
(SIGALRM) raises :class:`CheckTimedOut` in the check's Python code after the limit; the engine
reports it as that check's ``error`` finding and goes on.  Code that never returns to the
interpreter (a C loop that does not check for signals) cannot be interrupted this way.

A reporter plugin is bounded the same way (:data:`PLUGIN_REPORTER_SECONDS`, :class:`ReporterTimedOut`):
one that looped or blocked held ``lbaudit evaluate --format X`` and ``lbaudit report`` forever.

A check can swallow the stop (a bare ``except:``, a ``return`` in a ``finally``) and return
what it likes: the limit's :class:`Limit` says it was reached whatever the body did with it, and the
caller takes nothing the body returned then (a swallowed stop and a "pass" was a pass).  Past the
limit the stop is raised again every :data:`RESTOP_SECONDS` until the body ends: one that swallowed
it and waited again was never stopped a second time.

Only the main thread receives signals, so elsewhere (a library caller's worker thread) nothing is
bounded.  An interval timer already running (a caller's own alarm) is respected: if it fires first it
is left alone, and otherwise it is set again, less the time spent, when the check ends.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# The import of a plugin's entry point (its module's top-level code), checks' and reporters' alike.
PLUGIN_LOAD_SECONDS = 30.0
# How often the stop is raised again into a body that swallowed it and went on.
RESTOP_SECONDS = 1.0

# The signal functions as the time limit uses them, taken at import: while a plugin's code runs, the
# signal module's own names refuse every change (auditor.plugins.plugin_code), and the limit is set
# and lifted inside that.
_set_handler = signal.signal
_set_timer = getattr(signal, "setitimer", None)
_get_timer = getattr(signal, "getitimer", None)


def _async_stopper() -> Callable[[int, "type[BaseException] | None"], None] | None:
    """What raises an exception in another thread at its next bytecode (CPython's C API
    PyThreadState_SetAsyncExc), or None where there is none: the watchdog's stop, which no signal
    handler of a plugin's can take away.  ctypes is imported only when a plugin's code is bounded."""
    import ctypes

    set_async_exc: Any = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if set_async_exc is None:
        return None

    def stop(thread: int, exception: type[BaseException] | None) -> None:
        set_async_exc(ctypes.c_ulong(thread), ctypes.py_object(exception) if exception is not None else None)

    return stop


class CheckTimedOut(BaseException):
    """Raised into a check that ran past its limit.  A BaseException, so that a plugin's
    ``except Exception`` cannot swallow it and carry on."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the check ran longer than {seconds:g} s and was stopped")


class ReporterTimedOut(BaseException):
    """Raised into a reporter plugin's rendering that ran past its limit (a BaseException, as
    :class:`CheckTimedOut`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the reporter ran longer than {seconds:g} s and was stopped")


class LoadTimedOut(BaseException):
    """Raised into the import of a plugin's entry point that ran past PLUGIN_LOAD_SECONDS."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"its import ran longer than {seconds:g} s and was stopped")


class Limit:
    """What became of a body run under :func:`time_limit`: ``reached`` once its time ran out, whether
    or not the stop raised into it ended it."""

    def __init__(self) -> None:
        self.reached = False


def _stop_type(timed_out: Callable[[float], BaseException], seconds: float) -> type[BaseException]:
    """A class of ``timed_out(seconds)`` that takes no argument: the watchdog's exception is raised
    by the interpreter from its class alone."""
    kind = type(timed_out(seconds))

    def __init__(self: BaseException) -> None:
        kind.__init__(self, seconds)

    return type(kind.__name__, (kind,), {"__init__": __init__, "__module__": kind.__module__})


class _Watchdog:
    """Raises the stop into the main thread from a thread of its own, past the limit and every
    RESTOP_SECONDS after, until the body ends.  SIGALRM stops a body blocked in a system call; this
    stops one that took SIGALRM away (its handler replaced or ignored through the low-level
    ``_signal`` module, or the interval timer cancelled) and runs Python code.  A body that did both,
    took the signal away and then blocked in one system call, is not stopped (only a process of its
    own could be)."""

    def __init__(self, seconds: float, stop: type[BaseException], limit: Limit,
                 raise_in: Callable[[int, "type[BaseException] | None"], None]) -> None:
        self._raise_in = raise_in
        self._lock = threading.Lock()
        self._over = threading.Event()
        self._ended = False
        self._raised = False
        self.stop, self._limit = stop, limit
        self._target = threading.main_thread().ident or 0
        self._thread = threading.Thread(target=self._watch, args=(seconds,), name="lbaudit plugin time limit",
                                        daemon=True)
        self._thread.start()

    def _watch(self, seconds: float) -> None:
        if self._over.wait(seconds + RESTOP_SECONDS / 2):
            return
        while True:
            with self._lock:
                if self._ended:
                    return
                self._limit.reached = True
                self._raised = True
                self._raise_in(self._target, self.stop)
            if self._over.wait(RESTOP_SECONDS):
                return

    def end(self) -> None:
        """Called by the main thread when the body is over: no stop is raised into it after this, and
        one raised and not yet delivered is delivered here, where the caller takes it and calls this
        again (at most one a RESTOP_SECONDS).

        A pending stop is never withdrawn (PyThreadState_SetAsyncExc with NULL): CPython then leaves
        the interpreter's asynchronous-exception flag set for good, as only the delivery of one
        clears it, so every later function call and loop of the process went through the
        interpreter's pending-work check, and under sys.settrace (a debugger, coverage, a test that
        traces) the next traced call looped on its first instruction forever."""
        with self._lock:
            self._ended = True
            self._over.set()
            raised = self._raised
        if raised:
            _deliver_pending()


def _deliver_pending() -> None:
    """Nothing, in a call of its own: a Python function's first instruction is where the interpreter
    delivers an asynchronous exception raised into this thread, so a stop the watchdog raised is
    raised here, inside :meth:`_Watchdog.end`, not later in lbaudit's own code."""
    for _ in range(2):
        pass


@contextmanager
def time_limit(seconds: float, timed_out: Callable[[float], BaseException] = CheckTimedOut) -> Iterator[Limit]:
    """The body, stopped by ``timed_out(seconds)`` raised into it after ``seconds`` (and again every
    RESTOP_SECONDS while it goes on); the :class:`Limit` yielded says whether the time ran out."""
    limit = Limit()
    if threading.current_thread() is not threading.main_thread() or _set_timer is None or _get_timer is None:
        yield limit
        return
    outer_left, outer_interval = _get_timer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield limit  # the caller's own timer fires first
        return
    started = time.monotonic()
    ended = False

    def expired(signum: int, frame: FrameType | None) -> None:
        if ended:  # the body is over; lbaudit's own clean-up below is not interrupted
            return
        limit.reached = True
        raise timed_out(seconds)

    previous = _set_handler(signal.SIGALRM, expired)
    _set_timer(signal.ITIMER_REAL, seconds, RESTOP_SECONDS)
    raise_in = _async_stopper()
    watchdog = _Watchdog(seconds, _stop_type(timed_out, seconds), limit, raise_in) if raise_in is not None else None
    try:
        yield limit
    finally:
        ended = True  # SIGALRM raises nothing from here on
        while watchdog is not None:  # nor, once this ends, does the watchdog
            try:
                watchdog.end()
                break
            except watchdog.stop:  # raised as it ended: the limit was reached
                limit.reached = True
        _set_timer(signal.ITIMER_REAL, 0)
        _set_handler(signal.SIGALRM, previous)
        if outer_left:
            _set_timer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001), outer_interval)
