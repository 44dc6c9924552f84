"""Hostile corpus, false passes: a listener closed and reopened while lbaudit reads the listeners.

The socket tables are read first and the owners of the sockets found afterwards (``/proc/PID/fd``).
A service that closes its listener on 127.0.0.1:P and opens 0.0.0.0:P in between left lbaudit with
the old listener (no holder any more: "owner unknown", allowed by every rule, a pass) and without
the new one, so the wildcard was never judged.  Now the tables are read again after the owner
scan, and the scan is done again on the new list when it changed; a list that keeps changing is a
Gap on the whole list (``not_reviewed``), never taken as whole.

The race is made exact rather than hoped for: the reads are lbaudit's own (netlink sock_diag in a
network namespace of the test's own), and the service swaps its listener right after the first
read returns, before the owner scan, as a service restarting at that moment would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from tests.factories import snapshot
from tests.privileges import CLONE_NEWNET, run_in_new_namespaces

# Listens on 127.0.0.1 (any port), prints the port; on each line of stdin closes its listener and
# opens the next on the same port, alternately on 0.0.0.0 and 127.0.0.1, and says "swapped".
SWAPPER = textwrap.dedent("""
    import socket, sys
    def listen(address, port):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        s.listen()
        return s
    held = listen("127.0.0.1", 0)
    port = held.getsockname()[1]
    print(port, flush=True)
    addresses = ["0.0.0.0", "127.0.0.1"]
    for turn, _line in enumerate(sys.stdin):
        held.close()
        held = listen(addresses[turn % 2], port)
        print("swapped", flush=True)
""")


def _judge_after_swaps(swaps: int) -> tuple[int, int, list[tuple[str, str]], list[str], int]:
    """In a network namespace of its own: the swapper, and lbaudit's listeners read around its
    owner scan, the service swapping its listener after each of the first ``swaps`` reads.
    Returns the port, the service's pid, (status, subject) of each finding, the list's Gaps and
    how many times the tables were read."""
    from auditor.collect.sockets import read_listener_rows, settled_listeners

    def scenario():
        service = subprocess.Popen([sys.executable, "-c", SWAPPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        assert service.stdin is not None and service.stdout is not None
        reads = []

        def read():
            taken = read_listener_rows("/proc", 10.0)
            reads.append(taken)
            if len(reads) <= swaps:  # the service restarts its listener now, before the owners are looked up
                service.stdin.write("swap\n")
                service.stdin.flush()
                assert service.stdout.readline() == "swapped\n"
            return taken

        try:
            port = int(service.stdout.readline())
            taken, listeners, gaps = settled_listeners(read)
            snap = snapshot(listeners=listeners, gaps=[*taken.gaps, *gaps], netns=None)
            found = [(o.status.value, o.subject) for o in net_bind_addresses.run(snap, BindAddressParams())]
            list_gaps = [g.reason for g in gaps if g.path == ("listeners",)]
            return port, service.pid, found, list_gaps, len(reads)
        finally:
            service.stdin.close()
            service.wait(timeout=10)

    return run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")


@pytest.mark.live
def test_a_listener_reopened_on_the_wildcard_during_the_owner_scan_is_judged_and_fails():
    port, pid, found, list_gaps, reads = _judge_after_swaps(1)
    # before: [("pass", "tcp 127.0.0.1:P owner unknown")], the wildcard never seen
    assert [item for item in found if item[1].startswith("tcp ")] == [("fail", f"tcp 0.0.0.0:{port} python pid {pid}")]
    assert list_gaps == [] and reads == 3  # read, scan, read (changed); scan again, read (the same)


@pytest.mark.live
def test_a_listener_list_that_keeps_changing_is_not_reviewed_not_taken_as_whole():
    port, _pid, found, list_gaps, reads = _judge_after_swaps(10)
    assert reads == 4  # three owner scans, each between two reads
    assert list_gaps == ["the listeners kept changing while their owners were looked up (3 owner scans, each between "
                         "two reads of the socket tables; 1 opened and 1 closed between the last two): the list is "
                         "not known to be whole"]
    statuses = dict((subject, status) for status, subject in found)
    assert statuses["listeners (collection)"] == "not_reviewed"
    assert "listeners" not in statuses  # no "no listener found" pass
    # what the last whole scan saw is still judged (a listener that had just been closed)
    assert [(s, status) for s, status in statuses.items() if s.startswith("tcp ")] == [
        (f"tcp 127.0.0.1:{port} owner unknown", "pass")]
