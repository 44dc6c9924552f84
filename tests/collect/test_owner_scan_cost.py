"""What the owner scan costs (issue 16): nothing per open descriptor when no listener needs an
owner, and one description per process however many listeners it holds."""

from __future__ import annotations

import os
import socket
import sys
from contextlib import ExitStack

import pytest

from auditor.collect.sockets import attribute_owners, scan_socket_owners
from auditor.model.facts import Listener


def _proc_root_with_an_unreadable_fd_table(tmp_path):
    """A /proc-shaped directory whose one process has an fd "directory" that is a file: reading it
    is an OSError, which the scan records as an unreadable fd table, so we can tell whether it looked."""
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "fd").write_text("not a directory")
    (tmp_path / "self").mkdir()  # not a pid: never a process
    return tmp_path


def test_no_socket_wanted_reads_no_fd_table(tmp_path):
    proc = _proc_root_with_an_unreadable_fd_table(tmp_path)
    assert scan_socket_owners(set(), str(proc)).unreadable == {}
    # the same directory when a socket is wanted: the fd table is read (and found unreadable)
    assert scan_socket_owners({12345}, str(proc)).unreadable == {4242: os.stat(proc / "4242").st_uid}


def test_an_unreadable_proc_is_still_the_failure_it_was_with_nothing_wanted(tmp_path):
    with pytest.raises(OSError):
        scan_socket_owners(set(), str(tmp_path / "missing"))


def test_listeners_without_an_inode_keep_their_reason_without_a_scan(tmp_path):
    proc = _proc_root_with_an_unreadable_fd_table(tmp_path)
    kernel_socket = Listener(protocol="tcp", family="ipv4", address="127.0.0.1", port=7, inode=None)
    result, gaps = attribute_owners([kernel_socket], str(proc))
    assert result[0].owner_reason == "owner not attributable: the socket has no inode (held by the kernel, not by a process)"
    assert [gap.path for gap in gaps] == [("listeners", 0, "processes")]


@pytest.mark.live
def test_a_process_holding_many_listeners_is_described_once():
    """Three listeners of this process: /proc/<pid>/cmdline (read for each description) is opened
    once, and every listener names the same process."""
    opened: list[str] = []
    watching = [False]
    cmdline = f"/proc/{os.getpid()}/cmdline"

    def hook(event: str, args: tuple) -> None:
        if watching[0] and event == "open" and str(args[0]) == cmdline:
            opened.append(str(args[0]))

    sys.addaudithook(hook)
    with ExitStack() as stack:
        listeners = []
        for _ in range(3):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sock.listen(1)
            listeners.append(Listener(protocol="tcp", family="ipv4", address="127.0.0.1",
                                      port=sock.getsockname()[1], inode=os.fstat(sock.fileno()).st_ino))
        watching[0] = True
        try:
            result, _ = attribute_owners(listeners)
        finally:
            watching[0] = False
    assert [[p.pid for p in listener.processes] for listener in result] == [[os.getpid()]] * 3
    assert len({listener.processes[0] for listener in result}) == 1
    assert opened == [cmdline]


def test_a_table_read_at_c_speed_that_fails_is_read_again_one_descriptor_at_a_time(tmp_path):
    """A descriptor that is not a link (EINVAL, as for one refused after a setuid exec) fails the
    whole table's C-speed read: the table is read again one descriptor at a time, the process is
    recorded as unreadable, and the other processes' holders are all still found."""
    proc = tmp_path / "proc"
    (proc / "42" / "fd").mkdir(parents=True)
    (proc / "42" / "fd" / "3").write_text("not a link")
    (proc / "43" / "fd").mkdir(parents=True)
    (proc / "43" / "fd" / "5").symlink_to("socket:[4242]")
    (proc / "43" / "fd" / "6").symlink_to("socket:[4242]")  # a dup: the holder once, its first link kept
    (proc / "43" / "fd" / "7").symlink_to("socket:[04242]")  # not a text the kernel writes for 4242
    (proc / "44" / "fd").mkdir(parents=True)
    (proc / "44" / "fd" / "0").symlink_to("/dev/null")
    (proc / "44" / "fd" / "9").symlink_to("socket:[4243]")
    scan = scan_socket_owners({4242, 4243}, str(proc))
    assert scan.owners == {4242: [43], 4243: [44]}
    assert scan.unreadable == {42: os.stat(proc / "42").st_uid}
    assert scan.links[(44, 4243)] == f"{proc}/44/fd/9"
    assert scan.links[(43, 4242)] in (f"{proc}/43/fd/5", f"{proc}/43/fd/6")
