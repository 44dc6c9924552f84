"""Hostile judging, offline images: a TIME_WAIT sysctl value the kernel refuses is not the value the
booted host has.

The handlers in net/ipv4/sysctl_net_ipv4.c answer EINVAL to what they cannot hold and keep the value in
force: tcp_max_tw_buckets is a C int (proc_dointvec), tcp_tw_reuse takes 0-2 (proc_dou8vec_minmax),
tcp_fin_timeout is seconds x HZ in an int (proc_dointvec_jiffies).  lbaudit judged an image's
configured value as written, so ``tcp_max_tw_buckets = 4294967296`` passed ``min_max_tw_buckets:
1000000`` although the boot's write fails and the kernel keeps its default (131,072 here).
``test_this_kernel_refuses_the_values`` checks the refusals on the running kernel, in a new namespace.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import install_procps_boot

BUCKETS = "net.ipv4.tcp_max_tw_buckets"
REUSE = "net.ipv4.tcp_tw_reuse"
FIN = "net.ipv4.tcp_fin_timeout"


def judged(tmp_path: Path, text: str, params: TimeWaitParams) -> dict[str, Status]:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-tw.conf").write_text(text)
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    return {o.subject: o.status for o in net_time_wait.run(snap, params) if o.subject.startswith("sysctl ")}


def test_a_tw_bucket_limit_beyond_an_int_is_refused_not_passed(tmp_path):
    found = judged(tmp_path, f"{BUCKETS} = 4294967296\n", TimeWaitParams(min_max_tw_buckets=1_000_000))
    assert found == {f"sysctl {BUCKETS}": Status.NOT_REVIEWED}


def test_the_reason_names_the_value_the_file_and_the_rule(tmp_path):
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-tw.conf").write_text(f"{BUCKETS} = 4294967296\n")
    snap = collect_root(root, frozenset({"sysctl"}))
    [outcome] = [o for o in net_time_wait.run(snap, TimeWaitParams(min_max_tw_buckets=1_000_000))
                 if o.subject == f"sysctl {BUCKETS}"]
    assert outcome.message == (
        f"not reviewed: {BUCKETS} = 4294967296 (/etc/sysctl.d/60-tw.conf:1) is refused by the kernel when the boot applies it "
        "(EINVAL), so the kernel keeps its own default, which lbaudit does not assume (it takes -2,147,483,648 "
        "to 2,147,483,647)")


def test_a_tw_reuse_outside_0_to_2_is_refused_not_judged(tmp_path):
    found = judged(tmp_path, f"{REUSE} = 3\n", TimeWaitParams(allowed_tw_reuse=[2]))
    assert found == {f"sysctl {REUSE}": Status.NOT_REVIEWED}


@pytest.mark.parametrize("value, status", [
    ("30000000", Status.NOT_REVIEWED),  # above INT_MAX / 100: refused on every HZ
    ("5000000", Status.NOT_REVIEWED),   # taken at HZ 100 and 250, refused at 1000: not known
    ("2147483", Status.FAIL),           # INT_MAX / 1000: taken on every HZ, and above the maximum
    ("30", Status.PASS),
])
def test_fin_timeout_is_judged_only_where_every_kernel_takes_it(tmp_path, value, status):
    found = judged(tmp_path, f"{FIN} = {value}\n", TimeWaitParams(max_fin_timeout=60))
    assert found == {f"sysctl {FIN}": status}


def test_control_cases_values_the_kernel_takes_are_judged(tmp_path):
    params = TimeWaitParams(min_max_tw_buckets=1_000_000, allowed_tw_reuse=[0])
    text = f"{BUCKETS} = 2147483647\n{REUSE} = 0\n"
    assert judged(tmp_path / "a", text, params) == {f"sysctl {BUCKETS}": Status.PASS, f"sysctl {REUSE}": Status.PASS}
    text = f"{BUCKETS} = 262144\n{REUSE} = 1\n"
    assert judged(tmp_path / "b", text, params) == {f"sysctl {BUCKETS}": Status.FAIL, f"sysctl {REUSE}": Status.FAIL}


@pytest.mark.live
def test_this_kernel_refuses_the_values(tmp_path):
    script = (f"echo 4294967296 > /proc/sys/{BUCKETS.replace('.', '/')}; echo $?; "
              f"echo 3 > /proc/sys/{REUSE.replace('.', '/')}; echo $?; "
              f"echo 30000000 > /proc/sys/{FIN.replace('.', '/')}; echo $?; "
              f"echo 2147483647 > /proc/sys/{BUCKETS.replace('.', '/')}; echo $?")
    try:
        done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=20)
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    if done.returncode != 0 or "Operation not permitted" in done.stderr:
        pytest.skip(f"cannot create a network namespace here: {done.stderr.strip()}")
    assert done.stdout.split() == ["1", "1", "1", "0"]
