"""``fleet report`` showed a host that the latest fleet run could not judge (unreachable: no
snapshot fetched; a snapshot that failed) with its last compliant run, for up to --stale-days:
the run recorded only the hosts it judged, so the store's latest word on the missing host was the
earlier compliant one, and the fleet overview said COMPLIANT.

``fleet evaluate --record`` now records each host it could not judge as not scanned in that run,
with the reason; the report lists such a host as ``not_scanned`` (its last judged run only as
context), none of its policy's controls as satisfied, and the overview's rollup is not compliant.
A later run that judges the host again takes it back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

BIND_ONLY = ("id: bind-only\nversion: '1'\nowner: Sec\nrules:\n  - id: bind\n"
             "    check: net.bind_addresses\n    controls: [SC-7]\n")


def _fetch(root: Path, *hosts: str, broken: tuple[str, ...] = ()) -> Path:
    """Ansible's fetch layout: a directory per host with its snapshot (compliant: nothing listening
    beyond loopback); a ``broken`` host's snapshot is not JSON."""
    for number, host in enumerate(hosts):
        (root / host).mkdir(parents=True)
        if host in broken:
            (root / host / "lbaudit.snapshot.json").write_text("{ not json")
            continue
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 6379)], hostname=host,
                                machine_id=f"{number + 1:032x}", collected_at=datetime.now(timezone.utc)), root / host / "lbaudit.snapshot.json")
    root.mkdir(exist_ok=True)
    return root


def _evaluate(tmp_path: Path, fetch: Path, store: str, *extra: object):
    policy = tmp_path / "bind-only.yaml"
    policy.write_text(BIND_ONLY)
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "out",
                   "--record", "--store", store, "--expect-hosts", "web01,web02", "-q", "--jobs", "1", timeout=120)


def _report(store: str, *extra: object) -> tuple[int, dict]:
    result = run_cli("fleet", "report", "--store", store, "--json", *extra)
    assert result.stderr == "", result.stderr
    return result.returncode, json.loads(result.stdout)


def test_an_unreachable_host_is_not_scanned_in_the_report_not_its_last_compliant_run(tmp_path: Path,
                                                                                      store_url: str):  # noqa: F811
    first = _evaluate(tmp_path, _fetch(tmp_path / "fetch1", "web01", "web02"), store_url)
    assert first.returncode == 0, first.stdout + first.stderr
    code, data = _report(store_url)
    assert data["hosts_by_verdict"] == {"compliant": ["web01", "web02"]}
    # the next run: web02 unreachable (nothing fetched), web01 judged again
    second = _evaluate(tmp_path, _fetch(tmp_path / "fetch2", "web01"), store_url)
    assert second.returncode == 2, second.stdout + second.stderr

    code, data = _report(store_url)
    # before: {"compliant": ["web01", "web02"]}, web02's row its first run's, and the overview COMPLIANT;
    # then exit 0 (a gate reading the exit code took the fleet for judged): now 3, incomplete
    assert (code, data["hosts_total"], data["hosts_by_verdict"]) == (
        3, 2, {"compliant": ["web01"], "not_scanned": ["web02"]})
    row = next(row for row in data["hosts"] if row["host"] == "web02")
    assert (row["verdict"], row["exit_code"], row["counts"], row["failing_rules"], row["controls"]) == (
        None, 2, {}, [], {})
    assert row["error"].startswith("not scanned in the latest fleet run (started ")
    assert (f"host 'web02' is expected (--expect-hosts) but no snapshot of it was found under {tmp_path / 'fetch2'}"
            in row["error"])
    assert re.search(r"; last judged in run 2 \(started [0-9T:.-]+Z\): compliant$", row["error"]), row["error"]
    sc7 = next(c for c in data["controls_by_share_satisfied"] if c["control"] == "SC-7")
    assert sc7 == {"control": "SC-7", "hosts_satisfied": 1, "hosts": 2, "share": 0.5}

    page = tmp_path / "fleet.html"
    assert run_cli("fleet", "report", "--store", store_url, "--html", page).returncode == 3
    html = page.read_text()
    assert "HOSTS NOT JUDGED" in html and ">COMPLIANT<" not in html
    assert "not scanned in the latest fleet run" in html

    # a run that judges web02 again takes it back
    third = _evaluate(tmp_path, _fetch(tmp_path / "fetch3", "web01", "web02"), store_url)
    assert third.returncode == 0, third.stdout + third.stderr
    code, data = _report(store_url)
    assert (code, data["hosts_by_verdict"]) == (0, {"compliant": ["web01", "web02"]})


def test_a_host_whose_snapshot_fails_is_not_scanned_and_a_host_never_judged_is_listed(tmp_path: Path,
                                                                                      store_url: str):  # noqa: F811
    assert _evaluate(tmp_path, _fetch(tmp_path / "fetch1", "web01"), store_url).returncode == 2  # web02 never seen
    code, data = _report(store_url)
    assert data["hosts_by_verdict"] == {"compliant": ["web01"], "not_scanned": ["web02"]}
    row = next(row for row in data["hosts"] if row["host"] == "web02")
    assert row["error"].endswith("it was not scanned in this run; never judged")
    second = _evaluate(tmp_path, _fetch(tmp_path / "fetch2", "web01", "web02", broken=("web01",)), store_url)
    assert second.returncode == 2
    code, data = _report(store_url)
    assert data["hosts_by_verdict"] == {"compliant": ["web02"], "not_scanned": ["web01"]}
    row = next(row for row in data["hosts"] if row["host"] == "web01")
    assert "not valid JSON" in row["error"], row["error"]
    assert re.search(r"; last judged in run 1 \(started [0-9T:.-]+Z\): compliant$", row["error"]), row["error"]


def test_a_host_never_judged_can_be_retired_and_a_later_run_expecting_it_brings_it_back(tmp_path: Path,
                                                                                        store_url: str):  # noqa: F811
    """history retire of a host the store knew only as not scanned exited 0 and retired nothing:
    the host stayed not_scanned in every report after it left the inventory."""
    assert _evaluate(tmp_path, _fetch(tmp_path / "fetch1", "web01"), store_url).returncode == 2
    retired = run_cli("history", "retire", "web02", "--store", store_url, "--reason", "decommissioned")
    assert retired.returncode == 0, retired.stderr
    assert "web02" in retired.stdout and "bind-only" in retired.stdout, retired.stdout
    code, data = _report(store_url)
    assert data["hosts_by_verdict"] == {"compliant": ["web01"]}
    assert [(row["host"], row["reason"]) for row in data["retired"]] == [("web02", "decommissioned")]
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
    # a fleet run that expects it again (and cannot judge it): back, as not scanned
    assert _evaluate(tmp_path, _fetch(tmp_path / "fetch2", "web01"), store_url).returncode == 2
    code, data = _report(store_url)
    assert (data["hosts_by_verdict"], data["retired"]) == ({"compliant": ["web01"], "not_scanned": ["web02"]}, [])
