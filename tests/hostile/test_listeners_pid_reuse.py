"""Hostile corpus, false passes: the pid of a socket's holder reused by an allowed program.

The owners of a socket are found by scanning ``/proc/PID/fd``; each holder is then described
(name, executable, user) by its pid.  A holder that hands its socket to a child and exits between
the two leaves its pid free: an allowed program started then may get it, and was described as
the holder.  Its exception passed a wildcard listener that the child, a program no exception
allows, still serves.  Now a holder is taken only when, once described, the descriptor the scan
found it through still points at the socket: only a process holding the socket has one.

Made exact with real processes in a PID namespace of the test's own, where ``ns_last_pid`` hands
the freed pid to the next process: the scan is lbaudit's, the holder exits right after it, the
allowed program takes its pid, and lbaudit's description follows.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from tests.factories import snapshot
from tests.privileges import CLONE_NEWNET, CLONE_NEWPID, run_in_new_namespaces

ALLOWED = "lbt-allowed"
# Listens on the IPv4 wildcard and prints the port; on "go" forks a child that keeps the socket
# (until stdin closes), prints the child's pid and exits.
HANDS_OVER = textwrap.dedent("""
    import os, socket
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    print(held.getsockname()[1], flush=True)
    os.read(0, 3)
    child = os.fork()
    if child == 0:
        while os.read(0, 64):
            pass
        os._exit(0)
    print(child, flush=True)
    os._exit(0)
""")
WAITS = "import sys; print('up', flush=True); sys.stdin.read()"


@pytest.mark.live
def test_an_allowed_program_that_takes_the_pid_of_a_socket_s_holder_is_not_taken_for_the_holder(tmp_path):
    link = tmp_path / ALLOWED
    link.symlink_to(sys.executable)  # exec names the program lbt-allowed (comm and argv[0])
    params = BindAddressParams.model_validate(
        {"allow": ["loopback"], "exceptions": [{"match": {"process": ALLOWED}, "allow": ["any"], "reason": "allowed"}]})

    def scenario():
        from auditor.collect.sockets import (
            attribute_scanned,
            listeners_from_rows,
            read_listener_rows,
            scan_socket_owners,
        )

        holder = subprocess.Popen([sys.executable, "-c", HANDS_OVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        assert holder.stdin is not None and holder.stdout is not None
        allowed = None
        try:
            port = int(holder.stdout.readline())
            taken = read_listener_rows("/proc", 10.0)
            assert taken.rows is not None
            listeners = [item for item in listeners_from_rows(taken.rows) if item.port == port]
            scan = scan_socket_owners({item.inode for item in listeners if item.inode}, "/proc")
            assert list(scan.owners.values()) == [[holder.pid]]
            holder.stdin.write("go\n")
            holder.stdin.flush()
            child = int(holder.stdout.readline())
            holder.wait(timeout=10)
            with open("/proc/sys/kernel/ns_last_pid", "w") as last:
                last.write(str(holder.pid - 1))  # the next process gets the holder's pid
            allowed = subprocess.Popen([str(link), "-c", WAITS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)
            assert allowed.stdout is not None and allowed.stdout.readline() == "up\n"
            attributed, gaps = attribute_scanned(listeners, scan, proc="/proc")
            found = [(o.status.value, o.subject, o.reason)
                     for o in net_bind_addresses.run(snapshot(listeners=attributed, gaps=gaps, netns=None), params)
                     if o.subject.startswith("tcp ")]
            return port, holder.pid, allowed.pid, child, found
        finally:
            for process in (holder, allowed):
                if process is not None and process.stdin:
                    process.stdin.close()
                    process.wait(timeout=10)

    port, holder_pid, allowed_pid, _child, found = run_in_new_namespaces(scenario, CLONE_NEWNET | CLONE_NEWPID, "rw")
    assert allowed_pid == holder_pid  # the pid was reused, as the scenario means
    # before: [("pass", "tcp 0.0.0.0:P lbt-allowed pid N", None)]: the allowed program taken for the holder
    [(status, subject, reason)] = found
    assert (status, subject) == ("not_reviewed", f"tcp 0.0.0.0:{port} owner unknown")
    assert reason is not None and reason.startswith(
        f"owner not identified (owner not attributable: pid {holder_pid} held socket inode ")
    assert "but no longer did once described (exited, its pid perhaps reused by another process)" in reason
    assert reason.endswith("the rules that could apply disagree: exception 1 would allow it, the default allow list "
                           "would not")
