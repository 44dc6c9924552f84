"""Two of the store's hosts that ``fleet report`` names alike: one of them vanished from the report.

The store keys a host by its inventory name when a fleet run gives one, else by its machine id, else
by its host name (``history.store.host_key``).  So one machine judged by ``fleet evaluate --record``
(keyed ``inventory:web01``) and by ``lbaudit evaluate --record`` (keyed by its machine id) is two
hosts of the store; the report names each by its inventory or host name, and adds the machine id
when two share a name, which here they share too.  Both were named ``web01 (machine-id ...)``, and
the report kept one of them by that name: the host's newest run, a failure, was hidden behind its
older compliant fleet run, and the report said "compliant: 1", exit 0.  Hosts still named alike are
now told apart by the key the store gives them, and every host of the store has its row.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOW = datetime.now(timezone.utc).replace(microsecond=0)
MACHINE = "1" * 32


def _snapshot(path: Path, address: str, collected: datetime, machine_id: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id=machine_id,
                            collected_at=collected), path)
    return path


def _store(tmp_path: Path, machine_id: str | None) -> Path:
    """web01 compliant in a fleet run, then failing in a run of lbaudit evaluate --record."""
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    store = tmp_path / "history.db"
    _snapshot(tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json", "127.0.0.1", NOW - timedelta(hours=3), machine_id)
    fleet = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                    tmp_path / "out", "--record", "--store", store, "--jobs", "1", "-q")
    assert fleet.returncode == 0, fleet.stdout + fleet.stderr
    later = _snapshot(tmp_path / "later.snapshot.json", "0.0.0.0", NOW - timedelta(hours=1), machine_id)
    plain = run_cli("evaluate", "--policy", policy, "--snapshot", later, "--record", "--store", store, "-q",
                    "-o", tmp_path / "later.evidence.json")
    assert plain.returncode == 1, plain.stdout + plain.stderr
    return store


def test_a_machine_judged_by_a_fleet_and_by_evaluate_has_both_rows(tmp_path: Path):
    store = _store(tmp_path, MACHINE)
    result = run_cli("fleet", "report", "--store", store, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    fleet_host, plain_host = "web01 (inventory:web01)", f"web01 (machine-id:{MACHINE})"
    assert data["hosts_total"] == 2
    assert data["hosts_by_verdict"] == {"compliant": [fleet_host], "non_compliant": [plain_host]}
    assert [(row["host"], row["run_id"], row["verdict"]) for row in data["hosts"]] == [
        (fleet_host, 1, "compliant"), (plain_host, 2, "non_compliant")]
    text = run_cli("fleet", "report", "--store", store)
    assert f"  non_compliant: 1 ({plain_host})" in text.stdout.splitlines()


def test_hosts_without_a_machine_id_named_alike_have_both_rows(tmp_path: Path):
    store = _store(tmp_path, None)
    result = run_cli("fleet", "report", "--store", store, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["hosts_by_verdict"] == {"compliant": ["web01 (inventory:web01)"],
                                        "non_compliant": ["web01 (hostname:web01)"]}


def test_history_diff_chooses_one_of_them_by_the_name_fleet_report_gives_it(tmp_path: Path):
    """Every --host (host name, machine id) matched both, and history diff refused both as "several
    hosts", naming them alike (web01/lo, web01/lo); the store's key, the name fleet report gives
    each, chooses one."""
    store = _store(tmp_path, MACHINE)
    both = run_cli("history", "diff", "--store", store, "--host", MACHINE)
    assert (both.returncode, both.stdout) == (2, "")
    assert (f"runs of several hosts or policies match (web01/lo (--host inventory:web01), web01/lo (--host "
            f"machine-id:{MACHINE})); give --host and --policy, or two run ids") in both.stderr
    fleet_run = run_cli("history", "list", "--store", store, "--host", "inventory:web01", "--json")
    assert [run["id"] for run in json.loads(fleet_run.stdout)] == [1]
    plain = run_cli("history", "list", "--store", store, "--host", f"machine-id:{MACHINE}", "--json")
    assert [run["id"] for run in json.loads(plain.stdout)] == [2]
    alone = run_cli("history", "diff", "--store", store, "--host", f"machine-id:{MACHINE}")
    assert alone.returncode == 2 and "only one run of web01/lo is recorded; a diff needs two" in alone.stderr
