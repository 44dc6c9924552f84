"""Reading a file that somebody else controls, without blocking, following or exhausting anything.

Every byte lbaudit reads from a file it did not write goes through ``read_regular``: policies,
snapshots, evidence, signatures, keys, and the configuration files of a host or an offline image.
A FIFO would block ``open()`` forever, a character device such as ``/dev/zero`` never ends, and a
directory or socket is not a document; so the file is opened non-blocking (an open FIFO then
returns at once), checked with ``fstat`` to be a regular file *after* it is opened (no window
between check and use), refused at once when its ``st_size`` is past the bound (a sparse file of
gigabytes), and read with a hard bound whatever ``st_size`` claims (``/proc`` files say 0, a
growing file lies).  Problems are raised as ``OSError`` with an errno and a plain-words
``strerror``, so each caller turns them into its own kind of error (an exit-2 ``InputError`` for a
command-line file, a ``Gap`` for a host's configuration file).
"""

from __future__ import annotations

import errno
import os
import stat
import sys

# An fstat mode -> what to call it in a message ("is a FIFO, not a regular file").
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


# The most a pseudo file system claims of a file whatever it holds: sysfs gives each attribute the
# size of a page (4 KiB, 64 KiB on some arm64 and ppc64 kernels).  Below it a size is not trusted to
# refuse a file; reading one more byte than the bound tells as well, and costs no more than that.
_PSEUDO_FILE_SIZE = 64 * 1024
# The sizes a pseudo file system gives its files whatever they hold: 0 (procfs, debugfs, tracefs,
# securityfs, cgroupfs) or a page (sysfs, configfs).  A document of another size is on a real file
# system; only these sizes pay for asking which (ctypes, some 3 ms).
_PSEUDO_FILE_SIZES = frozenset({0, 4096, 16384, 65536})

# statfs(2) f_type of Linux's pseudo file systems (linux/magic.h), and what a message calls each.
_PSEUDO_MAGIC = {
    0x9FA0: "procfs (/proc)", 0x62656572: "sysfs (/sys)", 0x64626720: "debugfs", 0x74726163: "tracefs",
    0x73636673: "securityfs", 0x62656570: "configfs", 0xCAFE4A11: "bpffs", 0x27E0EB: "cgroupfs",
    0x63677270: "cgroup2fs", 0xF97CFF8C: "selinuxfs", 0xDE5E81E4: "efivarfs", 0x6165676C: "pstore",
    0x42494E4D: "binfmt_misc", 0x6E736673: "nsfs",
}


_O_PATH = getattr(os, "O_PATH", 0)


def pseudo_file_system(fd: int) -> str | None:
    """The name of the kernel pseudo file system the open file ``fd`` is on, or None (another file
    system, or not Linux, or fstatfs could not tell)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        buffer = ctypes.create_string_buffer(512)  # struct statfs: 120 bytes on 64-bit Linux
        if ctypes.CDLL(None, use_errno=True).fstatfs(fd, buffer) != 0:
            return None
        kind = ctypes.c_long.from_buffer(buffer).value  # f_type, the struct's first field (__fsword_t)
    except (ImportError, OSError, AttributeError):
        return None
    return _PSEUDO_MAGIC.get(kind & 0xFFFFFFFF)


def pseudo_file_system_at(path: str | os.PathLike[str]) -> str | None:
    """:func:`pseudo_file_system` of the file at ``path``, asked of a descriptor opened with O_PATH:
    nothing of the file is opened or read (a file handed on to a library that reads it itself,
    such as SQLite, is looked at this way first).  None when it cannot be opened so."""
    if not _O_PATH:
        return None
    try:
        handle = os.open(os.fspath(path), _O_PATH | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        return pseudo_file_system(handle)
    finally:
        os.close(handle)


class NotRegularFile(OSError):
    """The path exists but is not a regular file (FIFO, device, socket, directory)."""


class BoundExceeded(OSError):
    """One of lbaudit's own bounds on what it reads was passed (errno EFBIG, as the kernel's "file
    too large"): never the medium's failure, so not exit 74 but an input refused or a gap
    (auditor.errors.io_failure reads ``lbaudits_bound``)."""

    lbaudits_bound = True


class FileTooLarge(BoundExceeded):
    """The file holds more than the caller's bound."""


def kind_of(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def refuse_kernel_file(fd: int, opened: os.stat_result, path: str | os.PathLike[str], what: str) -> None:
    """Raise ``NotRegularFile`` when the open regular file ``fd`` is one of a kernel pseudo file
    system (:func:`pseudo_file_system`), where a file a person writes (``what``: "document",
    "configuration file") never is.  Asked only of the sizes such files give (``fstatfs`` is not
    paid for every file)."""
    if opened.st_size in _PSEUDO_FILE_SIZES:
        kernels = pseudo_file_system(fd)
        if kernels is not None:
            raise NotRegularFile(errno.EINVAL, f"is a file of {kernels}, a kernel pseudo file system, not a "
                                 f"{what} (not read: reading some of them takes what they hold)", os.fspath(path))




def open_regular(path: str | os.PathLike[str], flags: int, *, follow_symlinks: bool = True,
                 dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """``(fd, its stat)`` of the regular file at ``path`` opened with ``flags``; anything else is
    refused before it is opened (``NotRegularFile``; ``OSError(ELOOP)`` for a symbolic link when
    ``follow_symlinks`` is false).

    Opening a device node runs its driver's open: an image unpacked by root keeps the nodes it was
    made with, and ``etc/sysctl.d/99.conf`` as the watchdog (character 10:130) starts the host's
    watchdog timer, which reboots it unless something keeps writing to it; a tape rewinds, a serial
    line raises its modem lines.  So the path is first opened with O_PATH, which runs no driver,
    and only a regular file is opened for reading, through that descriptor (/proc/self/fd/N: the
    same file, whatever was renamed meanwhile).  Without O_PATH or /proc the kind is looked at
    before the open instead."""
    nofollow = 0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)
    name = os.fspath(path)
    if _O_PATH:
        handle = os.open(name, _O_PATH | nofollow | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
        try:
            found = os.fstat(handle)
            _refuse_kind(found.st_mode, name)
            try:
                fd = os.open(f"/proc/self/fd/{handle}", flags & ~nofollow)
            except FileNotFoundError:
                if os.path.isdir("/proc/self/fd"):
                    raise
                fd = os.open(name, flags | nofollow, dir_fd=dir_fd)  # no /proc: the kind was seen just before
        finally:
            os.close(handle)
    else:
        _refuse_kind(os.stat(name, dir_fd=dir_fd, follow_symlinks=follow_symlinks).st_mode, name)
        fd = os.open(name, flags | nofollow, dir_fd=dir_fd)
    try:
        opened = os.fstat(fd)
        _refuse_kind(opened.st_mode, name)  # swapped between the look and the open (fallback only)
    except BaseException:
        os.close(fd)
        raise
    return fd, opened


def _refuse_kind(mode: int, path: str) -> None:
    if stat.S_ISLNK(mode):
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)  # as an open with O_NOFOLLOW says
    if not stat.S_ISREG(mode):
        raise NotRegularFile(errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL,
                             f"is {kind_of(mode)}, not a regular file", path)


def read_regular(path: str | os.PathLike[str], limit: int, *, follow_symlinks: bool = True,
                 dir_fd: int | None = None, document: bool | str = False) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``document``: the file is one a person or lbaudit wrote (a policy, a waivers or configuration
    file), never a kernel's: a file of a pseudo file system (/proc, /sys, debugfs, tracefs, ...) is
    refused unread (:func:`pseudo_file_system`); a text in place of True names what the file is in
    that refusal ("configuration file").  A policy's ``extends`` names any file the run can
    read, and reading some of those takes what they hold: ``extends: /proc/kmsg`` drained the kernel
    log that rsyslog reads (a CI job runs as root), tracefs's ``trace_pipe`` consumes the trace.

    Raises ``NotRegularFile`` for anything but a regular file (and, for a ``document``, for a file
    of a pseudo file system), ``FileTooLarge`` past ``limit``,
    ``OSError(ELOOP)`` for a symlink when ``follow_symlinks`` is false (the caller resolved links
    itself), and the usual ``OSError``s (not found, permission denied).  Never blocks on a FIFO.
    ``dir_fd``: ``path`` is relative to that open directory (as ``os.open`` takes it).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd, opened = open_regular(path, flags, follow_symlinks=follow_symlinks, dir_fd=dir_fd)
    try:
        if document:
            refuse_kernel_file(fd, opened, path, document if isinstance(document, str) else "document")
        if opened.st_size > max(limit, _PSEUDO_FILE_SIZE):
            # A regular file says its size: a sparse file of 5 GB is refused before a byte is read.
            # Reading up to the bound first held the bound twice over in memory (the chunks and
            # their join): 550 MB to refuse an evidence file, exit 71 under a ulimit -v in which
            # any real evidence file is read.  A size can only refuse, never admit: /proc files say
            # 0 and a growing file may lie low, so the read below stays bounded whatever it said.
            raise FileTooLarge(errno.EFBIG, f"larger than {limit} bytes", os.fspath(path))
        chunks: list[bytes] = []
        remaining = limit + 1  # one byte more than allowed tells "too large" from "exactly the limit"
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileTooLarge(errno.EFBIG, f"larger than {limit} bytes", os.fspath(path))
    return data



# Linux's limits on what a path may be (NAME_MAX, PATH_MAX including its NUL), the same on every file
# system lbaudit reads or writes: a longer name is refused by the kernel (ENAMETOOLONG), and
# pathlib's exists()/is_dir() raise that instead of answering.
NAME_MAX = 255
PATH_MAX = 4096


def path_problem(text: str) -> str | None:
    """What makes ``text`` a path no file can have, in plain words, or None when it can name one.

    A path given on the command line, in the environment or in a configuration file is checked with
    this before anything opens it: the NUL character cannot be in a path, a name longer than the
    kernel allows is ENAMETOOLONG, and a path that is not UTF-8 (a byte that is no character, which
    Python carries as a lone surrogate) could be opened but not recorded: lbaudit writes the paths
    it read into its evidence, snapshots and history store, which are UTF-8 text."""
    if "\x00" in text:
        return "holds the NUL character, which no path can hold"
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"is not valid UTF-8 (at character {exc.start + 1}): lbaudit records the paths it reads as UTF-8 "
                "text; rename the file or give a link to it whose name is UTF-8")
    if len(encoded) >= PATH_MAX:
        return f"is {len(encoded)} bytes long, longer than a path can be ({PATH_MAX - 1} bytes)"
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        return (f"has a name of {len(longest)} bytes ({longest[:24].decode('utf-8', 'replace')}...), longer than a "
                f"file name can be ({NAME_MAX} bytes)")
    return None


def real_directory(path: str | os.PathLike[str]) -> str:
    """The path that names the directory ``path`` names: its real path (``realpath``) when that is
    the same directory, else ``path`` made absolute (lexically), when that is; raises OSError when
    neither is, or ``path`` cannot be looked at.

    The kernel follows a link of /proc (``/proc/PID/root``, ``/proc/PID/cwd``, ``/proc/self/fd/N``)
    to what it holds, not to the text ``readlink`` gives: for a process in another mount namespace
    that text is its own view (``/`` for a container that pivoted into its root), a directory of
    this host that is another one, or none at all."""
    given = os.fspath(path)
    real = os.path.realpath(given)
    absolute = os.path.abspath(given)
    if real == absolute:
        return real  # no link on the way: nothing that may name another directory
    directory = os.stat(given)
    if os.path.samestat(directory, os.stat(real)):
        return real
    if os.path.samestat(directory, os.stat(absolute)):
        return absolute
    raise OSError(errno.EXDEV, "neither its real path nor its absolute path names the directory it leads to "
                               "(a link of /proc followed by '..'?)", given)


def recorded_path(path: str | os.PathLike[str]) -> str:
    """The name a file or directory whose contents are facts (a snapshot file, a captured bundle)
    is recorded under in a snapshot's provenance, and so in the evidence: absolute, links resolved,
    whatever the working directory or the name it was given by (``snap.json``, ``../snap.json``,
    a link to it), so that one input gives one evidence file.  A byte of it that is not UTF-8 is
    written as its escape (``\\xff``), as a host's names are: the record is UTF-8 text."""
    return os.fsencode(os.path.realpath(path)).decode("utf-8", "backslashreplace")


def text_problem(text: str) -> str | None:
    """What makes ``text`` (a host name, an organisation, an assessor) unusable as a value, or None:
    the NUL character, or bytes that are not UTF-8 (Python carries them as lone surrogates), which
    no report, evidence or store can hold."""
    if "\x00" in text:
        return "holds the NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid UTF-8 (at character {exc.start + 1})"
    return None


def replaceable_by_others(path: str | os.PathLike[str]) -> str | None:
    """Why a user other than this one (or root) could replace the file at ``path``, and with it what
    lbaudit trusts it for (a configuration choosing the policy and key of a root scan, a public key
    choosing whose signatures verify), else None: another user owns it; every user may write it; its
    group may (unless the group is its owner's private one); or a directory above it, up to the
    root, of the name given or of the file a link leads to, or a symbolic link on the way
    (:func:`_links_on_the_way`), is another user's, or a directory is writable by every user, or by
    a group that is not its owner's private one, without the sticky bit (they may rename it away and
    put their own in its place; in /tmp, sticky, each user replaces only their own files).  As
    OpenSSH judges its own configuration and authorized keys.  A shared group was trusted before:
    a public key of mode 0664, or in a directory 0775 root:staff, was replaced by any member of
    staff, whose signatures then verified.  Raises OSError when ``path`` cannot be looked at.  None
    where files have no POSIX owners (Windows: the file system's ACLs decide)."""
    if not hasattr(os, "geteuid"):
        return None
    me = os.geteuid()
    info = os.stat(path)
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid not in (me, 0):
        return f"it is owned by uid {info.st_uid}; expected owned by this user (uid {me}) or root"
    fix = f"(chmod go-w {os.fspath(path)})"
    if mode & stat.S_IWOTH:
        return f"it is writable by every user (mode {mode:04o}); expected writable by its owner alone {fix}"
    if mode & stat.S_IWGRP and not _private_group(info.st_uid, info.st_gid):
        return f"it is writable by group {info.st_gid} (mode {mode:04o}); expected writable by its owner alone {fix}"
    for link, held in _links_on_the_way(os.fspath(path)):
        if held.st_uid not in (me, 0, info.st_uid):
            return (f"the symbolic link {link} on the way to it is owned by uid {held.st_uid}, who may point it at "
                    "another file; expected a link of this user or root (name the file itself)")
    named = os.path.abspath(path)
    for directory in dict.fromkeys((os.path.dirname(named), *_parents(os.path.dirname(named)),
                                    *_parents(os.path.realpath(path)))):
        held = os.stat(directory)
        held_mode = stat.S_IMODE(held.st_mode)
        if held.st_uid not in (me, 0, info.st_uid):
            return (f"its directory {directory} is owned by uid {held.st_uid}, who may replace the file; expected a "
                    "directory of this user or root")
        if held_mode & stat.S_IWOTH and not held_mode & stat.S_ISVTX:
            return (f"its directory {directory} is writable by every user (mode {held_mode:04o}) without the sticky "
                    f"bit, so anyone may replace the file; expected a directory only its owner may write "
                    f"(chmod o-w {directory}, or the sticky bit)")
        if held_mode & stat.S_IWGRP and not held_mode & stat.S_ISVTX and not _private_group(held.st_uid, held.st_gid):
            return (f"its directory {directory} is writable by group {held.st_gid} (mode {held_mode:04o}) without the "
                    f"sticky bit, so any member may replace the file; expected a directory only its owner may write "
                    f"(chmod g-w {directory}, or the sticky bit)")
    return None


# The most links the kernel follows resolving one path (Linux's MAXSYMLINKS).
_MAX_LINKS = 40


def _links_on_the_way(path: str) -> list[tuple[str, os.stat_result]]:
    """Each symbolic link met resolving ``path`` as the kernel resolves it (a link of a directory
    on the way, the last name, a link a link leads to), with its ``lstat``.  Whoever owns a link in
    a directory every user may write with the sticky bit (/tmp) may replace it, and so choose the
    file read: a link's owner is judged as a directory's is.  A link whose text leads nowhere
    walkable (a /proc/PID/fd link to a deleted file) ends the walk: ``os.stat`` of the path, which
    the caller made, found the file."""
    found: list[tuple[str, os.stat_result]] = []
    absolute = path if os.path.isabs(path) else os.path.join(os.getcwd(), path)
    pending = [part for part in reversed(absolute.split("/")) if part not in ("", ".")]
    resolved = "/"
    while pending:
        part = pending.pop()
        if part == "..":
            resolved = os.path.dirname(resolved)  # of the directory reached, not of the text (a link's ..)
            continue
        candidate = os.path.join(resolved, part)
        try:
            held = os.lstat(candidate)
        except OSError:
            return found
        if not stat.S_ISLNK(held.st_mode):
            resolved = candidate
            continue
        found.append((candidate, held))
        if len(found) > _MAX_LINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = "/"
        pending.extend(part for part in reversed(target.split("/")) if part not in ("", "."))
    return found


def _parents(path: str) -> list[str]:
    """``path``'s directories up to the root, nearest first (not ``path`` itself)."""
    found = []
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return found
        found.append(parent)
        path = parent


def _private_group(uid: int, gid: int) -> bool:
    """Whether ``gid`` is the user private group of ``uid`` (its primary group, of its name, with no
    other member), so that group-write is the owner's alone (a umask of 002 writes files so)."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return user.pw_gid == gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}
