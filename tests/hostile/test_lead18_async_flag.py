"""A plugin's time limit leaves the interpreter as it found it: no traced call loops afterwards.

plugins18's watchdog withdrew a stop at the end of every bounded body with
PyThreadState_SetAsyncExc(thread, NULL).  CPython (3.11) then sets the interpreter's
asynchronous-exception flag and only the delivery of an exception clears it, so from the first
plugin check on, every call of the process went through the interpreter's pending-work check, and
under sys.settrace the next traced call looped on its first instruction forever: the suite hung in
test_overwrites_signals (which traces the writer) once any earlier test had run a plugin check, in
CI and under xdist alike.  Now a pending stop is delivered inside the watchdog's end, never withdrawn.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TRACED_CALLS_AFTER = """
import sys
from auditor import time_limit

{body}

def called():
    return 1

sys.settrace(lambda frame, event, arg: None)
for _ in range(3):
    called()
sys.settrace(None)
print("traced calls ran")
"""

ENDED_AT_ONCE = """
with time_limit.time_limit(5) as limit:
    pass
"""

# a body that swallows every stop and runs past its limit: the watchdog raises into it, more than once
SWALLOWED = """
import time
stops = 0
with time_limit.time_limit(0.2) as limit:
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        try:
            while time.monotonic() < end:
                pass
        except BaseException:
            stops += 1
assert limit.reached and stops >= 1, (limit.reached, stops)
"""


@pytest.mark.parametrize("body", [ENDED_AT_ONCE, SWALLOWED], ids=["ended-at-once", "stops-swallowed"])
def test_traced_calls_run_after_a_bounded_body(body):
    run = subprocess.run([sys.executable, "-c", TRACED_CALLS_AFTER.format(body=body)], capture_output=True, text=True,
                         timeout=60, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "traced calls ran"
