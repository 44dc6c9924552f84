"""Run a piece of lbaudit as an unprivileged user, for the fail-closed tests.

``subprocess.run(user="nobody")`` would need a Python interpreter that ``nobody`` may execute;
the interpreter here lives under /root (mode 0700).  So the tests fork, drop to ``nobody`` in the
child with setgroups/setgid/setuid (a real, irreversible drop: the kernel then refuses what
nobody may not see), run the function there and send its result back through a pipe.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import pwd
import shutil
import signal
import tempfile
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

UNPRIVILEGED_USER = "nobody"
CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any namespace or privilege change


def _import_what_the_child_imports_late() -> None:
    """The modules lbaudit imports on first use, imported here, before the fork: the child that
    drops to nobody cannot read the interpreter's tree under /root, so a module it imported first
    was a ModuleNotFoundError there (psutil, imported by the first listener with an owner to
    describe, imports the standard ``resource``), and whether an earlier test had imported it in
    this process decided the test's outcome."""
    import psutil  # noqa: F401  (psutil._pslinux and what it imports, on Linux)


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user (run the suite as root, as CI does)")


def run_as_unprivileged(func: Callable[..., Any], *args: Any, user: str | int = UNPRIVILEGED_USER,
                        timeout: float = 60) -> Any:
    """Call ``func(*args)`` in a child process running as ``user``; return its result or raise.
    ``user`` is a name, or a bare uid that may have no passwd entry (its gid is the same number)."""
    require_root()
    _import_what_the_child_imports_late()
    uid, gid = (user, user) if isinstance(user, int) else (pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 0
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
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


def _check(code: int, what: str) -> None:
    if code != 0:
        errno_ = ctypes.get_errno()
        raise OSError(errno_, f"{what}: {os.strerror(errno_)}")


class _Overtime(BaseException):
    pass


def _overtime(signum: int, frame: Any) -> None:
    raise _Overtime("the run in new namespaces took too long (a hang?)")


def run_in_new_namespaces(func: Callable[[], Any], flags: int, proc_options: str, user: str | None = None,
                          timeout: int = 180) -> Any:
    """``func()`` in a grandchild in new namespaces (``flags``; a new mount namespace always) with a
    /proc of its own mounted with ``proc_options``, as root and then, when ``user`` is given, once
    more as that user (the first call imports every module the second needs: this interpreter's
    library may be unreadable to that user).  Returns the last call's result; a run longer than
    ``timeout`` seconds fails (an alarm with a handler: the default action cannot end the first
    process of a PID namespace)."""
    require_root()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_fd)
            _check(_LIBC.unshare(flags | CLONE_NEWNS), "unshare")
            inner = os.fork()  # the first process of a new PID namespace is its pid 1
            if inner == 0:
                payload: tuple[str, Any]
                try:
                    signal.signal(signal.SIGALRM, _overtime)
                    signal.alarm(timeout)
                    _check(_LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
                    _check(_LIBC.mount(b"proc", b"/proc", b"proc", 0, proc_options.encode()), "mount proc")
                    # The descriptors pytest held when it forked are not the scenario's: opened in the
                    # first mount namespace, their mounts are in no table of this one, and one under
                    # /dev/ (a file an earlier test left open in /dev/shm) is then a descriptor that may
                    # be of the tun device, which the collector rightly says it cannot judge.
                    os.closerange(3, write_fd)
                    os.closerange(write_fd + 1, os.sysconf("SC_OPEN_MAX"))
                    payload = ("ok", func())
                    if user is not None:
                        entry = pwd.getpwnam(user)
                        os.setgroups([])
                        os.setgid(entry.pw_gid)
                        os.setuid(entry.pw_uid)
                        payload = ("ok", func())
                except BaseException as exc:  # noqa: BLE001 - reported to the test
                    payload = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
                with os.fdopen(write_fd, "wb") as pipe:
                    pickle.dump(payload, pipe)
                os._exit(0)
            os.close(write_fd)
            os.waitpid(inner, 0)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    if not data:
        raise AssertionError("the child in new namespaces reported nothing")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise AssertionError(value)
    return value


@contextmanager
def directory_nobody_may_write() -> Iterator[Path]:
    """A directory an unprivileged user may write (pytest's tmp_path sits below a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="lbaudit-nobody-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
