"""The fleet command held every host's JUnit suite in memory until the fleet JUnit was written, and
then parsed them all at once: about 48 MB of the command's memory for each host at --max-listeners
(12 MB of suite text), whatever the workers' limits, so the controller's memory grew with the
fleet (four such hosts peaked at 324 MiB, twelve at 705 MiB).  A host's suite is now kept in a file
without a name on the out dir's file system once the host is back (none left behind, none in a
tmpfs /tmp), and the fleet JUnit is written host by host, the same document as before: the
command's peak no longer grows with the number of hosts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_measuring_peak
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"
LISTENERS = 4_000  # a suite of about 2.5 MB, and about 10 MB of the command's memory a host before



def _fleet_of(root: Path, hosts: int) -> Path:
    template = snapshot(listeners=[listener(f"10.0.{(i >> 8) & 255}.{i & 255}", 1024 + i) for i in range(LISTENERS)],
                        hostname="h0", machine_id="0" * 32, collected_at=datetime.now(timezone.utc))
    for number in range(hosts):
        (root / f"h{number}").mkdir(parents=True)
        provenance = template.provenance.model_copy(update={"hostname": f"h{number}",
                                                            "machine_id": f"{number + 1:032x}"})
        write_snapshot(template.model_copy(update={"provenance": provenance}),
                       root / f"h{number}" / "lbaudit.snapshot.json")
    return root


def _peak(tmp_path: Path, fetch: Path, out: Path) -> int:
    result, peak = run_measuring_peak(tmp_path / f"{out.name}.peak", "fleet", "evaluate", "--snapshots", fetch,
                                      "--policy", POLICY, "--out-dir", out, "--jobs", "1", "-q")
    assert result.returncode == 1, result.stdout + result.stderr  # every host listens beyond loopback
    return peak


@pytest.mark.slow  # eight hosts of 4,000 listeners judged, in two processes of their own
def test_the_fleet_commands_memory_does_not_grow_with_its_hosts_junit(tmp_path: Path):
    one = _peak(tmp_path, _fleet_of(tmp_path / "one", 1), tmp_path / "out1")
    many = _peak(tmp_path, _fleet_of(tmp_path / "many", 7), tmp_path / "out7")
    # before: about 10 MiB more a host (60 MiB for the six more); after: the same peak, give or take
    assert many - one < 20 * 2 ** 20, f"peak {one / 2 ** 20:.0f} MiB for one host, {many / 2 ** 20:.0f} MiB for seven"
    root = ET.parse(tmp_path / "out7" / "fleet.junit.xml").getroot()
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == [f"h{number}" for number in range(7)]
    assert root.get("tests") == str(sum(int(suite.get("tests", "0")) for suite in suites))
    assert root.get("failures") == str(sum(int(suite.get("failures", "0")) for suite in suites)) != "0"
