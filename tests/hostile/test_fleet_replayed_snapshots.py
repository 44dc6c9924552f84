"""A host's older snapshot replayed into a later ``fleet evaluate --record``.

The store holds web01's run of facts collected an hour ago: it failed (listening on every
address).  A later fleet run was handed a snapshot of web01 collected five hours ago (a copy kept
from an earlier fetch, a host that handed over a known-good file), and judged it: web01
"compliant", the fleet exit 0, and a run recorded whose facts are older than those the store had
already judged.  Without --max-age no age limit stopped it, and within one (1d, as the Ansible play
gives) a replay of a few hours passed all the same.

A host whose snapshot was collected before the facts of its latest recorded run (of any policy)
now fails alone (exit 2), nothing of it written or recorded, and is recorded as not scanned; the
same facts judged again (a new policy over the same fetch) and newer facts are judged as before.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
HOUR_AGO, FIVE_HOURS_AGO = NOW - timedelta(hours=1), NOW - timedelta(hours=5)


def _fetch(root: Path, address: str, collected_at: datetime) -> Path:
    """A fetch directory of web01 (listening on ``address``) and web02 (loopback), collected at ``collected_at``."""
    for number, (host, bound) in enumerate((("web01", address), ("web02", "127.0.0.1"))):
        (root / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener(bound, 22)], hostname=host, machine_id=f"{number + 1:032x}",
                                collected_at=collected_at), root / host / "lbaudit.snapshot.json")
    return root


def _fleet(tmp_path: Path, fetch: Path, policy_id: str, jobs: str, store: str):
    policy = tmp_path / f"{policy_id}.yaml"
    policy.write_text(loopback_only_policy(policy_id))
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "out",
                   "--record", "--store", store, "--jobs", jobs, "-q", timeout=120)


def _rows(tmp_path: Path) -> dict[str, dict]:
    return {h["host"]: h for h in json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]}


def _runs_of(store_location: str, host: str) -> list[str]:
    from auditor.history import open_store

    with open_store(store_location) as store:
        return [run["verdict"] for run in store.list_runs(host=host)]


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("second_policy", ["lo", "other"])
def test_a_snapshot_older_than_the_hosts_recorded_facts_fails_that_host_alone(tmp_path: Path, jobs: str,
                                                                              second_policy: str,
                                                                              store_url: str):  # noqa: F811
    first = _fleet(tmp_path, _fetch(tmp_path / "fetch1", "0.0.0.0", HOUR_AGO), "lo", jobs, store_url)
    assert first.returncode == 1, first.stdout + first.stderr
    # the run after: web02 collected anew, web01's snapshot a compliant one from before the last run
    fetch = _fetch(tmp_path / "fetch2", "127.0.0.1", FIVE_HOURS_AGO)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web02", machine_id=f"{2:032x}",
                            collected_at=NOW), fetch / "web02" / "lbaudit.snapshot.json")
    second = _fleet(tmp_path, fetch, second_policy, jobs, store_url)
    assert second.returncode == 2, second.stdout + second.stderr
    rows = _rows(tmp_path)
    assert (rows["web02"]["verdict"], rows["web02"]["exit_code"]) == ("compliant", 0)
    web01 = rows["web01"]
    assert (web01["verdict"], web01["exit_code"], web01["evidence"]) == (None, 2, None)
    shown = FIVE_HOURS_AGO.isoformat().replace("+00:00", "Z")
    recorded = HOUR_AGO.isoformat().replace("+00:00", "Z")
    assert (f"its facts were collected at {shown}, before those of its run 1 in the history store (collected "
            f"{recorded}): an older snapshot is not the host as it is now; not judged or recorded "
            "(collect the host again)") in web01["error"]
    assert not (tmp_path / "out" / "web01.evidence.json").exists()
    assert _runs_of(store_url, "web01") == ["non_compliant"]  # the replay recorded no run
    report = run_cli("fleet", "report", "--store", store_url, "--json", "--policy", second_policy)
    assert (report.returncode, json.loads(report.stdout)["hosts_by_verdict"]) == (
        3, {"compliant": ["web02"], "not_scanned": ["web01"]})


def test_control_case_the_same_facts_judged_again_and_newer_facts_are_judged(tmp_path: Path):
    store = str(tmp_path / "history.db")
    fetch = _fetch(tmp_path / "fetch1", "127.0.0.1", HOUR_AGO)
    assert _fleet(tmp_path, fetch, "lo", "1", store).returncode == 0
    # the same fetch judged again by another policy: the same facts, not older ones
    assert _fleet(tmp_path, fetch, "other", "1", store).returncode == 0
    shutil.rmtree(fetch)
    newer = _fetch(tmp_path / "fetch1", "0.0.0.0", NOW)
    assert _fleet(tmp_path, newer, "lo", "1", store).returncode == 1
    assert _rows(tmp_path)["web01"]["verdict"] == "non_compliant"
    assert _runs_of(store, "web01") == ["non_compliant", "compliant", "compliant"]
