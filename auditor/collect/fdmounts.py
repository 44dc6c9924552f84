"""Which file system another process's descriptor is on, told without touching that file system.

A live collection runs as root and follows other users' descriptors: stat(2), statfs(2) or open(2)
of ``/proc/PID/fd/N`` asks the file system of the file, and a FUSE server that never answers (a
local user's, mounted allow_other, or a container's) or a dead hard-mounted NFS server keeps that
call in the kernel for ever, uninterruptibly once the request is sent (statx's AT_STATX_DONT_SYNC
does not stop FUSE asking its server).  What cannot block: ``/proc/PID/fdinfo/N`` (its ``mnt_id``:
procfs writes it from the open file, asking no file system) and a mountinfo (written from the
mount table: the file system type and its options).  A descriptor is followed only once its mount
says the file system is one the kernel answers for itself (:data:`ANSWERED_IN_KERNEL`).
"""

from __future__ import annotations

import errno
import os
import re
import select
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from auditor.collect.procview import MOUNTINFO_LIMIT
from auditor.model.records import record
from auditor.safeio import read_regular

FDINFO_LIMIT = 64 * 1024
MAPS_LIMIT = 64 * 1024 * 1024  # /proc/PID/maps: about 100 bytes a mapping, up to vm.max_map_count

# File systems whose stat/open of a file is answered by the kernel from memory or a local disk:
# no user-space server, no network, no automount daemon, no lower layer that may be one of those.
# Left out on purpose: fuse and fuse.* and fuseblk and virtiofs (a server), nfs, cifs, smb3, 9p,
# ceph, afs and the other network file systems, and autofs (a stat waits for its daemon).  An overlay
# (a container's root: Docker's overlay2) is answered by the file systems of its layers, which may be
# FUSE: it counts only when the mount table shows every layer directory on one of these (see
# :func:`mounts_by_id`).  Unknown types are left out: such a descriptor is not followed, and where
# it could hide what is audited that is a gap.
ANSWERED_IN_KERNEL = frozenset({
    "proc", "sysfs", "devtmpfs", "tmpfs", "ramfs", "devpts", "mqueue", "hugetlbfs", "cgroup", "cgroup2",
    "debugfs", "tracefs", "securityfs", "bpf", "pstore", "configfs", "binfmt_misc", "efivarfs", "nsfs",
    "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "vfat", "exfat", "squashfs", "erofs", "iso9660",
})


@record
class Mount:
    """The mount a descriptor's file is on, as a mountinfo line names it."""

    mount_id: int
    fstype: str
    point: str
    nodev: bool  # mounted nodev: no device node on it opens a device
    device: tuple[int, int] = (0, 0)  # its file system's st_dev, (major, minor)
    layers_answered: bool = False  # an overlay whose every layer directory is on a file system of ANSWERED_IN_KERNEL

    @property
    def answered_in_kernel(self) -> bool:
        return self.fstype in ANSWERED_IN_KERNEL or (self.fstype == "overlay" and self.layers_answered)


CLOSED = "closed"  # the descriptor was closed meanwhile (or its process exited)


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


class MountTable(Mapping[int, Mount]):
    """The mounts of one mountinfo text by id.  An overlay's ``layers_answered`` is worked out
    only when that overlay is looked up, once: it looks each layer directory up among all the
    mounts, and a container host's table holds thousands of mounts and hundreds of overlays, of
    which a collection asks about the few its processes run from or hold files on."""

    def __init__(self, mounts: dict[int, Mount], layers: dict[int, list[str]]) -> None:
        self._mounts = mounts
        self._layers = layers  # the overlays not looked up yet: their layer directories
        self._by_device: dict[tuple[int, int], int] | None = None

    def __getitem__(self, mount_id: int) -> Mount:
        mount = self._mounts[mount_id]
        directories = self._layers.pop(mount_id, None)
        if directories is not None:
            on = [_mount_holding(self._mounts.values(), directory) for directory in directories]
            if directories and all(m is not None and m.fstype in ANSWERED_IN_KERNEL for m in on):
                mount = self._mounts[mount_id] = replace(mount, layers_answered=True)
        return mount

    def __iter__(self) -> Iterator[int]:
        return iter(self._mounts)

    def __len__(self) -> int:
        return len(self._mounts)

    def first_of_device(self, device: tuple[int, int]) -> Mount | None:
        """The first mount listed of the file system of ``device`` (its st_dev), or None."""
        if self._by_device is None:
            self._by_device = {}
            for mount in self._mounts.values():
                self._by_device.setdefault(mount.device, mount.mount_id)
        mount_id = self._by_device.get(device)
        return None if mount_id is None else self[mount_id]


def mounts_by_id(mountinfo: str) -> MountTable:
    """Each mount of a mountinfo text by its id (pure)."""
    mounts: dict[int, Mount] = {}
    layers: dict[int, list[str]] = {}
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if not sep or len(fields) < 6 or not after or not fields[0].isdigit():
            continue
        options = set(fields[5].split(","))
        major, _colon, minor = fields[2].partition(":")
        device = (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (0, 0)
        mounts[int(fields[0])] = Mount(int(fields[0]), after[0], _unescape(fields[4]), "nodev" in options, device)
        if after[0] == "overlay" and len(after) >= 3:
            layers[int(fields[0])] = _overlay_layers(after[2])
    return MountTable(mounts, layers)


def _overlay_layers(super_options: str) -> list[str]:
    """The layer directories an overlay's super options name (lowerdir=A:B, upperdir=, workdir=,
    and the lowerdir+ / datadir+ of kernels from 6.7), or [] when one cannot be read as a path: the
    mount table writes ',', white space and backslashes as octal, and overlay a ':' of a lower
    directory's path after a backslash; anything unexpected leaves the overlay not counted."""
    directories: list[str] = []
    for option in super_options.split(","):  # a ',' in a path is written as octal
        name, sep, value = option.partition("=")
        if not sep or name not in ("lowerdir", "upperdir", "workdir", "lowerdir+", "datadir+"):
            continue
        value = _unescape(value)
        for path in (re.split(r"(?<!\\):", value) if name == "lowerdir" else [value]):
            path = re.sub(r"\\(.)", r"\1", path)
            if not path.startswith("/"):
                return []
            directories.append(path)
    return directories


def _mount_holding(mounts: Iterable[Mount], path: str) -> Mount | None:
    """The mount a path is on by its text: the one of the longest mount point it is below (the last
    mounted of those, over which the others are hidden)."""
    best: Mount | None = None
    for mount in mounts:
        point = mount.point.rstrip("/") or ""
        if (path == mount.point or path.startswith(point + "/")) and (
                best is None or len(mount.point) >= len(best.point)):
            best = mount
    return best


class MountJudge:
    """The mount of descriptors of other processes, each mount table read once a run.

    One judge serves a whole collection: processes that see the same table share one read of it.
    A process's mountinfo is its mount namespace's mounts as seen from its root directory (a mount
    outside a chroot is not listed; mount points are written from the root), so the table read is
    shared by the processes of one mount namespace (the inode of /proc/PID/ns/mnt) with the same
    root (the text of /proc/PID/root, which names it without asking its file system).  A process
    whose namespace or root cannot be read (another user's, to an unprivileged run) has its own
    read, as before.

    A shared table is read again once its namespace's mounts changed (a poll(2) of a mountinfo
    opened before the read says so: the kernel counts each change of a namespace's mounts): a
    mount id or an anonymous device number freed by an unmount is given to the next mount, and a
    table kept from before the change could name a tmpfs where a FUSE file system now is."""

    def __init__(self, proc: str = "/proc") -> None:
        self.proc = proc
        self._tables: dict[object, MountTable] = {}  # by (namespace's st_dev, st_ino, root), or by pid_dir
        self._keys: dict[str, object] = {}  # each pid_dir's key of _tables, found once a run
        # a shared table's mountinfo, opened before it was read, polled for a change of its mounts
        self._watches: dict[object, int] = {}
        weakref.finalize(self, _close_all, self._watches)

    def _key(self, pid_dir: str) -> object:
        if pid_dir not in self._keys:
            try:
                namespace = os.stat(f"{pid_dir}/ns/mnt")
                root = os.readlink(f"{pid_dir}/root")
            except (OSError, ValueError):
                self._keys[pid_dir] = pid_dir
            else:
                self._keys[pid_dir] = (namespace.st_dev, namespace.st_ino, root)
        return self._keys[pid_dir]

    def _table(self, pid_dir: str) -> MountTable:
        key = self._key(pid_dir)
        if key in self._watches and _changed(self._watches[key]):
            os.close(self._watches.pop(key))
            del self._tables[key]
        if key not in self._tables:
            watch = self._watch(pid_dir) if key != pid_dir else None
            if key != pid_dir and watch is None:  # no change could be seen: its process's own table
                self._keys[pid_dir] = key = pid_dir
                if key in self._tables:
                    return self._tables[key]
            try:
                text = read_regular(f"{pid_dir}/mountinfo", MOUNTINFO_LIMIT).decode("utf-8", "surrogateescape")
            except OSError:
                # Its process only (it exited, or this run may not read it): not the table of the
                # other processes of its namespace, which may still be read.
                if watch is not None:
                    os.close(watch)
                    watch = None
                self._keys[pid_dir] = key = pid_dir
                if key in self._tables:
                    return self._tables[key]
                text = ""
            self._tables[key] = mounts_by_id(text)
            if watch is not None:
                self._watches[key] = watch
        return self._tables[key]

    def _watch(self, pid_dir: str) -> int | None:
        """A descriptor of ``pid_dir``'s mountinfo to poll for a change of its mounts, or None (too
        many held already, or it cannot be opened)."""
        if len(self._watches) >= WATCHED_TABLES:
            return None
        try:
            return os.open(f"{pid_dir}/mountinfo", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None

    def mount_of(self, link: str) -> Mount | str:
        """The mount of the file of the descriptor at ``link`` (``PROC/PID/fd/N`` or
        ``PROC/PID/task/TID/fd/N``); :data:`CLOSED` when it is gone; otherwise why it is not known
        (its fdinfo unreadable, or a mount neither its process's mount table nor the collector's
        lists: unmounted lazily, or of another mount namespace).  Nothing here asks the file's
        own file system."""
        head, sep, number = link.rpartition("/fd/")
        if not sep or not number.isdigit():
            return f"{link}: not a descriptor's link"
        try:
            fdinfo = read_regular(f"{head}/fdinfo/{number}", FDINFO_LIMIT).decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            return CLOSED
        except OSError as exc:
            if exc.errno == errno.ESRCH:  # the process exited
                return CLOSED
            return f"{head}/fdinfo/{number}: {exc.strerror or exc}"
        mount_id = next((line.split(":", 1)[1].strip() for line in fdinfo.splitlines()
                         if line.startswith("mnt_id:")), "")
        if not mount_id.isdigit():
            return f"{head}/fdinfo/{number} names no mount (mnt_id)"
        pid_dir = head if "/task/" not in head else head.rsplit("/task/", 1)[0]
        for where in (pid_dir, f"{self.proc}/self"):
            mount = self._table(where).get(int(mount_id))
            if mount is not None:
                return mount
        return (f"mount {mount_id} of {link} is in neither its process's mount table nor the collector's "
                "(unmounted lazily, or of another mount namespace)")


    def executable_mount(self, pid_dir: str, exe: str) -> Mount | str:
        """The mount of the file a process runs (``pid_dir``: its /proc/PID; ``exe``: the link
        text of its exe), told by the device its mappings of that path show in ``maps`` (written
        from the mapped files, asking no file system) against a mountinfo; why not otherwise."""
        try:
            maps = read_regular(f"{pid_dir}/maps", MAPS_LIMIT).decode("utf-8", "surrogateescape")
        except OSError as exc:
            return f"{pid_dir}/maps: {exc.strerror or exc}"
        devices = set()
        shown = exe.replace("\n", "\\012")  # maps writes a line feed of a path as \012 (seq_file_path)
        for line in maps.splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5] == shown:
                major, _colon, minor = fields[3].partition(":")
                try:
                    devices.add((int(major, 16), int(minor, 16)))
                except ValueError:
                    return f"{pid_dir}/maps: a device field not understood ({fields[3]})"
        if len(devices) != 1:
            return f"{pid_dir}/maps maps {exe} from {len(devices)} devices, not one"
        [device] = devices
        for where in (pid_dir, f"{self.proc}/self"):
            mount = self._table(where).first_of_device(device)
            if mount is not None:
                return mount
        return f"no mount of {exe}'s device {device[0]}:{device[1]} is listed"


WATCHED_TABLES = 64  # mount tables shared a run at most (each holds a descriptor); others are each process's


def _changed(watch: int) -> bool:
    """Whether the mounts of the namespace of the mountinfo open at ``watch`` changed since it was
    opened (or last polled): poll(2) of a mountinfo says POLLPRI | POLLERR then."""
    poller = select.poll()
    poller.register(watch, select.POLLPRI)
    return any(events & (select.POLLPRI | select.POLLERR) for _fd, events in poller.poll(0))


def _close_all(watches: dict[object, int]) -> None:
    for watch in watches.values():
        os.close(watch)
    watches.clear()


def kernel_answered(judge: MountJudge, link: str) -> Mount | str:
    """:meth:`MountJudge.mount_of`, with why not when the mount's file system is not one the
    kernel answers for itself (a stat of the file could wait for ever on its server)."""
    mount = judge.mount_of(link)
    if isinstance(mount, Mount) and not mount.answered_in_kernel:
        return (f"{link} is of a {mount.fstype} file system (mounted on {mount.point}), whose stat(2) may wait "
                "for ever on its server: not followed")
    return mount

