"""A program run from an overlay whose layers are on local file systems is still proven by its exe.

hangs19 stopped lbaudit from stat'ing files on file systems the kernel does not answer for itself
(a silent FUSE server held the collection for ever) and left overlay out of those it follows, as its
layers may be FUSE.  But a Docker container's processes run from overlay2 (layers under
/var/lib/docker on the host's disk): each container listener's exe became unproven, so an exception
``{exe: /usr/sbin/nginx}`` no longer met it, a false fail of the most common container there is.
An overlay now counts where the mount table shows every one of its layer directories on a file
system the kernel answers itself; one with a layer on FUSE (fuse-overlayfs's lower, an sshfs)
still does not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from auditor.collect.fdmounts import mounts_by_id
from auditor.collect.sockets import exe_elsewhere
from tests.privileges import require_root

MOUNTINFO = """\
27 1 0:25 / /run rw - tmpfs tmpfs rw
28 1 8:1 / / rw - ext4 /dev/sda1 rw
40 1 0:50 / /mnt/remote rw - fuse.sshfs user@host: rw
45 27 0:39 / /run/c1/merged rw - overlay overlay rw,lowerdir=/var/lib/l1:/var/lib/a\\134:b,upperdir=/run/c1/u,workdir=/run/c1/w
46 27 0:40 / /run/c2/merged rw - overlay overlay rw,lowerdir=/mnt/remote/l,upperdir=/run/c2/u,workdir=/run/c2/w
47 27 0:41 / /run/c3/merged rw - overlay overlay rw,upperdir=/run/c3/u
"""


def test_an_overlay_counts_only_when_every_layer_is_on_a_kernel_answered_file_system():
    mounts = mounts_by_id(MOUNTINFO)
    assert mounts[45].answered_in_kernel  # layers on ext4 (one with an escaped ':') and tmpfs
    assert not mounts[46].answered_in_kernel  # a lower layer on sshfs: a stat may wait on its server
    assert mounts[47].answered_in_kernel  # upperdir on tmpfs
    assert not mounts[40].answered_in_kernel


def test_a_program_run_from_an_overlay_on_tmpfs_is_proven_by_its_exe():
    require_root()
    base = f"/run/lbaudit-overlay-{os.getpid()}"
    for name in ("l", "u", "w", "m"):
        os.makedirs(f"{base}/{name}")
    mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                              f"lowerdir={base}/l,upperdir={base}/u,workdir={base}/w", f"{base}/m"],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        shutil.rmtree(base)
        pytest.skip(f"this machine cannot mount an overlay: {mounted.stderr.strip()}")
    try:
        shutil.copy("/bin/sleep", f"{base}/m/sleep")
        process = subprocess.Popen([f"{base}/m/sleep", "30"])
        try:
            for _ in range(100):  # until it runs the copy (its maps show it)
                if f"{base}/m/sleep" in open(f"/proc/{process.pid}/maps").read():
                    break
                time.sleep(0.02)
            assert exe_elsewhere(process.pid, f"{base}/m/sleep") is None
        finally:
            process.kill()
            process.wait()
    finally:
        subprocess.run(["umount", "-l", f"{base}/m"], check=False)
        shutil.rmtree(base, ignore_errors=True)
