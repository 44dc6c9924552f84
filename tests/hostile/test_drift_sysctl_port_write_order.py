"""Hostile drift.sysctl: ip_local_port_range and ip_unprivileged_port_start refuse each other at boot.

Since Linux 4.11 (net/ipv4/sysctl_net_ipv4.c) ipv4_local_port_range() answers EINVAL for a low end
below ip_unprivileged_port_start at the moment of the write, and ipv4_privileged_ports() answers
EINVAL for a start above the low end of the range in force; the value in force stays.  The boot
writes the two keys in the order of the files (systemd-sysctl: file name, then line), starting from
the kernel defaults (1024; 32768-60999).  A host whose running values were set by hand in the order
that works passed drift.sysctl, though the next boot refuses one of the two writes:

* ``10-range.conf`` sets the range to 1000-60999 and ``20-start.conf`` lowers the start to 1000:
  the range is written while the start is still 1024, so the booted host has 32768-60999;
* ``10-start.conf`` raises the start to 40000 and ``20-range.conf`` moves the range to 40000: the
  start is written while the range still begins at 32768, so the booted host has 1024.

Checked on Linux 6.18 with systemd-sysctl 252 in a network namespace (both writes logged as
"Couldn't write ... Invalid argument"); ``test_drift_agrees_with_what_systemd_sysctl_boots`` runs
it over the same files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.model.facts import SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, install_procps_boot, snapshot
from tests.netns_env import systemd_sysctl_or_skip

RANGE = "net.ipv4.ip_local_port_range"
START = "net.ipv4.ip_unprivileged_port_start"

# name -> (sysctl.d files, the running values an administrator set by hand in the order that works)
CASES = {
    "range-before-start": ({"10-range.conf": f"{RANGE} = 1000 60999\n", "20-start.conf": f"{START} = 1000\n"},
                           {RANGE: "1000\t60999", START: "1000"}),
    "start-before-range": ({"10-start.conf": f"{START} = 40000\n", "20-range.conf": f"{RANGE} = 40000 60999\n"},
                           {RANGE: "40000\t60999", START: "40000"}),
    "one-file-range-first": ({"60-ports.conf": f"{RANGE} = 1000 60999\n{START} = 1000\n"},
                             {RANGE: "1000\t60999", START: "1000"}),
    # control cases: the order the kernel takes
    "start-lowered-first": ({"10-start.conf": f"{START} = 1000\n", "20-range.conf": f"{RANGE} = 1000 60999\n"},
                            {RANGE: "1000\t60999", START: "1000"}),
    "range-moved-first": ({"10-range.conf": f"{RANGE} = 40000 60999\n", "20-start.conf": f"{START} = 40000\n"},
                          {RANGE: "40000\t60999", START: "40000"}),
}


def image(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    for name, text in files.items():
        (root / "etc" / "sysctl.d" / name).write_text(text)
    return root


def drift(root: Path, running: dict[str, str]):
    persistent, gaps = read_persistent_sysctls(root)
    assert gaps == [] and persistent is not None
    runtime = {k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/"))
               for k, v in {**LINUX_DEFAULT_SYSCTLS, **running}.items()}
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent))
    return {o.subject: o for o in drift_sysctl.run(snap, DriftSysctlParams())}


def statuses(tmp_path: Path, case: str) -> dict[str, Status]:
    files, running = CASES[case]
    return {s.removeprefix("sysctl "): o.status for s, o in drift(image(tmp_path, files), running).items()}


@pytest.mark.parametrize("case, refused", [
    ("range-before-start", RANGE),   # was pass: the boot leaves 32768-60999
    ("start-before-range", START),   # was pass: the boot leaves 1024
    ("one-file-range-first", RANGE),  # lines of one file apply in order
])
def test_a_write_the_other_key_makes_the_kernel_refuse_at_boot_is_drift(tmp_path, case, refused):
    other = START if refused == RANGE else RANGE
    assert statuses(tmp_path, case) == {refused: Status.FAIL, other: Status.PASS}


@pytest.mark.parametrize("case", ["start-lowered-first", "range-moved-first"])
def test_control_case_the_order_the_kernel_takes_is_no_drift(tmp_path, case):
    assert statuses(tmp_path, case) == {RANGE: Status.PASS, START: Status.PASS}


def test_the_finding_names_both_files_and_the_value_in_force(tmp_path):
    files, running = CASES["range-before-start"]
    outcome = drift(image(tmp_path, files), running)[f"sysctl {RANGE}"]
    assert outcome.message == (
        f"/etc/sysctl.d/10-range.conf:1 sets {RANGE} = '1000 60999', which the kernel refuses "
        f"when the boot writes it ({RANGE} = '1000 60999': the low end 1000 is below {START} 1024 in force then, "
        f"the kernel default: /etc/sysctl.d/20-start.conf:1 sets it to 1000 only afterwards "
        "(EINVAL, Linux 4.11 and later)): the boot does not set this key, so the running value '1000\\t60999' is "
        "not held by the configuration")
    assert outcome.evidence == [f"/facts/sysctl/runtime/{RANGE}", f"/facts/sysctl/persistent/{RANGE}",
                                f"/facts/sysctl/persistent/{START}"]
    files, running = CASES["start-before-range"]
    outcome = drift(image(tmp_path / "b", files), running)[f"sysctl {START}"]
    assert outcome.message == (
        f"/etc/sysctl.d/10-start.conf:1 sets {START} = '40000', which the kernel refuses "
        f"when the boot writes it ({START} = '40000': 40000 is above the low end 32768 of {RANGE} in force "
        f"then, the kernel default: /etc/sysctl.d/20-range.conf:1 sets it to 40000 60999 only "
        "afterwards (EINVAL, Linux 4.11 and later)): the boot does not set this key, so the running value '40000' "
        "is not held by the configuration")


@pytest.mark.live
def test_drift_agrees_with_what_systemd_sysctl_boots(tmp_path):
    """systemd-sysctl applies each image's sysctl.d in a private mount and network namespace (a new
    one starts from the kernel defaults); a key passes drift exactly when the booted value is the
    running one."""
    tool = systemd_sysctl_or_skip()
    for case, (files, running) in CASES.items():
        root = image(tmp_path / case, files)
        empty = tmp_path / f"{case}-empty"
        empty.mkdir()
        binds = [f"mount --bind {root}/etc/sysctl.d /etc/sysctl.d",
                 "[ ! -e /etc/sysctl.conf ] || mount --bind /dev/null /etc/sysctl.conf"]
        binds += [f"[ ! -d {d} ] || mount --bind {empty} {d}"
                  for d in ("/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")]
        script = "; ".join([*binds, f"{tool} --prefix=/net/ipv4/ip_local_port_range "
                                    f"--prefix=/net/ipv4/ip_unprivileged_port_start 2>/dev/null || true",
                            "cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/ipv4/ip_unprivileged_port_start"])
        low, high, start = subprocess.run(["unshare", "--mount", "--net", "sh", "-ec", script], capture_output=True,
                                          text=True, timeout=30, check=True).stdout.split()
        booted = {RANGE: f"{low}\t{high}", START: start}
        judged = {k.removeprefix("sysctl "): o.status for k, o in drift(root, running).items()}
        assert judged == {k: Status.PASS if booted[k] == running[k] else Status.FAIL for k in (RANGE, START)}, case
