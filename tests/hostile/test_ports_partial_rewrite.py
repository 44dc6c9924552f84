"""Hostile judging, false passes: a one-number ip_local_port_range written after another write.

The kernel's vector handlers write as many numbers as they are given and leave the others as they
are (``sysctl -w net.ipv4.ip_local_port_range=1500`` over 40000-40100 gives 1500-40100).  lbaudit read a configured one-number range as the low end and the kernel
default high end 60999, which holds only when nothing wrote the key before it at boot.  procps'
``sysctl --system`` (the boot's tool where systemd-sysctl is not installed) writes every assignment
in order, so an image whose /etc/sysctl.d/10-ports.conf sets ``1024 2000`` and whose 20-low.conf
then sets ``1500`` boots with 1500-2000 (501 ports: checked by running sysctl --system over them), and lbaudit judged 1500-60999:
the pool passed at 59,500 ports and the headroom at 400 new connections a second passed.  The same
holds for a file's one-number write after the kernel command line's ``sysctl.`` parameter on a
running host, where drift.sysctl reported a running 1500-2000 as drift from "1500 60999".

The boot value of such a key now depends on a write before it: it is a gap (``persistent/<key>``,
naming both writes), so the pool, the bounds and the headroom are not_reviewed, and drift.sysctl
does not compare it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.domain.sysctl import SysctlLine
from auditor.model.facts import HostSnapshot, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import install_procps_boot, snapshot
from tests.netns_env import boot_sysctl_files, procps_sysctl_or_skip

RANGE = "net.ipv4.ip_local_port_range"
POOL = "ephemeral port pool"
BOUNDS = "ephemeral port range bounds"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"


def image(tmp_path: Path, files: dict[str, str]) -> Path:
    """An image without systemd-sysctl: procps' sysctl --system applies its configuration at boot."""
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    for path, text in files.items():
        (root / path).write_text(text)
    return root


def judged(snap: HostSnapshot) -> dict[str, Status]:
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=16384))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=400))
    return {o.subject: o.status for o in outcomes if o.subject in (POOL, BOUNDS, HEADROOM)}


PARTIAL = {"etc/sysctl.d/10-ports.conf": f"{RANGE} = 1024 2000\n", "etc/sysctl.d/20-low.conf": f"{RANGE} = 1500\n"}


@pytest.mark.live
def test_sysctl_system_boots_the_high_end_a_one_number_write_leaves_unwritten(tmp_path):
    sysctl = procps_sysctl_or_skip()
    files = {name.rpartition("/")[2]: text for name, text in PARTIAL.items()}
    before, booted = boot_sysctl_files([sysctl, "--system"], tmp_path, files, RANGE)
    assert (before.split(), booted.split()) == (["32768", "60999"], ["1500", "2000"])


def test_a_one_number_write_after_a_full_one_is_not_judged_with_the_default_high_end(tmp_path):
    snap = collect_root(image(tmp_path, PARTIAL), frozenset({"sysctl", "sockets"}))
    assert judged(snap) == {POOL: Status.NOT_REVIEWED, BOUNDS: Status.NOT_REVIEWED, HEADROOM: Status.NOT_REVIEWED}
    assert _sysctl.ephemeral_pool(snap).reason == (
        f"{RANGE} = '1500' (/etc/sysctl.d/20-low.conf:1) writes fewer numbers than '1024 2000' "
        "(/etc/sysctl.d/10-ports.conf:1) written before it at boot: the kernel keeps the numbers a write leaves "
        "out as they are, so the value in force depends on whether it took that earlier write")


def test_a_one_number_write_after_the_kernel_command_line_is_not_compared_as_drift(tmp_path):
    root = tmp_path / "host"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-ports.conf").write_text(f"{RANGE} = 1500\n")
    cmdline = [SysctlLine(RANGE, "1024 2000", False, 3)]
    persistent, gaps = read_persistent_sysctls(root, cmdline, running=True)
    assert persistent is not None and RANGE not in persistent
    assert [(g.path, g.kind.value) for g in gaps] == [(("persistent", RANGE), "unreadable")]
    facts = SysctlFacts(runtime={RANGE: SysctlSetting(value="1500 2000", origin="/proc/sys/net/ipv4/ip_local_port_range")},
                        persistent=persistent)
    snap = snapshot(sysctl=facts, gaps=gaps, netns=None)
    [found] = drift_sysctl.run(snap, DriftSysctlParams(keys=[RANGE]))
    assert found.status == Status.NOT_REVIEWED
    assert "writes fewer numbers than '1024 2000' (/proc/cmdline)" in found.message


def test_control_cases_a_full_rewrite_or_a_first_write_is_judged(tmp_path):
    full = {**PARTIAL, "etc/sysctl.d/20-low.conf": f"{RANGE} = 1500 62000\n"}
    snap = collect_root(image(tmp_path / "a", full), frozenset({"sysctl", "sockets"}))
    assert judged(snap) == {POOL: Status.PASS, BOUNDS: Status.PASS, HEADROOM: Status.PASS}
    alone = {"etc/sysctl.conf": f"{RANGE} = 1500\n"}  # nothing wrote it before: the kernel default high end
    snap = collect_root(image(tmp_path / "b", alone), frozenset({"sysctl", "sockets"}))
    assert judged(snap) == {POOL: Status.PASS, BOUNDS: Status.PASS, HEADROOM: Status.PASS}
    assert _sysctl.ephemeral_pool(snap).high == 60999
