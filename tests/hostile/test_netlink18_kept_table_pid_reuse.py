"""Hostile corpus, false passes: a descriptor table kept from the owner scan read as another process's.

The owner scan of the ``sockets`` section reads every process's descriptors and keeps the tables
for network namespace discovery, which used the table kept under a pid as that pid's (issue 16:
each descriptor read once a run).  A process that exited after the scan leaves its pid free; the
process that gets it was judged by the exited one's descriptors.  One that holds the only
reference to another network namespace, a listening socket made there (unshare, listen, setns
back), hid that namespace: it was never found, and its wildcard listener never judged.  Now a kept
table is used only for the process it was read from (same start time); any other is read anew.

Made exact with real processes in a PID namespace of the test's own, where ``ns_last_pid`` hands
the freed pid to the next process: the scan is lbaudit's, the first process exits right after it,
the hiding one takes its pid, and lbaudit's discovery follows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

from tests.privileges import CLONE_NEWNET, CLONE_NEWPID, run_in_new_namespaces

# Makes a network namespace held by nothing but a listening socket on 0.0.0.0 in it, from the
# caller's network namespace (where it stays), prints that namespace's (device, inode), then waits.
HIDES_A_NAMESPACE = textwrap.dedent("""
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
    print(st.st_dev, st.st_ino, flush=True)
    sys.stdin.read()
""")
WAITS = "import sys; print('up', flush=True); sys.stdin.read()"


def test_kept_table_of_an_exited_process_is_not_read_as_its_pid_successors() -> None:
    from auditor.collect import rootfs
    from auditor.collect.netns import discover
    from auditor.collect.sockets import scan_socket_owners

    def scenario():
        first = hider = None
        own = socket.socket()
        own.bind(("127.0.0.1", 0))
        own.listen()
        try:
            with rootfs.one_view_of_each_root():
                first = subprocess.Popen([sys.executable, "-c", WAITS], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
                assert first.stdout is not None and first.stdout.readline() == "up\n"
                scan = scan_socket_owners({os.fstat(own.fileno()).st_ino}, "/proc")  # keeps every table
                assert scan.owners == {os.fstat(own.fileno()).st_ino: [os.getpid()]}
                assert first.stdin is not None
                first.stdin.close()
                first.wait(timeout=10)
                with open("/proc/sys/kernel/ns_last_pid", "w") as last:
                    last.write(str(first.pid - 1))  # the next process gets the first one's pid
                hider = subprocess.Popen([sys.executable, "-c", HIDES_A_NAMESPACE], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
                assert hider.stdout is not None
                device, inode = map(int, hider.stdout.readline().split())
                found, _current, _gaps = discover("/proc", run_netns="/nonexistent-netns-dir")
                return first.pid, hider.pid, (device, inode) in found, sorted(found)
        finally:
            own.close()
            for process in (first, hider):
                if process is not None and process.stdin and not process.stdin.closed:
                    process.stdin.close()
                    process.wait(timeout=10)

    first_pid, hider_pid, hidden_found, found = run_in_new_namespaces(scenario, CLONE_NEWNET | CLONE_NEWPID, "rw")
    assert hider_pid == first_pid  # the pid was reused, as the scenario means
    # before: False: the first process's kept table (nothing) was read as the hider's
    assert hidden_found, f"the namespace only the hider's socket holds was not found: {found}"
