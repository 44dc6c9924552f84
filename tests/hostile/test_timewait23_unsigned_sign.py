"""``net.time_wait``: a sign on tcp_tw_reuse or tcp_timestamps was read as a number.

Both are u8 sysctls (proc_dou8vec_minmax), whose handler refuses any sign, ``-0`` too (EINVAL:
checked on Linux 6.18 below, in a namespace of the test's own).  net.time_wait read them with the
signed reader of int sysctls, so an image whose sysctl.d writes ``net.ipv4.tcp_tw_reuse = -0``
passed ``allowed_tw_reuse: [0]`` as "0 (off) is allowed", where the boot's write is refused and the
kernel keeps its default (2 since Linux 4.20); ``tcp_timestamps = -0`` failed a host whose
timestamps stay on as one that reuses nothing; ``-2`` was "depends on its HZ" (the rule of
tcp_fin_timeout, whose negative values are symmetric to its positive ones); and a running ``-0``,
which no kernel prints for a u8, passed as 0.  drift.sysctl already refused the sign; now the
reader does, for every check.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import snapshot

REUSE = "net.ipv4.tcp_tw_reuse"
TIMESTAMPS = "net.ipv4.tcp_timestamps"
SUBJECT = f"sysctl {REUSE}"


def _image(values: dict[str, str], allowed: list[int]):
    persistent = {key: SysctlSetting(value=value, origin="/etc/sysctl.d/99-tw.conf:1") for key, value in values.items()}
    snap = snapshot(source="root", sysctl=SysctlFacts(runtime=None, persistent=persistent))
    (finding,) = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=allowed)) if o.subject == SUBJECT]
    return finding


def _running(values: dict[str, str], allowed: list[int]):
    runtime = {key: SysctlSetting(value=value, origin="/proc/sys/" + key.replace(".", "/")) for key, value in values.items()}
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime))
    (finding,) = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=allowed)) if o.subject == SUBJECT]
    return finding


def test_the_kernel_refuses_a_sign_on_both_keys():
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    script = ("for key in tcp_tw_reuse tcp_timestamps; do f=/proc/sys/net/ipv4/$key; before=$(cat $f); "
              "if printf -- '-0\\n' > $f 2>/dev/null; then echo $key taken; fi; "
              "[ \"$(cat $f)\" = \"$before\" ] && echo $key kept $before; done")
    run = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    if run.returncode != 0 and "Operation not permitted" in run.stderr:
        pytest.skip("creating a network namespace needs root")
    assert "taken" not in run.stdout, run.stdout + run.stderr
    assert "tcp_tw_reuse kept 2" in run.stdout, run.stdout + run.stderr
    assert "tcp_timestamps kept 1" in run.stdout, run.stdout + run.stderr


def test_an_image_writing_minus_zero_reuse_is_not_passed_as_off():
    finding = _image({REUSE: "-0"}, [0])
    assert finding.status == Status.NOT_REVIEWED, finding.message  # was pass: "= 0 (off) is allowed"
    assert "-0" in finding.message and "EINVAL" in finding.message


def test_an_image_writing_minus_zero_timestamps_is_not_failed_as_off():
    finding = _image({REUSE: "1", TIMESTAMPS: "-0"}, [1])
    assert finding.status == Status.NOT_REVIEWED, finding.message  # was fail: "tcp_timestamps = 0 ... reuses nothing"
    assert TIMESTAMPS in finding.message


def test_a_negative_reuse_is_refused_not_left_to_the_hz():
    finding = _image({REUSE: "-2"}, [0])
    assert finding.status == Status.NOT_REVIEWED
    assert "HZ" not in finding.message, finding.message  # was "depends on its HZ"
    assert "EINVAL" in finding.message


def test_a_running_minus_zero_is_not_what_a_kernel_prints():
    finding = _running({REUSE: "-0"}, [0])
    assert finding.status == Status.NOT_REVIEWED, finding.message  # was pass


@pytest.mark.parametrize(("value", "allowed", "status"), [
    ("0", [0], Status.PASS), ("2", [0], Status.FAIL), ("0", [2], Status.FAIL),
])
def test_unsigned_values_are_still_judged(value, allowed, status):
    assert _image({REUSE: value, TIMESTAMPS: "1"}, allowed).status == status
    assert _running({REUSE: value, TIMESTAMPS: "1"}, allowed).status == status
