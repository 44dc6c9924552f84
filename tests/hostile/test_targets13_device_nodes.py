"""A device node in an image is refused before it is opened, never opened to be looked at.

An image unpacked by root keeps its device nodes, and opening one runs the driver of this host's
kernel that the node's numbers name: ``etc/sysctl.d/99.conf`` made the watchdog (character 10:130)
starts the host's watchdog timer, which reboots the host unless something keeps writing to it.
lbaudit opened a file, then looked at what it was.  It now opens the path with O_PATH (no driver
runs) and reads it only as a regular file.  The case here is a node of numbers no driver has
(character 0:0, what overlayfs writes as a whiteout): opened, it fails with ENXIO ("No such device
or address"), so that reason in a finding is the proof that it was opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditor.collect import rootfs
from auditor.safeio import NotRegularFile, read_regular
from tests.hostile.test_offline_images import evaluate, status
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name


def node(path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("making a character device node (os.mknod) needs root")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(0, 0))
    return path


@pytest.mark.parametrize("where", ["etc/sysctl.d/99-x.conf", "etc/audit/rules.d/99-x.rules"])
def test_a_device_node_in_the_image_is_named_as_one_and_never_opened(image: Path, where: str) -> None:
    node(image / where)
    code, findings = evaluate(image)
    subject = ("pool", "ephemeral port pool") if "sysctl" in where else ("audit", "persistent rules b64")
    reason = findings[subject]["reason"]
    assert status(findings, *subject) == "not_reviewed"
    assert f"/{where}: is a character device" in reason, reason  # before: "No such device or address"
    assert code == 3


def test_the_readers_refuse_a_node_before_opening_it(tmp_path: Path) -> None:
    device = node(tmp_path / "image/usr/sbin/auditctl")
    with pytest.raises(NotRegularFile, match="is a character device, not a regular file"):
        read_regular(device, 100)
    with pytest.raises(NotRegularFile, match="is a character device, not a regular file"):
        rootfs.read_head(tmp_path / "image", "/usr/sbin/auditctl", 20)


def test_control_case_a_symbolic_link_is_still_refused_as_one_when_not_followed(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("x")
    os.symlink("target", tmp_path / "link")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        read_regular(tmp_path / "link", 100, follow_symlinks=False)
    assert read_regular(tmp_path / "link", 100) == b"x"
