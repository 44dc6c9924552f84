"""A history store poisoned by evidence dated in the far future.

``history import`` refused evidence whose run was dated ahead of the recording clock, but not
evidence whose facts were: an evidence file edited to say its snapshot was collected in 2999 was
recorded as web01's run.  The next ``fleet evaluate --record`` then refused every genuine snapshot of
web01 as "collected before those of its run 1 in the history store", and every run after it, for
ever: the replay check compared each snapshot with the year 2999.

Now the store refuses a run whose facts claim a collection time ahead of the recording clock, or
after the run's own evaluation, beyond the clock-skew allowance (every way of recording: import,
evaluate --record, fleet --record); and a fleet run's replay check passes over a run already in a
store (recorded by a controller whose clock was once far ahead, or by an older lbaudit) whose facts
are dated after the fleet run's clock, saying so on standard error, and judges the host.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=timezone.utc)


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    fetch = tmp_path / "fetch"
    (fetch / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=NOW), fetch / "web01" / "lbaudit.snapshot.json")
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return fetch, policy


def _evidence(tmp_path: Path, fetch: Path, policy: Path, **dated: datetime) -> Path:
    """web01's evidence, its ``collected_at`` (and ``started_at``) edited to ``dated``'s."""
    plain = tmp_path / "web01.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", fetch / "web01" / "lbaudit.snapshot.json",
                     "-o", plain, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(plain.read_text())
    text = {key: value.isoformat().replace("+00:00", "Z") for key, value in dated.items()}
    if "collected_at" in text:
        document["snapshot"]["provenance"]["collected_at"] = text["collected_at"]
    if "started_at" in text:
        document["run"]["started_at"] = document["run"]["finished_at"] = text["started_at"]
    edited = tmp_path / "edited.evidence.json"
    edited.write_text(json.dumps(document))
    return edited


def _runs(store: Path) -> list[int]:
    from auditor.history import open_store

    with open_store(str(store)) as opened:
        return [run["id"] for run in opened.list_runs()]


def test_history_import_refuses_evidence_whose_facts_are_dated_ahead_of_its_clock(tmp_path: Path):
    fetch, policy = _setup(tmp_path)
    edited = _evidence(tmp_path, fetch, policy, collected_at=FAR_FUTURE)
    store = tmp_path / "history.db"
    result = run_cli("history", "import", "--host", "web01", "--trigger", "fleet", "--store", store, edited)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{edited}: says its facts were collected at 2999-01-01T00:00:00Z, after the time it is recorded (" \
        in result.stderr
    assert "): a clock ahead or an edited date; not recorded" in result.stderr
    assert _runs(store) == []


def test_history_import_refuses_evidence_whose_facts_were_collected_after_it_was_evaluated(tmp_path: Path):
    fetch, policy = _setup(tmp_path)
    evaluated = NOW - timedelta(days=2)
    edited = _evidence(tmp_path, fetch, policy, collected_at=NOW - timedelta(days=1), started_at=evaluated)
    store = tmp_path / "history.db"
    result = run_cli("history", "import", "--host", "web01", "--store", store, edited)
    assert result.returncode == 2, result.stdout + result.stderr
    shown = (NOW - timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert (f"{edited}: says its facts were collected at {shown}Z, after it was evaluated "
            f"({evaluated.replace(tzinfo=None).isoformat()}Z, more than 60 minutes ahead): a clock ahead or an edited date; not recorded"
            in result.stderr)
    assert _runs(store) == []


def test_a_run_already_recorded_with_facts_dated_ahead_does_not_block_its_host_for_ever(tmp_path: Path):
    import dataclasses

    from auditor.history import open_store
    from auditor.history.store import prepare_run

    fetch, policy = _setup(tmp_path)
    store = tmp_path / "history.db"
    # What ``history import`` recorded before it refused such evidence: the run as that lbaudit
    # checked it (its facts' time then unchecked), its evidence saying 2999.
    poisoned = prepare_run(_evidence(tmp_path, fetch, policy, collected_at=FAR_FUTURE).read_bytes(), None, None)
    with open_store(str(store)) as opened:
        poisoned_run = opened.record_prepared(dataclasses.replace(poisoned, collected=NOW), trigger="fleet",
                                              inventory_name="web01").run_id
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "out",
                     "--record", "--store", store, "--jobs", "1", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    row = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"][0]
    assert (row["host"], row["verdict"], row["error"]) == ("web01", "compliant", None)
    assert (f"lbaudit: warning: host 'web01': its run {poisoned_run} in the history store claims facts collected at "
            "2999-01-01T00:00:00Z, ahead of this run's clock: not taken as its newest facts (retire or prune that "
            "run)") in result.stderr
    assert sorted(_runs(store)) == sorted([poisoned_run, row["run_id"]])
