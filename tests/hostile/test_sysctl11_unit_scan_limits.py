"""Hostile boot configuration: a unit directory lbaudit could not read hides the mask of systemd-sysctl.

Whether the boot applies sysctl.d at all depends on systemd-sysctl.service not being masked, and a
mask is a link to /dev/null in any unit directory of higher precedence (``systemctl mask`` writes
``/etc/systemd/system``; ``systemctl mask --runtime`` ``/run/systemd/system``, and
``/etc/systemd/system.control`` holds what ``systemctl set-property`` writes).  When one of those
directories could not be read (more entries than lbaudit reads, or not listable), the service was
taken from ``/usr/lib`` as running and the problem dropped: the image's sysctl.d values were
judged as the boot configuration (a pass) although the boot applies none of them.  Now any
problem met while looking for the unit leaves the configuration unknown (a gap; not reviewed).
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.collect import rootfs
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.model.result import Status
from tests.hostile.test_drift_sysctl_masked_service import SERVICE, image, tw_reuse_outcome


def _crowded(root: Path, directory: str) -> Path:
    """``directory`` of ``root`` with more entries than lbaudit reads, one of them the mask."""
    crowded = root / directory
    crowded.mkdir(parents=True, exist_ok=True)
    for index in range(rootfs.MAX_CONFIG_FILES + 1):
        (crowded / f"unit-{index}.conf").touch()
    os.symlink("/dev/null", crowded / SERVICE)
    return crowded


def test_a_mask_in_a_directory_too_large_to_read_leaves_the_configuration_unknown(tmp_path):
    root = image(tmp_path)
    _crowded(root, "etc/systemd/system.control")
    persistent, gaps = read_persistent_sysctls(root)
    assert persistent is None  # before: {tcp_tw_reuse: 0 from 60-net.conf}, no gap
    assert len(gaps) == 1
    assert f"(whether {SERVICE} runs at boot cannot be told)" in gaps[0].reason
    assert tw_reuse_outcome(root).status == Status.NOT_REVIEWED  # before: pass


def test_a_unit_directory_that_cannot_be_listed_leaves_the_configuration_unknown(tmp_path):
    root = image(tmp_path)
    (root / "etc" / "systemd" / "system.control").symlink_to("system.control")  # a loop
    persistent, gaps = read_persistent_sysctls(root)
    assert persistent is None
    assert gaps and f"(whether {SERVICE} runs at boot cannot be told)" in gaps[0].reason
    assert tw_reuse_outcome(root).status == Status.NOT_REVIEWED


def test_control_a_readable_mask_still_masks_and_a_clean_image_is_judged(tmp_path):
    assert tw_reuse_outcome(image(tmp_path / "clean")).status == Status.PASS
    root = image(tmp_path / "masked")
    os.symlink("/dev/null", root / "etc" / "systemd" / "system" / SERVICE)
    assert read_persistent_sysctls(root) == ({}, [])
