"""Every network namespace of the host, and the listeners, counts and sysctls inside each.

Discovery is the union of three sources, deduplicated by (device, inode) of the nsfs file:

* ``/proc/PID/ns/net`` of every process, and ``/proc/PID/task/TID/ns/net`` of each of its other
  threads (setns and unshare move one thread: a thread may be alone in a namespace);
* ``/run/netns/NAME`` (``ip netns`` names; such a namespace may hold no process at all);
* nsfs mounts in ``/proc/self/mountinfo`` (container runtimes' sandbox keys, such as
  ``/run/docker/netns/<id>``), kept when ``NS_GET_NSTYPE`` says they are network namespaces, and
  those of every other mount namespace (``/proc/PID/mountinfo`` of a process in it, opened through
  ``/proc/PID/root``): a namespace ``ip netns add`` binds in a private mount namespace is there only
  (its name and bound path are kept only from a mount namespace of the initial user namespace),
  and those of every mount namespace no process is in but a bind mount of its namespace file or a
  descriptor holds (entered by a forked child, :func:`_held_mount_namespaces`), in turn;
* what processes hold open: a descriptor of a namespace file (``/proc/PID/fd/N`` -> ``net:[I]``,
  kept after the process that was in the namespace exited), and a socket, which holds the
  namespace it was made in whatever namespace its holder is in (made there before a setns back,
  or passed out with SCM_RIGHTS by a process of the namespace that then exited).  Every socket
  no dump of the collector's own namespace places, of whatever family (a netlink socket may be all
  that keeps a namespace whose listener is the kernel's), is asked for its namespace (a copy of the
  descriptor by ``pidfd_getfd``, Linux 5.6, then ``SIOCGSKNS``); one that cannot be asked is a gap.
  A tun/tap descriptor (``/dev/net/tun``, or another node of the tun device under ``/dev``) holds
  the namespace its device is in, asked the same way (``TUNGETDEVNETNS``, Linux 5.2), and the one
  it was opened in (``SIOCGSKNS``); one that cannot be asked is a gap too.

A network namespace bound in a mount namespace no process is in (kept by a bind mount of its
namespace file or a descriptor) is found by entering that mount namespace in a forked child
(:func:`_held_mount_namespaces`).  One an nsfs mount binds where a later mount covers the mount
point, and one only an open ``/proc/PID/net`` file holds, cannot be opened: each is a discovery
gap (:func:`unreached_bound_gaps`, :func:`proc_net_file_gaps`).

A namespace held by none of these (a socket in flight in a unix socket's queue, a socket only a
memory mapping holds) is not found; when the collector's namespace gives it an id (a veth
into it, a device moved there) or a veth of a namespace read leads into it, that id matches no
namespace found, and that is a discovery gap (:func:`unfound_peer_gaps`).

A namespace other than the collector's own is entered by a forked child: the parent opens one file
descriptor per namespace, forks once, and the child ``setns(2)``s into each in turn (``os.setns``
on Python 3.12+, libc's through ctypes before), runs the same sock_diag dump and counter reads as
the ``sockets`` section, reads the namespace's own network sysctls and asks rtnetlink for its
interfaces, and writes one JSON line per namespace to a pipe.  The parent never calls setns: its
own namespace, and so every other section, stays the caller's.  Socket owners are found in the
parent by one scan of ``/proc/PID/fd`` (socket inodes are global), and workloads from
``/proc/PID/cgroup``.

What cannot be seen is a gap: processes whose namespace could not be read (a run without
privileges), processes a ``/proc`` does not list at all (another PID namespace's ``/proc``,
``hidepid=2``: :mod:`auditor.collect.procview`), a namespace that could not be opened or entered (setns needs CAP_SYS_ADMIN), a dump
that failed inside one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import signal
import socket
import stat
import time
from dataclasses import field
from typing import Any

from auditor import fdwait
from auditor.collect import CollectContext, netlink, rtnetlink, sk_lookup
from auditor.collect.containers import EngineView, read_engines
from auditor.collect.fdmounts import CLOSED, Mount, MountJudge
from auditor.collect.fdtables import FdTable, kept_table, kept_tables, read_table, same_fs
from auditor.collect.nat import (
    ListedOnce,
    dedupe,
    read_ingress_redirects,
    read_loopback_drops,
    read_nat,
    read_tproxy,
)
from auditor.collect.procview import PROC_USER_INIT_INO, owning_user_namespace, unlisted_processes
from auditor.collect.sockets import (
    CORE,
    ESTABLISHED_KEY,
    METHOD_NETLINK,
    OPTIONAL,
    TRANSPARENT_UNREPORTED,
    OptionalRead,
    _absent_or_unreadable,
    _v6only_gaps,
    attribute_owners,
    count_states,
    kernel_protocols,
    links_to_socket,
    listeners_from_rows,
    read_established,
    read_listener_rows,
    read_optional_netlink,
    read_optional_proc_net,
    read_sockets_netlink,
    read_sockets_proc_net,
    read_time_wait,
    steering_gaps,
    transparent_gaps,
    transparent_unshown,
)
from auditor.collect.sysctl import SYSCTL_KEYS, read_runtime_sysctls
from auditor.domain.netaddr import TPROXY_PROTOCOLS
from auditor.model.facts import (
    Gap,
    GapKind,
    Listener,
    NamespaceFacts,
    NetInterface,
    NetNamespace,
    SocketCounts,
    Workload,
)
from auditor.model.records import mutable_record
from auditor.patterns import first_use
from auditor.resource_limits import process_not_started
from auditor.safeio import kind_of, read_regular

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
NS_GET_NSTYPE = 0xB703  # _IO(0xb7, 0x3), Linux 4.11+
RUN_NETNS = "/run/netns"
MOUNTINFO_LIMIT = 16 * 1024 * 1024
CGROUP_LIMIT = 64 * 1024
# The per-namespace sysctls: those of the sysctl section that the kernel keeps per namespace.
NETNS_SYSCTL_KEYS = tuple(key for key in SYSCTL_KEYS if key.startswith("net."))
METHOD = ("/proc/PID/ns/net, /run/netns and nsfs mounts; each other namespace entered by a forked child "
          "(setns): netlink sock_diag, /proc/net counters, /proc/sys/net and rtnetlink inside it; TPROXY rules of "
          "each from nft -j list ruleset and iptables-save run inside it, where a listener's IP_TRANSPARENT is "
          "unknown")

# A container's id in a cgroup path: Docker (/docker/<id>, docker-<id>.scope), Podman
# (libpod-<id>.scope) and the CRI runtimes under kubepods (cri-containerd-<id>, crio-<id>).
_CONTAINER_ID = re.compile(r"(?:^|[/-])(docker|libpod|cri-containerd|crio)[/-]([0-9a-f]{64})(?:\.scope)?(?:/|$)")


@mutable_record
class Found:
    """One namespace while it is being discovered."""

    device: int
    inode: int
    names: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    pids: set[int] = field(default_factory=set)
    open_paths: list[str] = field(default_factory=list)  # where it can be opened, best first
    # A descriptor of it this process holds (found through a socket: no path opens it); the
    # collector closes it.  None: it is opened by one of open_paths.
    fd: int | None = None


# ---------------------------------------------------------------- discovery

def open_namespace(path: str) -> int:
    """A file descriptor of the namespace file at ``path``, opened without blocking.  An nsfs file
    is a regular file to stat(2); anything else (a FIFO, whose open waits for a writer forever; a
    device, whose open does what its driver does; a directory) is refused before it is opened, and
    the open itself does not wait (O_NONBLOCK) in case the entry was replaced meanwhile."""
    if not stat.S_ISREG(mode := os.stat(path).st_mode):
        raise OSError(errno.EINVAL, f"{kind_of(mode)}, not a namespace file")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "replaced while it was opened, not a namespace file")
    return fd


def _namespace_type(path: str) -> int:
    """The CLONE_NEW* type of the namespace file at ``path`` (OSError: not a namespace file)."""
    fd = open_namespace(path)
    try:
        return fcntl.ioctl(fd, NS_GET_NSTYPE)
    finally:
        os.close(fd)


def _is_net_namespace(path: str) -> bool:
    return _namespace_type(path) == CLONE_NEWNET


# setns(2): the namespace types NS_GET_NSTYPE answers, to name what is where a network one was expected
NAMESPACE_TYPES = {0x00020000: "mount", 0x04000000: "uts", 0x08000000: "ipc", 0x10000000: "user",
                   0x20000000: "pid", 0x02000000: "cgroup", 0x00000080: "time", CLONE_NEWNET: "network"}


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def nsfs_mounts(mountinfo: str) -> list[tuple[str, str]]:
    """(mount point, root) of the nsfs mounts in a /proc/PID/mountinfo text (pure).  The root of an
    nsfs mount names the namespace it binds, ``net:[4026531840]``: what is bound there even where
    the mount point no longer reaches it (:func:`bound_namespace`)."""
    mounts = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if sep and len(fields) >= 5 and tail.split()[:1] == ["nsfs"]:
            mounts.append((_unescape(fields[4]), _unescape(fields[3])))
    return mounts


def nsfs_mount_points(mountinfo: str) -> list[str]:
    """Mount points of nsfs mounts in a /proc/PID/mountinfo text (pure)."""
    return [point for point, _root in nsfs_mounts(mountinfo)]


_NSFS_ROOT = re.compile(r"(net|mnt):\[([0-9]+)\]")


def bound_namespace(root: str) -> tuple[str, int] | None:
    """("net" or "mnt", inode) of the namespace an nsfs mount of that root binds; None for another
    type, or a kernel that shows no root (before Linux 4.9: "/")."""
    match = _NSFS_ROOT.fullmatch(root)
    return None if match is None else (match.group(1), int(match.group(2)))


def _add_threads(proc: str, pid: int, add: Any, denied: list[int], held_mounts: dict[int, str] | None = None) -> None:
    """The network namespaces of ``pid``'s other threads: setns(2) and unshare(2) move one thread,
    so a thread may be alone in a namespace that ``/proc/PID/ns/net`` (the leader's) does not show.
    So may its mount namespace (unshare(CLONE_NEWNS) unshares the thread's fs with it), and a
    network namespace bound only there is found through it: each is put in ``held_mounts``
    (:func:`_held_mount_namespaces`, which skips those a process's mountinfo was read for)."""
    try:
        tids = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return  # exited meanwhile; a task list the leader's namespace could be read without is not refused
    for tid in tids:
        if tid == str(pid) or not (tid.isascii() and tid.isdigit()):
            continue
        try:
            add(f"{proc}/{pid}/task/{tid}/ns/net", pid=pid)
            # a thread sharing its leader's fs shares its mount namespace: one system call, not a
            # walk of /proc (which on a host of thousands of threads cost a quarter of discovery)
            if held_mounts is not None and same_fs(pid, int(tid)) is not True:
                path = f"{proc}/{pid}/task/{tid}/ns/mnt"
                held_mounts.setdefault(os.stat(path).st_ino, path)
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                denied.append(pid)
                return


SIOCGSKNS = 0x894C  # a socket's network namespace, as a new descriptor (Linux 4.9)
TUNGETDEVNETNS = 0x54E3  # _IO('T', 227): a tun/tap device's network namespace, as a descriptor (Linux 5.2)
TUN_DEVICE = "/dev/net/tun"
SYS_PIDFD_GETFD = 438  # pidfd_getfd(2), Linux 5.6: one number on every architecture but alpha
# The tun/tap clone device, /dev/net/tun: misc character device 10, minor TUN_MINOR (200).
TUN_RDEV = os.makedev(10, 200)


def _is_tun(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == TUN_RDEV


# A link under /dev/ other than the character devices nearly every process holds (which the tun
# device is not, on any host but one whose root made a node of it there: a limit the README
# states), one a line of a table's links joined: what may be a node of the tun device.
_UNCOMMON_DEVICE = re.compile(r"^(/dev/(?!(?:null|zero|u?random|full|ptmx|console|kmsg|tty[A-Za-z]*[0-9]*|pts/[0-9]+)$).*)$",
                              re.MULTILINE)


def _opens_tun(link: str, target: str, following: "Following") -> bool:
    """Whether the descriptor at ``link`` (``/proc/PID/fd/N``, whose link text is ``target``) is of
    the tun device; False once it is closed.  Its file is asked only when its mount says the kernel
    answers for it (:mod:`auditor.collect.fdmounts`): a node on a FUSE or NFS file system may be a
    node of the tun device, and a stat of it may wait for ever on the server; it is put in
    ``following.unjudged_tuns``, a gap (:func:`discover`), and not followed."""
    mount = following.judge.mount_of(link)
    if mount == CLOSED:
        return False
    if not isinstance(mount, Mount) or not mount.answered_in_kernel:
        following.unjudged_tuns.append(f"{link} ({target}) {_unfollowed(mount)}")
        return False
    try:
        return _is_tun(os.stat(link))
    except OSError:
        return False


def _unfollowed(mount: Mount | str) -> str:
    if isinstance(mount, Mount):
        return (f"is of a {mount.fstype} file system (mounted on {mount.point}), whose stat(2) may wait for ever "
                "on its server: not followed")
    return f"is on a mount not known: {mount}"


@mutable_record
class Following:
    """What discovery needs to follow other processes' descriptors without waiting on their file
    systems, and the descriptors it could not judge so (:mod:`auditor.collect.fdmounts`)."""

    judge: MountJudge
    unjudged_tuns: list[str] = field(default_factory=list)
    unjudged_proc_net: list[str] = field(default_factory=list)


def _descriptors(proc: str, pid: int, add: Any, holding: list[tuple[int, FdTable]],
                 refused: list[int], tables: dict[int, FdTable | None],
                 tuns: list[tuple[int, int, int | None, str]] | None = None,
                 held_mounts: dict[int, str] | None = None,
                 proc_net_files: list[tuple[int, str, str]] | None = None,
                 following: Following | None = None) -> None:
    """What ``pid`` holds open that may be all that keeps a network namespace alive: a namespace
    file (added at once) and sockets (its table put in ``holding``, for :func:`_held_sockets` once
    the sockets a dump places are known).  A table that cannot be read puts ``pid`` in ``refused``.

    ``tables``: those this collection's owner scan read already (issue 16: each descriptor is read
    once a run); a process not among them is read now.  A namespace file's link is followed only
    while it still names the namespace it named when read (a descriptor closed and its number
    reused meanwhile is closed, as when the link is gone)."""
    table = kept_table(tables, proc, pid)
    if table is None:  # not read by the scan, gone then, or read from another process that had its pid
        table = read_table(proc, pid)
    if table is None:
        return  # exited meanwhile
    for part in table.parts():  # its own table, a thread's own, an io_uring's registered files
        _part_descriptors(pid, part, add, holding, refused, tuns, held_mounts, proc_net_files, following)


def _part_descriptors(pid: int, table: FdTable, add: Any, holding: list[tuple[int, FdTable]],
                      refused: list[int], tuns: list[tuple[int, int, int | None, str]] | None = None,
                      held_mounts: dict[int, str] | None = None,
                      proc_net_files: list[tuple[int, str, str]] | None = None,
                      following: Following | None = None) -> None:
    """:func:`_descriptors` of one of the tables of ``pid``; its tun descriptors put in ``tuns``
    as (pid, thread of its own table or 0, fd), the mount namespaces it holds a descriptor of
    in ``held_mounts`` (inode -> that descriptor's /proc path: a mount namespace no process is in
    may bind network namespaces, :func:`_held_mount_namespaces`), and what may be a /proc net
    file in ``proc_net_files`` as (pid, its /proc path, its link: :func:`proc_net_file_gaps`)."""
    # Looked for in the links joined, at C speed, not descriptor by descriptor (that loop was most
    # of discovery's own cost with 20,000 of them): a path that merely contains the text only
    # sends the table through the exact loop below.
    joined = "\n".join(table.targets)
    if "net:[" in joined:
        for index, (fd, target) in enumerate(zip(table.fds, table.targets)):
            if target[:5] != "net:[":
                continue
            if not table.ring:  # a namespace file only a ring holds has no path to open it by
                try:
                    add(f"{table.fd_dir}/{fd}", linked=target)  # stat follows the link to the namespace file
                    continue
                except FileNotFoundError:
                    continue  # closed meanwhile
                except OSError:
                    pass
            refused.append(pid)
            # the sockets before it were seen, as before; those after it are not
            holding.append((pid, FdTable(table.fd_dir, table.fds[:index], table.targets[:index],
                                         tid=table.tid, ring=table.ring)))
            return
    if "/net/" in joined and proc_net_files is not None and not table.ring:
        proc_net_files += [(pid, f"{table.fd_dir}/{fd}", target) for fd, target in zip(table.fds, table.targets)
                           if _PROC_NET_FILE().search(target)]
    if "mnt:[" in joined and held_mounts is not None:
        for fd, target in zip(table.fds, table.targets):
            inode = target[5:-1] if target[:5] == "mnt:[" and target[-1:] == "]" else ""
            if not (inode.isascii() and inode.isdigit()):
                continue
            if table.ring:  # a mount namespace only a ring holds has no path to open it by
                refused.append(pid)
                break
            held_mounts.setdefault(int(inode), f"{table.fd_dir}/{fd}")
    if "socket:[" in joined:
        holding.append((pid, table))
    if tuns is not None and "/dev/" in joined and (devices := set(_UNCOMMON_DEVICE.findall(joined))):
        following = following if following is not None else Following(MountJudge())
        # A tun descriptor is the tun device's, whatever node opened it: another node of it under
        # /dev (a container runtime's --device /dev/net/tun:/dev/vpn, a node made there and
        # removed, "/dev/vpn (deleted)") holds a namespace the same way, so such a file is asked
        # for its device numbers (/dev/net/tun itself, and the character devices every process
        # holds, /dev/null and terminals, need no question: found in the joined links at C speed,
        # so a table of those alone is not looped over).  A ring's slot cannot be copied nor
        # asked: one named /dev/net/tun is put in with no descriptor, and said to be a gap.
        tuns += [(pid, table.tid, None if table.ring else int(fd), f"{table.fd_dir}/{fd}")
                 for fd, target in zip(table.fds, table.targets)
                 if target in devices and fd.isascii() and fd.isdigit()
                 and (_opens_tun(f"{table.fd_dir}/{fd}", target, following) if not table.ring
                      else target == TUN_DEVICE)]
    if table.refused:
        refused.append(pid)


# The link of a descriptor of a file under /proc/PID/net (or a thread's), wherever that /proc is
# mounted: its name under net/ is the group.  Whether it is of a /proc is asked of the file.
_PROC_NET_FILE = first_use(r"/[0-9]+/(?:task/[0-9]+/)?net/([^/].*)$")


# A socket's inode in a link text: found in a table's links joined by newlines, at C speed.  Every
# socket link matches (its text is the whole line); a path that merely contains such text gives a
# number no socket link of the table has, which the exact comparison below drops.
_SOCKET_LINK = re.compile(r"socket:\[([0-9]+)\]")


def _held_sockets(holding: list[tuple[int, FdTable]], placed: set[int], only: set[int] | None = None,
                  tried: set[str] | frozenset[str] = frozenset()) -> dict[int, tuple[int, int, int | None, str]]:
    """The sockets of ``holding`` (in pid order) that no dump placed: inode -> (pid, thread of its
    own table or 0, fd or None for a slot of an io_uring's registered files, /proc link) of its
    first holder.  Each table's socket inodes are taken out of its links at C speed
    and the placed ones set aside, so that a descriptor is looked at one by one only in a table
    that holds a socket left to ask (issue 16: the loop over every descriptor was most of
    discovery's own cost with 20,000 of them).

    ``only``: just these sockets; ``tried``: the /proc links of holders already asked, which no
    longer held their socket (its next holder is then the first)."""
    sockets: dict[int, tuple[int, int, int | None, str]] = {}
    by_descriptor: set[int] = set()  # those with a holder to copy them from (not only a ring slot)
    for pid, table in holding:
        unplaced = set(map(int, _SOCKET_LINK.findall("\n".join(table.targets)))).difference(placed, by_descriptor)
        if only is not None:
            unplaced &= only
        if not unplaced:
            continue
        links = {f"socket:[{inode}]": inode for inode in unplaced}  # the text sockfs_dname writes
        for fd, target in zip(table.fds, table.targets):
            inode = links.get(target)
            if inode is None or inode in by_descriptor or not (fd.isascii() and fd.isdigit()) \
                    or f"{table.fd_dir}/{fd}" in tried:
                continue
            if table.ring:  # kept only if no descriptor of it turns up: a slot cannot be copied
                sockets.setdefault(inode, (pid, table.tid, None, f"{table.fd_dir}/{fd}"))
                continue
            sockets[inode] = (pid, table.tid, int(fd), f"{table.fd_dir}/{fd}")
            by_descriptor.add(inode)
    return sockets


def _protocol_name(link: str) -> str | None:
    """The protocol of the socket at ``link`` as the kernel names it (``TCP``, ``AF_VSOCK``); ""
    when the kernel does not say, None when the socket is gone."""
    try:
        return os.getxattr(link, "system.sockprotoname").rstrip(b"\0").decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""


# AF_VSOCK, a virtual machine's sockets to its hypervisor: no sock_diag dump lists them without the
# vsock_diag module, so discovery, which asks every socket no dump placed for its protocol anyway,
# looks at each for a listener (lbaudit judges IP listeners; a vsock one is a gap, never silence).
VSOCK_PROTOCOL_NAME = "AF_VSOCK"
VMADDR_CIDS = {0xFFFFFFFF: "any", 0: "hypervisor (0)", 1: "local (1)", 2: "host (2)"}


def vsock_listener_gap(listeners: list[str]) -> Gap:
    """The gap on the listener list that says which vsock listeners there are and why they are not judged."""
    return Gap(section="sockets", path=("listeners", "vsock"),
               reason=f"{'; '.join(listeners[:5])}{f' and {len(listeners) - 5} more' if len(listeners) > 5 else ''}: "
                      "lbaudit judges IP listeners only, and a vsock listener accepts connections from the "
                      "hypervisor's side (and, through it, other machines) whatever this host's network and "
                      "firewall say")


# AF_XDP: a socket bound to an interface's receive queue gets the frames an XDP program of that
# interface redirects to it before the kernel's stack sees them, so a userspace TCP/IP stack on it
# serves whatever it likes, whatever the kernel's sockets, routes and firewall say.  No dump lists
# it; discovery names each (its protocol is asked anyway): a gap, never silence.
XDP_PROTOCOL_NAME = "XDP"


def xdp_socket_gap(sockets: list[str]) -> Gap:
    """The gap on the listener list that names the AF_XDP sockets and why they are not judged."""
    return Gap(section="sockets", path=("listeners", "xdp"),
               reason=f"{'; '.join(sockets[:5])}{f' and {len(sockets) - 5} more' if len(sockets) > 5 else ''}: "
                      "an AF_XDP socket bound to an interface queue receives the frames an XDP program redirects "
                      "to it before the kernel's network stack, so a userspace network stack on it may serve any "
                      "address whatever this host's sockets and firewall say; lbaudit judges the kernel's IP "
                      "listeners only")


def _vsock_listener(copy: int, pid: int) -> str | None:
    """What the vsock socket ``copy`` (a descriptor of it, closed here) listens on, None when it
    does not listen, or why it could not be asked (a gap too: it may listen)."""
    try:
        held = socket.socket(fileno=copy)
    except OSError as exc:
        os.close(copy)
        return f"a vsock socket of pid {pid}, which may listen, could not be asked ({exc.strerror or exc})"
    try:
        if not held.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return None
        cid, port = held.getsockname()
    except (OSError, ValueError, TypeError) as exc:
        return f"a vsock socket of pid {pid}, which may listen, could not be asked ({exc})"
    finally:
        held.close()
    return f"vsock listener on CID {VMADDR_CIDS.get(cid, str(cid))}, port {port}, held by pid {pid}"


# What a dump of the collector's own namespace places there without a question a socket: TCP and
# UDP of both families, every state but TIME_WAIT (a socket in it has no descriptor, and skipping it
# is the kernel's) and bound-only TCP (TCP_BOUND_INACTIVE, 13, on kernels that dump it).
PLACED_STATES = netlink.STATES_WITHOUT_TIME_WAIT | 1 << 13
# (family, IPPROTO_*, its line in /proc/net/protocols)
PLACED_TRANSPORTS = tuple((family, transport.number, name) for transport in CORE
                          for family, name in zip((socket.AF_INET, socket.AF_INET6), transport.kernel_names))


PROC_NET_TABLE_LIMIT = 64 * 1024 * 1024


def proc_net_inodes(path: str) -> set[int]:
    """The inodes of the sockets a /proc/net table that ends each line with one (``netlink``,
    ``packet``) lists; none when it cannot be read (its sockets are then asked)."""
    try:
        text = read_regular(path, PROC_NET_TABLE_LIMIT).decode("ascii", "replace")
    except OSError:
        return set()
    inodes = set()
    for line in text.splitlines()[1:]:
        last = line.rsplit(None, 1)[-1:]
        if last and last[0].isascii() and last[0].isdigit():
            inodes.add(int(last[0]))
    return inodes


def placed_here(found: dict[tuple[int, int], Found], timeout: float) -> set[int]:
    """The inodes of the sockets whose namespace needs no question: every TCP and UDP socket of the
    collector's own network namespace (when that namespace is in ``found``), by a sock_diag dump
    of each that asks for nothing but each socket's head, its unix sockets, and its netlink and
    packet sockets (from /proc/net/netlink and /proc/net/packet).

    Socket inodes are unique among live sockets, so one of these is the socket the descriptor
    scan saw (a socket it saw that closed before the dump is not here, and is asked, to no
    answer; one made after the scan was not seen by it).  A dump that fails places nothing: its
    sockets are asked, as before."""
    try:
        st = os.stat("/proc/thread-self/ns/net")  # where a netlink socket made here dumps from
    except OSError:
        return set()
    placed: set[int] = set()
    if (st.st_dev, st.st_ino) in found:
        # A dump walks the whole connection table whatever the family asked for (an IPv6 dump of a
        # host of 10,000 IPv4 connections: 7 ms of the kernel's, to find none).  The kernel counts
        # each protocol's hashed sockets here; where it counts none, that dump is not made.  A
        # socket it does not count (bound only) is then asked, never assumed.
        try:
            in_use = kernel_protocols("/proc/thread-self")
        except (OSError, ValueError):
            in_use = {}  # every dump is made
        for family, protocol, name in PLACED_TRANSPORTS:
            if in_use.get(name, -1) == 0:
                continue
            try:
                placed.update(netlink.dump_inodes(family, protocol, PLACED_STATES, timeout))
            except OSError:
                continue
        try:
            placed.update(netlink.dump_inodes(socket.AF_UNIX, timeout=timeout))
        except OSError:
            pass
        # netlink and packet sockets (every daemon that watches links or routes holds some): their
        # /proc/net tables list their inodes with no diag module (netlink_diag is often not built)
        for table in ("netlink", "packet"):
            placed.update(proc_net_inodes(f"/proc/thread-self/net/{table}"))
    placed.discard(0)  # kernel-held and orphaned sockets
    return placed


def _threads_of_leaderless(pid: int) -> list[int]:
    """The other threads of process ``pid`` when its main thread has ended (pthread_exit; the
    leader a zombie): they hold every descriptor, which ``/proc/PID/fd`` and a pidfd of the process
    no longer reach.  [] when the main thread runs (a descriptor not reached was closed) or the
    process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            if stat_file.read(4096).rpartition(b")")[2].split()[:1] != [b"Z"]:
                return []
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if tid.isdigit() and int(tid) != pid]
    except OSError:
        return []


def _through_a_thread(libc: Any, pid: int, fd: int) -> int:
    """A copy of descriptor ``fd`` of process ``pid`` taken through another of its threads, for a
    process whose main thread ended after its table was read (:func:`_threads_of_leaderless`): a
    pidfd of the process then reaches the exited leader, which holds no descriptor (pidfd_getfd:
    ESRCH, or EBADF).  -1 when no thread gives one (each thread's pidfd is PIDFD_THREAD, Linux
    6.9).  The caller checks it is the file it asked for (a thread with a table of its own may hold
    another file at that number)."""
    for tid in _threads_of_leaderless(pid):
        try:
            pidfd = os.pidfd_open(tid, os.O_EXCL)
        except OSError:
            continue
        try:
            copy = int(libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0))
        finally:
            os.close(pidfd)
        if copy >= 0:
            return copy
    return -1


def _named_through_a_thread(pid: int, fd: int, inode: int, link: str) -> tuple[str, str | None]:
    """The link of socket ``inode`` at descriptor ``fd`` of a process whose main thread ended after
    its table was read, through a thread that holds it, and its protocol; (``link``, None) when
    none does (it was closed)."""
    for tid in _threads_of_leaderless(pid):
        through = f"/proc/{pid}/task/{tid}/fd/{fd}"
        if links_to_socket(through, inode):
            return through, _protocol_name(through)
    return link, None


def _getfd(libc: Any, pidfd: int, fd: int, pid: int) -> int:
    """pidfd_getfd(2) of descriptor ``fd`` of the process (or thread) of ``pidfd``, asked again
    through the other threads of ``pid`` (when it is ``pidfd``'s process) whose main thread ended;
    -1 with errno as the first refusal left it, otherwise."""
    import ctypes  # here: only a host with descriptors to copy needs it (for its errno)

    copy = int(libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0))
    if copy < 0 and pid and (code := ctypes.get_errno()) in (errno.EBADF, errno.ESRCH):
        copy = _through_a_thread(libc, pid, fd)
        if copy < 0:
            ctypes.set_errno(code)
    return copy


def _copy_of(libc: Any, pidfd: int, fd: int, link: str, inode: int, pid: int = 0) -> int | str | None:
    """A descriptor of socket ``inode``, copied from descriptor ``fd`` of the process (or thread)
    of ``pidfd``; None when it exited or closed the socket meanwhile; why not, otherwise.  ``pid``:
    the process, when ``pidfd`` is its own (not a thread's): one whose main thread ended meanwhile
    is asked through its other threads."""
    import ctypes  # here: only a host with sockets to ask needs it (for its errno)

    copy = _getfd(libc, pidfd, fd, pid)
    if copy >= 0:
        if os.fstat(copy).st_ino != inode:  # the descriptor closed and its number reused: not the socket
            os.close(copy)
            return None
        return int(copy)
    code = ctypes.get_errno()
    if code == errno.ESRCH or (code == errno.EBADF and not links_to_socket(link, inode)):
        return None
    return f"pidfd_getfd: {os.strerror(code)}"


def _socket_namespaces(holding: list[tuple[int, FdTable]], found: dict[tuple[int, int], Found],
                       timeout: float = 10.0) -> tuple[list[str], list[str], list[str]]:
    """Add the namespace of each socket the tables of ``holding`` hold not yet in ``found``, through
    a descriptor of it (no path opens a namespace only a socket holds).  Returns why some could
    not be asked, the vsock listeners among those sockets (:func:`vsock_listener_gap`) and the
    AF_XDP sockets (:func:`xdp_socket_gap`).

    A socket a dump places (:func:`placed_here`) is not asked: a host's thousands of connections
    are in its own namespace, and asking each was 17 us a socket.  A socket is asked through its
    first holder; one that no longer holds it (closed, exited: its table was read a moment before)
    hands the question to the next, so a socket another process still holds is not taken for gone."""
    libc = _libc()
    unasked: dict[str, list[str]] = {}
    vsock_listeners: list[str] = []
    xdp_sockets: list[str] = []
    placed = placed_here(found, timeout) if holding else set()
    sockets = _held_sockets(holding, placed)
    tried: set[str] = set()  # the links of holders that no longer held their socket when asked
    while sockets:
        # a socket whose holder closed it (or exited) meanwhile may still be held by another
        # (a server and the worker it forked): it is asked through the next, never taken for gone
        gone: set[int] = set()
        # one process at a time, its pidfd closed before the next: a host's thousands of processes
        # with sockets would otherwise hold as many descriptors (EMFILE, each socket then a gap)
        by_pid: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
        for inode, (pid, tid, fd, link) in sockets.items():
            if fd is None:
                # held only in an io_uring's registered files: no descriptor to copy it through, nor to
                # ask its protocol of (no dump of this namespace placed it, so it may be another's)
                unasked.setdefault("held only in an io_uring's registered files (no descriptor of it to copy)",
                                   []).append(f"socket:[{inode}] of pid {pid}")
                continue
            by_pid.setdefault((pid, tid), []).append((inode, fd, link))
        for (pid, tid), sockets_held in sorted(by_pid.items()):
            named = [(inode, fd, link, _protocol_name(link)) for inode, fd, link in sorted(sockets_held)]
            if not tid and any(name is None for *_held, name in named):
                # gone from /proc/PID/fd: closed, or its main thread ended after the listing (its other
                # threads still hold it, reached through their own /proc/PID/task/TID/fd)
                named = [(inode, fd, *_named_through_a_thread(pid, fd, inode, link)) if name is None else (inode, fd, link, name)
                         for inode, fd, link, name in named]
            # Every socket holds the namespace it was made in, whatever it is: a netlink, packet or unix
            # socket kept from a namespace its holder left may be all that keeps it, and what listens
            # there may be the kernel's (a VXLAN or WireGuard device's UDP socket, nfsd), held by no
            # descriptor and holding nothing.  Only a socket gone meanwhile (no name) is not asked.
            held = [(inode, fd, link) for inode, fd, link, name in named if name is not None]
            gone.update(inode for inode, _fd, _link, name in named if name is None)
            vsock = [(inode, fd, link) for inode, fd, link, name in named if name == VSOCK_PROTOCOL_NAME]
            xdp_sockets += [f"AF_XDP socket:[{inode}] of pid {pid}" for inode, _fd, _link, name in named
                            if name == XDP_PROTOCOL_NAME]
            if not held and not vsock:
                continue
            try:
                # a thread's own table is reached through a pidfd of that thread (PIDFD_THREAD, which
                # is O_EXCL, Linux 6.9); an older kernel refuses it, and its sockets are a gap
                pidfd = os.pidfd_open(tid, os.O_EXCL) if tid else os.pidfd_open(pid)
            except ProcessLookupError:
                gone.update(inode for inode, _fd, _link in held + vsock)  # exited: others may hold them
                continue
            except OSError as exc:
                unasked.setdefault(f"pidfd_open: {exc.strerror or exc}", []).extend(
                    f"socket:[{inode}] of pid {pid}" for inode, _fd, _link in held)
                # a vsock socket not asked may listen: a gap on the listener list, as when its copy
                # is refused (a namespace gap alone says nothing of the host's own listeners)
                vsock_listeners += [f"vsock socket:[{inode}] of pid {pid}, which may listen, could not be asked "
                                    f"(pidfd_open: {exc.strerror or exc})" for inode, _fd, _link in vsock]
                continue
            try:
                for inode, fd, link in held:
                    copy = _copy_of(libc, pidfd, fd, link, inode, 0 if tid else pid)
                    if isinstance(copy, str):
                        unasked.setdefault(copy, []).append(f"socket:[{inode}] of pid {pid}")
                        continue
                    if copy is None:
                        gone.add(inode)  # exited, or closed meanwhile
                        continue
                    try:
                        namespace = fcntl.ioctl(copy, SIOCGSKNS)
                    except OSError as exc:
                        unasked.setdefault(f"SIOCGSKNS: {exc.strerror or exc}", []).append(f"socket:[{inode}] of pid {pid}")
                        continue
                    finally:
                        os.close(copy)
                    st = os.fstat(namespace)
                    key = (st.st_dev, st.st_ino)
                    if key in found:
                        os.close(namespace)
                    else:
                        found[key] = Found(st.st_dev, st.st_ino, fd=namespace)
                for inode, fd, link in vsock:
                    copy = _copy_of(libc, pidfd, fd, link, inode, 0 if tid else pid)
                    if isinstance(copy, str):
                        vsock_listeners.append(f"vsock socket:[{inode}] of pid {pid}, which may listen, could not be "
                                               f"copied ({copy})")
                        continue
                    if copy is None:
                        gone.add(inode)
                        continue
                    listening = _vsock_listener(copy, pid)
                    if listening is not None:
                        vsock_listeners.append(listening)
            finally:
                os.close(pidfd)
        tried.update(link for inode, (_pid, _tid, _fd, link) in sockets.items() if inode in gone)
        sockets = _held_sockets(holding, placed, gone, tried) if gone else {}
    return ([f"{why} for {len(which)} sockets (e.g. {', '.join(which[:3])})" for why, which in sorted(unasked.items())],
            vsock_listeners, xdp_sockets)


def _tun_namespaces(tuns: list[tuple[int, int, int | None, str]], found: dict[tuple[int, int], Found]) -> list[str]:
    """Add the namespace of each tun/tap device a descriptor of ``tuns`` ((pid, thread or 0, fd or
    None for an io_uring's slot, its /proc link)) is attached to, not yet in ``found``: the device
    holds the namespace it is in (made there before a setns back, or moved there), with no process
    in it (a copy of the descriptor by ``pidfd_getfd``, then ``TUNGETDEVNETNS``); and the namespace
    the descriptor was opened in, which its own socket holds attached or not (``SIOCGSKNS``).

    Returns why some descriptors could not be asked (a pidfd or a copy refused, a seccomp filter,
    no CAP_NET_ADMIN, a kernel before 5.2, a slot of an io_uring with no descriptor to copy): each a
    discovery gap, since the namespace only such a descriptor holds is not found.  Only a descriptor
    gone meanwhile (its holder exited, or closed it) and one attached to no device (TUNGETDEVNETNS:
    EBADFD; what it was opened in is still asked) say nothing."""
    unasked: dict[str, list[str]] = {}

    def cannot(why: str, pid: int, fd: int | None) -> None:
        unasked.setdefault(why, []).append(f"{TUN_DEVICE} fd {fd} of pid {pid}" if fd is not None
                                           else f"{TUN_DEVICE} in an io_uring slot of pid {pid}")

    libc = _libc() if tuns else None
    by_pid: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for pid, tid, fd, link in tuns:
        if fd is None:
            cannot("held only in an io_uring's registered files (no descriptor of it to copy)", pid, None)
            continue
        by_pid.setdefault((pid, tid), []).append((fd, link))
    for (pid, tid), held in sorted(by_pid.items()):
        try:
            # a thread's own table (or a zombie leader's, read through a live thread) is reached
            # through a pidfd of that thread (PIDFD_THREAD, O_EXCL, Linux 6.9); an older kernel refuses it
            pidfd = os.pidfd_open(tid, os.O_EXCL) if tid else os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # exited: its descriptors closed with it (another holder of the same file is asked too)
        except OSError as exc:
            for fd, _link in held:
                cannot(f"pidfd_open: {exc.strerror or exc}", pid, fd)
            continue
        try:
            for fd, link in held:
                copy = _tun_copy(libc, pidfd, fd, link, 0 if tid else pid)
                if isinstance(copy, str):
                    cannot(copy, pid, fd)
                    continue
                if copy is None:
                    continue  # exited or closed meanwhile
                try:
                    # the device's namespace, and the one the descriptor was opened in (its own
                    # socket's, SIOCGSKNS): that one is held too, attached or not, wherever the device is
                    for request, name in ((TUNGETDEVNETNS, "TUNGETDEVNETNS"), (SIOCGSKNS, "SIOCGSKNS")):
                        try:
                            namespace = fcntl.ioctl(copy, request)
                        except OSError as exc:
                            if not (request == TUNGETDEVNETNS and exc.errno == errno.EBADFD):  # attached to no device
                                cannot(f"{name}: {exc.strerror or exc}", pid, fd)
                            continue
                        st = os.fstat(namespace)
                        if (st.st_dev, st.st_ino) in found:
                            os.close(namespace)
                        else:
                            found[(st.st_dev, st.st_ino)] = Found(st.st_dev, st.st_ino, fd=namespace)
                finally:
                    os.close(copy)
        finally:
            os.close(pidfd)
    return [f"{why} for {len(which)} tun/tap descriptors (e.g. {', '.join(which[:3])})"
            for why, which in sorted(unasked.items())]




def _tun_copy(libc: Any, pidfd: int, fd: int, link: str, pid: int = 0) -> int | str | None:
    """A descriptor of the tun file at descriptor ``fd`` of the process (or thread) of ``pidfd``;
    None when it exited or closed it meanwhile (its number free, or reused for another file);
    why not, otherwise.  ``pid``: as for :func:`_copy_of`."""
    import ctypes  # here: only a host with tun descriptors needs it (for its errno)

    copy = _getfd(libc, pidfd, fd, pid)
    if copy >= 0:
        if not _is_tun(os.fstat(copy)):  # closed and its number reused: not the tun file
            os.close(copy)
            return None
        return int(copy)
    code = ctypes.get_errno()
    if code == errno.ESRCH:
        return None
    if code == errno.EBADF:
        try:
            if not _is_tun(os.stat(link)):
                return None
        except OSError:
            return None  # closed meanwhile, or the holder exited
    return f"pidfd_getfd: {os.strerror(code)}"


def close_held(found: dict[tuple[int, int], Found]) -> None:
    """Close the namespace descriptors :func:`discover` holds (those found through a socket)."""
    for entry in found.values():
        if entry.fd is not None:
            os.close(entry.fd)
            entry.fd = None


def discover(proc: str, run_netns: str = RUN_NETNS) -> tuple[dict[tuple[int, int], Found], tuple[int, int] | None, list[Gap]]:
    """Every network namespace found, the key of the caller's, and gaps for what could not be read.
    Every name under ``run_netns`` (``ip netns``) is a network namespace or a gap: another type of
    namespace bound there, or a plain file, is named, never dropped from the audited set unsaid."""
    found: dict[tuple[int, int], Found] = {}
    gaps: list[Gap] = []

    def add(path: str, **what: Any) -> None:
        st = os.stat(path)
        if "linked" in what and what["linked"] != f"net:[{st.st_ino}]":
            # a descriptor read as net:[I] that is now another file: closed meanwhile, its number reused
            raise FileNotFoundError(errno.ENOENT, f"{path} no longer links to {what['linked']}")
        entry = found.setdefault((st.st_dev, st.st_ino), Found(st.st_dev, st.st_ino))
        if "pid" in what:
            entry.pids.add(what["pid"])
        if "name" in what:
            entry.names.add(what["name"])
        if what.get("bound"):
            # where it is bound, as its mount namespace sees it (``bound``: that path, when it is
            # opened through another process's root)
            entry.paths.add(what["bound"] if isinstance(what["bound"], str) else path)
        if path not in entry.open_paths and len(entry.open_paths) < 4:
            entry.open_paths.append(path)

    current: tuple[int, int] | None = None
    try:
        st = os.stat(f"{proc}/thread-self/ns/net")
        current = (st.st_dev, st.st_ino)
    except OSError as exc:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"the collector's own network namespace could not be read: {exc}"))

    denied: list[int] = []
    refused: list[int] = []  # processes whose open files could not be read
    holding: list[tuple[int, FdTable]] = []  # the tables that hold sockets, in pid order
    # tun descriptors: (pid, thread of its own table or 0, fd or None for a ring's slot, its /proc link)
    tuns: list[tuple[int, int, int | None, str]] = []
    mounts: dict[tuple[int, int], list[int]] = {}  # each mount namespace, by the processes in it
    # mount namespaces held by a bind mount or a descriptor: inode -> a path that opens it
    held_mounts: dict[int, str] = {}
    proc_net_files: list[tuple[int, str, str]] = []  # descriptors of /proc net files: (pid, path, link)
    tables = kept_tables(proc)  # what the owner scan of this collection read, if it ran
    following = Following(MountJudge(proc))  # descriptors followed only where no server can stall it
    with os.scandir(proc) as entries:
        pids = sorted(int(e.name) for e in entries if e.name.isascii() and e.name.isdigit())
    for pid in pids:
        try:
            add(f"{proc}/{pid}/ns/net", pid=pid)
        except FileNotFoundError:
            # exited meanwhile, or only its leader did (a zombie whose other threads still run,
            # as after pthread_exit in main): those threads' namespaces are still there
            _add_threads(proc, pid, add, denied, held_mounts)
            _descriptors(proc, pid, add, holding, refused, tables, tuns, held_mounts, proc_net_files, following)
            _mount_namespace(proc, pid, mounts, refused)
            continue
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                denied.append(pid)
            elif exc.errno != errno.ESRCH:
                denied.append(pid)
            continue
        _add_threads(proc, pid, add, denied, held_mounts)
        _descriptors(proc, pid, add, holding, refused, tables, tuns, held_mounts, proc_net_files, following)
        _mount_namespace(proc, pid, mounts, refused)
    untold_tuns = _tun_namespaces(tuns, found)
    if following.unjudged_tuns:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"whether {len(following.unjudged_tuns)} descriptors are of the tun device cannot be "
                               "told without waiting on their file system "
                               f"({'; '.join(following.unjudged_tuns[:3])}): network namespaces only such devices "
                               "hold are not seen"))
    if untold_tuns:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason="the network namespace of tun/tap descriptors could not be asked for "
                               f"({'; '.join(untold_tuns)}): namespaces only such devices hold are not seen"))
    refused = sorted(set(refused) - set(denied))  # said once, by the gap on their namespace
    if refused:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"the open files of {len(refused)} processes could not be read ({proc}/PID/fd; e.g. "
                               f"pids {', '.join(sorted(set(map(str, refused)))[:5])}): namespaces only their "
                               "descriptors or sockets hold, or only their mount namespace binds, are not seen"))
    unasked, vsock_listeners, xdp_sockets = _socket_namespaces(holding, found)
    if vsock_listeners:
        gaps.append(vsock_listener_gap(vsock_listeners))
    if xdp_sockets:
        gaps.append(xdp_socket_gap(xdp_sockets))
    if unasked:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason="the network namespace of sockets no dump placed could not be asked "
                               f"for ({'; '.join(unasked)}): namespaces only such sockets hold are not seen"))
    if denied:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"the network namespace of {len(denied)} "
                               f"{'process' if len(denied) == 1 else 'processes'} could not be read "
                               f"({proc}/PID/ns/net: permission denied; e.g. "
                               f"{'pid' if len(denied) == 1 else 'pids'} "
                               f"{', '.join(map(str, denied[:5]))}): namespaces only they are in are not seen"))

    unlisted = unlisted_processes(proc)
    if unlisted:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"{unlisted}: namespaces only they are in are not seen"))

    try:
        names = sorted(os.listdir(run_netns))
    except FileNotFoundError:
        names = []
    except OSError as exc:
        names = []
        gaps.append(Gap(section="netns", path=("namespaces",), reason=f"{run_netns}: {exc.strerror or exc}"))
    for name in names:
        path = f"{run_netns}/{name}"
        try:
            kind = _namespace_type(path)
            if kind == CLONE_NEWNET:
                add(path, name=name, bound=True)
            else:
                gaps.append(Gap(section="netns", path=("namespaces",),
                                reason=f"{path}: a {NAMESPACE_TYPES.get(kind, hex(kind))} namespace, not a network "
                                       f"namespace: the network namespace named {name!r} is not seen"))
        except OSError as exc:
            gaps.append(Gap(section="netns", path=("namespaces",),
                            reason=f"{path}: {exc.strerror or exc}: the namespace it names is not seen"))

    try:
        mountinfo = read_regular(f"{proc}/self/mountinfo", MOUNTINFO_LIMIT).decode("utf-8", "surrogateescape")
    except OSError as exc:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"{proc}/self/mountinfo: {exc.strerror or exc}: bound namespaces may be missing"))
        mountinfo = ""
    # each network and mount namespace an nsfs mount binds (its root says which): (kind, inode) ->
    # (mount point, the mountinfo it was read from, or None, and which mount namespace that is),
    # checked against what was found and read once discovery is done (:func:`unreached_bound_gaps`)
    nsfs_binds: dict[tuple[str, int], tuple[str, str | None, str]] = {}
    for point, root in nsfs_mounts(mountinfo):
        bound = bound_namespace(root)
        if bound is not None and bound[0] == "mnt":
            held_mounts.setdefault(bound[1], point)
            nsfs_binds.setdefault(bound, (point, f"{proc}/self/mountinfo", "the collector's mount namespace"))
            continue
        try:
            if _is_net_namespace(point):
                add(point, bound=True)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                gaps.append(Gap(section="netns", path=("namespaces",),
                                reason=f"nsfs mount {point}: {exc.strerror or exc}: its namespace is not seen"))
                continue
        if bound is not None:
            nsfs_binds.setdefault(bound, (point, f"{proc}/self/mountinfo", "the collector's mount namespace"))
    unrooted: dict[int, str] = {}  # mount namespaces whose every process is chrooted
    gaps += _other_mounts(proc, mounts, add, held_mounts, nsfs_binds, unrooted)
    held_mounts.update(unrooted)
    accounted_mounts: set[int] = set()  # mount namespaces whose mounts were read, or why not was said
    gaps += _held_mount_namespaces(proc, mounts, held_mounts, found, nsfs_binds, frozenset(unrooted), accounted_mounts)
    gaps += unreached_bound_gaps(nsfs_binds, found, accounted_mounts)
    gaps += proc_net_file_gaps(proc, proc_net_files, found, current, following=following)
    return found, current, gaps


def proc_net_file_gaps(proc: str, held: list[tuple[int, str, str]], found: dict[tuple[int, int], Found],
                       current: tuple[int, int] | None, timeout: float = 10.0,
                       following: Following | None = None) -> list[Gap]:
    """A discovery gap for the open /proc net files (``held``: (pid, /proc/PID/fd/N, its link))
    of a network namespace none found is.  Such a file holds the namespace it shows alive while it
    is open (seq_open_net), after every process of it exited or went back (setns), and nothing
    opens that namespace from it.  Each namespace has its own entries under /proc/PID/net, so a
    file is of a namespace found when its inode is that of the same file of one: read through a
    process in it, or, for one no process is in, by a forked child inside it.

    Whether a file is of a /proc is told by its mount (:mod:`auditor.collect.fdmounts`) before it
    is stat'ed: a link that merely looks like one may be a file of a FUSE file system whose server
    never answers, where a stat or statfs waits for ever.  One whose mount is not known is a gap."""
    following = following if following is not None else Following(MountJudge(proc))
    files = []
    for pid, path, link in held:
        match = _PROC_NET_FILE().search(link)
        mount = following.judge.mount_of(path)
        if match is None or mount == CLOSED:
            continue
        if not isinstance(mount, Mount):
            following.unjudged_proc_net.append(f"{path} ({link}) {_unfollowed(mount)}")
            continue
        if mount.fstype != "proc":
            continue  # not of a /proc: no /proc net file
        try:
            st = os.stat(path)
        except OSError:
            continue  # closed meanwhile, or exited
        if stat.S_ISREG(st.st_mode):
            files.append((pid, path, link, match.group(1), st.st_ino))
    unjudged = [] if not following.unjudged_proc_net else [Gap(
        section="netns", path=("namespaces",),
        reason=f"whether {len(following.unjudged_proc_net)} descriptors are /proc net files cannot be told without "
               f"waiting on their file system ({'; '.join(following.unjudged_proc_net[:3])}): a network namespace "
               "only such a file holds is not seen")]
    if not files:
        return unjudged
    names = sorted({name for _pid, _path, _link, name, _inode in files})
    known: set[int] = set()
    unpeopled: list[Found] = []  # found namespaces no process (leader) is known to be in now
    for key, entry in found.items():
        base = f"{proc}/thread-self" if key == current else None
        for pid in sorted(entry.pids)[:1] if base is None else []:
            try:  # /proc/PID/net shows the namespace of PID's leader, which may be elsewhere
                if os.stat(f"{proc}/{pid}/ns/net").st_ino == entry.inode:
                    base = f"{proc}/{pid}"
            except OSError:
                pass
        if base is None:
            unpeopled.append(entry)
            continue
        for name in names:
            try:
                known.add(os.stat(f"{base}/net/{name}").st_ino)
            except OSError:
                continue
    if unpeopled and any(inode not in known for *_rest, inode in files):
        fds: list[tuple[int, int]] = []
        try:
            for index, entry in enumerate(unpeopled):
                if entry.fd is not None:
                    fds.append((index, os.dup(entry.fd)))
                    continue
                for path in entry.open_paths:
                    try:
                        fd = open_namespace(path)
                    except OSError:
                        continue
                    if os.fstat(fd).st_ino == entry.inode:
                        fds.append((index, fd))
                        break
                    os.close(fd)
            try:
                for result in enter_all(fds, timeout, stat_names=names).values():
                    known.update(inode for inode in result.get("inodes") or [] if isinstance(inode, int))
            except OSError:
                pass  # not entered: their files are not known to be theirs, and are a gap below
        finally:
            for _index, fd in fds:
                os.close(fd)
    unknown = [f"{link} held by pid {pid} as {path}" for pid, path, link, _name, inode in files if inode not in known]
    if not unknown:
        return unjudged
    return unjudged + [Gap(section="netns", path=("namespaces",),
                reason=f"open /proc net files show a network namespace none found is ({'; '.join(unknown[:5])}"
                       f"{f'; and {len(unknown) - 5} more' if len(unknown) > 5 else ''}): such a file holds its "
                       "namespace alive and nothing opens that namespace from it: its listeners are not seen")]


def unreached_bound_gaps(bound: dict[tuple[str, int], tuple[str, str | None, str]],
                         found: dict[tuple[int, int], Found], read_mounts: set[int]) -> list[Gap]:
    """A discovery gap for each network namespace an nsfs mount binds (``bound``: ("net", inode) ->
    (mount point, the mountinfo it was read from, the mount namespace it is in)) that discovery did
    not find, and each mount namespace one binds (("mnt", inode)) whose mounts were not read
    (``read_mounts``: those read, through a process in it or entered): its mount point no longer
    reaches it (a later mount over the point, or over a directory above it: ``mount -t tmpfs`` on
    /run/netns, another namespace bound on the same file), so it cannot be opened there, and
    nothing else holds it where discovery looks.  It is alive (the mount holds it), and the
    listeners of the network namespace, or of those bound only in the mount namespace, are not
    seen.  A mount gone meanwhile (its mountinfo read again, or the process it was read through
    exited) is no gap: it took its namespace with it or left it to what holds it."""
    seen = {entry.inode for entry in found.values()}
    missing = {key: where for key, where in bound.items()
               if key[1] not in (seen if key[0] == "net" else read_mounts)}
    still: dict[str, set[tuple[str, str]]] = {}
    for mountinfo in sorted({where[1] for where in missing.values() if where[1] is not None}):
        try:
            still[mountinfo] = set(nsfs_mounts(read_regular(mountinfo, MOUNTINFO_LIMIT)
                                               .decode("utf-8", "surrogateescape")))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ESRCH):  # the process read it through exited: not known to be there
                still[mountinfo] = set()
            continue  # otherwise not read again: kept, a gap
    gaps = []
    for (kind, inode), (point, mountinfo, space) in sorted(missing.items()):
        if mountinfo in still and (point, f"{kind}:[{inode}]") not in still[mountinfo]:
            continue
        what = (f"network namespace net:[{inode}]", "its listeners are not seen") if kind == "net" else (
            f"mount namespace mnt:[{inode}]", "network namespaces bound only there are not seen")
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"the nsfs mount {point} of {space} binds {what[0]}, which that path no longer reaches "
                               f"(a later mount covers it) and nothing else discovery looks at holds: {what[1]}"))
    return gaps


def _owned_by_initial_user_namespace(path: str) -> bool:
    """Whether the namespace at ``path`` is owned by the initial user namespace (False when that
    cannot be told)."""
    try:
        fd = open_namespace(path)
    except OSError:
        return False
    try:
        return owning_user_namespace(fd) == PROC_USER_INIT_INO
    except OSError:
        return False
    finally:
        os.close(fd)


def _mount_namespace(proc: str, pid: int, mounts: dict[tuple[int, int], list[int]], refused: list[int]) -> None:
    """File ``pid`` under its mount namespace (``refused`` when that cannot be read)."""
    try:
        st = os.stat(f"{proc}/{pid}/ns/mnt")
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            refused.append(pid)
        return
    mounts.setdefault((st.st_dev, st.st_ino), []).append(pid)


def _chrooted(proc: str, pid: int) -> bool:
    """Whether ``pid``'s root is not the root of its mount namespace (chroot(2)): its
    /proc/PID/mountinfo then lists only the mounts under that root.  Only at the top of a mount
    tree is a root's ``..`` the root itself (a path walk climbs out of a directory, and out of a
    mount to the one it is mounted on); False when that cannot be told (the process exited)."""
    try:
        root, above = os.stat(f"{proc}/{pid}/root"), os.stat(f"{proc}/{pid}/root/..")
    except OSError:
        return False
    return (root.st_dev, root.st_ino) != (above.st_dev, above.st_ino)


def _other_mounts(proc: str, mounts: dict[tuple[int, int], list[int]], add: Any,
                  held_mounts: dict[int, str], nsfs_binds: dict[tuple[str, int], tuple[str, str | None, str]],
                  unrooted: dict[int, str]) -> list[Gap]:
    """Add the network namespaces bound (nsfs mounts) in mount namespaces other than the
    collector's: ``ip netns add`` run in a private mount namespace (a service's PrivateMounts, an
    engine started in a mount namespace of its own) binds one only there, and with no process in
    it nothing else shows it.  Each is read through a process of that mount namespace
    (``/proc/PID/mountinfo``) and opened through its root (``/proc/PID/root/POINT``).  A mount
    namespace bound there is put in ``held_mounts``, by a path that opens it; each network
    namespace bound there in ``nsfs_binds`` (:func:`unreached_bound_gaps`).  One whose every process
    is chrooted (:func:`_chrooted`), whose mountinfo hides what is bound outside that root, is put
    in ``unrooted`` (inode -> a path that opens it) instead, to be entered."""
    try:
        st = os.stat(f"{proc}/self/ns/mnt")
        own: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except OSError:
        own = None  # then the collector's own is read again: its mounts are found twice, no harm
    gaps = []
    for key, pids in sorted(mounts.items()):
        if key == own:
            continue
        why = ""
        chrooted = ""  # the namespace file of a process of it whose root is not the namespace's
        for pid in pids:  # a process of it that has not exited
            if _chrooted(proc, pid):
                chrooted = chrooted or f"{proc}/{pid}/ns/mnt"
                continue
            try:
                text = read_regular(f"{proc}/{pid}/mountinfo", MOUNTINFO_LIMIT).decode("utf-8", "surrogateescape")
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ESRCH):
                    why = f"{proc}/{pid}/mountinfo: {exc.strerror or exc}"
                continue
            why = ""
            # Names and bound paths select (an exception's namespace, a container's sandbox key):
            # taken only from a mount namespace the host's root made.  Any user may make one of
            # their own (a user namespace) and bind a namespace of theirs at /run/netns/NAME or at
            # a container's sandbox path there; theirs is still found and judged, by its inode.
            trusted = _owned_by_initial_user_namespace(f"{proc}/{pid}/ns/mnt")
            for point, root in nsfs_mounts(text):
                path = f"{proc}/{pid}/root{point}"
                bound = bound_namespace(root)
                if bound is not None and bound[0] == "mnt":
                    held_mounts.setdefault(bound[1], path)
                    nsfs_binds.setdefault(bound, (point, f"{proc}/{pid}/mountinfo",
                                                 f"mount namespace mnt:[{key[1]}] (pid {pid})"))
                    continue
                try:
                    if _is_net_namespace(path):
                        directory, _, name = point.rpartition("/")
                        if not trusted:
                            add(path)
                        else:
                            add(path, bound=point, **({"name": name} if directory == RUN_NETNS else {}))
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.ESRCH):
                        gaps.append(Gap(section="netns", path=("namespaces",),
                                        reason=f"nsfs mount {point} of mount namespace mnt:[{key[1]}] (pid {pid}): "
                                               f"{exc.strerror or exc}: its namespace is not seen"))
                        continue
                if bound is not None:
                    nsfs_binds.setdefault(bound, (point, f"{proc}/{pid}/mountinfo",
                                                 f"mount namespace mnt:[{key[1]}] (pid {pid})"))
            break
        else:
            if chrooted:
                # no process of it that is not chrooted could be read: read from the namespace's
                # own root instead (entered, which also says why, if that fails)
                unrooted[key[1]] = chrooted
                why = ""
        if why:
            gaps.append(Gap(section="netns", path=("namespaces",),
                            reason=f"the mounts of mount namespace mnt:[{key[1]}] could not be read ({why}): "
                                   "network namespaces bound only there are not seen"))
    return gaps


def _held_mount_namespaces(proc: str, mounts: dict[tuple[int, int], list[int]], held_mounts: dict[int, str],
                           found: dict[tuple[int, int], Found],
                           nsfs_binds: dict[tuple[str, int], tuple[str, str | None, str]],
                           unrooted: frozenset[int] = frozenset(), accounted: set[int] | None = None,
                           timeout: float = 10.0) -> list[Gap]:
    """Add the network namespaces bound in mount namespaces no process is in: one only a thread is
    in, or one held by a bind mount of its namespace file (``unshare --mount=FILE``; snapd keeps
    each snap's so) or by a descriptor after its processes exited (``held_mounts``: inode -> a path
    that opens it; those a process's mountinfo was read for are skipped).  Its
    mounts have no ``/proc/PID/mountinfo`` to read, and ``ip netns add`` run in it bound a network
    namespace there only, whose listeners (a VXLAN device's socket: the kernel's, held by no
    descriptor) nothing else shows.  A forked child enters each (:func:`_read_mount_namespaces`);
    a mount namespace bound inside one is read in turn.  Each network and mount namespace bound in
    one is put in ``nsfs_binds`` (:func:`unreached_bound_gaps`), and each mount namespace read (or
    why not said) in ``accounted``.  Those of ``unrooted``, whose every process
    is chrooted, are entered too (from the namespace's root, setns shows all its mounts)."""
    # read through a process in it (the collector's own too)
    read = {inode for _device, inode in mounts if inode not in unrooted}
    try:
        read.add(os.stat(f"{proc}/self/ns/mnt").st_ino)
    except OSError:
        pass
    # those whose mounts were read, or why not said: the caller says so of the others nsfs mounts bind
    accounted = set() if accounted is None else accounted
    accounted |= read
    gaps: list[Gap] = []
    waiting: list[tuple[int, int, str]] = []  # (inode, descriptor, where it is held)
    for inode, path in sorted(held_mounts.items()):
        if inode in read:
            continue
        read.add(inode)
        try:
            fd = open_namespace(path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ESRCH, errno.EINVAL):  # unmounted, closed or reused meanwhile
                gaps.append(Gap(section="netns", path=("namespaces",),
                                reason=f"mount namespace mnt:[{inode}], which no process is in, could not be opened "
                                       f"({path}: {exc.strerror or exc}): network namespaces bound only there are "
                                       "not seen"))
                accounted.add(inode)  # said: no second gap for its mount point
            continue
        if os.fstat(fd).st_ino != inode:
            os.close(fd)  # another namespace there now: the one read is gone
            continue
        waiting.append((inode, fd, path))
    while waiting:
        accounted.update(inode for inode, _fd, _where in waiting)
        trusted = []
        for _inode, fd, _where in waiting:
            try:
                trusted.append(owning_user_namespace(fd) == PROC_USER_INIT_INO)
            except OSError:
                trusted.append(False)
        try:
            results = _read_mount_namespaces([fd for _inode, fd, _where in waiting], timeout)
        except OSError as exc:  # no child (fork, socketpair refused): each is a gap
            results = [([], f"no child to enter it: {process_not_started(exc)}") for _waiting in waiting]
        finally:
            for _inode, fd, _where in waiting:
                os.close(fd)
        next_round: list[tuple[int, int, str]] = []
        for (inode, _fd, where), names_trusted, (opened, error) in zip(waiting, trusted, results):
            if error:
                gaps.append(Gap(section="netns", path=("namespaces",),
                                reason=f"mount namespace mnt:[{inode}], which no process is in (held by {where}), "
                                       f"could not be read: {error}: network namespaces bound only there are not seen"))
            for kind, point, bound_inode, fd in opened:
                nsfs_binds.setdefault((kind, bound_inode), (point, None, f"mount namespace mnt:[{inode}], which no "
                                                                        f"process is in (held by {where})"))
                if fd is None:
                    continue
                st = os.fstat(fd)
                if kind == "mnt":
                    if st.st_ino in read:
                        os.close(fd)
                    else:
                        read.add(st.st_ino)
                        next_round.append((st.st_ino, fd, f"{point} in mount namespace mnt:[{inode}]"))
                    continue
                entry = found.get((st.st_dev, st.st_ino))
                if entry is None:
                    entry = found[(st.st_dev, st.st_ino)] = Found(st.st_dev, st.st_ino, fd=fd)
                else:
                    os.close(fd)
                if names_trusted:  # as in _other_mounts: a name is kept only from a mount namespace root made
                    entry.paths.add(point)
                    directory, _, name = point.rpartition("/")
                    if directory == RUN_NETNS:
                        entry.names.add(name)
        waiting = next_round
    return gaps


def _read_mount_namespaces(fds: list[int], timeout: float) -> list[tuple[list[tuple[str, str, int, int | None]],
                                                                          str | None]]:
    """For each mount namespace of ``fds``: the network and mount namespaces bound there (nsfs
    mounts), as (``"net"`` or ``"mnt"``, mount point, the inode its root names, a descriptor of it
    or None where the mount point does not reach it), and why it could not be read (None: it was).  A forked child enters each in turn (setns needs a single thread) and
    reads its ``/proc/self/mountinfo`` through the collector's /proc (the mount namespace may
    mount none); the descriptors come back by SCM_RIGHTS.  The parent's mount namespace is never
    changed."""
    _load_libc()
    results: list[tuple[list[tuple[str, str, int, int | None]], str | None]] = [([], None) for _fd in fds]
    ended = [False] * len(fds)
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        parent_end.close()
        child_end.close()
        raise
    try:
        pid = os.fork()
    except OSError:  # the caller makes each a gap, naming the limit
        parent_end.close()
        child_end.close()
        os.close(proc_fd)
        raise
    if pid == 0:  # the child: never returns into the caller's code
        status = 0
        try:
            parent_end.close()
            _mount_child(fds, proc_fd, child_end)
        except BaseException:  # noqa: BLE001 - nothing may unwind into the parent's stack
            status = 1
        finally:
            os._exit(status)
    child_end.close()
    os.close(proc_fd)
    deadline = time.monotonic() + timeout * max(1, len(fds))
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                break
            parent_end.settimeout(remaining)
            try:
                data, received, _flags, _address = socket.recv_fds(parent_end, 1 << 16, 1, socket.MSG_CMSG_CLOEXEC)
            except TimeoutError:
                continue
            if not data:
                break
            try:
                message = json.loads(data)
                index = int(message["index"])
            except (ValueError, KeyError, TypeError):
                for fd in received:
                    os.close(fd)
                continue
            if message.get("end"):
                ended[index] = True
            elif message.get("error"):
                results[index] = (results[index][0], str(message["error"]))
            elif message.get("kind") in ("net", "mnt"):
                results[index][0].append((str(message["kind"]), str(message["point"]), int(message["inode"]),
                                          received[0] if received else None))
                received = received[1:]
            for fd in received:
                os.close(fd)
    finally:
        parent_end.close()
        os.waitpid(pid, 0)
    return [(opened, error or (None if done else "the child that reads it ended before it was read whole "
                               "(timeout or crash)"))
            for (opened, error), done in zip(results, ended)]


def _mount_child(fds: list[int], proc_fd: int, out: socket.socket) -> None:
    """In the forked child of :func:`_read_mount_namespaces`: enter each mount namespace in turn,
    send each network and mount namespace bound there, with a descriptor of it where its mount
    point reaches it, then one end message."""
    for index, fd in enumerate(fds):
        try:
            _setns(fd, CLONE_NEWNS)
            text = read_regular("self/mountinfo", MOUNTINFO_LIMIT, dir_fd=proc_fd).decode("utf-8", "surrogateescape")
        except OSError as exc:
            out.send(json.dumps({"index": index, "error": f"{type(exc).__name__}: {exc}"}).encode())
            out.send(json.dumps({"index": index, "end": True}).encode())
            continue
        for point, root in nsfs_mounts(text):
            bound = bound_namespace(root)
            if bound is None:
                continue
            message = json.dumps({"index": index, "kind": bound[0], "point": point, "inode": bound[1]}).encode()
            try:
                opened = open_namespace(point)
            except OSError:
                out.send(message)  # not reached by its mount point: the parent's check of what is bound says so
                continue
            try:
                if os.fstat(opened).st_ino == bound[1]:
                    socket.send_fds(out, [message], [opened])
                else:
                    out.send(message)
            finally:
                os.close(opened)
        out.send(json.dumps({"index": index, "end": True}).encode())


# ---------------------------------------------------------------- inside a namespace (child only)

# Before Python 3.12 (no os.setns) setns(2) is called through ctypes: libc, loaded once per process.
_LIBC: Any = None


def _libc() -> Any:
    """libc through ctypes, loaded on first use and then kept (pidfd_getfd has no os function; nor
    has setns before Python 3.12)."""
    global _LIBC
    if _LIBC is None:
        import ctypes

        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def _load_libc() -> None:
    """Load libc through ctypes, when os.setns is missing.  Called by the parent before it forks (not
    at import: only a run that enters a namespace needs it): each run forks twice (the reading and
    the re-check of identities), and importing ctypes in each child cost twice what it costs once."""
    if not hasattr(os, "setns"):
        _libc()


def _setns(fd: int, kind: int = CLONE_NEWNET) -> None:
    setns = getattr(os, "setns", None)
    if setns is not None:  # Python 3.12+
        setns(fd, kind)
        return
    if _libc().setns(fd, kind) != 0:
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _gap_json(gap: Gap) -> dict[str, Any]:
    return {"path": list(gap.path), "reason": gap.reason, "kind": gap.kind.value}


def read_here(timeout: float, target: Any = None, known: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    """Listeners, counts, sysctls, interfaces, local routes and (with the ``target`` whose programs
    read them) TPROXY rules of the namespace this process is in, as JSON-ready data.  Runs in the
    child, after setns (a program it runs is in the namespace too); also usable on the caller's own
    namespace.  ``known``: (fd, inode) of the namespaces a veth's peer may be found in
    (:func:`with_peer_namespaces`)."""
    gaps: list[Gap] = []
    methods: list[str] = []
    rows = None
    target = ListedOnce(target) if target is not None else None  # nft's listing for each reader that asks
    v6only_reason = "the kernel did not report IPV6_V6ONLY (INET_DIAG_SKV6ONLY)"
    transparent_reason = TRANSPARENT_UNREPORTED
    try:
        rows = read_sockets_netlink(timeout=timeout)
        methods.append(METHOD_NETLINK)
        optional = _optional_here(timeout)
    except OSError as netlink_error:
        unavailable = f"netlink sock_diag unavailable: {netlink_error}"
        v6only_reason = f"IPV6_V6ONLY is not shown in /proc/net/tcp6 or udp6 ({unavailable})"
        transparent_reason = transparent_unshown(unavailable)
        try:
            rows = read_sockets_proc_net("/proc")
            methods.append(f"/proc/net/tcp,tcp6,udp,udp6 ({unavailable})")
            optional = read_optional_proc_net("/proc", why=unavailable)
        except (OSError, ValueError) as proc_error:
            rows, optional = None, None
            gaps.append(Gap(section="sockets", field="listeners",
                            reason=f"{unavailable}; /proc/net fallback failed: {proc_error}"))
    if rows is not None and optional is not None:
        rows = rows + optional.rows
        gaps += optional.gaps
        methods.append("other transports: " + "; ".join(optional.methods))
    listeners = None
    if rows is not None:
        listeners = listeners_from_rows(rows)  # interface names resolve here, inside the namespace
        gaps += _v6only_gaps(listeners, v6only_reason)
        gaps += transparent_gaps(listeners, transparent_reason)
        gaps += steering_gaps(listeners)
    counts = None
    try:
        time_wait = read_time_wait("/proc")
        try:
            established: int | None = read_established("/proc")
        except (OSError, ValueError) as exc:
            established = None
            gaps.append(Gap(section="sockets", path=("counts", "tcp_by_state", ESTABLISHED_KEY),
                            reason=f"/proc/net/snmp: {exc}"))
        counts = SocketCounts(time_wait=time_wait, tcp_by_state=count_states(rows, time_wait, established),
                              udp_sockets=sum(1 for r in rows if r.protocol == "udp") if rows is not None else None,
                              method="; ".join(methods + ["/proc/net/sockstat and /proc/net/snmp"]))
    except (OSError, ValueError) as exc:
        gaps.append(Gap(section="sockets", field="counts", reason=f"/proc/net/sockstat: {exc}"))
    sysctl, sysctl_gaps = read_runtime_sysctls(NETNS_SYSCTL_KEYS, "/proc/sys")
    try:
        interfaces: list[dict[str, Any]] | None = read_interfaces(timeout, "/proc/sys", known or [])
        interface_error = None
    except OSError as exc:
        interfaces, interface_error = None, f"rtnetlink dump failed: {exc}"
    loopbacks = {link["name"] for link in interfaces or [] if link.get("kind") == "loopback"}
    if listeners is not None and any(l.interface in loopbacks for l in listeners):
        # a listener bound to lo is handed what an nftables ingress chain of a link puts on lo: read
        # only then (one more program in this namespace), as the TPROXY rules are
        assert interfaces is not None
        interfaces = with_nft_ingress(interfaces, *(read_ingress_redirects(target, timeout) if target is not None
                                                    else (None, "no program runner")))
    local_routes, local_route_error = read_local_routes(timeout, interfaces)
    tproxy, tproxy_unknown = None, ["the TPROXY rules were not read (no program runner)"]
    if listeners is not None and not any(l.transparent is not False and l.protocol in TPROXY_PROTOCOLS
                                         for l in listeners):
        # TPROXY rules matter only to a listener that is transparent (IP_TRANSPARENT widens it only
        # where a TPROXY rule can hand it other addresses) or may be (net.bind_addresses judges the
        # others as they are), and reading them is two programs (nft, iptables-save) in each
        # namespace: 2.4 -> 6.7 ms of CPU a namespace, over the 5 ms target.  Not read, and no gap:
        # nothing depends on them.
        tproxy_unknown = []
    elif target is not None:
        rules, tproxy_unknown, _read = read_tproxy(target, timeout)
        tproxy = None if rules is None else [rule.model_dump(mode="json") for rule in rules]
    return {
        "tproxy": tproxy,
        "tproxy_unknown": tproxy_unknown,
        "listeners": None if listeners is None else [l.model_dump(mode="json") for l in listeners],
        "counts": None if counts is None else counts.model_dump(mode="json"),
        "socket_gaps": [_gap_json(g) for g in gaps],
        "sysctl": {k: v.model_dump(mode="json") for k, v in sysctl.items()},
        "sysctl_gaps": [_gap_json(g) for g in sysctl_gaps],
        "interfaces": interfaces,
        "interface_error": interface_error,
        "local_routes": local_routes,
        "local_route_error": local_route_error,
    }


def read_interfaces(timeout: float, proc_sys: str, known: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The interfaces of the caller's namespace (:class:`rtnetlink.Link` as dicts) with their
    route_localnet and forwarding settings and their veth peers' namespaces.  Raises OSError."""
    links = [vars(link) for link in rtnetlink.dump_interfaces(timeout)]
    return with_peer_namespaces(with_ingress_hooks(with_forwarding(with_route_localnet(links, proc_sys), proc_sys),
                                                   timeout), known, timeout)


def with_ingress_hooks(links: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Each link with ``ingress_hooks``: the kind of its tc ingress qdisc, "tcx" for a tcx ingress
    BPF link of its index and "xdp" for an XDP program, which can hand what arrives on it to another
    interface without IP forwarding; None, with ``ingress_hooks_error``, when the qdiscs or the BPF
    links could not be listed."""
    errors = []
    try:
        qdiscs: dict[int, str] | None = rtnetlink.dump_ingress_qdiscs(timeout)
    except OSError as exc:
        qdiscs = None
        errors.append(f"the qdiscs could not be listed (rtnetlink RTM_GETQDISC): {exc.strerror or exc}")
    try:
        tcx: set[int] | None = sk_lookup.tcx_ingress_indexes()
    except OSError as exc:
        tcx = None
        errors.append(f"the BPF links (tcx) could not be listed: {exc}")
    error = "; ".join(errors) or None
    result = []
    for link in links:
        hooks: list[str] | None = None
        if qdiscs is not None and tcx is not None:
            hooks = [f"tc {qdiscs[link['index']]}"] if link["index"] in qdiscs else []
            if link["index"] in tcx:  # the kernel names its interface by index alone: this one, or another namespace's
                hooks.append("tcx")
            if link.get("xdp"):
                hooks.append("xdp")
        result.append({**link, "ingress_hooks": hooks, "ingress_hooks_error": error})
    return result


def with_nft_ingress(links: list[dict[str, Any]], redirects: dict[str | None, list[str]] | None,
                     error: str | None) -> list[dict[str, Any]]:
    """Each link with the nftables ingress chains that may hand what arrives on it to another
    interface (:func:`auditor.collect.nat.read_ingress_redirects`) added to its ``ingress_hooks``;
    its hooks unknown (None, with the reason in ``ingress_hooks_error``) where the ruleset could not
    be read."""
    result = []
    for link in links:
        if redirects is None:
            reasons = [r for r in (link.get("ingress_hooks_error"), f"the nftables ingress chains could not be read: {error}") if r]
            result.append({**link, "ingress_hooks": None, "ingress_hooks_error": "; ".join(reasons)})
            continue
        added = [*redirects.get(link["name"], []), *redirects.get(None, [])]
        hooks = link.get("ingress_hooks")
        result.append({**link, "ingress_hooks": None if hooks is None else [*hooks, *dict.fromkeys(added)]})
    return result


def read_local_routes(timeout: float, interfaces: list[dict[str, Any]] | None) -> tuple[list[str] | None, str | None]:
    """The local routes of the caller's namespace (:func:`rtnetlink.dump_local_routes`) but the
    single-address one of each interface address (the snapshot holds those as addresses), or None
    and why they could not be read."""
    try:
        routes = rtnetlink.dump_local_routes(timeout)
    except OSError as exc:
        return None, f"rtnetlink dump of the routes failed: {exc}"
    assigned = {cidr.split("/", 1)[0].split("%", 1)[0] for link in interfaces or [] for cidr in link["addresses"]}
    return [route for route in routes if not (route.split("/", 1)[0] in assigned
                                              and route.split("/", 1)[1] in ("32", "128"))], None


# Transports the kernel has not registered, with their not_applicable gap: registration is the
# kernel's, not a namespace's, so the parent works it out once before forking (see _child).
_ABSENT: dict[str, tuple[Gap, str]] = {}


def _optional_here(timeout: float) -> OptionalRead:
    """UDP-Lite, SCTP, DCCP and MPTCP of this namespace.  /proc/net/protocols is read once: a
    transport the kernel does not have is a not_applicable gap without a dump (a dump would make
    the kernel try to load its diag module, in every namespace), and one with no socket in use in
    this namespace (the per-namespace counter, raised when a socket is hashed, as binding or
    listening does) cannot have a listener here and is not dumped."""
    try:
        protocols = kernel_protocols("/proc")
    except (OSError, ValueError):
        return read_optional_netlink(timeout=timeout, proc="/proc")
    result = OptionalRead([], [], [])
    for transport in OPTIONAL:
        present = [name for name in transport.kernel_names if name in protocols]
        if not present:
            gap, note = _ABSENT.get(transport.name) or _absent_or_unreadable(transport, "not registered", "/proc")
            result.gaps.append(gap)
            result.methods.append(note)
            continue
        counts = [protocols[name] for name in present]
        if all(count == 0 for count in counts):
            result.methods.append(f"{transport.name}: none in use (/proc/net/protocols)")
            continue
        found = read_optional_netlink(timeout=timeout, proc="/proc", transports=(transport,))
        result.rows += found.rows
        result.gaps += found.gaps
        result.methods += found.methods
    return result


def listener_identities_here(timeout: float) -> dict[str, Any]:
    """(protocol, family, address, port, inode) of each listener of this namespace, read again after
    the owner scan (:func:`identities_changed`); ``None`` when the tables could not be read."""
    read = read_listener_rows("/proc", timeout)
    if read.rows is None:
        return {"identities": None}
    return {"identities": sorted(_identity(vars(row)) for row in read.rows if row.is_listener)}


def _identity(listener: dict[str, Any]) -> tuple[str, str, str, int, int]:
    return (listener["protocol"], listener["family"], listener["address"], listener["port"], listener["inode"] or 0)


def identities_changed(listeners: list[dict[str, Any]], again: dict[str, Any] | None) -> str | None:
    """Why a namespace's listener list is not known to be whole: its listeners, read again after
    their owners were looked up, are not those first read (one closed and another opened meanwhile,
    the same port reopened on the wildcard); None when they are the same."""
    if again is None or not again.get("entered") or again.get("identities") is None:
        why = (again or {}).get("error") or "the child that enters namespaces ended before reaching it"
        return f"its listeners could not be read again after their owners were looked up: {why}"
    first = {_identity(item) for item in listeners}
    second = {tuple(item) for item in again["identities"]}
    if first == second:
        return None
    return (f"its listeners changed while their owners were looked up ({len(second - first)} opened and "
            f"{len(first - second)} closed): the list read is not known to be whole")


def _child(targets: list[tuple[int, int]], write_fd: int, timeout: float, identities_only: bool = False,
           runner: Any = None, ask_ids: list[int] | None = None, stat_names: list[str] | None = None) -> None:
    """In the forked child: enter each namespace in turn and write one JSON line per namespace
    (with ``ask_ids``: only the id it gives the namespace of each of those descriptors; with
    ``stat_names``: only the inode of each of those files under its /proc/thread-self/net)."""
    known: list[tuple[int, int]] = []
    if not identities_only and ask_ids is None and stat_names is None:  # where a veth's peer may be: the collector's own namespace first
        try:
            own = open_namespace("/proc/thread-self/ns/net")
            known.append((own, os.fstat(own).st_ino))
        except OSError:
            pass  # a veth into it is then judged as reaching beyond
        for _index, fd in targets:
            try:
                known.append((fd, os.fstat(fd).st_ino))
            except OSError:
                continue
    for index, fd in targets:
        try:
            _setns(fd)
            if ask_ids is not None:
                line = {"index": index, "entered": True, "ids": [_id_or_none(fd, timeout) for fd in ask_ids]}
            elif stat_names is not None:
                line = {"index": index, "entered": True, "inodes": [_inode_or_none(f"/proc/thread-self/net/{name}")
                                                                    for name in stat_names]}
            else:
                line = {"index": index, "entered": True,
                        **(listener_identities_here(timeout) if identities_only else read_here(timeout, runner, known))}
        except Exception as exc:  # noqa: BLE001 - reported to the parent as the namespace's gap
            line = {"index": index, "entered": False, "error": f"{type(exc).__name__}: {exc}"}
        data = (json.dumps(line) + "\n").encode()
        while data:
            data = data[os.write(write_fd, data):]


def _inode_or_none(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _id_or_none(fd: int, timeout: float) -> int | None:
    """The id the caller's namespace gives the namespace of ``fd``; None: none, or not asked."""
    try:
        return rtnetlink.netnsid_of(fd, timeout)
    except OSError:
        return None


def enter_all(fds: list[tuple[int, int]], timeout: float, identities_only: bool = False,
              runner: Any = None, ask_ids: list[int] | None = None,
              stat_names: list[str] | None = None) -> dict[int, dict[str, Any]]:
    """Run :func:`_child` over ``(index, fd)`` pairs in one forked child; its results by index.
    A namespace with no result (the child died or ran out of time) is absent.  ``runner``: the
    target whose programs read each namespace's TPROXY rules."""
    if not fds:
        return {}
    _ABSENT.clear()
    try:
        registered = kernel_protocols("/proc")
        for transport in OPTIONAL:
            if not set(transport.kernel_names) & registered.keys():
                _ABSENT[transport.name] = _absent_or_unreadable(transport, "not registered", "/proc")
    except (OSError, ValueError):
        pass  # each namespace then works it out itself
    _load_libc()
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
    except OSError as exc:
        # No child (ulimit -u, pids.max): each namespace is one not entered, and says why.  Raised,
        # it took the whole netns section with it ("collector failed: BlockingIOError").
        os.close(read_fd)
        os.close(write_fd)
        why = f"no child to enter it: {process_not_started(exc)}"
        return {index: {"index": index, "entered": False, "error": why} for index, _fd in fds}
    if pid == 0:  # the child: never returns into the caller's code
        status = 0
        try:
            os.close(read_fd)
            _child(fds, write_fd, timeout, identities_only, runner, ask_ids, stat_names)
        except BaseException:  # noqa: BLE001 - nothing may unwind into the parent's stack
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout * max(1, len(fds))
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                break
            if not fdwait.ready(read_fd, read=True, timeout=remaining):
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    results: dict[int, dict[str, Any]] = {}
    for line in b"".join(chunks).splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill: that namespace has no result, so it is a gap
        results[int(value["index"])] = value
    return results


# ---------------------------------------------------------------- workloads

def container_of(cgroup: str) -> tuple[str, str] | None:
    """(runtime, container id) of a /proc/PID/cgroup text, when the process is in a container (pure)."""
    found = _container_cgroup(cgroup)
    return None if found is None else found[:2]


def _container_cgroup(cgroup: str) -> tuple[str, str, str] | None:
    """(runtime, container id, the cgroup path that names it) of a /proc/PID/cgroup text (pure)."""
    for line in cgroup.splitlines():
        path = line.split(":", 2)[-1]
        match = _CONTAINER_ID.search(path)
        if match:
            kind = match.group(1)
            if "kubepods" in path:
                return "kubernetes", match.group(2), path
            return ("podman" if kind == "libpod" else "docker" if kind == "docker" else kind), match.group(2), path
    return None


def _cgroup_path(pid: int | None, proc: str) -> str | None:
    """The cgroup path that names ``pid``'s container (None: none, or it could not be read)."""
    if pid is None:
        return None
    try:
        text = read_regular(f"{proc}/{pid}/cgroup", CGROUP_LIMIT).decode("utf-8", "replace")
    except OSError:
        return None
    found = _container_cgroup(text)
    return None if found is None else found[2]


def workloads_of(pids: list[int], proc: str) -> list[Workload]:
    by_id: dict[tuple[str, str], list[int]] = {}
    for pid in pids:
        try:
            text = read_regular(f"{proc}/{pid}/cgroup", CGROUP_LIMIT).decode("utf-8", "replace")
        except OSError:
            continue
        found = container_of(text)
        if found:
            by_id.setdefault(found, []).append(pid)
    return [Workload(runtime=runtime, id=cid, pids=sorted(p)) for (runtime, cid), p in sorted(by_id.items())]


# ---------------------------------------------------------------- the collector

def _interfaces(links: list[dict[str, Any]]) -> list[NetInterface]:
    names = {link["index"]: link["name"] for link in links}
    return [NetInterface(name=link["name"], index=link["index"], kind=link["kind"], link_kind=link["link_kind"],
                         up=link["up"], addresses=link["addresses"],
                         master=names.get(link["master_index"]) if link["master_index"] else None,
                         peer_index=link["peer_index"], peer_in_other_netns=link["peer_in_other_netns"],
                         peer_netns=link.get("peer_netns"),
                         route_localnet=link.get("route_localnet"), forwarding=link.get("forwarding"),
                         forwarding_ipv6=link.get("forwarding_ipv6"), ingress_hooks=link.get("ingress_hooks"))
            for link in links]


def _sysctl_flag(path: str) -> tuple[bool | None, str | None]:
    """A 0/1 sysctl: (its value, None), or (None, why it could not be read)."""
    try:
        text = read_regular(path, 64).decode("ascii", errors="replace").strip()
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    if not re.fullmatch(r"-?[0-9]{1,10}", text):
        return None, f"{path}: {text!r} is not a number"
    return int(text) != 0, None


def with_route_localnet(links: list[dict[str, Any]], proc_sys: str) -> list[dict[str, Any]]:
    """Each link (a :class:`rtnetlink.Link` as a dict) with ``route_localnet``: whether the kernel
    delivers packets to 127.0.0.0/8 arriving on it, net.ipv4.conf.all OR net.ipv4.conf.NAME (the
    kernel's IN_DEV_NET_ROUTE_LOCALNET), read in the namespace this process is in; None, with
    ``route_localnet_error``, when that could not be read.  An interface with no IPv4 configuration
    (no conf directory) takes no IPv4 packet at all: False."""
    every, every_error = _sysctl_flag(f"{proc_sys}/net/ipv4/conf/all/route_localnet")
    result = []
    for link in links:
        own, error = _sysctl_flag(f"{proc_sys}/net/ipv4/conf/{link['name']}/route_localnet")
        if own is None and not os.path.isdir(f"{proc_sys}/net/ipv4/conf/{link['name']}"):
            own, error = False, None  # no in_device: IPv4 is not received there
        value: bool | None
        if every is True or own is True:
            value, error = True, None
        elif every is False and own is False:
            value = False
        else:
            value, error = None, every_error or error
        result.append({**link, "route_localnet": value, "route_localnet_error": error})
    return result


def with_forwarding(links: list[dict[str, Any]], proc_sys: str) -> list[dict[str, Any]]:
    """Each link with ``forwarding`` and ``forwarding_ipv6``: whether the kernel forwards IPv4
    (net.ipv4.conf.NAME.forwarding, which ip_route_input_slow asks of the interface a packet came in
    on: net.ipv4.ip_forward sets every one) and IPv6 (net.ipv6.conf.all.forwarding, which ip6_forward
    asks, or the interface's own force_forwarding where the kernel has it) that arrives on it, read
    in the namespace this process is in; None, with ``forwarding_error``, when that could not be
    read.  An interface with no IPv4 (IPv6) configuration forwards none of that family: False."""
    every6, every6_error = _sysctl_flag(f"{proc_sys}/net/ipv6/conf/all/forwarding")
    result = []
    for link in links:
        errors = []
        own, error = _sysctl_flag(f"{proc_sys}/net/ipv4/conf/{link['name']}/forwarding")
        if own is None and not os.path.isdir(f"{proc_sys}/net/ipv4/conf/{link['name']}"):
            own, error = False, None
        if error:
            errors.append(error)
        forced, forced_error = (None, None)
        if os.path.exists(f"{proc_sys}/net/ipv6/conf/{link['name']}/force_forwarding"):
            forced, forced_error = _sysctl_flag(f"{proc_sys}/net/ipv6/conf/{link['name']}/force_forwarding")
        six: bool | None
        if not os.path.isdir(f"{proc_sys}/net/ipv6/conf/{link['name']}"):
            six = False  # no inet6 device (IPv6 disabled): no IPv6 packet is taken from it
        elif every6 is True or forced is True:
            six = True
        elif every6 is False and not forced_error:
            six = False
        else:
            six = None
            errors.append(every6_error or forced_error or "")
        result.append({**link, "forwarding": own, "forwarding_ipv6": six,
                       "forwarding_error": "; ".join(e for e in errors if e) or None})
    return result


def _link_gaps(prefix: tuple[Any, ...], links: list[dict[str, Any]]) -> list[Gap]:
    """Why a link's route_localnet, forwarding or veth peer's namespace is not known."""
    gaps = [Gap(section="netns", path=(*prefix, "interfaces", i, "route_localnet"),
                reason=f"whether {link['name']} delivers packets to 127.0.0.0/8 (route_localnet) could not be read: "
                       f"{link['route_localnet_error']}")
            for i, link in enumerate(links) if link.get("route_localnet") is None]
    gaps += [Gap(section="netns", path=(*prefix, "interfaces", i, "forwarding"),
                 reason=f"whether {link['name']} forwards what arrives on it (net.ipv4.conf.{link['name']}.forwarding, "
                        f"net.ipv6.conf.all.forwarding) could not be read: {link['forwarding_error']}")
             for i, link in enumerate(links) if "forwarding" in link and link.get("forwarding_error")]
    gaps += [Gap(section="netns", path=(*prefix, "interfaces", i, "ingress_hooks"),
                 reason=f"whether a tc, XDP or nftables ingress program can redirect what arrives on {link['name']}: "
                        f"{link['ingress_hooks_error']}")
             for i, link in enumerate(links) if link.get("ingress_hooks_error")]
    return gaps + [Gap(section="netns", path=(*prefix, "interfaces", i, "peer_netns"), reason=link["peer_netns_error"])
                   for i, link in enumerate(links) if link.get("peer_netns_error")]


def with_peer_namespaces(links: list[dict[str, Any]], known: list[tuple[int, int]],
                         timeout: float) -> list[dict[str, Any]]:
    """Each link (a :class:`rtnetlink.Link` as a dict) with ``peer_netns``: the inode of the namespace
    its veth peer is in, found by the id this namespace gives that namespace (IFLA_LINK_NETNSID),
    which RTM_GETNSID answers for a descriptor of each namespace of ``known`` ((fd, inode) pairs, in
    the order to ask them: the collector's own first, where most veths lead).  An ifindex is no
    namespace's name: each namespace numbers its interfaces from 1, so two namespaces hold peers
    of the same index.  None: a peer in this namespace (no id), or in a namespace none of ``known``
    is (not found by discovery, or not opened), whose veth is then judged as reaching beyond."""
    wanted = {link["peer_netnsid"] for link in links if link.get("peer_netnsid") is not None}
    inode_by_nsid: dict[int, int] = {}
    errors: list[str] = []
    for fd, inode in known:
        if not wanted - inode_by_nsid.keys():
            break
        try:
            nsid = rtnetlink.netnsid_of(fd, timeout)
        except OSError as exc:
            errors.append(f"net:[{inode}]: {exc.strerror or exc}")
            continue  # that namespace is not known to be any peer's: its veths stay unpaired
        if nsid is not None:
            inode_by_nsid[nsid] = inode
    result = []
    for link in links:
        nsid = link.get("peer_netnsid")
        peer = inode_by_nsid.get(nsid) if nsid is not None else None
        # a peer left unpaired while some namespace could not be asked: perhaps in that one (a gap)
        error = (f"the id of the namespace of {link['name']}'s peer ({nsid}) could not be matched: RTM_GETNSID "
                 f"failed for {'; '.join(errors)}") if nsid is not None and peer is None and errors else None
        result.append({**link, "peer_netns": peer, **({"peer_netns_error": error} if error else {})})
    return result


def unfound_peer_gaps(proc: str, order: list[Found], current: tuple[int, int] | None,
                      links_by_index: dict[int, list[dict[str, Any]]], some_unopened: bool,
                      timeout: float, fds: list[tuple[int, int]]) -> list[Gap]:
    """A discovery gap for each namespace known to exist that discovery did not find: one the
    collector's namespace gives an id to (RTM_GETNSID dump: a device moved there, a veth's peer, a
    macvlan of a host link) that none found has, and one a veth of another namespace read leads
    into (the id it names its peer's namespace by, IFLA_LINK_NETNSID, matched none found:
    :func:`with_peer_namespaces`).  Such a namespace is held by nothing discovery looks at (a socket
    in flight in a unix socket's queue, a socket only a memory mapping holds),
    and its listeners are never judged.  ``links_by_index``: the links read in each namespace (by
    its index in ``order``); ``fds``: (index, descriptor) of each namespace opened (the collector's
    own is not among them).

    The ids are read after discovery, so a namespace made meanwhile (a container started during the
    collection, or one a container starts inside itself) has one too: the namespaces are found
    again once, and an id that names one of those new ones (asked in the namespace whose id it is:
    another namespace is entered by a forked child), or an id of the collector's namespace that is
    gone by then (its namespace ended), is no gap."""
    unopened = " or one of those that could not be opened" if some_unopened else ""
    here = next((i for i, e in enumerate(order) if (e.device, e.inode) == current), None)
    unmatched: set[int] = set()
    if here is not None:
        try:
            unmatched = rtnetlink.dump_nsids(timeout)
        except OSError:
            # discovery does not rest on this evidence; only what the ids would add is not known
            unmatched = set()
        if unmatched:
            own = None
            try:
                own = open_namespace(f"{proc}/thread-self/ns/net")  # a namespace may give itself an id
            except OSError:
                pass
            for fd in ([own] if own is not None else []) + [fd for _index, fd in fds]:
                try:
                    nsid = rtnetlink.netnsid_of(fd, timeout)
                except OSError:
                    unopened = " or one of those whose id could not be asked"
                    continue
                if nsid is not None:
                    unmatched.discard(nsid)
            if own is not None:
                os.close(own)
    nested = [(index, link["name"], link["peer_netnsid"]) for index, links in sorted(links_by_index.items())
              if index != here for link in links
              if link.get("kind") == "veth" and link.get("peer_netnsid") is not None
              and link.get("peer_netns") is None and not link.get("peer_netns_error")]
    if unmatched or nested:
        born_here, born_in = _ids_of_new_namespaces(proc, order, fds, {index for index, _n, _i in nested}, timeout)
        unmatched -= born_here
        nested = [(index, name, nsid) for index, name, nsid in nested if nsid not in born_in.get(index, set())]
    if unmatched:
        try:
            unmatched &= rtnetlink.dump_nsids(timeout)  # those of namespaces that ended meanwhile go
        except OSError:
            pass  # kept: a gap
    gaps = []
    for nsid in sorted(unmatched) if here is not None else []:
        veths = [link["name"] for link in links_by_index.get(here, []) if link.get("peer_netnsid") == nsid]
        through = (f"the namespace of the peer of veth {', '.join(veths)}" if veths
                   else "the namespace of no veth of it: a device was moved there, or it was named")
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"the collector's network namespace net:[{order[here].inode}] gives id {nsid} to "
                               f"a namespace none found is{unopened} ({through}): one held by nothing discovery "
                               "looks at (a socket in flight in a unix socket's queue, a socket only a memory "
                               "mapping holds), whose listeners are not seen"))
    for index, name, nsid in nested:
        gaps.append(Gap(section="netns", path=("namespaces",),
                        reason=f"the peer of veth {name} in network namespace net:[{order[index].inode}] "
                               f"is in a namespace none found is (id {nsid} there{unopened}): "
                               "one held by nothing discovery looks at (a socket in flight in a unix socket's "
                               "queue, a socket only a memory mapping holds), whose listeners are not seen"))
    return gaps


def _ids_of_new_namespaces(proc: str, order: list[Found], fds: list[tuple[int, int]], inside: set[int],
                           timeout: float) -> tuple[set[int], dict[int, set[int]]]:
    """The ids given to the namespaces a second discovery finds that are not in ``order``: those
    the collector's namespace gives them, and those each namespace of ``inside`` (indexes in
    ``order``, opened in ``fds``) gives them, asked inside it by a forked child."""
    known = {(e.device, e.inode) for e in order}
    again, _current, _gaps = discover(proc)
    opened: list[int] = []
    try:
        for key, entry in again.items():
            if key in known:
                continue
            if entry.fd is not None:
                opened.append(entry.fd)
                entry.fd = None
                continue
            for path in entry.open_paths:
                try:
                    fd = open_namespace(path)
                except OSError:
                    continue
                if (os.fstat(fd).st_dev, os.fstat(fd).st_ino) == key:
                    opened.append(fd)
                    break
                os.close(fd)
        here: set[int] = set()
        for fd in opened:
            try:
                nsid = rtnetlink.netnsid_of(fd, timeout)
            except OSError:
                continue  # not matched: what it would match stays a gap
            if nsid is not None:
                here.add(nsid)
        targets = [(index, fd) for index, fd in fds if index in inside]
        results = enter_all(targets, timeout, ask_ids=opened) if opened and targets else {}
        return here, {index: {nsid for nsid in result.get("ids") or [] if nsid is not None}
                      for index, result in results.items() if result.get("entered")}
    finally:
        close_held(again)
        for fd in opened:
            os.close(fd)


def _match_veth_peers(namespaces: list[NetNamespace]) -> list[NetNamespace]:
    """Set ``peer_netns`` of each veth whose peer is in its own namespace, and keep the one
    :func:`with_peer_namespaces` found by the peer namespace's id only where that namespace (when
    its interfaces were read) holds a veth at the peer's index pointing back: a pair moved or
    remade between the two reads is not paired.  A veth whose peer's namespace is not known is
    left unpaired (judged as reaching beyond), never guessed from indexes, which repeat across
    namespaces."""
    by_inode = {ns.inode: ns for ns in namespaces}
    result = []
    for ns in namespaces:
        if not ns.interfaces:
            result.append(ns)
            continue
        interfaces = []
        for interface in ns.interfaces:
            if interface.kind == "veth" and interface.peer_index is not None:
                peer = ns.inode if not interface.peer_in_other_netns else interface.peer_netns
                other = by_inode.get(peer) if peer is not None else None
                if other is not None and other.interfaces is not None and not any(
                        i.index == interface.peer_index and i.kind == "veth" and i.peer_index == interface.index
                        for i in other.interfaces):
                    peer = None
                interface = interface.model_copy(update={"peer_netns": peer})
            interfaces.append(interface)
        result.append(ns.model_copy(update={"interfaces": interfaces}))
    return result


def _local_route_gaps(prefix: tuple[Any, ...], error: str | None) -> list[Gap]:
    """Why a namespace's local routes are not known (none when they were read)."""
    if not error:
        return []
    return [Gap(section="netns", path=(*prefix, "local_routes"),
                reason=f"the local routes, which make addresses no interface has the namespace's own (AnyIP), "
                       f"could not be read: {error}")]


def _tproxy_gaps(prefix: tuple[Any, ...], unknown: list[str]) -> list[Gap]:
    """Why a namespace's TPROXY rules are not known to be all of them (one gap, the reasons joined)."""
    if not unknown:
        return []
    return [Gap(section="netns", path=(*prefix, "tproxy"),
                reason="TPROXY rules, which hand a transparent socket packets for any address, may be missing: "
                       + "; ".join(unknown))]


def _moved(gap_data: dict[str, Any], prefix: tuple[Any, ...], section_path: tuple[Any, ...]) -> Gap:
    """A gap read inside a namespace, placed under it: ``("listeners", ...)`` of the sockets section
    becomes ``("namespaces", i, "listeners", ...)``, ``("runtime", key)`` of sysctl ``(..., "sysctl", key)``."""
    path = tuple(gap_data["path"])
    if path[:len(section_path)] == section_path:
        path = path[len(section_path):]
    return Gap(section="netns", path=prefix + path, reason=gap_data["reason"], kind=GapKind(gap_data["kind"]))


def collect_netns(ctx: CollectContext) -> tuple[NamespaceFacts | None, list[Gap]]:
    if not ctx.target.runtime:
        return None, [Gap(section="netns", kind=GapKind.NOT_APPLICABLE,
                          reason="an offline root directory has no running network namespaces")]
    proc = ctx.target.proc
    found, current, gaps = discover(proc)
    order = sorted(found.values(), key=lambda f: ((f.device, f.inode) != current, sorted(f.names) or ["~"], f.inode))
    fds: list[tuple[int, int]] = []
    open_errors: dict[int, str] = {}
    try:
        for index, entry in enumerate(order):
            if (entry.device, entry.inode) == current:
                continue
            if entry.fd is not None:  # found through a socket: the descriptor discovery holds is the way in
                fds.append((index, entry.fd))
                entry.fd = None
                continue
            errors = []
            for path in entry.open_paths:
                try:
                    fd = open_namespace(path)
                except OSError as exc:
                    errors.append(f"{path}: {exc.strerror or exc}")
                    continue
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) != (entry.device, entry.inode):  # the pid was reused meanwhile
                    os.close(fd)
                    errors.append(f"{path}: now another namespace")
                    continue
                fds.append((index, fd))
                break
            else:
                open_errors[index] = "; ".join(errors) or "no path to open it by"
        results = enter_all(fds, ctx.command_timeout, runner=ctx.target)
    except BaseException:
        for _index, fd in fds:
            os.close(fd)
        raise
    finally:
        close_held(found)
    try:
        return _collect_entered(ctx, proc, order, current, gaps, results, open_errors, fds)
    finally:
        for _index, fd in fds:
            os.close(fd)


def _collect_entered(ctx: CollectContext, proc: str, order: list[Any], current: tuple[int, int] | None,
                     gaps: list[Gap], results: dict[int, dict[str, Any]], open_errors: dict[int, str],
                     fds: list[tuple[int, int]]) -> tuple[NamespaceFacts | None, list[Gap]]:
    """The namespaces from what the child read in each (``results``); ``fds`` still open, to read
    each namespace's listeners again after their owners are looked up."""
    listed = ListedOnce(ctx.target)  # this namespace's rule listings, for the TPROXY and NAT readers
    namespaces: list[NetNamespace] = []
    links: list[dict[str, Any]] | None = None
    for index, entry in enumerate(order):
        prefix = ("namespaces", index)
        base = dict(inode=entry.inode, device=entry.device, names=sorted(entry.names), paths=sorted(entry.paths),
                    pids=sorted(entry.pids), workloads=workloads_of(sorted(entry.pids), proc))
        if (entry.device, entry.inode) == current:
            try:
                links = read_interfaces(ctx.command_timeout, f"{ctx.target.proc}/sys",
                                        [(fd, order[i].inode) for i, fd in fds])
                # the host's links are where what comes from beyond arrives: an nftables ingress
                # chain there hands it on as a tc filter does (other namespaces' hooks judge nothing)
                links = with_nft_ingress(links, *read_ingress_redirects(listed, ctx.command_timeout))
                gaps += _link_gaps(prefix, links)
                interfaces = _interfaces(links)
            except OSError as exc:
                links, interfaces = None, None
                gaps.append(Gap(section="netns", path=(*prefix, "interfaces"), reason=f"rtnetlink dump failed: {exc}"))
            local_routes, route_error = read_local_routes(ctx.command_timeout, links)
            gaps += _local_route_gaps(prefix, route_error)
            rules, unknown, _read = read_tproxy(listed, ctx.command_timeout)
            gaps += _tproxy_gaps(prefix, unknown)
            namespaces.append(NetNamespace(**base, current=True, interfaces=interfaces, local_routes=local_routes,
                                           tproxy=rules))
            continue
        result = results.get(index)
        if result is None or not result.get("entered"):
            why = (open_errors.get(index) or (result or {}).get("error")
                   or "the child that enters namespaces ended before reaching it (timeout or crash)")
            gaps.append(Gap(section="netns", path=prefix,
                            reason=f"network namespace net:[{entry.inode}] could not be entered: {why}"))
            namespaces.append(NetNamespace(**base))
            continue
        for gap in result["socket_gaps"]:
            gaps.append(_moved(gap, prefix, ()))
        for gap in result["sysctl_gaps"]:
            gaps.append(_moved(gap, (*prefix, "sysctl"), ("runtime",)))
        gaps += _tproxy_gaps(prefix, result["tproxy_unknown"])
        if result["interfaces"] is None:
            gaps.append(Gap(section="netns", path=(*prefix, "interfaces"), reason=result["interface_error"]))
        else:
            gaps += _link_gaps(prefix, result["interfaces"])
        gaps += _local_route_gaps(prefix, result.get("local_route_error"))
        # one validation of the whole namespace (the child's JSON is checked like any other input)
        namespaces.append(NetNamespace.model_validate({
            **base, "entered": True,
            "interfaces": None if result["interfaces"] is None else _interfaces(result["interfaces"]),
            "listeners": result["listeners"], "counts": result["counts"], "sysctl": result["sysctl"],
            "tproxy": result["tproxy"], "local_routes": result.get("local_routes"),
        }))
    links_by_index = {index: result["interfaces"] for index, result in results.items()
                      if result.get("entered") and result.get("interfaces")}
    if current is not None and links:
        links_by_index[next(i for i, e in enumerate(order) if (e.device, e.inode) == current)] = links
    gaps += unfound_peer_gaps(proc, order, current, links_by_index, bool(open_errors), ctx.command_timeout, fds)
    namespaces, owner_gaps = _attribute(namespaces, proc, ctx.record_cmdline)
    entered = [(index, fd) for index, fd in fds if (results.get(index) or {}).get("entered")]
    again = enter_all(entered, ctx.command_timeout, identities_only=True) if entered else {}
    for index, _fd in entered:
        changed = identities_changed(results[index]["listeners"] or [], again.get(index))
        if changed is not None:
            owner_gaps.append(Gap(section="netns", path=("namespaces", index, "listeners"),
                                  reason=f"network namespace net:[{order[index].inode}]: {changed}"))
    engines = read_engines(ctx.command_timeout)
    namespaces = _enrich(namespaces, engines, proc)
    nat, nat_gaps, nat_read = read_nat(listed, ctx.command_timeout)
    sources: list[Any] = (["engine"] if engines.read else []) + (["nat"] if nat is not None else [])
    published = None if not sources else dedupe(engines.published + (nat or []))
    drops, drops_unknown, _read = read_loopback_drops(listed, ctx.command_timeout)
    drop_gaps = [Gap(section="netns", path=("loopback_drops",),
                     reason="drops that close a DNAT of 127.0.0.0/8 to packets from a link may be missing: "
                            + "; ".join(drops_unknown))] if drops_unknown else []
    method = "; ".join([METHOD, *engines.read, *nat_read])
    return (NamespaceFacts(namespaces=_match_veth_peers(namespaces), method=method, published=published,
                           published_sources=sources, loopback_drops=drops),
            gaps + owner_gaps + engines.gaps + nat_gaps + drop_gaps)


def _enrich(namespaces: list[NetNamespace], engines: EngineView, proc: str = "/proc") -> list[NetNamespace]:
    """Workloads named by the engines: a cgroup-found container gets its name, image and labels; a
    container whose pid or sandbox key is in a namespace but whose cgroup did not say so is added.

    A cgroup's name is no proof: any user with a delegated cgroup subtree (systemd's user@UID.service,
    ``systemd-run --user --scope --unit docker-ID``) can put a process of theirs in a cgroup named
    after a running container, whose id /proc/PID/cgroup shows to every user.  So a process takes
    the engine's name for its container only when its cgroup is the one the engine's own process
    for that container is in (or under it); the others stay a workload known only by its cgroup,
    which a container selector matches neither way."""
    if not engines.workloads:
        return namespaces
    by_id = {workload.id: (workload, pid, sandbox) for workload, pid, sandbox in engines.workloads}
    engine_paths: dict[str, str | None] = {}
    result = []
    for ns in namespaces:
        workloads = []
        seen = set()
        for workload in ns.workloads:
            known = by_id.get(workload.id)
            if known is not None:
                if workload.id not in engine_paths:
                    engine_paths[workload.id] = _cgroup_path(known[1], proc)
                home = engine_paths[workload.id]
                proven = [pid for pid in workload.pids if home is not None
                          and (path := _cgroup_path(pid, proc)) is not None
                          and (path == home or path.startswith(home.rstrip("/") + "/"))]
                others = [pid for pid in workload.pids if pid not in proven]
                if proven:
                    workloads.append(known[0].model_copy(update={"pids": proven}))
                if others:
                    workloads.append(workload.model_copy(update={"pids": others}))  # named by its cgroup only
                seen.add(workload.id)
                continue
            workloads.append(workload)
            seen.add(workload.id)
        for workload, pid, sandbox in engines.workloads:
            if workload.id not in seen and ((pid is not None and pid in ns.pids) or (sandbox and sandbox in ns.paths)):
                workloads.append(workload)
                seen.add(workload.id)
        result.append(ns.model_copy(update={"workloads": workloads}))
    return result


def _attribute(namespaces: list[NetNamespace], proc: str, record_cmdline: bool) -> tuple[list[NetNamespace], list[Gap]]:
    """Owners of every namespace's listeners, by one scan of /proc/PID/fd (socket inodes are global)."""
    flat = [(n, j, l) for n, ns in enumerate(namespaces) for j, l in enumerate(ns.listeners or [])]
    if not flat:
        return namespaces, []
    owned, gaps = attribute_owners([l for _n, _j, l in flat], proc, record_cmdline=record_cmdline)
    by_namespace: dict[int, list[Listener]] = {}
    for (n, _j, _l), listener in zip(flat, owned):
        by_namespace.setdefault(n, []).append(listener)
    moved = []
    for gap in gaps:  # ("listeners", k, ...) of the flat list -> ("namespaces", n, "listeners", j, ...)
        n, j, _l = flat[gap.path[1]]  # type: ignore[index]
        moved.append(Gap(section="netns", path=("namespaces", n, "listeners", j, *gap.path[2:]),
                         reason=gap.reason, kind=gap.kind))
    return [ns.model_copy(update={"listeners": by_namespace[n]}) if n in by_namespace else ns
            for n, ns in enumerate(namespaces)], moved


def describe_netns(facts: NamespaceFacts, ctx: CollectContext) -> str:
    return facts.method or METHOD


def summarize_netns(facts: NamespaceFacts) -> str:
    entered = sum(1 for ns in facts.namespaces if ns.entered)
    return f"{len(facts.namespaces)} network namespaces ({entered} entered)"
