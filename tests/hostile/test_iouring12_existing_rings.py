"""Hostile: kernel.io_uring_disabled = 2 set at run time leaves the rings that already exist.

The defect: the loaded rules' io_uring scope of audit.socket_logging passed on a running
kernel.io_uring_disabled of 2 ("no process can create an io_uring").  The kernel checks the sysctl
only in io_uring_setup(2) (io_uring_allowed(), io_uring/io_uring.c): a ring created before
``sysctl -w kernel.io_uring_disabled=2`` keeps taking IORING_OP_BIND, _LISTEN, _CONNECT and
_ACCEPT through io_uring_enter(2), which no syscall rule records.  With the sysctl at 2 the
collector now lists the processes holding an io_uring descriptor (every table of each: a thread's
own, a ring's registered files), and the scope passes on the setting only when it read every
table and none holds one; a holder with no io_uring rule fails, an unread table or a snapshot that
does not record the holders is not reviewed.

The live test only reads: a child creates a ring, the collector finds it; the host's sysctl is
never changed (the judging takes the holders from the facts, as a snapshot carries them).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.audit import io_uring_holders
from auditor.model.facts import AuditFacts, Gap, IoUringHolder, IoUringState
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot
from tests.hostile.test_auditlog_io_uring import URING_RULE, judge, loaded, server_only_fastopen
from tests.privileges import require_root


def disabled(holders: list[IoUringHolder] | None) -> IoUringState:
    return IoUringState(present=True, disabled=2, group=-1, source="/proc/sys/kernel/io_uring_disabled",
                        holders=holders)


HOLDER = IoUringHolder(pid=4242, name="ringd", fds=["7"])
UNREAD = Gap(section="audit", path=("io_uring", "holders"), reason="/proc/1/fd, /proc/1/maps could not be read")


def test_a_ring_held_when_io_uring_is_disabled_fails_without_io_uring_rules():
    found = judge(disabled([HOLDER]))["loaded rules io_uring"]
    assert found.status == Status.FAIL
    assert found.message == (
        "loaded rules io_uring: 4 of 4 io_uring operations not audited: no io_uring rule: accept, connect, bind, "
        "listen; kernel.io_uring_disabled is 2, but 1 process(es) hold an io_uring created before "
        "kernel.io_uring_disabled was set to 2 (which refuses only new ones): pid 4242 (ringd) fd 7; each ring "
        "keeps taking operations, which can bind, listen, connect and accept through it without the syscalls "
        "the syscall rules record")
    assert found.observed["io_uring"]["holders"] == [{"pid": 4242, "name": "ringd", "fds": ["7"], "mappings": []}]


def test_a_ring_held_when_io_uring_is_disabled_passes_with_the_io_uring_rule():
    found = judge(disabled([HOLDER]), rules=SOCKET_AUDIT_RULES + URING_RULE + "\n")["loaded rules io_uring"]
    assert found.status == Status.PASS
    assert found.message == "loaded rules io_uring: the io_uring operations accept, connect, bind, listen are audited"


def test_no_ring_held_passes_on_the_setting():
    found = judge(disabled([]))["loaded rules io_uring"]
    assert found.status == Status.PASS
    assert found.message == ("loaded rules io_uring: kernel.io_uring_disabled is 2 and no process holds an io_uring: "
                             "no process can create one, so socket calls are made only through the syscalls")


def test_a_table_not_read_leaves_the_setting_unproven():
    found = judge(disabled([]), gaps=[UNREAD])["loaded rules io_uring"]
    assert found.status == Status.NOT_REVIEWED
    assert found.message == (
        "not reviewed: loaded rules io_uring: no io_uring rule audits accept, connect, bind, listen, and "
        "kernel.io_uring_disabled "
        "is 2, but whether a process holds an io_uring created before kernel.io_uring_disabled was set to 2 (which "
        f"refuses only new ones) is not known ({UNREAD.reason})")
    # a holder found among the tables read is a failure whatever the others hold
    assert judge(disabled([HOLDER]), gaps=[UNREAD])["loaded rules io_uring"].status == Status.FAIL


def test_a_snapshot_that_does_not_record_the_holders_is_not_reviewed():
    state = disabled(None)
    found = judge(state)["loaded rules io_uring"]
    assert found.status == Status.NOT_REVIEWED
    assert "whether a process holds an io_uring created before kernel.io_uring_disabled was set to 2" in found.message
    assert found.message.endswith("is not known (not recorded in this snapshot)")
    # a snapshot of format 1.5 (before the holders were read) says so
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=loaded(SOCKET_AUDIT_RULES), persistent_rules=[],
                       persistent_source="/etc/audit/rules.d (augenrules)", io_uring=state, **running_auditd())
    old = snapshot(audit=facts, sysctl=server_only_fastopen()).model_copy(update={"schema_version": "1.5"})
    old = old.model_copy(update={"provenance": old.provenance.model_copy(update={"kernel": "6.12.0"})})
    uring = {o.subject: o for o in audit_socket_logging.run(old, SocketLoggingParams())}["loaded rules io_uring"]
    assert uring.status == Status.NOT_REVIEWED
    assert uring.message.endswith("is not known (a snapshot of format 1.5 does not record the processes holding one)")


# ---------------------------------------------------------------- live, reading only

RING_CHILD = r"""
import ctypes, os, sys
params = (ctypes.c_char * 120)()  # struct io_uring_params, zeroed
fd = ctypes.CDLL(None, use_errno=True).syscall(425, 4, params)  # io_uring_setup(4, &params)
print(fd if fd >= 0 else -ctypes.get_errno(), flush=True)
sys.stdin.read()
"""


@contextmanager
def ring_child(source: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A child running SOURCE, which makes a ring and prints a number (its descriptor, 0, or minus
    the errno io_uring_setup gave); skips where the kernel refuses rings.  Killed at the end."""
    child = subprocess.Popen([sys.executable, "-c", source], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        answer = int(child.stdout.readline())
        if answer in (-errno.ENOSYS, -errno.EPERM):
            pytest.skip(f"io_uring_setup is refused here ({errno.errorcode[-answer]})")
        yield child, answer
    finally:
        child.kill()
        child.wait()


@pytest.mark.live
def test_the_collector_finds_a_process_holding_a_ring():
    with ring_child(RING_CHILD) as (child, answer):
        assert answer >= 0
        holders, _unread = io_uring_holders("/proc")
        assert holders is not None
        mine = [h for h in holders if h.pid == child.pid]
        with open(f"/proc/{child.pid}/comm") as comm:
            name = comm.read().rstrip("\n")
        assert mine == [IoUringHolder(pid=child.pid, name=name, fds=[str(answer)])]
        # the collector's own process holds no ring
        assert [h for h in holders if h.pid == os.getpid()] == []
        found = judge(disabled(holders))["loaded rules io_uring"]
        assert found.status == Status.FAIL
        assert f"pid {child.pid} ({name}) fd {answer}" in found.message


def test_no_proc_is_no_holder_list():
    assert io_uring_holders(None) == (None, ["no /proc to read the processes' descriptors from"])


REPO = Path(__file__).resolve().parents[2]  # the auditor package the scan imports
PID_NAMESPACE_SCAN = """
from auditor.collect.audit import io_uring_holders
holders, unread = io_uring_holders("/proc")
print(holders == [] and len(unread) == 1 and unread[0])
"""


@pytest.mark.live
def test_a_proc_of_another_pid_namespace_does_not_prove_no_ring_is_held():
    # kernel.io_uring_disabled is the host's; a /proc listing one PID namespace cannot show that no
    # process outside it holds a ring (a container's view)
    require_root()
    scan = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--", sys.executable, "-c", PID_NAMESPACE_SCAN],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert scan.returncode == 0, scan.stderr
    assert scan.stdout.startswith("/proc lists the processes of PID namespace pid:[")
    assert scan.stdout.rstrip("\n").endswith("only, not the host's (a container or unshare --pid): processes outside "
                                             "it are not seen")


MAPPED_RING_CHILD = r"""
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
params = (ctypes.c_char * 120)()
fd = libc.syscall(425, 4, params)
if fd < 0:
    print(-ctypes.get_errno(), flush=True)
    sys.stdin.read()
    raise SystemExit
# libc's mmap, not Python's (which keeps a duplicate of the descriptor); offset 0 is IORING_OFF_SQ_RING
address = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
assert address not in (None, ctypes.c_void_p(-1).value)
os.close(fd)  # the ring lives on in its mapping (an SQPOLL thread would keep taking its entries)
print(0, flush=True)
sys.stdin.read()
"""


@pytest.mark.live
def test_a_ring_kept_only_by_its_mapping_is_found():
    with ring_child(MAPPED_RING_CHILD) as (child, answer):
        assert answer == 0
        holders, _unread = io_uring_holders("/proc")
        assert holders is not None
        mine = [h for h in holders if h.pid == child.pid]
        assert len(mine) == 1 and mine[0].fds == [] and len(mine[0].mappings) == 1
        found = judge(disabled(holders))["loaded rules io_uring"]
        assert found.status == Status.FAIL
        assert f"pid {child.pid} ({mine[0].name}) mapped at {mine[0].mappings[0]}" in found.message
