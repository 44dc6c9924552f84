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
