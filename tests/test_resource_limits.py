"""The reserve a command holds for ending out of memory: address space, not resident memory.

Held by every command from its start (auditor.cli.run), so it must not count against issue 16's
peak memory: ``bytearray(n)`` wrote its 4 MiB of zeros, ``bytes(n)`` takes untouched pages from
calloc.  Given back, the address space is free again for what ends the run.  A child interpreter:
the test process holds the reserve already."""

from __future__ import annotations

import json
import subprocess
import sys

from auditor.resource_limits import RESERVE_BYTES
from tests.cli import REPO

MEASURE = """\
import json, re
from auditor import resource_limits
def status(field):
    return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
before = (status("VmRSS"), status("VmSize"))
resource_limits.hold()
held = (status("VmRSS"), status("VmSize"))
resource_limits.release()
released = (status("VmRSS"), status("VmSize"))
print(json.dumps([before, held, released]))
"""


def test_the_reserve_is_address_space_given_back_not_resident_memory():
    done = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True)
    (rss_before, size_before), (rss_held, size_held), (_, size_released) = json.loads(done.stdout)
    assert size_held - size_before >= RESERVE_BYTES  # held: address space, against ulimit -v
    assert rss_held - rss_before < RESERVE_BYTES // 8  # not resident (before: 4 MiB, bytearray's zeros)
    assert size_held - size_released >= RESERVE_BYTES  # given back: free for what ends the run


def test_the_exit_codes_named_outside_the_models_are_the_documented_ones():
    """The console script's start exits 71 and 74 without importing the models (``lbaudit --help``
    stays fast), from constants of the standard-library-only modules it does import: they must be
    ExitCode's, which the README's table and ``lbaudit --help`` print."""
    from auditor import resource_limits, stdio
    from auditor.model.codes import ExitCode

    assert resource_limits.EXIT_CODE == ExitCode.RESOURCE_LIMIT == 71
    assert stdio.EXIT_CODE == ExitCode.IO_ERROR == 74


def test_the_exception_chain_is_walked_nearest_first_and_bounded():
    """One walk of ``__cause__``/``__context__`` serves out_of_memory and the command line's limit
    behind an error: nearest first, a cause before a context, and a cycle is not walked for ever."""
    from auditor.resource_limits import CHAIN_DEPTH, exception_chain, out_of_memory

    inner = OSError(24, "Too many open files")
    try:
        try:
            raise inner
        except OSError as exc:
            raise ValueError("policy could not be opened") from exc
    except ValueError as outer:
        assert list(exception_chain(outer)) == [outer, inner]
    looped_a, looped_b = RuntimeError("a"), RuntimeError("b")
    looped_a.__context__, looped_b.__context__ = looped_b, looped_a
    assert len(list(exception_chain(looped_a))) == CHAIN_DEPTH
    assert not out_of_memory(looped_a)
    deep = MemoryError()
    for _ in range(3):
        wrapper = RuntimeError("wrapped")
        wrapper.__cause__, deep = deep, wrapper
    assert out_of_memory(deep)
