"""A process holding a file whose path is longer than PATH_MAX is still a known holder of its sockets.

``readlink /proc/PID/fd/N`` fails with ENAMETOOLONG when the file the descriptor is open on has a
path longer than the kernel writes into a link (PATH_MAX), though the table is readable and every
other descriptor of it reads.  The owner scan (``scan_socket_owners``) and the network-namespace
discovery read any error there as "this table cannot be read": a process holding one such
descriptor (any user can: a directory 30 levels of 200-character names deep, opened) had its
listeners reported "owner unknown", and the discovery said "the open files of 1 processes could
not be read", a not_reviewed finding on every host that ran it.  Such a descriptor is a file or a
directory, never the socket (``socket:[N]``) or namespace (``net:[N]``) lbaudit looks for: it is
now read past, and the rest of the table is read.

The holder is a real process with a real listening socket on loopback and a real deep directory;
the collection is the live one, of this host's /proc.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.collect.sockets import scan_socket_owners

pytestmark = pytest.mark.live  # reads this host's /proc

# Opens a directory whose path is longer than PATH_MAX before it binds a listener on loopback, so
# that the deep descriptor comes first in its table; prints the two descriptor numbers and the
# port, and holds both until stdin closes.
HOLDER = textwrap.dedent("""
    import os, socket, sys
    os.chdir(sys.argv[1])
    for _ in range(30):
        os.mkdir("d" * 200)
        os.chdir("d" * 200)
    deep = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    print(deep, held.fileno(), held.getsockname()[1], flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def holder(tmp_path: Path):
    """(pid, deep descriptor, socket descriptor, port) of a live process holding both."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        deep, held, port = map(int, process.stdout.readline().split())
        yield process.pid, deep, held, port
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
        # deeper than a path can name: rm walks it by descriptors
        subprocess.run(["rm", "-rf", "--one-file-system", "d" * 200], check=False, timeout=60, cwd=tmp_path)


def test_the_precondition_the_kernel_refuses_to_read_the_deep_descriptor(holder):
    pid, deep, held, _ = holder
    with pytest.raises(OSError) as refused:
        os.readlink(f"/proc/{pid}/fd/{deep}")
    assert refused.value.errno == errno.ENAMETOOLONG
    assert os.readlink(f"/proc/{pid}/fd/{held}").startswith("socket:[")


def test_the_owner_scan_finds_the_holder_past_a_descriptor_too_long_to_read(holder):
    pid, _, held, _ = holder
    inode = os.stat(f"/proc/{pid}/fd/{held}").st_ino
    scan = scan_socket_owners({inode})
    assert scan.owners == {inode: [pid]}  # before: {} (owner unknown)
    assert pid not in scan.unreadable


def test_a_live_collection_names_the_holder_and_has_no_gap_for_its_table(holder):
    pid, _, _, port = holder
    taken = collect_snapshot(CollectContext(sections=frozenset({"sockets", "netns"})))
    assert taken.facts.sockets is not None and taken.facts.sockets.listeners is not None
    ours = [l for l in taken.facts.sockets.listeners if l.address == "127.0.0.1" and l.port == port and l.protocol == "tcp"]
    assert len(ours) == 1
    assert ([p.pid for p in ours[0].processes], ours[0].owner_reason) == ([pid], None)
    named = re.compile(rf"pids? [^)]*\b{pid}\b")
    assert [g.reason for g in taken.gaps if named.search(g.reason)] == []  # before: "open files ... could not be read"
