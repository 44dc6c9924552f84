"""A root chosen by ``RootDir.open`` is the one the collection reads, whatever its path names later.

``RootDir.open`` looked at ``/proc/PID/root`` (a stat) and recorded it as the target; the
collection opened it again at its first read, milliseconds later.  Meanwhile the path may name
another tree: the PID given to another process, or the process gone into another root.  The
evidence then said ``/proc/PID/root`` of the process chosen and held the files of another tree.
``RootDir.open`` now opens the root itself (its process's pidfd, mount namespace and root, the
process checked alive after its root was opened) and hands that descriptor to the collection: the
target recorded and the tree read are one.

The container is a process in a private mount namespace (as in test_procroot14_process_exit),
chrooted into a tree over whose ``etc/sysctl.d`` it mounted a tmpfs holding a port range too small
for the pool.  On a line on its stdin it chroots into ``/other`` of that tree, whose files say
``other`` and hold a compliant range: after that, ``/proc/PID/root`` names another tree, as a
reused PID's would (a PID cannot be made reused on a shared machine without writing its sysctls).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.collect.targets import RootDir
from tests.hostile.test_offline_images import RANGE_CONF, write
from tests.hostile.test_procroot14_process_exit import SETUP, SMALL_RANGE, end
from tests.hostile.test_targets13_proc_roots import image

RANGE = "net.ipv4.ip_local_port_range"
# The child: chrooted into its tree; on a line on stdin, into /other of it; then asleep until killed.
CHILD = ("import os, sys, time; os.chroot(sys.argv[1]); os.chdir('/'); print('ready', flush=True); "
         "sys.stdin.readline(); os.chroot('/other'); os.chdir('/'); print('moved', flush=True); time.sleep(600)")


@pytest.fixture
def container(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs root, unshare and mount (util-linux) for a private mount namespace")
    tree = image(tmp_path / "container", RANGE_CONF)
    write(tree, "etc/hostname", "container\n")
    write(image(tree / "other", RANGE_CONF), "etc/hostname", "other\n")
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", SETUP, "sh",
                                str(tree), SMALL_RANGE, sys.executable, CHILD],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            assert process.stderr is not None
            pytest.skip(f"no private mount namespace here: {process.stderr.read()[-300:]}")
        assert Path(f"/proc/{process.pid}/root/etc/sysctl.d/10-range.conf").read_text() == SMALL_RANGE
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def move(process: subprocess.Popen[str]) -> None:
    """The process goes into its other root: its /proc/PID/root names another tree now."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("move\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "moved"
    assert Path(f"/proc/{process.pid}/root/etc/hostname").read_text() == "other\n"


def collect(target: RootDir):
    return collect_snapshot(CollectContext(target=target, sections=frozenset({"sysctl"})))


def test_a_root_whose_path_names_another_tree_after_it_was_chosen_is_read_as_chosen(container):
    target = RootDir.open(Path(f"/proc/{container.pid}/root"))
    move(container)  # between the choice of the target and the collection's first read
    snapshot = collect(target)
    assert snapshot.provenance.target_id == f"/proc/{container.pid}/root"
    assert snapshot.provenance.hostname == "container"  # not "other"
    assert snapshot.facts.sysctl.persistent[RANGE].value == "1024 1100"  # the container's tmpfs
    assert [gap for gap in snapshot.gaps if "sysctl.d" in gap.reason] == []


def test_a_process_that_exits_between_the_choice_and_the_collection_is_read_as_chosen(container):
    target = RootDir.open(Path(f"/proc/{container.pid}/root"))
    end(container)  # its PID free for another process; its namespace held, not dismantled
    snapshot = collect(target)
    assert snapshot.provenance.hostname == "container"
    assert snapshot.facts.sysctl.persistent[RANGE].value == "1024 1100"
    assert [gap for gap in snapshot.gaps if "has exited" in gap.reason] == []


def test_a_root_read_by_one_collection_is_not_read_again_by_a_second(container):
    # Its descriptor closed with the first collection, whose number may name another file since:
    # the second is a gap for each read, not whatever that number holds.
    target = RootDir.open(Path(f"/proc/{container.pid}/root"))
    assert collect(target).facts.sysctl.persistent[RANGE].value == "1024 1100"
    again = collect(target)
    assert again.facts.sysctl.persistent is None
    assert any("the collection that opened this root has ended" in gap.reason for gap in again.gaps), again.gaps
