"""Waiting for one descriptor to be ready, whatever its number.

select(2) takes descriptors below FD_SETSIZE (1024) only: a process that held more open files when
it ran lbaudit's collectors (a service embedding it, a benchmark holding 5,000 listeners) had the
network-namespace and audit sections fail with "ValueError: filedescriptor out of range in
select()".  poll(2) has no such bound; where there is none (Windows), select() is all there is, and
its descriptors are sockets numbered by the system.  Standard library only: the console script's
standard streams (auditor/stdio.py) use it before anything else is imported.
"""

from __future__ import annotations

import math
import select


def ready(fd: int, *, read: bool = False, write: bool = False, timeout: float | None = None) -> bool:
    """Whether ``fd`` is ready to read (``read``) or to write (``write``) within ``timeout``
    seconds (None: wait for it; 0: look and return).  An error or hang-up on it counts as ready:
    the read or write that follows says what it is.  Interrupted by a signal, the wait goes on
    for what is left of it (PEP 475)."""
    if not hasattr(select, "poll"):
        readable, writable, _ = select.select([fd] if read else [], [fd] if write else [], [], timeout)
        return bool(readable or writable)
    poller = select.poll()
    poller.register(fd, (select.POLLIN if read else 0) | (select.POLLOUT if write else 0))
    # poll counts milliseconds: rounded up, so that a wait is never shorter than asked
    return bool(poller.poll(None if timeout is None else math.ceil(max(0.0, timeout) * 1000)))
