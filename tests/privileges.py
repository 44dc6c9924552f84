"""Run a piece of lbaudit as an unprivileged user, for the fail-closed tests.

``subprocess.run(user="nobody")`` would need a Python interpreter that ``nobody`` may execute;
the interpreter here lives under /root (mode 0700).  So the tests fork, drop to ``nobody`` in the
child with setgroups/setgid/setuid (a real, irreversible drop: the kernel then refuses what
nobody may not see), run the function there and send its result back through a pipe.
"""

from __future__ import annotations

import os
import pickle
import pwd
import traceback
from typing import Any, Callable

import pytest

UNPRIVILEGED_USER = "nobody"


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user (run the suite as root, as CI does)")


def run_as_unprivileged(func: Callable[..., Any], *args: Any, user: str = UNPRIVILEGED_USER, timeout: float = 60) -> Any:
    """Call ``func(*args)`` in a child process running as ``user``; return its result or raise."""
    require_root()
    entry = pwd.getpwnam(user)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 0
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            payload = ("ok", func(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            status = 1
        try:
            with os.fdopen(write_fd, "wb") as pipe:
                pickle.dump(payload, pipe)
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "error":
        raise AssertionError(f"function failed as {user}: {value}")
    return value


HOLDERS_UNKNOWN = "other processes may hold it too: /proc/<pid>/fd not readable for "


def unexplained_gaps(gaps: list, inodes: set[int]) -> list:
    """``gaps`` less the "other processes may hold it too" ones, where this host has processes whose
    descriptors even root cannot read (a container's pid 1 from an outer user namespace lists its
    fds but refuses readlink): there, lbaudit truthfully cannot know a socket's holders are all seen."""
    from auditor.collect.sockets import scan_socket_owners

    if not scan_socket_owners(inodes).unreadable:
        return list(gaps)
    return [g for g in gaps if HOLDERS_UNKNOWN not in g.reason]
