"""Python's cyclic garbage collector paused while lbaudit makes many short-lived records at once.

Collecting, judging, writing and reading evidence make a few records per listener, finding and file
line, none of them in a reference cycle, so reference counting frees them all the same; but the
collector, triggered by every 700 new objects, walks an ever larger heap again and again: a third of
the CPU time of evaluating 5,000 listeners, 10% of reading 5,000 findings' evidence and 25% of
20,000 (issue 16), for the same peak memory without it.  Standard library only: the pipeline and
the evidence reader both use it."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """The collector paused, and left as it was found after, also when the block raises (another
    thread's pause ending first re-enables it early, which costs only time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was made meanwhile is still the youngest generation: the next collection would go
        # through all of it (0.2 s at 20,000 findings).  Hand it to the oldest generation as a whole
        # (freeze, then unfreeze: two list moves, no object visited); it is collected there as
        # everything long-lived is, by the next full collection.  Not when the program has frozen
        # objects itself (a forking server does): unfreezing would undo that.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()
