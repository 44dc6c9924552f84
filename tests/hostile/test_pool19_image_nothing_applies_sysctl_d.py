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

Left unfixed by pool19: requiring a program that applies sysctl.d (systemd-sysctl, or a sysctl
program an init script runs) was tried in auditor/collect/sysctl.py and made 106 tests of 54 files
fail, whose image fixtures hold a sysctl.d file and nothing else; the fixtures need a sysctl
program first.  The test of the wanted behaviour is a strict xfail, so it starts failing
the day the defect is fixed and the marker must go.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
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


@pytest.mark.xfail(strict=True, reason="pool19: an image with no program that applies sysctl.d is still judged "
                                       "on its sysctl.d (see the module docstring)")
def test_an_image_with_nothing_that_applies_sysctl_d_is_not_judged_on_it(tmp_path: Path):
    found = _judged(_container_image(tmp_path / "image"))
    for subject in (POOL, HEADROOM):
        assert found[subject][0] == Status.NOT_REVIEWED, found[subject]


@pytest.mark.parametrize("program", ["usr/sbin/sysctl", "usr/lib/systemd/systemd-sysctl"])
def test_control_case_an_image_with_a_program_that_applies_it_is_judged_on_it(tmp_path: Path, program: str):
    root = _container_image(tmp_path / "image")
    (root / program).parent.mkdir(parents=True)
    (root / program).write_bytes(b"\x7fELF")
    found = _judged(root)
    assert found[POOL][0] == Status.PASS and "64,512 ports" in found[POOL][1]
    assert found[HEADROOM][0] == Status.PASS
