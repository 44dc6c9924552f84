"""A running host's snapshot without running sysctls was judged on its boot configuration.

``lookup`` took the configured value (sysctl.d) wherever ``facts.sysctl.runtime`` was null, which is
right for an offline image (it has no running values) but not for a running host: there the value
in force is what the kernel holds now (``sysctl -w``, a container runtime, a tuning daemon may have
changed it since boot), and lbaudit's collector always reads it on a live host.  A live snapshot
whose runtime section is null (another collector's, or edited) with ``ip_local_port_range = 1024
65535`` in its configuration passed the pool at 64,512 ports and the headroom, with no reserved port
assumed (the offline kernel default), and ``tcp_tw_reuse`` as configured.  Configured values now stand
for running ones only where the facts are an offline image's (collected from a root directory, or
its runtime section not applicable); elsewhere the findings are not_reviewed.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap, GapKind, SysctlFacts, SysctlSetting
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import snapshot

POLICY = """\
id: t
version: "1"
owner: Sec
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {forbid_listeners_in_range: false}
  - id: tw
    check: net.time_wait
    params: {peak_new_connections_per_second: 300, allowed_tw_reuse: [0]}
"""
CONFIGURED = {
    "net.ipv4.ip_local_port_range": SysctlSetting(value="1024 65535", origin="/etc/sysctl.d/90-ports.conf:1"),
    "net.ipv4.tcp_tw_reuse": SysctlSetting(value="0", origin="/etc/sysctl.d/90-ports.conf:2"),
}
JUDGED = ("ephemeral port pool", "ephemeral port range bounds",
          "ephemeral pool headroom at the declared peak connection rate", "sysctl net.ipv4.tcp_tw_reuse")


def _statuses(tmp_path: Path, **kw) -> dict[str, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    host = tmp_path / "host.snapshot.json"
    host.write_bytes(snapshot_bytes(snapshot(listeners=[], sysctl=SysctlFacts(runtime=None, persistent=CONFIGURED),
                                             netns=None, **kw)))
    run, evidence = evaluate_snapshot(tmp_path, POLICY, host)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    return {f["subject"]: f["status"] for f in findings if f["subject"] in JUDGED}


def test_a_live_snapshot_without_running_values_is_not_judged_on_its_configuration(tmp_path):
    # was pass for all four: the boot configuration judged as what the running host holds
    assert _statuses(tmp_path) == dict.fromkeys(JUDGED, "not_reviewed")


def test_control_case_an_offline_image_is_judged_on_its_configuration(tmp_path):
    assert _statuses(tmp_path / "a", source="root") == dict.fromkeys(JUDGED, "pass")
    # a snapshot file that does not say where it was collected, its runtime section not applicable
    # (in a running host's facts that gap contradicts them: exit 2, test_gate18_offline_gaps_on_live_facts.py)
    offline = Gap(section="sysctl", field="runtime", kind=GapKind.NOT_APPLICABLE,
                  reason="running sysctl values are not visible in an offline root directory")
    assert _statuses(tmp_path / "b", gaps=[offline], source="snapshot") == dict.fromkeys(JUDGED, "pass")
