"""Read files of a host or of an offline root directory, never outside that root, never blocking.

Every collector reads configuration through these functions.  Paths are resolved as a chroot would
(with ``root="/"`` too, so both take the same road): an absolute symlink is taken relative to the
root, and ``..`` cannot climb above it.  The resolved path holds no symlink any more, so it is
opened from the root one directory at a time, each with ``O_NOFOLLOW`` (a directory swapped for a
link after it was resolved is refused, not followed out of the root), the file itself through
:func:`auditor.safeio.read_regular`: an image is somebody
else's file system, and a FIFO named ``99-x.conf`` would block ``open()`` forever, a device node
never ends, a sparse file of 100 GB reads as zeros.  Each becomes an ``OSError`` with a plain-words
reason ("is a FIFO, not a regular file", "larger than 4194304 bytes"), which collectors turn into a
gap that names the file.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import fcntl
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from auditor import fdwait, safeio

T = TypeVar("T")

MAX_SYMLINKS = 40
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# More names than any configuration directory holds; past it listing stops rather than filling memory.
MAX_DIR_ENTRIES = 100_000
# More configuration files than one collector reads on any real host (a distribution's unit
# directories hold ~2,000 names, sysctl.d and rules.d a few dozen); past it the collector reads
# none of them and says so: each file costs a walk from the root and a read, and an image with
# 100,000 names in sysctl.d held a collection for minutes.
MAX_CONFIG_FILES = 10_000
# The most bytes of configuration files one collection reads (:func:`read_text`, within
# :func:`one_view_of_each_root`), together: a whole host's are well under a megabyte.  Each file
# and the number of files of a directory are bounded, but not their sum, and hard links make one
# 4 MiB file thousands of names: 50 in an image's rules.d took 42 s and 1.5 GB, 10,000 would have
# been 40 GB.  Past it a file is not read (an OSError naming it, a gap like any unreadable file).
MAX_COLLECTION_CONFIG_BYTES = 32 * 1024 * 1024
_BYTES_LEFT = ("configuration bytes left",)  # its key in the collection's read_once store
# A read bounded this small is never refused by that budget (only counted): the host's name and
# release (/etc/hostname, os-release) are still read once a hostile directory has spent it.
_SMALL_READ = 64 * 1024


class RootEscape(OSError):
    pass


class RootGone(OSError):
    """The root of a collection cannot be opened (it vanished, or the process whose root it is
    exited): not FileNotFoundError, which collectors take for an absent file, so every read of that
    root becomes a gap, never "not configured, the default applies"."""


# Each root opened for one collection (see one_view_of_each_root), else None.
_HELD_ROOTS: contextvars.ContextVar[dict[str, "HeldRoot"] | None] = contextvars.ContextVar("rootfs_held_roots",
                                                                                           default=None)


# What one collection has read and more than one of its sections ask for (see read_once), else None.
_READ_ONCE: contextvars.ContextVar[dict[tuple[Any, ...], Any] | None] = contextvars.ContextVar(
    "rootfs_read_once", default=None)


@contextlib.contextmanager
def one_view_of_each_root(opened: "HeldRoot | None" = None) -> Iterator[None]:
    """Within this block a root other than ``/`` is opened once, at its first read
    (:class:`HeldRoot`), and every read resolves below that descriptor, not below the root's path:
    one collection reads the one file system it started with, even if a link on the way to it is
    changed meanwhile (it would otherwise mix two images), or the process of a ``/proc/PID/root``
    exits (its directories read as absent: "not configured, the default applies") or its PID is
    reused (the rest read another process's files); and it does not pay a ``realpath`` of the root
    for each of its ~150 file reads.  What :func:`read_once` reads is read once in it too.  Outside a
    block (and in threads it did not start) every read resolves the root again, as before.

    ``opened``: a root opened already (a :class:`HeldRoot`, as ``RootDir.open`` opens it when it
    chooses the target), read in this block as its own and closed with it: the tree read is the one
    opened when the target was recorded, not whatever its path names by the first read (a process
    root's PID reused in between)."""
    held: dict[str, HeldRoot] = {} if opened is None else {opened.key: opened}
    token = _HELD_ROOTS.set(held)
    once = _READ_ONCE.set({})
    try:
        yield
    finally:
        _READ_ONCE.reset(once)
        _HELD_ROOTS.reset(token)
        for root in held.values():
            root.close()


def read_once(key: tuple[Any, ...], read: Callable[[], T]) -> T:
    """``read()``, made once per ``key`` within one collection (:func:`one_view_of_each_root`) and
    every time outside one.  For what several sections read alike (the systemd unit directories:
    the audit units, systemd-sysctl's masking; the boot's sysctls: the sysctl and audit sections),
    each such read was ~15 ms of every evaluate, made two or three times.  The value is shared: its
    readers must not change it."""
    seen = _READ_ONCE.get()
    if seen is None:
        return read()
    if key not in seen:
        seen[key] = read()
    return seen[key]


def keep(key: tuple[Any, ...], value: Any) -> None:
    """Keep ``value`` under ``key`` for a later reader of this collection (:func:`take`); outside a
    collection (:func:`one_view_of_each_root`) nothing is kept.  For a read one section makes for
    itself that another may use as it is (the descriptor tables: :mod:`auditor.collect.fdtables`)."""
    seen = _READ_ONCE.get()
    if seen is not None:
        seen[key] = value


def take(key: tuple[Any, ...]) -> Any:
    """What :func:`keep` kept under ``key`` in this collection, given once and then dropped (None:
    nothing was kept, or outside a collection)."""
    seen = _READ_ONCE.get()
    return None if seen is None else seen.pop(key, None)


# /proc/PID/root and /proc/PID/task/TID/root (absolute): the root of a process.
_PROC_ROOT = re.compile(r"/proc/(\d+)(?:/task/\d+)?/root")


def real_root(root: Path | str) -> str:
    """The path every read under ``root`` starts from (:func:`auditor.safeio.real_directory`): its
    real path, unless that names another directory than ``root`` (a link of /proc: the root of a
    container's process, ``--root /proc/PID/root``, reads as ``/``, and this host's files were
    audited as the container's); then ``root`` made absolute, which the kernel follows at every
    read into the container's root.  The root of a process (``/proc/PID/root``) is always kept so:
    even when its real path names the same directory, this host sees it without the mounts the
    process's namespace has inside it (a tmpfs on /etc/sysctl.d, the engine's /etc/hosts)."""
    absolute = os.path.abspath(root)
    if _PROC_ROOT.fullmatch(absolute):
        os.stat(absolute)  # raises like real_directory when the process is gone
        return absolute
    return safeio.real_directory(root)


_OPEN_ROOT = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


class HeldRoot:
    """A root opened for one collection: ``base`` names the directory through the open descriptor
    (``/proc/self/fd/N``), which the kernel follows to what the descriptor holds, whatever the
    root's path names meanwhile.  For the root of a process (``/proc/PID/root``) its mount
    namespace is held too: when the process exits, the kernel dismantles a namespace nobody holds
    (the mounts inside the root, a container's /etc/hosts or a tmpfs on /etc/sysctl.d, are cut off
    and the directories under them show through), and a held namespace stays as it was.  A root
    that cannot be opened so is :class:`RootGone`.  Reads resolve from ``fd`` itself
    (``os.lstat(name, dir_fd=fd)``), never through /proc; ``base`` is for the paths
    :func:`resolve` gives its callers.  Once closed, every read of it is a :class:`RootGone`: its
    descriptor's number may name another file by then."""

    def __init__(self, root: str) -> None:
        self.key = root  # the root as reads name it (RootDir.root)
        self.fds: list[int] = []  # all held (closed with the collection)
        self.fd = -1  # the root's
        self.error: OSError | None = None  # why it could not be opened (see failed)
        process = _PROC_ROOT.fullmatch(os.path.abspath(root))
        try:
            real = real_root(root)
            if process is None:
                self.fd = os.open(real, _OPEN_ROOT)
                self.fds.append(self.fd)
            else:
                self._hold_process_root(real, int(process.group(1)))
        except FileNotFoundError as exc:
            self.close()
            raise RootGone(errno.ESRCH if process else errno.ENOENT,
                           f"process {process.group(1)}, whose root this is, has exited" if process
                           else "the root directory is gone (not found)", root) from exc
        except BaseException:
            self.close()
            raise
        through = f"/proc/self/fd/{self.fd}"
        self.base = through if os.path.isdir(through) else real  # no /proc here: the path, as before

    def _hold_process_root(self, real: str, pid: int) -> None:
        gone = f"process {pid}, whose root this is, has exited"
        proc = real[:-len("/root")]
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            raise RootGone(errno.ESRCH, gone, real) from None
        try:
            # namespace, then root, then the namespace again and the process alive: both are the
            # one process's (its PID not reused meanwhile) and its root was in the namespace held
            namespace = os.open(f"{proc}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            self.fds.append(namespace)
            self.fd = os.open(real, _OPEN_ROOT)
            self.fds.append(self.fd)
            same = os.stat(f"{proc}/ns/mnt").st_ino == os.fstat(namespace).st_ino
            if not same or fdwait.ready(pidfd, read=True, timeout=0):  # a pidfd is readable once its process exited
                raise RootGone(errno.ESRCH, gone if same else f"process {pid} changed its mount namespace", real)
        except (FileNotFoundError, ProcessLookupError):
            raise RootGone(errno.ESRCH, gone, real) from None
        finally:
            os.close(pidfd)

    @classmethod
    def failed(cls, error: OSError) -> "HeldRoot":
        """A root that could not be opened: each read of it raises ``error``."""
        held = cls.__new__(cls)
        held.key, held.fds, held.fd, held.base, held.error = "", [], -1, "", error
        return held

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds, self.fd = [], -1
        if self.error is None:
            self.error = RootGone(errno.EBADF, "the collection that opened this root has ended", self.key)

    def __del__(self) -> None:
        # a root opened for a collection that never ran (RootDir.open, then a refused option)
        if getattr(self, "fds", None):
            self.close()


def _real_root(root: Path | str) -> str:
    """The path reads under ``root`` start from: within a collection the held descriptor's (for a
    root other than ``/``, which no run sees change), else the root's real path again."""
    return _start(root)[0]


def _start(root: Path | str) -> tuple[str, int | None]:
    """``(path, descriptor)`` reads under ``root`` start from: within a collection the held root's
    (for a root other than ``/``, which no run sees change), resolved from its descriptor; else
    the root's real path again, and no descriptor."""
    held = _HELD_ROOTS.get()
    key = os.fspath(root)
    if held is None or key == os.sep:
        return real_root(key), None
    opened = held.get(key)
    if opened is None:
        try:
            opened = held[key] = HeldRoot(key)
        except OSError as exc:
            # kept: a later read opening the path again could open another process's root (its PID
            # reused) or a directory mounted there since; the rest of the collection is this gap
            opened = held[key] = HeldRoot.failed(exc)
    if opened.error is not None:
        raise opened.error.with_traceback(None)  # not the frames of every earlier read
    return opened.base, opened.fd


def inside_root(root: Path | str, resolved: Path | str) -> str:
    """``resolved`` (what :func:`resolve` gave for ``root``) as a path seen from inside the root."""
    relative = os.path.relpath(resolved, _real_root(root))
    return "/" if relative == "." else "/" + relative


def resolve(root: Path, path: str) -> Path:
    """Resolve ``path`` (absolute, as seen from inside ``root``) to a real path under ``root``.

    Symlinks are followed component by component and re-anchored at ``root``; the result may not
    exist.  Raises ``OSError(ELOOP)`` on a symlink loop.
    """
    base, _, parts, _ = _walk(root, path)
    resolved = os.path.join(base, *parts)
    if os.path.commonpath([base, resolved]) != base:  # defence in depth
        raise RootEscape(errno.EACCES, "path escapes the root", path)
    return Path(resolved)


def dangling_link(root: Path, path: str) -> str | None:
    """The symbolic link (as seen inside ``root``, with its target) through which ``path`` leads
    nowhere, or None when ``path`` exists or is simply absent.

    A plain name missing from a real directory is absent; a name missing because a link points at
    something that is not there is not: in an image it may be a mount the image does not carry, so
    its absence proves nothing about what the booted host reads.  Raises OSError like resolve."""
    return _walk(root, path)[3]


def absence_problem(root: Path, path: str) -> str | None:
    """For ``path`` found missing: why that absence proves nothing (``"<path>: <reason>"``), or None
    when it is simply absent.  A link on its way that leads nowhere (in an image perhaps a mount it
    does not carry, whose files the booted host reads) is not the same as no file at all, nor is a
    path that cannot be looked at."""
    try:
        link = dangling_link(root, path)
    except OSError as exc:
        return f"{path}: {describe_os_error(exc)}"
    return None if link is None else f"{path}: not found, through a symbolic link to nothing ({link})"


def _walk(root: Path, path: str) -> tuple[str, int | None, list[str], str | None]:
    """``(root's path, root's descriptor or None, components of path resolved below the root, the
    link through which a missing component was named)``.  Each component is looked at relative to
    the held root's descriptor (``dir_fd``), never through ``/proc/self/fd/N/...``, which costs a
    walk through /proc at every lookup; the components below the root are never ``..`` or a link,
    so the kernel's walk of them from the descriptor is the one made here."""
    # os.path.realpath, not Path.resolve(): the same real path without the extra stat and the two
    # Path objects (~70 us of ~150 us a call); a root that is a symlink loop is then an ELOOP
    # OSError at the first lstat below, a gap like any unreadable file.
    base, at = _start(root)
    # (component, the link whose target it came from, or None for a component of ``path`` itself)
    # Split on "/" rather than through PurePosixPath: the empty and "." components it would drop are
    # skipped below, and this runs for every file a collector reads.
    pending: list[tuple[str, str | None]] = [(part, None) for part in path.split("/")]
    pending.reverse()  # popped from the end: the next component is pending[-1]
    current: list[str] = []  # components below root, already resolved
    # Depth of a component found missing: nothing below it exists either, so it is not asked (an
    # lstat that fails costs an exception); ".." back above it asks again.
    missing_depth: int | None = None
    missing_through: str | None = None  # the link whose target named the missing component
    hops = 0
    while pending:
        part, via = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if current:
                current.pop()
            if missing_depth is not None and len(current) < missing_depth:
                missing_depth = missing_through = None
            continue  # ".." at the root stays at the root, as in a chroot
        if missing_depth is not None:
            current.append(part)
            continue
        below = "/".join((*current, part))
        try:
            mode = (os.lstat(os.path.join(base, below)) if at is None else os.lstat(below, dir_fd=at)).st_mode
        except FileNotFoundError:
            current.append(part)
            missing_depth = len(current)
            missing_through = via
            continue
        if stat.S_ISLNK(mode):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", os.path.join(base, below))
            target = os.readlink(os.path.join(base, below)) if at is None else os.readlink(below, dir_fd=at)
            if target.startswith("/"):
                current = []
            parts = target.split("/")  # an absolute target's leading "" is skipped like any empty part
            parts.reverse()
            link = f"/{below} -> {target}"
            pending += [(p, link) for p in parts]
            continue
        current.append(part)
    return base, at, current, missing_through


# A directory opened only to open what is in it: no read permission needed, as for a path lookup.
_DIRECTORY_ON_THE_WAY = (getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0))


@contextlib.contextmanager
def _parent_beneath(root: Path, path: str) -> Iterator[tuple[int, str]]:
    """``(fd of the directory, name)`` of ``path`` resolved under ``root``, the directory opened
    from the root one component at a time, none followed if it is a link.  :func:`resolve` saw no
    link on the way, but the tree may change after it looked (a running container writing its own
    root, an image somebody else mounts): a directory swapped for a link to ``/etc`` meanwhile is
    ENOTDIR here, never a file of this host read as the image's."""
    base, at, parts, _ = _walk(root, path)
    # the held root's descriptor, or the root as given opened (a link there is the caller's)
    fd = at if at is not None else os.open(base, _DIRECTORY_ON_THE_WAY & ~getattr(os, "O_NOFOLLOW", 0))
    try:
        for part in parts[:-1]:
            below = os.open(part, _DIRECTORY_ON_THE_WAY, dir_fd=fd)
            if fd != at:
                os.close(fd)
            fd = below
        yield fd, parts[-1] if parts else "."
    finally:
        if fd != at:
            os.close(fd)


def read_text(root: Path, path: str, limit: int = MAX_CONFIG_BYTES, kernel_file: bool = False) -> str:
    """Read a text file under ``root`` (:func:`read_bytes` decoded as UTF-8, an invalid byte replaced)."""
    return read_bytes(root, path, limit, kernel_file).decode("utf-8", errors="replace")


def read_bytes(root: Path, path: str, limit: int = MAX_CONFIG_BYTES, kernel_file: bool = False) -> bytes:
    """Read a file under ``root``; raises OSError (FileNotFoundError, PermissionError, ...).

    A file of a kernel pseudo file system (procfs, sysfs, ...) is refused (``NotRegularFile``)
    unless ``kernel_file`` (the running host's /proc/cmdline, /proc/sys): a configuration file is
    never one, and an image's link to one is followed to the /proc or /sys mounted in it (a
    container's root, ``/proc/PID/root``, a chroot's): /etc/sysctl.d/99.conf -> /proc/kmsg drained
    the kernel log rsyslog reads, and /proc/PID/environ gave the image settings no file of it holds.

    Within a collection a configuration file (not ``kernel_file``) is read only within what is left
    of :data:`MAX_COLLECTION_CONFIG_BYTES`; past it, an ``OSError`` (EFBIG) that says so."""
    seen = _READ_ONCE.get()
    left = None if seen is None or kernel_file else seen.setdefault(_BYTES_LEFT, [MAX_COLLECTION_CONFIG_BYTES])
    spent = safeio.BoundExceeded(errno.EFBIG, f"lbaudit reads at most {MAX_COLLECTION_CONFIG_BYTES:,} bytes of configuration "
                                 "files in one collection", path)
    if left is not None and limit <= _SMALL_READ:
        left = None  # counted below, never refused: a name or an identity (/etc/hostname, os-release)
    if left is not None and left[0] <= 0:
        raise spent
    most = limit if left is None else min(limit, left[0])
    try:
        with _parent_beneath(root, path) as (directory, name):
            data = safeio.read_regular(name, most, follow_symlinks=False, dir_fd=directory,
                                       document=False if kernel_file else "configuration file")
    except safeio.FileTooLarge:
        if most < limit:
            raise spent from None
        raise
    except safeio.NotRegularFile as exc:
        if exc.errno == errno.EISDIR:  # callers tell a directory from other non-files (augenrules skips it)
            raise IsADirectoryError(errno.EISDIR, "is a directory", path) from None
        raise
    if seen is not None and not kernel_file:
        seen.setdefault(_BYTES_LEFT, [MAX_COLLECTION_CONFIG_BYTES])[0] -= len(data)
    return data


def read_head(root: Path, path: str, size: int, offset: int = 0) -> bytes:
    """``size`` bytes (or fewer) from ``offset`` (the first ones by default) of the regular file at
    ``path`` under ``root``, opened as :func:`read_text` opens it: a program's ELF header, a section
    of a Unified Kernel Image, whatever the size of the file.  Raises OSError (``NotRegularFile``
    for a FIFO, device or directory; never blocks)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    with _parent_beneath(root, path) as (directory, name):
        fd, opened = safeio.open_regular(name, flags, follow_symlinks=False, dir_fd=directory)  # no device is opened
    try:
        safeio.refuse_kernel_file(fd, opened, path, "program")
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)


FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h: _IOR('f', 1, long) on 64-bit machines
FS_IMMUTABLE_FL = 0x10  # chattr +i: the file cannot be written, truncated, renamed or removed
FS_APPEND_FL = 0x20  # chattr +a: it can only be appended to (opening it to truncate fails)


def inode_flags(root: Path, path: str) -> int:
    """The inode flags (``lsattr``) of the regular file at ``path`` under ``root``, opened as
    :func:`read_head` opens it; 0 where the file system keeps none (tmpfs, overlayfs).  Raises
    OSError (absent, unreadable, not a regular file)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    with _parent_beneath(root, path) as (directory, name):
        fd, opened = safeio.open_regular(name, flags, follow_symlinks=False, dir_fd=directory)
    try:
        safeio.refuse_kernel_file(fd, opened, path, "configuration file")
        buffer = bytearray(8)
        try:
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, buffer)
        except OSError as exc:
            if exc.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL):
                return 0  # no inode flags on this file system: none can be set
            raise
        return int.from_bytes(buffer[:4], sys.byteorder)  # the kernel reads and writes an int
    finally:
        os.close(fd)


def list_dir(root: Path, path: str) -> list[str]:
    """Names in a directory under ``root``, sorted; raises OSError like os.listdir
    (``NotADirectoryError`` for a FIFO or file, never blocking), or ``EFBIG`` past
    ``MAX_DIR_ENTRIES`` names."""
    return [name for name, _ in list_dir_kinds(root, path)]


# What a directory entry is, as the directory itself says (d_type): no lstat per name.
LINK, DIRECTORY, OTHER = "link", "directory", "other"


def list_dir_kinds(root: Path, path: str) -> list[tuple[str, str]]:
    """``(name, kind)`` of each entry of a directory under ``root``, sorted by name; ``kind`` is
    :data:`LINK`, :data:`DIRECTORY` or :data:`OTHER`, as the directory entry tells it (an entry
    whose type the file system does not record is looked at without following it).  Raises like
    :func:`list_dir`.  A directory of 100,000 names costs one listing, not 100,000 walks from the
    root: a caller resolves through :func:`resolve` only the names that are links."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with _parent_beneath(root, path) as (directory, name):
        fd = os.open(name, flags, dir_fd=directory)
    try:
        entries: list[tuple[str, str]] = []
        with os.scandir(fd) as scan:
            for entry in scan:
                try:
                    kind = LINK if entry.is_symlink() else DIRECTORY if entry.is_dir(follow_symlinks=False) else OTHER
                except OSError:
                    kind = LINK  # cannot be told: the caller takes the slow road, which reports what fails
                entries.append((entry.name, kind))
                if len(entries) > MAX_DIR_ENTRIES:
                    raise safeio.BoundExceeded(errno.EFBIG, f"more than {MAX_DIR_ENTRIES} entries", path)
    finally:
        os.close(fd)
    return sorted(entries, key=lambda entry: name_bytes(entry[0]))


def name_bytes(name: str) -> bytes:
    """A file name as the bytes the directory holds, the key every tool of a boot sorts names by
    (strcmp: systemd's conf_files, procps' sysctl --system): a name that is not UTF-8 is decoded
    with surrogates (``\\x80`` is U+DC80), which as a string sorts after ``é`` (U+00E9) while its
    byte 0x80 sorts before é's 0xC3, so sorting the strings applied two sysctl.d files in the
    other order than the boot."""
    return os.fsencode(name)


def file_mode(root: Path, path: str) -> int:
    """``st_mode`` of ``path`` under ``root`` after resolving links inside the root (lstat of the
    resolved path: never follows a link out, never opens anything), from the held root's
    descriptor like :func:`_walk`'s lookups, not through /proc."""
    base, at, parts, _ = _walk(root, path)
    return (os.lstat(os.path.join(base, *parts)) if at is None else os.lstat("/".join(parts) or ".", dir_fd=at)).st_mode


def list_config_dir(root: Path, path: str, problems: list[str]) -> list[str]:
    """Names in a configuration directory that may legitimately be absent (``[]`` then); any other
    failure to list it, and a directory absent only because a symbolic link on its way leads
    nowhere, is appended to ``problems`` as ``"<path>: <reason>"``, so it is never mistaken for an
    empty directory."""
    return [name for name, _ in list_config_dir_kinds(root, path, problems)]


def list_config_dir_kinds(root: Path, path: str, problems: list[str]) -> list[tuple[str, str]]:
    """:func:`list_config_dir` with the kind of each entry (:func:`list_dir_kinds`)."""
    try:
        return list_dir_kinds(root, path)
    except (FileNotFoundError, NotADirectoryError):
        problem = absence_problem(root, path)
        if problem is not None:
            problems.append(problem)
        return []
    except OSError as exc:
        problems.append(f"{path}: {describe_os_error(exc)}")
        return []


def describe_os_error(exc: OSError) -> str:
    """A short reason for a Gap: 'permission denied', 'not found', ..."""
    if isinstance(exc, FileNotFoundError):
        return "not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)
