"""The replay check of ``fleet evaluate --record`` looked the host up in the store by its exact
inventory name, while the fleet run compares names as one host's (case does not count, nor does
the root's trailing dot): web01's directory renamed ``WEB01`` or ``web01.`` was a host without runs,
so a snapshot of web01 collected five hours before the facts of its latest recorded run (which
failed) was judged compliant and recorded, the fleet exit 0, and ``fleet report`` listed three
hosts.  Every spelling of the host's name in the store now counts, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FIVE_HOURS_AGO = NOW - timedelta(hours=5)


def _fetch(root: Path, directory: str, address: str, collected_at: datetime) -> Path:
    (root / directory).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=collected_at), root / directory / "lbaudit.snapshot.json")
    return root


def _fleet(tmp_path: Path, fetch: Path, out: str, store: str):
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / out,
                   "--record", "--store", store, "--jobs", "1", "-q", timeout=120)


@pytest.mark.parametrize("renamed", ["WEB01", "web01.", "Web01."])
def test_an_older_snapshot_under_another_spelling_of_the_host_fails_the_replay_check(
        tmp_path: Path, renamed: str, store_url: str):  # noqa: F811
    first = _fleet(tmp_path, _fetch(tmp_path / "fetch1", "web01", "0.0.0.0", NOW), "out1", store_url)
    assert first.returncode == 1, first.stdout + first.stderr
    replayed = _fleet(tmp_path, _fetch(tmp_path / "fetch2", renamed, "127.0.0.1", FIVE_HOURS_AGO), "out2", store_url)
    assert replayed.returncode == 2, replayed.stdout + replayed.stderr
    [row] = json.loads((tmp_path / "out2" / "fleet-summary.json").read_text())["hosts"]
    assert (row["host"], row["verdict"], row["exit_code"], row["evidence"]) == (renamed, None, 2, None)
    shown, recorded = (moment.isoformat().replace("+00:00", "Z") for moment in (FIVE_HOURS_AGO, NOW))
    assert row["error"] == (
        f"host {renamed!r}: its facts were collected at {shown}, before those of its run 1 in the history store "
        f"(collected {recorded}): an older snapshot is not the host as it is now; not judged or recorded (collect "
        "the host again)")
    assert not (tmp_path / "out2" / f"{renamed}.evidence.json").exists()
