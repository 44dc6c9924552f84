"""An image in which nothing applies sysctl.d is judged as if its boot applied it: a false pass.

Without systemd-sysctl, lbaudit reads an image's sysctl.d as procps' ``sysctl --system`` applies it
(sysvinit's /etc/init.d/procps) without looking for any program that would: an image holding only
/etc/sysctl.d/99-wide.conf (``net.ipv4.ip_local_port_range = 1024 65535``), no systemd, no sysctl
program, no init and no /boot (a container image, as lbaudit's own HZ finding calls it) passed
``net.ephemeral_port_range`` with "the ephemeral pool has 64,512 ports" and ``net.time_wait``'s
headroom at 417 new connections a second (27,155 ports held for 65.12 s: 42% of 64,512).  Nothing
in such an image ever writes /proc/sys: a container starts in a network namespace its runtime
creates, which holds the kernel's defaults (32768-60999, 28,232 ports: the same peak holds 96% of
them, shown live below with a namespace made inside one whose range was widened) and whatever the
runtime sets, neither of which the image says.

Now an image without systemd-sysctl is judged on its sysctl.d only where its boot runs procps'
``sysctl --system``: a procps sysctl program, an init script that runs it (Debian's
/etc/init.d/procps, OpenRC's /etc/init.d/sysctl) and an init program to run that script; otherwise
its configured values are unknown (a gap with the reason: not_reviewed).  A sysctl program alone
(a Debian container image with procps installed carries /etc/init.d/procps too, but no init), or
busybox's sysctl, does not count.  The image fixtures judged on their sysctl.d now carry what
applies it (tests.factories.install_procps_boot).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import PROCPS_BOOT_FILES, install_procps_boot
from tests.netns_env import require_namespaces

POOL = "ephemeral port pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


def _container_image(root: Path) -> Path:
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "99-wide.conf").write_text("net.ipv4.ip_local_port_range = 1024 65535\n")
    (root / "etc" / "os-release").write_text("ID=debian\n")
    return root


def _judged(root: Path) -> dict[str, tuple[Status, str]]:
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=28232))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=417,
                                                       max_pool_utilization=0.9))
    return {o.subject: (o.status, o.message) for o in outcomes if o.subject in (POOL, HEADROOM)}


@pytest.mark.live
def test_a_new_namespace_holds_the_kernel_default_not_its_creators_range():
    """What a container runtime does: a namespace made inside one whose range was widened starts
    from the kernel's default, whatever its creator (or an image's files) hold."""
    require_namespaces()
    script = (f"sysctl -q -w net.ipv4.ip_local_port_range='1024 65535' && cat {RANGE_FILE} && "
              f"unshare --net cat {RANGE_FILE}")
    out = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=20,
                         check=True).stdout.split("\n")
    assert out[0].split() == ["1024", "65535"]
    assert out[1].split() == ["32768", "60999"]


def test_an_image_with_nothing_that_applies_sysctl_d_is_not_judged_on_it(tmp_path: Path):
    found = _judged(_container_image(tmp_path / "image"))
    for subject in (POOL, HEADROOM):
        assert found[subject][0] == Status.NOT_REVIEWED, found[subject]


@pytest.mark.parametrize("missing", sorted(PROCPS_BOOT_FILES))
def test_procps_without_one_of_program_init_script_and_init_applies_nothing(tmp_path: Path, missing: str):
    """A sysctl program alone, or with procps' init script but no init (a Debian container image
    with procps installed), or an init and a script with no sysctl: nothing runs sysctl --system."""
    root = install_procps_boot(_container_image(tmp_path / "image"))
    (root / missing).unlink()
    found = _judged(root)
    for subject in (POOL, HEADROOM):
        assert found[subject][0] == Status.NOT_REVIEWED, found[subject]
    assert "nothing in this image applies its sysctl configuration" in found[POOL][1]
    assert f"/{missing}" in found[POOL][1]


def test_busybox_sysctl_is_not_procps(tmp_path: Path):
    root = install_procps_boot(_container_image(tmp_path / "image"))
    (root / "sbin" / "sysctl").unlink()
    (root / "bin").mkdir()
    (root / "bin" / "busybox").write_bytes(b"\x7fELF")
    (root / "sbin" / "sysctl").symlink_to("/bin/busybox")
    found = _judged(root)
    assert found[POOL][0] == Status.NOT_REVIEWED, found[POOL]
    assert "no procps sysctl program" in found[POOL][1]


def _systemd_sysctl(root: Path) -> Path:
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "usr/lib/systemd/systemd-sysctl").write_bytes(b"\x7fELF")
    return root


@pytest.mark.parametrize("install", [install_procps_boot, _systemd_sysctl])
def test_control_case_an_image_with_a_program_that_applies_it_is_judged_on_it(tmp_path: Path, install):
    root = install(_container_image(tmp_path / "image"))
    found = _judged(root)
    assert found[POOL][0] == Status.PASS and "64,512 ports" in found[POOL][1]
    assert found[HEADROOM][0] == Status.PASS
