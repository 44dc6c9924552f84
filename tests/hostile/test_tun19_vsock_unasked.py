"""Hostile corpus, false passes: a vsock listener whose holder could not be opened was left unsaid.

No sock_diag dump lists an ``AF_VSOCK`` listener; discovery, which asks every socket no dump
placed, copies each vsock socket from its holder (``pidfd_open``, ``pidfd_getfd``) and asks
whether it listens, and one it cannot ask is a gap on the listener list (net.bind_addresses
``not_reviewed``).  When ``pidfd_open`` itself was refused (lbaudit under a seccomp filter that
refuses it, as systemd's ``SystemCallFilter=~@process`` does; or a thread's own table on a kernel
before 6.9), the vsock socket was counted only among the sockets whose *namespace* was not asked:
a gap on namespace discovery, which says nothing about the host's own listeners, so
net.bind_addresses judged the host's listener list complete and passed with a vsock listener on
``VMADDR_CID_ANY`` beside it.  Now such a socket is a vsock listener gap too, naming the refusal.

A real vsock listener; lbaudit's discovery in a child interpreter under a real seccomp filter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.hostile.test_listen11_vsock_listeners import VSOCK
from tests.privileges import require_root

ROOT = str(Path(__file__).resolve().parents[2])

# Discovery under a seccomp filter that refuses pidfd_open (434) and pidfd_getfd (438) with EPERM;
# prints each gap as [section, path, reason].
DISCOVER_UNDER_SECCOMP = textwrap.dedent("""\
    import ctypes, json, struct
    libc = ctypes.CDLL(None, use_errno=True)
    program = [(0x20, 0, 0, 0),                    # A = seccomp_data.nr
               (0x15, 1, 0, 434),                  # if A == pidfd_open: refuse
               (0x15, 0, 1, 438),                  # if A == pidfd_getfd: refuse
               (0x06, 0, 0, 0x00050000 | 1),       #   return SECCOMP_RET_ERRNO | EPERM
               (0x06, 0, 0, 0x7FFF0000)]           # return SECCOMP_RET_ALLOW
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    fprog = SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0, ctypes.get_errno()  # PR_SET_SECCOMP, FILTER
    from auditor.collect.netns import close_held, discover
    found, _current, gaps = discover("/proc")
    close_held(found)
    print(json.dumps([[g.section, list(g.path), g.reason] for g in gaps]))
""")


# before: only a netns discovery gap ("pidfd_open: Operation not permitted for N sockets"), no
# gap on the listener list: net.bind_addresses passed the host's listeners
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine, in a child interpreter
def test_a_vsock_socket_whose_holder_could_not_be_opened_is_a_listener_gap():
    require_root()
    holder = subprocess.Popen([sys.executable, "-c", VSOCK, "listen"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        if not line.isdigit():
            pytest.skip(f"this kernel makes no vsock listener: {line}")
        done = subprocess.run([sys.executable, "-c", DISCOVER_UNDER_SECCOMP], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONPATH": ROOT})
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    gaps = json.loads(done.stdout)
    [vsock] = [reason for section, path, reason in gaps if (section, path) == ("sockets", ["listeners", "vsock"])]
    assert f"of pid {holder.pid}, which may listen, could not be asked (pidfd_open: Operation not permitted)" in vsock
