"""A bound on the time a plugin's check, or a plugin's reporter, may take.

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

PLUGIN_CHECK_SECONDS = 30.0  # far beyond what judging a snapshot takes (milliseconds per check)
# One report of the whole evidence, not one rule: the built-in PDF of the largest evidence takes
# seconds, so two minutes is far beyond what rendering takes and still ends a hung run.
PLUGIN_REPORTER_SECONDS = 120.0
# How often the stop is raised again into a body that swallowed it and went on.
RESTOP_SECONDS = 1.0


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


class Limit:
    """What became of a body run under :func:`time_limit`: ``reached`` once its time ran out, whether
    or not the stop raised into it ended it."""

    def __init__(self) -> None:
        self.reached = False


@contextmanager
def time_limit(seconds: float, timed_out: Callable[[float], BaseException] = CheckTimedOut) -> Iterator[Limit]:
    """The body, stopped by ``timed_out(seconds)`` raised into it after ``seconds`` (and again every
    RESTOP_SECONDS while it goes on); the :class:`Limit` yielded says whether the time ran out."""
    limit = Limit()
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield limit
        return
    outer_left, outer_interval = signal.getitimer(signal.ITIMER_REAL)
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

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, RESTOP_SECONDS)
    try:
        yield limit
    finally:
        ended = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001), outer_interval)
