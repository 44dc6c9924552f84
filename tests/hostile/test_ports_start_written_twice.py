"""Hostile judging, false passes: the unprivileged port start written twice around the range.

Since Linux 4.11 the kernel refuses an ip_local_port_range whose low end is below
ip_unprivileged_port_start at the moment of the write, and lbaudit replays the two keys' writes to
tell (tests/hostile/test_judging_refused_range.py), but only their last writes, from the kernel
defaults.  procps' ``sysctl --system`` (the boot's tool where systemd-sysctl is not installed)
writes every assignment in order: an image whose 10-start.conf sets the start to 2000, 20-ports.conf
the range to 1500-65535 and 30-start.conf the start back to 500 boots with the range refused (the
start is 2000 when it is written) and the kernel default 32768-60999 in force, checked by running
sysctl --system over the files below.  lbaudit replayed 1500-65535 against the default start 1024,
took it, and passed a 30,000-port pool and the headroom of 400 new connections a second on a host
whose pool is 28,232.  When the boot writes both keys and one of them more than once with another
value, their boot values are now gaps naming the writes, and the findings are not_reviewed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import install_procps_boot
from tests.netns_env import boot_sysctl_files, procps_sysctl_or_skip

RANGE = "net.ipv4.ip_local_port_range"
START = "net.ipv4.ip_unprivileged_port_start"
POOL = "ephemeral port pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"

TWICE = {"10-start.conf": f"{START} = 2000\n", "20-ports.conf": f"{RANGE} = 1500 65535\n",
         "30-start.conf": f"{START} = 500\n"}


def image(tmp_path: Path, files: dict[str, str]) -> Path:
    """An image without systemd-sysctl: procps' sysctl --system applies its configuration at boot."""
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    for name, text in files.items():
        (root / "etc" / "sysctl.d" / name).write_text(text)
    return root


def judged(root: Path) -> dict[str, Status]:
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=30000, min_low=0))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=400))
    return {o.subject: o.status for o in outcomes if o.subject in (POOL, HEADROOM)}


@pytest.mark.live
def test_sysctl_system_refuses_the_range_while_the_start_is_2000(tmp_path):
    before, booted = boot_sysctl_files([procps_sysctl_or_skip(), "--system"], tmp_path, TWICE, RANGE)
    assert before.split() == booted.split() == ["32768", "60999"]


def test_a_start_written_twice_around_the_range_leaves_the_range_unknown(tmp_path):
    root = image(tmp_path, TWICE)
    assert judged(root) == {POOL: Status.NOT_REVIEWED, HEADROOM: Status.NOT_REVIEWED}
    snap = collect_root(root, frozenset({"sysctl"}))
    assert _sysctl.ephemeral_pool(snap).reason == (
        f"{START} is written '2000' (/etc/sysctl.d/10-start.conf:1) before '500' (/etc/sysctl.d/30-start.conf:1) at "
        f"boot, and the kernel takes a write of {RANGE} or {START} only when the other's value at that moment "
        "allows it (Linux 4.11 and later): which writes it took depends on every write of both, in order, so the "
        "value in force is not known")


def test_control_cases_one_write_each_or_the_same_value_again_is_judged(tmp_path):
    once = {"10-start.conf": f"{START} = 500\n", "20-ports.conf": f"{RANGE} = 1500 65535\n"}
    assert judged(image(tmp_path / "a", once)) == {POOL: Status.PASS, HEADROOM: Status.PASS}
    again = {**once, "30-start.conf": f"{START} = 500\n"}  # the same value written again changes nothing
    assert judged(image(tmp_path / "b", again)) == {POOL: Status.PASS, HEADROOM: Status.PASS}
    alone = {"10-start.conf": f"{START} = 2000\n", "30-start.conf": f"{START} = 500\n"}  # no range write to refuse
    snap = collect_root(image(tmp_path / "c", alone), frozenset({"sysctl"}))
    assert START in snap.facts.sysctl.persistent  # type: ignore[union-attr,operator]
