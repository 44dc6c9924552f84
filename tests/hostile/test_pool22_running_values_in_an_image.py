"""A snapshot collected from an offline root directory cannot hold running state, yet was judged on it.

An image (``lbaudit collect --root``) has no running kernel: its collector writes no running sysctl
values (``sysctl.runtime`` is null, with a not_applicable gap), no socket counts, no audit state of a
running kernel and no other network namespace.  The checks read a running value first wherever one
is present, so a snapshot file that says it was collected from a root directory and also holds
running values (a hand edit, or a tool that stitched an image's facts to a host's) was judged on
the running values: ``net.ephemeral_port_range`` passed the pool 1024-65535 (64,512 ports) of an
image whose sysctl.d sets 40000-40100 (101 ports, which boots with a pool the check fails), and
``net.time_wait`` passed a TIME_WAIT share from counts no image has.  The run was COMPLIANT (exit 0).

Now such a snapshot is refused (exit 2, naming the fact), as other self-contradicting snapshots are
(the mirror case, an offline-only gap in a running host's facts: test_gate18_offline_gaps_on_live_facts);
the same image's facts without the running values are judged on its boot configuration.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model.facts import AuditFacts, Gap, SocketCounts, SocketFacts, SysctlFacts, SysctlSetting
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import snapshot, sysctl_facts

POLICY = ('id: p\nversion: "1"\nowner: T\nrules:\n'
          '  - id: eph\n    check: net.ephemeral_port_range\n    params: {min_pool_size: 20000}\n'
          '  - id: tw\n    check: net.time_wait\n    params: {max_time_wait_share: 0.5}\n')
# what the root collector writes for running state an image does not have
OFFLINE = [Gap(section="netns", kind="not_applicable", reason="an offline root directory has no running network namespaces"),
           Gap(section="sysctl", path=("runtime",), kind="not_applicable", reason="offline root directory"),
           Gap(section="sockets", path=("counts",), kind="not_applicable", reason="offline root directory")]
# the image's boot configuration: a 101-port range
PERSISTENT = {"net.ipv4.ip_local_port_range": SysctlSetting(value="40000 40100", origin="/etc/sysctl.d/50-ports.conf:1")}


def _evaluate(tmp_path: Path, *, runtime: bool, counts: bool, audit: bool = False):
    gaps = [g for g in OFFLINE if not (runtime and g.path == ("runtime",)) and not (counts and g.path == ("counts",))]
    sysctl = SysctlFacts(runtime=sysctl_facts(net__ipv4__ip_local_port_range="1024 65535").runtime if runtime else None,
                         persistent=PERSISTENT)
    host = snapshot(listeners=[], time_wait=None, netns=None, gaps=gaps, sysctl=sysctl, source="root",
                    audit=AuditFacts(enabled=1) if audit else None)
    if counts:
        host = host.model_copy(update={"facts": host.facts.model_copy(update={"sockets": SocketFacts(
            listeners=[], counts=SocketCounts(time_wait=3, tcp_by_state={"TIME_WAIT": 3}))})})
    path, policy = tmp_path / "image.snapshot.json", tmp_path / "policy.yaml"
    path.write_bytes(snapshot_bytes(host))
    policy.write_text(POLICY, encoding="utf-8")
    evidence = tmp_path / "e.json"
    return run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", path, "-o", evidence,
                   "--color", "never"), path, evidence


@pytest.mark.parametrize(("runtime", "counts", "audit", "said"), [
    (True, False, False, "/facts/sysctl/runtime: running sysctl values"),
    (False, True, False, "/facts/sockets/counts: live socket counts"),
    (False, False, True, "/facts/audit/enabled: the running kernel's audit state"),
], ids=["sysctl-runtime", "socket-counts", "audit-enabled"])
def test_running_state_in_an_offline_images_facts_is_refused(tmp_path: Path, runtime, counts, audit, said) -> None:
    run, path, evidence = _evaluate(tmp_path, runtime=runtime, counts=counts, audit=audit)
    # was exit 0: the pool passed on the running 1024-65535, the share on counts no image has
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert f"{path}: {said}" in run.stderr, run.stderr
    assert "but the facts were collected from an offline root directory" in run.stderr, run.stderr
    assert not evidence.exists()


def test_control_case_the_images_boot_configuration_is_judged(tmp_path: Path) -> None:
    run, _, evidence = _evaluate(tmp_path, runtime=False, counts=False)
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    findings = {f["subject"]: f for f in json.loads(evidence.read_bytes())["result"]["findings"]}
    pool = findings["ephemeral port pool"]
    assert pool["status"] == "fail", pool["message"]
    assert "40000-40100" in pool["message"], pool["message"]
    assert findings["TIME_WAIT share of the ephemeral pool"]["status"] == "not_applicable"
