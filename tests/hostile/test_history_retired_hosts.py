"""Hostile fleet: a host that no longer exists (decommissioned, re-imaged under another machine id).

The defect: ``fleet report`` listed such a host as stale for ever (its last run, or the link its
pruned run left), with no way to take it out of the fleet short of editing the database, which
``history verify`` then calls a broken chain.  Now ``history retire HOST`` writes a retirement link
at the end of each of the host's chains: ``fleet report`` lists it as retired, not stale, and no
longer counts it; ``history verify`` walks the link (an edited one is a break); ``history head``
shows it; a host that records again chains its run to the retirement and is back.  An unknown host,
or a name two hosts share, is exit 2 and writes nothing.  Real commands on a real store (SQLite,
and PostgreSQL when a server is available).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import FIXED_TIME, listener, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

USAGE = 2
VERIFY_DIGEST = 10
BIND_ONLY = ("id: bind-only\nversion: '1'\nowner: Sec\nrules:\n  - id: bind\n"
             "    check: net.bind_addresses\n    controls: [SC-7]\n")


def _evaluate(tmp_path: Path, store: str, name: str, machine: str, collected: datetime | None = None) -> Path:
    policy = tmp_path / "bind-only.yaml"
    policy.write_text(BIND_ONLY)
    path = tmp_path / f"{name}-{machine}.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 6379)], hostname=name, machine_id=machine * 32,
                            collected_at=collected or datetime.now(timezone.utc)), path)
    evidence = tmp_path / f"{name}-{machine}.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", evidence, "-q",
                     "--record", "--store", store)
    assert result.returncode == 0, result.stderr
    return evidence


def _report(store: str) -> dict:
    result = run_cli("fleet", "report", "--store", store, "--json")
    assert (result.returncode, result.stderr) == (0, "")
    return json.loads(result.stdout)


def _verify(store: str) -> tuple[int, dict]:
    result = run_cli("history", "verify", "--store", store, "--json")
    return result.returncode, json.loads(result.stdout)


def _heads(store: str) -> list[dict]:
    result = run_cli("history", "head", "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["heads"]


def test_a_retired_host_leaves_the_stale_list_and_the_chain_still_verifies(tmp_path: Path, store_url: str):  # noqa: F811
    _evaluate(tmp_path, store_url, "dead", "d", collected=FIXED_TIME)  # run 1: facts weeks old, so stale
    _evaluate(tmp_path, store_url, "alive", "a")  # run 2
    before = _report(store_url)
    assert before["hosts_by_verdict"] == {"compliant": ["alive"], "stale": ["dead"]}  # the defect: stale for ever

    retired = run_cli("history", "retire", "dead", "--reason", "decommissioned", "--store", store_url, "--json")
    assert (retired.returncode, retired.stderr) == (0, "")
    (link,) = json.loads(retired.stdout)["retired"]
    assert (link["policy"], link["run_id"], link["already"]) == ("bind-only", 3, False)

    after = _report(store_url)
    assert (after["hosts_total"], after["hosts_by_verdict"]) == (1, {"compliant": ["alive"]})
    assert after["not_scanned_for_days"]["hosts"] == []
    assert [row["host"] for row in after["hosts"]] == ["alive"]
    assert [(r["host"], r["policy"], r["reason"], r["link"]) for r in after["retired"]] == [
        ("dead", "bind-only", "decommissioned", 3)]

    code, verified = _verify(store_url)
    assert (code, verified["ok"], verified["runs"], verified["retirements"], verified["chains"]) == (0, True, 2, 1, 2)
    dead_head = next(h for h in _heads(store_url) if h["host"]["hostname"] == "dead")
    assert (dead_head["state"], dead_head["run_id"], dead_head["evidence_sha256"]) == ("retired", 3, link["digest"])
    # the retirement is a head that can be pinned outside the store, as a run's evidence digest is
    pinned = run_cli("history", "verify", "--store", store_url, "--expect-head", link["digest"])
    assert pinned.returncode == 0, pinned.stdout
    assert pinned.stdout.splitlines()[0] == "2 runs in 2 chains, 1 retirements (history retire); 0 signatures verified"

    again = run_cli("history", "retire", "dead", "--store", store_url)
    assert (again.returncode, again.stdout) == (0, "dead (bind-only): already retired (link 3)\n")
    assert _verify(store_url)[1]["retirements"] == 1  # nothing written twice


def test_a_retired_host_that_records_again_is_back_and_chained_to_its_retirement(tmp_path: Path, store_url: str):  # noqa: F811
    _evaluate(tmp_path, store_url, "web", "w", collected=FIXED_TIME)
    retired = run_cli("history", "retire", "web", "--store", store_url, "--json")
    digest = json.loads(retired.stdout)["retired"][0]["digest"]
    evidence = _evaluate(tmp_path, store_url, "web", "w")  # it came back: run 3
    listed = run_cli("history", "list", "--store", store_url, "--json")
    newest = json.loads(listed.stdout)[0]
    assert newest["id"] == 3 and newest["prev_evidence_sha256"] == digest
    assert _report(store_url)["hosts_by_verdict"] == {"compliant": ["web"]}
    assert _report(store_url)["retired"] == []
    code, verified = _verify(store_url)
    assert (code, verified["runs"], verified["retirements"]) == (0, 2, 1)
    assert evidence.is_file()


def test_an_unknown_host_is_exit_2_and_writes_nothing(tmp_path: Path, store_url: str):  # noqa: F811
    _evaluate(tmp_path, store_url, "web", "w")
    heads = _heads(store_url)
    result = run_cli("history", "retire", "wbe", "--store", store_url)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert "no host 'wbe' in the history store" in result.stderr
    unknown_policy = run_cli("history", "retire", "web", "--policy", "corp", "--store", store_url)
    assert unknown_policy.returncode == USAGE
    assert "has no run of policy 'corp'" in unknown_policy.stderr
    assert _heads(store_url) == heads
    assert _verify(store_url)[1]["retirements"] == 0


def test_a_name_two_hosts_share_is_exit_2_and_the_machine_id_retires_one(tmp_path: Path, store_url: str):  # noqa: F811
    _evaluate(tmp_path, store_url, "web01", "a", collected=FIXED_TIME)  # the old machine, re-imaged...
    _evaluate(tmp_path, store_url, "web01", "b")  # ...as a new one of the same name
    shared = run_cli("history", "retire", "web01", "--store", store_url)
    assert shared.returncode == USAGE
    assert "'web01' names 2 hosts" in shared.stderr and "give the machine id" in shared.stderr
    assert _verify(store_url)[1]["retirements"] == 0
    one = run_cli("history", "retire", "a" * 32, "--store", store_url)
    assert one.returncode == 0, one.stderr
    report = _report(store_url)
    assert report["hosts_total"] == 1 and report["not_scanned_for_days"]["hosts"] == []
    assert [row["run_id"] for row in report["hosts"]] == [2]


def test_an_edited_retirement_is_a_break(tmp_path: Path):
    store = str(tmp_path / "h.db")
    _evaluate(tmp_path, store, "dead", "d", collected=FIXED_TIME)
    assert run_cli("history", "retire", "dead", "--reason", "decommissioned", "--store", store).returncode == 0
    with sqlite3.connect(store) as db:  # somebody rewrites why (or when) the host was retired
        db.execute("UPDATE retirements SET reason = 'never existed'")
    code, verified = _verify(store)
    assert (code, verified["ok"], verified["first_break"]["kind"], verified["first_break"]["run_id"]) == (
        VERIFY_DIGEST, False, "record_mismatch", 2)
