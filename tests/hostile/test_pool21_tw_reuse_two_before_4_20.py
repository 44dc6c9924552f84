"""``tcp_tw_reuse = 2`` passed as "loopback only" on kernels where it reuses for every connection.

The value 2 ("enable for loopback traffic only") exists since Linux 4.20 (commit 79e9fed46038, "tcp:
Add tcp_tw_reuse option for loopback only", which also made 2 the default and bounded the sysctl to
0-2).  Before it the sysctl was a plain int (proc_dointvec) and tcp_twsk_unique() tested it for
truth alone (``sysctl_tcp_tw_reuse && ...``): any nonzero value, 2 among them, reuses TIME_WAIT ports
for *every* outgoing connection, which is what 1 means today.  ``policies/corp.yaml`` allows
``[0, 2]`` precisely because "1 would reuse TIME_WAIT ports for all outgoing connections"; a CentOS 7
host (3.10) or an Ubuntu 18.04 one (4.15) with ``tcp_tw_reuse = 2`` passed it reading "2 (reuse
TIME_WAIT ports for outgoing loopback connections only, the kernel default) is allowed", while it
reuses them towards every destination.

Whether a kernel older than 4.20 has the loopback-only meaning depends on a distribution backport
(RHEL 8's 4.18 has it), which the release does not tell: where the verdict depends on what 2 means
(2 allowed, 1 not) the finding is not_reviewed on a kernel older than 4.20 or of unknown release,
naming why.  Where it does not depend on it (1 allowed too, or timestamps off: then no port is
reused either way) it is judged as before.

Each case writes a snapshot of a running host and evaluates it with the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import snapshot, sysctl_facts

SUBJECT = "sysctl net.ipv4.tcp_tw_reuse"


def _policy(allowed: str) -> str:
    return f"""\
id: t
version: "1"
owner: Sec
rules:
  - id: tw
    check: net.time_wait
    params: {{allowed_tw_reuse: {allowed}}}
"""


def _finding(tmp_path: Path, kernel: str | None, allowed: str = "[0, 2]", timestamps: str = "1") -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    host = tmp_path / "host.snapshot.json"
    facts = sysctl_facts({"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.tcp_timestamps": timestamps})
    host.write_bytes(snapshot_bytes(snapshot(listeners=[], sysctl=facts, netns=None, kernel=kernel)))
    run, evidence = evaluate_snapshot(tmp_path, _policy(allowed), host)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr
    [finding] = [f for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["subject"] == SUBJECT]
    return finding


@pytest.mark.parametrize("kernel", ["3.10.0-1160.119.1.el7.x86_64", "4.15.0-213-generic", "4.19.316"])
def test_two_on_a_kernel_before_4_20_is_not_passed_as_loopback_only(tmp_path, kernel):
    # was pass: "net.ipv4.tcp_tw_reuse = 2 (reuse TIME_WAIT ports for outgoing loopback connections only,
    # the kernel default) is allowed (...timestamps are on)"
    found = _finding(tmp_path, kernel)
    assert found["status"] == "not_reviewed", found
    assert "4.20" in found["reason"] and kernel in found["reason"]
    assert "every outgoing connection" in found["reason"]


def test_two_on_a_kernel_of_unknown_release_is_not_passed_as_loopback_only(tmp_path):
    found = _finding(tmp_path, None)
    assert found["status"] == "not_reviewed", found
    assert "release" in found["reason"] and "4.20" in found["reason"]


def test_control_case_two_on_4_20_and_later_is_loopback_only(tmp_path):
    for index, kernel in enumerate(["4.20.0", "6.1.0-18-amd64", "6.18.44-1-lts"]):
        found = _finding(tmp_path / str(index), kernel)
        assert found["status"] == "pass", found
        assert "loopback" in found["message"]


def test_control_case_the_meaning_of_two_does_not_matter_where_global_reuse_is_allowed(tmp_path):
    assert _finding(tmp_path / "a", "3.10.0-1160.el7.x86_64", allowed="[1, 2]")["status"] == "pass"


def test_control_case_without_timestamps_two_reuses_nothing_on_any_kernel(tmp_path):
    # off is allowed: inert either way, so it passes, saying why
    found = _finding(tmp_path / "a", "3.10.0-1160.el7.x86_64", timestamps="0")
    assert found["status"] == "pass" and "no TIME_WAIT port is ever reused" in found["message"]
    # off is not allowed: inert either way, so it fails
    assert _finding(tmp_path / "b", "3.10.0-1160.el7.x86_64", allowed="[2]", timestamps="0")["status"] == "fail"
