"""Whether a ``/proc`` lists every process of the host, or only part of them.

Collectors that find things through processes (network namespaces by ``/proc/PID/ns/net``, the
holders of a socket by ``/proc/PID/fd``) can only vouch for what they found when the listing is
whole.  A process that is listed but unreadable is seen as such (EACCES); these two views hide
processes without any error:

* a ``/proc`` of a PID namespace other than the host's (a container without the host's PID
  namespace, ``unshare --pid --mount-proc``) lists the processes of that namespace only.  The
  kernel gives the initial PID namespace a fixed inode number (``PROC_PID_INIT_INO``), so the
  namespace of ``/proc/self`` tells;
* ``hidepid=2`` (``invisible``) or ``hidepid=4`` (``ptraceable``) leaves out the processes of other
  users, except for a member of the mount's ``gid=`` group or a caller that may ptrace them (root
  with CAP_SYS_PTRACE in the initial user namespace).  ``hidepid=1`` (``noaccess``) lists them and
  refuses their directories: that is the unreadable case, already seen.
"""

from __future__ import annotations

import errno
import os

from auditor.safeio import read_regular

PROC_PID_INIT_INO = 0xEFFFFFFC  # include/linux/proc_ns.h: the initial PID namespace's inode
PROC_USER_INIT_INO = 0xEFFFFFFD  # the initial user namespace's
CAP_SYS_PTRACE = 19
MOUNTINFO_LIMIT = 16 * 1024 * 1024
STATUS_LIMIT = 64 * 1024
HIDING = {"2": "invisible", "invisible": "invisible", "4": "ptraceable", "ptraceable": "ptraceable"}


# What descriptor_target gives for a descriptor of a file whose path the kernel cannot write.
PATH_TOO_LONG = "(a path longer than PATH_MAX)"


def descriptor_target(name: str, dir_fd: int | None = None) -> str:
    """The text of the descriptor link ``name`` (``/proc/PID/fd/N``, or ``N`` relative to the table
    open at ``dir_fd``), as ``readlink`` gives it, and :data:`PATH_TOO_LONG` for a file whose path
    is longer than the kernel writes into a link (PATH_MAX): ``readlink`` then fails with
    ENAMETOOLONG although the table is readable.  Such a descriptor is a file or directory, never a
    socket (``socket:[N]``) or a namespace (``net:[N]``), which is all a collector looks for: any
    user could hold one (a directory 30 levels of 200-character names deep), and it made the
    process's whole table "could not be read", its listeners "owner unknown" and the run
    incomplete.  Every other error is raised as it is (the table is not readable, or the descriptor
    was closed)."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return PATH_TOO_LONG
        raise


NS_GET_USERNS = 0xB701  # _IO(0xb7, 0x1): the user namespace that owns a namespace, Linux 4.9


def owning_user_namespace(fd: int) -> int:
    """The inode of the user namespace that owns the namespace open at ``fd`` (OSError when the
    kernel does not say).  Compared with PROC_USER_INIT_INO it tells whether the host's root made
    the namespace, or any user (``unshare --user``) could have."""
    import fcntl  # here: only the namespace and executable checks ask it

    owner = fcntl.ioctl(fd, NS_GET_USERNS)
    try:
        return os.fstat(owner).st_ino
    finally:
        os.close(owner)


def proc_mount_options(mountinfo: str, point: str) -> list[str] | None:
    """The super options of the procfs mounted last at ``point`` in a mountinfo text (pure); None
    when no procfs is mounted there."""
    found = None
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if sep and len(fields) >= 5 and len(rest) >= 3 and rest[0] == "proc" and fields[4] == point:
            found = rest[2].split(",")
    return found


def proc_mount_options_of(proc: str) -> list[str] | None:
    """The super options of the procfs at ``proc`` in this process's mount namespace; None when
    they cannot be read or no procfs is mounted there."""
    try:
        mountinfo = read_regular(f"{proc}/self/mountinfo", MOUNTINFO_LIMIT).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    return proc_mount_options(mountinfo, os.path.realpath(proc))


def _may_ptrace_everyone(proc: str) -> bool:
    """Root with CAP_SYS_PTRACE effective in the initial user namespace passes every ptrace check."""
    try:
        if os.stat(f"{proc}/self/ns/user").st_ino != PROC_USER_INIT_INO:
            return False
        status = read_regular(f"{proc}/self/status", STATUS_LIMIT).decode("ascii", "replace")
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            try:
                return bool(int(line.split()[1], 16) >> CAP_SYS_PTRACE & 1)
            except (IndexError, ValueError):
                return False
    return False


def unlisted_processes(proc: str) -> str | None:
    """Why ``proc`` may not list every process of the host, or None when it lists them all."""
    reasons = []
    try:
        pid_ns = os.stat(f"{proc}/self/ns/pid").st_ino
    except OSError as exc:
        reasons.append(f"{proc}/self/ns/pid: {exc.strerror or exc}: whether {proc} lists the host's processes "
                       "is unknown")
    else:
        if pid_ns != PROC_PID_INIT_INO:
            reasons.append(f"{proc} lists the processes of PID namespace pid:[{pid_ns}] only, not the host's "
                           "(a container or unshare --pid): processes outside it are not seen")
    try:
        mountinfo = read_regular(f"{proc}/self/mountinfo", MOUNTINFO_LIMIT).decode("utf-8", "surrogateescape")
        options = proc_mount_options(mountinfo, os.path.realpath(proc))
    except OSError as exc:
        reasons.append(f"{proc}/self/mountinfo: {exc.strerror or exc}: whether {proc} hides processes "
                       "(hidepid) is unknown")
        options = None
    for option in options or []:
        name, _, value = option.partition("=")
        if name != "hidepid" or value not in HIDING:
            continue
        allowed_group = {other[4:] for other in options or [] if other.startswith("gid=")}
        exempt = bool(allowed_group & {str(g) for g in (os.getegid(), *os.getgroups())}) or _may_ptrace_everyone(proc)
        if not exempt:
            reasons.append(f"{proc} is mounted with hidepid={HIDING[value]}: processes of other users "
                           "are not listed")
    return "; ".join(reasons) or None
