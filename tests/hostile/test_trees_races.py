"""Hostile offline images: a tree that changes while lbaudit reads it.

A running container's root (or an image somebody else has mounted) can be changed during the
audit.  rootfs resolved each path inside the root (no link on the way), then opened the resolved
path by name: a directory swapped for a link to a directory of this host between the two was
followed by the kernel, and this host's file was read as the image's.  Each directory on the way
is now opened from the root one component at a time, none followed if it is a link.

The test swaps /etc/sysctl.d of the image for a link to a directory outside it, over and over,
while reading the image's file of that name; a read may fail (the directory is a link at that
moment), but must never return the outside file.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from auditor.collect import rootfs

IMAGE_TEXT = "net.ipv4.ip_local_port_range = 32768 60999\n"
OUTSIDE_TEXT = "net.ipv4.ip_local_port_range = 60000 60100\n"
READS = 3_000


@pytest.mark.slow  # 3,000 reads against a thread swapping the directory
def test_a_directory_swapped_for_a_link_outside_is_never_followed(tmp_path: Path) -> None:
    image = tmp_path / "image"
    conf_dir = image / "etc/sysctl.d"
    conf_dir.mkdir(parents=True)
    (conf_dir / "10-range.conf").write_text(IMAGE_TEXT)
    outside = tmp_path / "host-sysctl.d"
    outside.mkdir()
    (outside / "10-range.conf").write_text(OUTSIDE_TEXT)
    parked = image / "etc/.sysctl.d.parked"
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(conf_dir, parked)
            os.symlink(outside, conf_dir)  # absolute: the kernel follows it out of the image
            time.sleep(0)
            os.unlink(conf_dir)
            os.rename(parked, conf_dir)
            time.sleep(0)

    swapper = threading.Thread(target=swap, daemon=True)
    seen: dict[str, int] = {}
    swapper.start()
    try:
        deadline = time.monotonic() + 10
        for _ in range(READS):
            try:
                text = rootfs.read_text(image, "/etc/sysctl.d/10-range.conf")
            except OSError as exc:
                text = type(exc).__name__
            seen[text] = seen.get(text, 0) + 1
            if time.monotonic() > deadline:
                break
    finally:
        stop.set()
        swapper.join(timeout=10)
    assert OUTSIDE_TEXT not in seen, seen
    assert seen.get(IMAGE_TEXT, 0) > 0, seen  # the image's own file was read between the swaps
