"""A snapshot collected from a running host cannot say that running state does not exist there.

A gap of kind ``not_applicable`` says "this source cannot have it": only an offline root directory
(``lbaudit collect --root``) has no live sockets, no socket counts, no running sysctl values and no
loaded audit rules, and the collector says so with such gaps.  The checks take them at their word:
``net.bind_addresses`` judges a listener list with a not_applicable gap as declared listeners only
(its "listeners (collection)" finding not_applicable), the sysctl checks judge the configured values
as the running ones.  A snapshot of a *running* host holding such a gap (a hand edit, a tool that
stitched it) contradicts itself, yet was evaluated: an empty listener list with that gap and one
other passing rule was ``verdict: COMPLIANT (exit 0)`` with ``net.bind_addresses`` judging nothing.
Now such a snapshot is refused (exit 2, naming the gap), as other self-contradicting snapshots are;
the same gaps in an offline image's snapshot are what its collector writes, and are judged as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.model.facts import Gap, SysctlFacts, SysctlSetting
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import snapshot

POLICY = ('id: p\nversion: "1"\nowner: T\nrules:\n  - id: bind\n    check: net.bind_addresses\n'
          '  - id: eph\n    check: net.ephemeral_port_range\n')
LISTENERS = Gap(section="sockets", path=("listeners",), kind="not_applicable",
                reason="offline root directory: only listeners declared by systemd socket units are known")
NETNS = Gap(section="netns", kind="not_applicable", reason="an offline root directory has no running network namespaces")


def _evaluate(tmp_path: Path, gaps: list[Gap], **provenance: Any):
    path, policy = tmp_path / "host.snapshot.json", tmp_path / "policy.yaml"
    path.write_bytes(snapshot_bytes(snapshot(listeners=[], time_wait=None, netns=None, gaps=gaps, **provenance)))
    policy.write_text(POLICY, encoding="utf-8")
    return run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", path, "-o", tmp_path / "e.json",
                   "--color", "never"), path


@pytest.mark.parametrize("gap, said", [
    (LISTENERS, "sockets.listeners"),
    (Gap(section="sockets", path=("counts",), kind="not_applicable", reason="offline"), "sockets.counts"),
    (Gap(section="audit", path=("loaded_rules",), kind="not_applicable", reason="offline"), "audit.loaded_rules"),
    (NETNS, "netns"),
], ids=["listeners", "counts", "audit", "netns"])
def test_an_offline_only_gap_in_a_running_hosts_facts_is_refused(tmp_path: Path, gap: Gap, said: str) -> None:
    run, path = _evaluate(tmp_path, [gap])
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert f"{path}: /gaps/0: says {said} does not exist on this source (not_applicable), which only an " \
           "offline root directory can say, but the facts were collected from a running host" in run.stderr, run.stderr
    assert not (tmp_path / "e.json").exists()


def test_control_case_the_same_gap_in_an_offline_images_facts_is_judged(tmp_path: Path) -> None:
    # with the image's boot configuration, not running values it cannot have (exit 2 too:
    # test_pool22_running_values_in_an_image.py)
    configured = SysctlFacts(persistent={"net.ipv4.ip_local_port_range": SysctlSetting(
        value="32768 60999", origin="/etc/sysctl.d/90-ports.conf:1")})
    run, _ = _evaluate(tmp_path, [LISTENERS, NETNS], source="root", sysctl=configured)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert "bind | high | not_applicable | listeners (collection)" in run.stdout
