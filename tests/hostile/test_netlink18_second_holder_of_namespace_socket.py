"""Hostile corpus, false passes: a namespace's only socket asked through one holder, which closed it.

Discovery finds a network namespace that nothing but a socket holds by copying that socket from a
process holding it (pidfd_getfd) and asking its namespace (SIOCGSKNS).  A socket two processes
hold (a server and the worker it forked) was asked through its first holder only: when that one
had closed its descriptor by then (its table read a moment before, by the owner scan or by
discovery itself), the socket was taken to be gone, although the other still held it.  The
namespace it alone holds was never found, its wildcard listener never judged.  Now a socket whose
holder no longer holds it is asked through its next holder, until one holds it or none is left.

Made exact with real processes: the tables are read by lbaudit's owner scan (kept for discovery),
the first holder closes its descriptor, and lbaudit's discovery follows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

from tests.privileges import CLONE_NEWNET, run_in_new_namespaces

# Makes a network namespace held by nothing but a listening socket on 0.0.0.0 in it, from the
# caller's network namespace (where it stays), forks a worker that keeps the socket, prints that
# namespace's (device, inode) and the worker's pid; closes its own descriptor of the socket on the
# first line of stdin (saying "closed"); ends both at the end of stdin.
SHARES_A_NAMESPACE_SOCKET = textwrap.dedent("""
    import ctypes, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0, ctypes.get_errno()
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    st = os.stat("/proc/self/ns/net")
    assert libc.setns(home, 0x40000000) == 0, ctypes.get_errno()
    os.close(home)
    ends, end = os.pipe()  # the worker ends when the server does (its end closed)
    worker = os.fork()
    if worker == 0:
        os.close(end)
        os.read(ends, 1)
        os._exit(0)
    os.close(ends)
    print(st.st_dev, st.st_ino, worker, flush=True)
    sys.stdin.readline()
    held.close()
    print("closed", flush=True)
    sys.stdin.read()
    os.close(end)
    os.waitpid(worker, 0)
""")


def test_a_namespace_socket_its_first_holder_closed_is_asked_through_the_next() -> None:
    from auditor.collect import rootfs
    from auditor.collect.netns import discover
    from auditor.collect.sockets import scan_socket_owners

    def scenario():
        server = subprocess.Popen([sys.executable, "-c", SHARES_A_NAMESPACE_SOCKET], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdin is not None and server.stdout is not None
        own = socket.socket()
        own.bind(("127.0.0.1", 0))
        own.listen()
        try:
            device, inode, worker = map(int, server.stdout.readline().split())
            with rootfs.one_view_of_each_root():
                scan_socket_owners({os.fstat(own.fileno()).st_ino}, "/proc")  # keeps every table
                server.stdin.write("close\n")
                server.stdin.flush()
                assert server.stdout.readline() == "closed\n"
                found, _current, gaps = discover("/proc", run_netns="/nonexistent-netns-dir")
            return server.pid, worker, (device, inode) in found, [g.reason for g in gaps]
        finally:
            own.close()
            server.stdin.close()
            server.wait(timeout=10)

    server_pid, worker_pid, found, gaps = run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")
    assert server_pid < worker_pid  # the server, which closed it, is the first holder
    # before: False: asked through the server only, the socket was taken to be gone
    assert found, f"the namespace only the worker's socket holds was not found; gaps: {gaps}"
