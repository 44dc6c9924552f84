"""An image's configuration file that leads into the /proc mounted in it is refused, not read.

A root directory an audit is given may have /proc (and /sys) mounted in it: a running container's
(``--root /proc/PID/root``), a chroot prepared to run in, an installer's /mnt/sysimage.  A link
the image holds is resolved inside it, so ``/etc/sysctl.d/10-range.conf -> /proc/PID/environ``
reached that /proc, and lbaudit read a process's environment as the image's sysctl configuration
(and ``-> /proc/kmsg`` would drain the kernel log rsyslog reads).  No configuration file is a
kernel's file: it is refused with the file system named, and the key it would set is unknown.

Here lbaudit runs in a private mount namespace (``unshare``) in which procfs is mounted on the
image's /proc, and a helper process's environment holds exactly one sysctl.d line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.cli import REPO
from tests.factories import BOOT_BACKLOG_RULES
from tests.hostile.test_offline_images import POLICY, SOCKET_RULES, write

POOL = ("pool", "ephemeral port pool")
SETTING = "net.ipv4.ip_local_port_range=32768 60999"


@pytest.fixture
def helper() -> Iterator[int]:
    """A process whose whole environment is one sysctl.d line (/proc/PID/environ: the line, then NUL)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs root, unshare and mount (util-linux) for a private mount namespace")
    process = subprocess.Popen(["env", "-i", SETTING, sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait(timeout=10)


def image(root: Path, range_link: str) -> Path:
    write(root, "etc/audit/rules.d/10-socket.rules", SOCKET_RULES)
    write(root, "etc/audit/rules.d/00-backlog.rules", BOOT_BACKLOG_RULES)
    # systemd-sysctl applies sysctl.d at boot: a NUL ends a line for it, as a newline does
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "usr/lib/systemd/systemd-sysctl").write_bytes(b"\x7fELF")
    (root / "etc/sysctl.d").mkdir(parents=True)
    os.symlink(range_link, root / "etc/sysctl.d/10-range.conf")
    (root / "proc").mkdir()
    return root


def evaluate_with_proc_mounted(root: Path, where: Path) -> tuple[int, dict, str]:
    policy = where / "policy.yaml"
    policy.write_text(POLICY)
    evidence = where / "evidence.json"
    script = 'mount -t proc proc "$1/proc" && shift && exec "$@"'
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(root),
                             sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy), "--root",
                             str(root), "--output", str(evidence)],
                            capture_output=True, text=True, timeout=120, cwd=where,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode in (0, 1, 3), result.stderr
    findings = {(f["rule_id"], f["subject"]): f for f in json.loads(evidence.read_text())["result"]["findings"]}
    return result.returncode, findings, result.stderr


def test_a_sysctl_d_link_into_the_images_proc_is_refused_not_read(helper: int, tmp_path: Path) -> None:
    root = image(tmp_path / "image", f"/proc/{helper}/environ")
    code, findings, _ = evaluate_with_proc_mounted(root, tmp_path)
    pool = findings[POOL]
    assert pool["status"] == "not_reviewed", pool["message"]  # was a pass on the helper's 32768 60999
    assert ("/etc/sysctl.d/10-range.conf: is a file of procfs (/proc), a kernel pseudo file system, not a "
            "configuration file") in pool["message"], pool["message"]
    assert code == 3


def test_control_case_the_same_line_in_a_file_of_the_image_passes(helper: int, tmp_path: Path) -> None:
    root = image(tmp_path / "image", "../../srv/range.conf")
    write(root, "srv/range.conf", SETTING + "\n")
    code, findings, _ = evaluate_with_proc_mounted(root, tmp_path)
    assert findings[POOL]["status"] == "pass", findings[POOL]["message"]
