"""A FUSE file system whose server goes silent: the hostile file system of tests/hostile/test_hangs19_*.

Mounted with mount(2) itself (no fusermount here), as root, ``allow_other``: a thread answers INIT
and what a process needs to open one file (LOOKUP, GETATTR, OPEN), every attribute valid for no
time, so each later stat(2) asks the server again.  After :meth:`SilentFuse.go_silent` the thread
reads each request and never answers it: a stat, statfs or open of a file in it waits in the kernel
for ever (a request already read by the server waits uninterruptibly, as on a dead hard NFS mount).
:meth:`SilentFuse.close` aborts the connection (closing the server's /dev/fuse descriptor ends every
waiting request with ENOTCONN) and unmounts lazily.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import stat
import struct
import subprocess
import threading
from pathlib import Path

import pytest

FUSE_LOOKUP, FUSE_GETATTR, FUSE_OPEN, FUSE_READ, FUSE_RELEASE, FUSE_FLUSH, FUSE_INIT = 1, 3, 14, 15, 18, 25, 26
FUSE_FORGET, FUSE_BATCH_FORGET = 2, 42
FUSE_OPENDIR, FUSE_RELEASEDIR, FUSE_STATFS, FUSE_ACCESS, FUSE_DESTROY = 27, 29, 17, 34, 38
_IN_HEADER = struct.Struct("<IIQQIIIHH")  # len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding
_OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique


def _attr(ino: int, mode: int, size: int = 0) -> bytes:
    # struct fuse_attr: ino size blocks atime mtime ctime, 3 nsec, mode nlink uid gid rdev blksize flags
    return struct.pack("<QQQQQQIIIIIIIIII", ino, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0,
                       4096, 0)


def require_fuse() -> None:
    """Skip, saying why, where a FUSE file system cannot be mounted here."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse: FUSE cannot be mounted here")
    if os.geteuid() != 0:
        pytest.skip("mounting FUSE with mount(2) needs root (CAP_SYS_ADMIN)")


class SilentFuse:
    """A FUSE mount at ``point`` whose tree is any path of the ``directories`` ending in a file named ``leaf``."""

    directories = frozenset({"1", "net", "bin"})

    def __init__(self, point: Path, leaf: str = "tcp", leaf_mode: int = stat.S_IFREG | 0o444,
                 content: bytes = b"") -> None:
        self.point, self.leaf, self.leaf_mode, self.content = point, leaf, leaf_mode, content
        self.silent = threading.Event()
        self.stop = threading.Event()
        self.unanswered = 0
        self.nodes: dict[int, bool] = {1: True}  # nodeid -> is a directory
        point.mkdir(parents=True, exist_ok=True)
        self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        libc = ctypes.CDLL(None, use_errno=True)
        options = f"fd={self.fd},rootmode=40000,user_id=0,group_id=0,allow_other".encode()
        if libc.mount(b"lbaudit-silent", os.fsencode(point), b"fuse", 0, options) != 0:
            code = ctypes.get_errno()
            os.close(self.fd)
            if code in (errno.EPERM, errno.ENODEV, errno.EACCES):
                pytest.skip(f"FUSE cannot be mounted here: mount(2): {os.strerror(code)}")
            raise OSError(code, f"mount fuse on {point}: {os.strerror(code)}")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def go_silent(self) -> None:
        self.silent.set()

    def _reply(self, unique: int, body: bytes = b"", error: int = 0) -> None:
        os.write(self.fd, _OUT_HEADER.pack(_OUT_HEADER.size + len(body), -error, unique) + body)

    def _serve(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                request = os.read(self.fd, 1 << 20)
            except OSError:
                return  # unmounted, or aborted
            length, opcode, unique, nodeid, *_rest = _IN_HEADER.unpack_from(request)
            body = request[_IN_HEADER.size:length]
            if self.silent.is_set():
                self.unanswered += 1
                continue  # read, never answered: its caller waits for ever
            try:
                self._answer(opcode, unique, nodeid, body)
            except OSError:
                return

    def _answer(self, opcode: int, unique: int, nodeid: int, body: bytes) -> None:
        if opcode == FUSE_INIT:
            major, minor, readahead, _flags = struct.unpack_from("<IIII", body)
            # struct fuse_init_out: major minor max_readahead flags max_background congestion_threshold
            # max_write time_gran max_pages map_alignment flags2 max_stack_depth unused[6]
            self._reply(unique, struct.pack("<IIIIHHIIHHII24x", 7, min(minor, 31), readahead, 0, 16, 12,
                                            4096, 1, 1, 0, 0, 0))
        elif opcode in (FUSE_FORGET, FUSE_BATCH_FORGET):
            return  # answered by nobody: the kernel waits for no reply
        elif opcode == FUSE_LOOKUP:
            name = body.split(b"\0", 1)[0].decode()
            if name != self.leaf and name not in self.directories:
                self._reply(unique, error=errno.ENOENT)
                return
            is_dir = name != self.leaf
            node = len(self.nodes) + 1
            self.nodes[node] = is_dir
            mode = stat.S_IFDIR | 0o755 if is_dir else self.leaf_mode
            # struct fuse_entry_out: nodeid generation entry_valid attr_valid 2 nsec, attr: valid for no time
            size = 0 if is_dir else len(self.content)
            self._reply(unique, struct.pack("<QQQQII", node, 0, 0, 0, 0, 0) + _attr(node, mode, size))
        elif opcode == FUSE_GETATTR:
            is_dir = self.nodes.get(nodeid, True)
            mode = stat.S_IFDIR | 0o755 if is_dir else self.leaf_mode
            size = 0 if is_dir else len(self.content)
            self._reply(unique, struct.pack("<QII", 0, 0, 0) + _attr(nodeid, mode, size))
        elif opcode == FUSE_READ:
            _fh, offset, size = struct.unpack_from("<QQI", body)
            self._reply(unique, self.content[offset:offset + size])
        elif opcode in (FUSE_OPEN, FUSE_OPENDIR):
            self._reply(unique, struct.pack("<QII", 0, 0, 0))
        elif opcode in (FUSE_RELEASE, FUSE_RELEASEDIR, FUSE_FLUSH, FUSE_ACCESS):
            self._reply(unique)
        elif opcode == FUSE_DESTROY:
            return
        else:
            self._reply(unique, error=errno.ENOSYS)

    def close(self) -> None:
        """Abort the connection (every waiting request ends) and unmount; once."""
        if self.stop.is_set():
            return
        self.stop.set()
        self.thread.join(timeout=5)
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if fields[4] == str(self.point) and " - fuse " in line:
                abort = Path(f"/sys/fs/fuse/connections/{fields[2].split(':')[1]}/abort")
                if abort.exists():
                    abort.write_text("1")
        os.close(self.fd)  # the server's last descriptor: the kernel aborts the connection
        subprocess.run(["umount", "-l", str(self.point)], check=False, capture_output=True)
