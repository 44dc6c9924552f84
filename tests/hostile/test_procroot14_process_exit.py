"""A container's root (``--root /proc/PID/root``) whose process exits while it is collected.

lbaudit read every file through the path ``/proc/PID/root/...``: once the process exited, each
later read was ENOENT, a directory read as absent ("not configured, the default applies"), and a
PID given to another process meanwhile would have had the rest of the collection read that
process's root.  The collection now opens the root once, with the process's mount namespace, and
reads below that descriptor: the tree it started with, as it was (a held namespace is not
dismantled), or a gap when the root could not be opened at all, never "absent".

Its real path was read instead whenever it named the same directory: this host sees that directory
without the mounts of the container's namespace, a container's own files were never read, and
``schedule install`` wrote where the container does not look; it is refused now.

The container here is a process in a private mount namespace, chrooted into a directory over whose
``etc/sysctl.d`` it mounted a tmpfs holding a port range too small for the pool; on disk, under
that mount, the directory holds a compliant range (what a root whose namespace was dismantled
shows).  The process is killed at a controlled point: between two reads of the API, or, through
the real command, while the collector is held in its open of ``/etc/sysctl.d`` by a fanotify
permission event the test answers only after the process is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import select
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from auditor.collect import rootfs
from auditor.collect.targets import RootDir
from tests.cli import run_cli
from tests.hostile.test_offline_images import POLICY, RANGE_CONF, write
from tests.hostile.test_targets13_proc_roots import image

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60
SMALL_RANGE = "net.ipv4.ip_local_port_range = 1024 1100\n"
POOL = ("pool", "ephemeral port pool")
# The child: chrooted into its tree, then asleep until killed (it needs no file there).
CHILD = "import os, sys, time; os.chroot(sys.argv[1]); os.chdir('/'); print('ready', flush=True); time.sleep(600)"
# In the new mount namespace: a tmpfs over etc/sysctl.d, seen only there, holding the small range.
SETUP = ('mount -t tmpfs lbaudit-test "$1/etc/sysctl.d" && printf "%s" "$2" > "$1/etc/sysctl.d/10-range.conf" '
         '&& exec "$3" -c "$4" "$1"')


@pytest.fixture
def container(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """(the container's process, its tree as this host sees it on disk)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs root, unshare and mount (util-linux) for a private mount namespace")
    # under the mount, the compliant range: what a dismantled tree shows; and what a scheduled scan needs
    tree = image(tmp_path / "container", RANGE_CONF)
    write(tree, "etc/hostname", "container\n")
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", SETUP, "sh",
                                str(tree), SMALL_RANGE, sys.executable, CHILD],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            assert process.stderr is not None
            pytest.skip(f"no private mount namespace here: {process.stderr.read()[-300:]}")
        assert Path(f"/proc/{process.pid}/root/etc/sysctl.d/10-range.conf").read_text() == SMALL_RANGE
        yield process, tree
    finally:
        process.kill()
        process.wait(timeout=10)


def end(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait(timeout=10)
    assert not os.path.exists(f"/proc/{process.pid}/root/etc")  # the path leads nowhere now


def test_reads_after_the_process_exited_see_the_tree_the_collection_opened(container):
    process, _tree = container
    with rootfs.one_view_of_each_root():
        target = RootDir.open(Path(f"/proc/{process.pid}/root"))
        assert target.hostname() == "container"  # the collection has read its root
        end(process)
        problems: list[str] = []
        assert rootfs.list_config_dir(target.root, "/etc/sysctl.d", problems) == ["10-range.conf"]
        assert problems == []
        # the container's tmpfs, not the directory under it a dismantled namespace shows
        assert target.read_text("/etc/sysctl.d/10-range.conf") == SMALL_RANGE


def test_a_process_that_exited_before_the_first_read_is_a_gap_not_an_absent_directory(container):
    process, _tree = container
    with rootfs.one_view_of_each_root():
        target = RootDir.open(Path(f"/proc/{process.pid}/root"))
        end(process)
        problems: list[str] = []
        assert rootfs.list_config_dir(target.root, "/etc/sysctl.d", problems) == []
        assert problems == [f"/etc/sysctl.d: process {process.pid}, whose root this is, has exited"]
        with pytest.raises(OSError) as raised:
            target.read_text("/etc/sysctl.d/10-range.conf")
        assert not isinstance(raised.value, FileNotFoundError)  # which collectors take for "absent"
        assert raised.value.strerror == f"process {process.pid}, whose root this is, has exited"


# fanotify(7): a permission event holds the opener in open() until the listener answers.
FAN_CLOEXEC, FAN_CLASS_CONTENT, FAN_MARK_ADD = 0x1, 0x4, 0x1
FAN_OPEN_PERM, FAN_ONDIR, FAN_ALLOW = 0x10000, 0x40000000, 0x1
AT_FDCWD = -100
EVENT = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata


def hold_opens_of(path: str) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    group = libc.fanotify_init(FAN_CLOEXEC | FAN_CLASS_CONTENT, os.O_RDONLY)
    if group < 0:
        pytest.skip(f"no fanotify here: {os.strerror(ctypes.get_errno())}")
    if libc.fanotify_mark(group, FAN_MARK_ADD, FAN_OPEN_PERM | FAN_ONDIR, AT_FDCWD, os.fsencode(path)) != 0:
        os.close(group)
        pytest.skip(f"no fanotify permission events on a tmpfs here: {os.strerror(ctypes.get_errno())}")
    return group


def test_evaluate_of_a_container_that_exits_during_the_collection_judges_the_tree_it_opened(container, tmp_path):
    process, _tree = container
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    evidence = tmp_path / "evidence.json"
    group = hold_opens_of(f"/proc/{process.pid}/root/etc/sysctl.d")
    try:
        evaluate = subprocess.Popen([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy),
                                     "--root", f"/proc/{process.pid}/root", "--output", str(evidence)],
                                    cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            waited = 0.0
            while not select.select([group], [], [], 0.1)[0]:
                waited += 0.1
                assert evaluate.poll() is None and waited < TIMEOUT, \
                    f"the collector never opened the container's /etc/sysctl.d: {evaluate.communicate()}"
            _length, _version, _reserved, _size, mask, opened, pid = EVENT.unpack(os.read(group, 4096)[:EVENT.size])
            assert pid == evaluate.pid and mask & FAN_OPEN_PERM
            end(process)  # the collector is held in open() meanwhile
            os.write(group, struct.pack("=iI", opened, FAN_ALLOW))
            os.close(opened)
            stdout, stderr = evaluate.communicate(timeout=TIMEOUT)
        finally:
            if evaluate.poll() is None:
                evaluate.kill()
                evaluate.wait(timeout=10)
    finally:
        os.close(group)
    assert evaluate.returncode == 1, stdout + stderr
    findings = {(f["rule_id"], f["subject"]): f for f in json.loads(evidence.read_text())["result"]["findings"]}
    assert findings[POOL]["status"] == "fail", findings[POOL]
    assert "(1024-1100" in findings[POOL]["message"]


def test_a_root_that_could_not_be_opened_is_not_opened_again_later_in_the_collection(tmp_path):
    # A later read opening /proc/PID/root again would read whatever holds the PID then; here the
    # path names a directory again, as a reused PID would.
    root = tmp_path / "image"
    root.mkdir()
    with rootfs.one_view_of_each_root():
        target = RootDir.open(root)
        os.rmdir(root)
        with pytest.raises(rootfs.RootGone, match="the root directory is gone"):
            target.read_text("/etc/hostname")
        root.mkdir()
        write(root, "etc/hostname", "somebody else\n")
        with pytest.raises(rootfs.RootGone, match="the root directory is gone"):
            target.read_text("/etc/hostname")
        assert target.hostname() == "unknown"


def test_schedule_into_the_root_of_a_process_at_its_own_path_is_refused_and_writes_nowhere(container, tmp_path):
    # Its real path names the same directory, but this host sees it without the container's tmpfs
    # on /etc/sysctl.d: what it wrote there need not be what the container reads.
    process, tree = container
    before = sorted(str(f) for f in tree.rglob("*"))
    result = run_cli("schedule", "install", "--backend", "cron", "--root", f"/proc/{process.pid}/root",
                     "--policy", "/etc/lbaudit/policy.yaml", "--executable", "/usr/bin/lbaudit", cwd=tmp_path,
                     timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"/proc/{process.pid}/root: is the root of a process, whose real path ({tree}) this host sees without "
            "the mounts of the process's mount namespace; give the image's own directory") in result.stderr
    assert sorted(str(f) for f in tree.rglob("*")) == before
