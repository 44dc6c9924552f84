"""Hostile judging, offline images: a configured ip_local_port_range the kernel refuses is not the
range the booted host has.

ipv4_local_port_range() (net/ipv4/sysctl_net_ipv4.c) answers EINVAL for a low end below its table
minimum 1, and (Linux 4.11+) for a low end below ip_unprivileged_port_start at the moment of the
write (1024 unless set before it); the range in force then stays, the kernel's default.  Checked on
this kernel: ``echo "1000 65535" > ip_local_port_range`` fails and 32768-60999 stays; after
``echo 500 > ip_unprivileged_port_start`` the same write is taken.  lbaudit judged an image's
configured range as the booted host's, so ``1000 65535`` passed a 30,000-port pool and the peak
connection headroom that the real default (28,232 ports) fails.

``test_lbaudit_takes_the_range_exactly_when_systemd_sysctl_does`` runs systemd-sysctl itself over
the same files in a private mount and network namespace.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import install_procps_boot
from tests.netns_env import systemd_sysctl_or_skip

RANGE = "net.ipv4.ip_local_port_range"
START = "net.ipv4.ip_unprivileged_port_start"
POOL = "ephemeral port pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"


def image(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    for name, text in files.items():
        (root / "etc" / "sysctl.d" / name).write_text(text)
    return root


def judged(root: Path) -> dict[str, Status]:
    """The pool (30,000 ports, any low end) and the headroom at 400 new connections/s, as ci-runner.yaml asks."""
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=30000, min_low=0))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=400))
    return {o.subject: o.status for o in outcomes if o.subject in (POOL, HEADROOM)}


def test_a_low_end_below_ip_unprivileged_port_start_is_refused_at_boot(tmp_path):
    found = judged(image(tmp_path, {"60-ports.conf": f"{RANGE} = 1000 65535\n"}))
    assert found == {POOL: Status.NOT_REVIEWED, HEADROOM: Status.NOT_REVIEWED}


def test_a_low_end_below_the_tables_minimum_is_refused_at_boot(tmp_path):
    found = judged(image(tmp_path, {"60-ports.conf": f"{RANGE} = 0 65535\n"}))
    assert found == {POOL: Status.NOT_REVIEWED, HEADROOM: Status.NOT_REVIEWED}


def test_ip_unprivileged_port_start_set_after_the_range_does_not_help_it(tmp_path):
    # the range is written first, while the start is still 1024; the start is taken afterwards
    files = {"60-ports.conf": f"{RANGE} = 1000 65535\n", "70-start.conf": f"{START} = 900\n"}
    assert judged(image(tmp_path, files)) == {POOL: Status.NOT_REVIEWED, HEADROOM: Status.NOT_REVIEWED}


def test_the_reason_names_the_value_the_file_and_the_rule(tmp_path):
    snap = collect_root(image(tmp_path, {"60-ports.conf": f"{RANGE} = 1000 65535\n"}), frozenset({"sysctl"}))
    assert _sysctl.ephemeral_pool(snap).reason == (
        f"{RANGE} = 1000 65535 (/etc/sysctl.d/60-ports.conf:1) is refused by the kernel when the boot applies it: "
        f"the low end 1000 is below {START} 1024 in force then, the kernel default (EINVAL, Linux 4.11 and later); "
        "so the kernel keeps its own default range, which lbaudit does not assume")


def test_control_cases_a_range_the_kernel_takes_is_judged_on_both(tmp_path):
    assert judged(image(tmp_path / "a", {"60-ports.conf": f"{RANGE} = 1024 65535\n"})) == {
        POOL: Status.PASS, HEADROOM: Status.PASS}
    files = {"50-start.conf": f"{START} = 900\n", "60-ports.conf": f"{RANGE} = 1000 65535\n"}
    assert judged(image(tmp_path / "b", files)) == {POOL: Status.PASS, HEADROOM: Status.PASS}


@pytest.mark.live
def test_lbaudit_takes_the_range_exactly_when_systemd_sysctl_does(tmp_path):
    tool = systemd_sysctl_or_skip()
    cases = {
        "below-start": {"60-ports.conf": f"{RANGE} = 1000 65535\n"},
        "start-after": {"60-ports.conf": f"{RANGE} = 1000 65535\n", "70-start.conf": f"{START} = 900\n"},
        "start-before": {"50-start.conf": f"{START} = 900\n", "60-ports.conf": f"{RANGE} = 1000 65535\n"},
        "start-too-high": {"50-start.conf": f"{START} = 40000\n", "60-ports.conf": f"{RANGE} = 1100 65535\n"},
        "below-one": {"60-ports.conf": f"{RANGE} = 0 65535\n"},
        "taken": {"60-ports.conf": f"{RANGE} = 1024 65535\n"},
    }
    seen = {}
    for name, files in cases.items():
        root = image(tmp_path / name, files)
        empty = tmp_path / f"{name}-empty"
        empty.mkdir()
        binds = [f"mount --bind {root}/etc/sysctl.d /etc/sysctl.d", f"mount --bind {empty} /etc/sysctl.conf 2>/dev/null || true"]
        binds += [f"[ ! -d {d} ] || mount --bind {empty} {d}"
                  for d in ("/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")]
        # a new network namespace starts from the kernel defaults; systemd-sysctl logs a refused write
        script = "; ".join([*binds, f"{tool} --prefix=/net/ipv4/ip_local_port_range "
                                    f"--prefix=/net/ipv4/ip_unprivileged_port_start || true",
                            "cat /proc/sys/net/ipv4/ip_local_port_range"])
        booted = subprocess.run(["unshare", "--mount", "--net", "sh", "-ec", script], capture_output=True, text=True,
                                timeout=30, check=True).stdout.split()
        lookup = _sysctl.ephemeral_pool(collect_root(root, frozenset({"sysctl"})))
        configured = files["60-ports.conf"].split("=")[1].split()
        taken = booted == configured
        seen[name] = (taken, lookup.pool is not None)
    assert seen == {"below-start": (False, False), "start-after": (False, False), "start-before": (True, True),
                    "start-too-high": (True, True), "below-one": (False, False), "taken": (True, True)}
