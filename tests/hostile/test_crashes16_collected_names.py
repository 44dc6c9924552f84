"""A snapshot collected through the collectors' own entry (auditor.collect.live.collect_live, which
plugins, tests and the fleet's collection call) kept a name of the host that is not UTF-8 (here a
process name, ``prctl(PR_SET_NAME)`` bytes 0xff 0xfe) as Python's surrogate halves: only
``pipeline.acquire`` escaped them, so writing that snapshot (snapshot_bytes) or digesting a finding's
subject raised UnicodeEncodeError, and a test of this suite failed whenever another process on the
shared host had such a name.  collect_snapshot itself now writes each such byte as ``\\xNN``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.collect.live import collect_live
from auditor.storage.snapshot import snapshot_bytes

SERVER = r"""
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b"\xff\xfelbaudit16"), 0, 0, 0)  # PR_SET_NAME
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
time.sleep(60)
"""


@pytest.mark.live  # reads this host's listeners
def test_a_process_name_that_is_not_utf8_is_collected_as_escapes_every_writer_can_write(tmp_path: Path):
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        deadline = time.monotonic() + 10
        while True:
            live = collect_live(frozenset({"sockets"}))
            mine = [l for l in live.facts.sockets.listeners or [] if l.port == port and l.protocol == "tcp"]
            if mine or time.monotonic() > deadline:
                break
        assert mine, port
        names = {process.name for listener in mine for process in listener.processes}
        assert names == {"\\xff\\xfelbaudit16"}, names  # the bytes, visible, not surrogate halves
        written = snapshot_bytes(live)  # before: UnicodeEncodeError
        assert b'"\\\\xff\\\\xfelbaudit16"' in written
    finally:
        server.kill()
        server.wait()
