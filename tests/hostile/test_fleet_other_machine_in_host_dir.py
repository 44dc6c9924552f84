"""Another machine's signed snapshot in a host's directory of the fetch layout.

A fleet names each host by its directory (Ansible's inventory_hostname) and allows the host name
a snapshot records to differ (an inventory of addresses or aliases), so what a snapshot says of its
own host (its machine id and host name, which its signature covers) was bound to nothing: db07's
snapshot, verified by --snapshot-pubkey, compliant, put in web01's directory (a fetch that went to
the wrong place, a known-good file handed over) passed web01, whose last recorded run failed; db07
was no host of the run, so neither the duplicate-collection nor the other-host-name check saw it.

With --record the store knows the host: a snapshot in its place that records neither the machine id
nor the host name of its latest recorded run is another machine's, and fails its host (exit 2),
nothing of it written or recorded.  A host reinstalled (a new machine id, its name kept) or renamed
(its machine id kept) is still judged, and one rebuilt as another machine is judged once its runs
are retired (``lbaudit history retire``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, sign_written
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
WEB01, DB07 = "1" * 32, "7" * 32


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    if not (tmp_path / "keys" / "lbaudit.key").exists():
        generate_keypair(tmp_path / "keys")
    return tmp_path / "keys" / "lbaudit.key", tmp_path / "keys" / "lbaudit.pub"


def _fetched(tmp_path: Path, fetch: str, directory: str, hostname: str, machine_id: str | None, address: str,
             collected_at: datetime) -> Path:
    path = tmp_path / fetch / directory / "lbaudit.snapshot.json"
    path.parent.mkdir(parents=True)
    raw = snapshot_bytes(snapshot(listeners=[listener(address, 22)], hostname=hostname, machine_id=machine_id,
                                  collected_at=collected_at))
    path.write_bytes(raw)
    sign_written(path, raw, _keys(tmp_path)[0], snapshot=True)
    return tmp_path / fetch


def _store(tmp_path: Path) -> str:
    return (tmp_path / "store-url").read_text() if (tmp_path / "store-url").exists() else str(tmp_path / "history.db")


def _fleet(tmp_path: Path, fetch: Path, out: str, jobs: str = "1"):
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / out,
                   "--snapshot-pubkey", _keys(tmp_path)[1], "--record", "--store", _store(tmp_path),
                   "--jobs", jobs, "-q", timeout=120)


def _row(tmp_path: Path, out: str) -> dict:
    [row] = json.loads((tmp_path / out / "fleet-summary.json").read_text())["hosts"]
    return row


def _web01_failed_an_hour_ago(tmp_path: Path, directory: str = "web01") -> None:
    first = _fleet(tmp_path, _fetched(tmp_path, "fetch1", directory, "web01", WEB01, "0.0.0.0",
                                      NOW - timedelta(hours=1)), "out1")
    assert first.returncode == 1, first.stdout + first.stderr


def _runs(tmp_path: Path) -> list[tuple[int, str]]:
    from auditor.history import open_store

    with open_store(_store(tmp_path)) as store:
        return sorted((run["id"], run["verdict"]) for run in store.list_runs())


# the store's spelling is what retire takes; with --jobs 2 a worker judges the host and the command records it
@pytest.mark.parametrize("recorded_as, jobs", [("web01", "1"), ("WEB01.", "2")])
def test_another_machines_signed_snapshot_in_a_hosts_directory_fails_that_host(tmp_path: Path, recorded_as: str,
                                                                                jobs: str,
                                                                                store_url: str):  # noqa: F811
    (tmp_path / "store-url").write_text(store_url)
    _web01_failed_an_hour_ago(tmp_path, recorded_as)
    fetch = _fetched(tmp_path, "fetch2", "web01", "db07", DB07, "127.0.0.1", NOW)
    result = _fleet(tmp_path, fetch, "out2", jobs)
    assert result.returncode == 2, result.stdout + result.stderr
    row = _row(tmp_path, "out2")
    assert (row["host"], row["verdict"], row["exit_code"], row["evidence"], row["run_id"]) == ("web01", None, 2, None,
                                                                                                None)
    assert row["error"] == (
        f"host 'web01': its snapshot records machine id {DB07} and host name 'db07', but its latest run in the "
        f"history store (run 1) records machine id {WEB01} and host name 'web01': another machine's facts in this "
        "host's place are not its evidence; not judged or recorded (collect the host again; if web01 was rebuilt as "
        f"another machine, retire its runs first: lbaudit history retire {recorded_as})")
    assert not (tmp_path / "out2" / "web01.evidence.json").exists()
    assert _runs(tmp_path) == [(1, "non_compliant")]


def test_a_snapshot_without_a_machine_id_under_another_host_name_fails_too(tmp_path: Path):
    _web01_failed_an_hour_ago(tmp_path)
    result = _fleet(tmp_path, _fetched(tmp_path, "fetch2", "web01", "db07", None, "127.0.0.1", NOW), "out2")
    assert result.returncode == 2, result.stdout + result.stderr
    row = _row(tmp_path, "out2")
    assert (row["verdict"], row["exit_code"]) == (None, 2)
    assert row["error"].startswith("host 'web01': its snapshot records no machine id and host name 'db07', but its "
                                   f"latest run in the history store (run 1) records machine id {WEB01} and host "
                                   "name 'web01': another machine's facts")
    assert _runs(tmp_path) == [(1, "non_compliant")]


def test_a_reinstalled_host_and_a_renamed_host_are_still_judged(tmp_path: Path):
    _web01_failed_an_hour_ago(tmp_path)
    reinstalled = _fleet(tmp_path, _fetched(tmp_path, "fetch2", "web01", "WEB01.", "2" * 32, "127.0.0.1",
                                            NOW - timedelta(minutes=30)), "out2")
    assert reinstalled.returncode == 0, reinstalled.stdout + reinstalled.stderr
    renamed = _fleet(tmp_path, _fetched(tmp_path, "fetch3", "web01", "www01", "2" * 32, "127.0.0.1", NOW), "out3")
    assert renamed.returncode == 0, renamed.stdout + renamed.stderr
    assert _runs(tmp_path) == [(1, "non_compliant"), (2, "compliant"), (3, "compliant")]


def test_a_host_rebuilt_as_another_machine_is_judged_once_its_runs_are_retired(tmp_path: Path):
    _web01_failed_an_hour_ago(tmp_path)
    retired = run_cli("history", "retire", "web01", "--store", _store(tmp_path))
    assert retired.returncode == 0, retired.stdout + retired.stderr
    result = _fleet(tmp_path, _fetched(tmp_path, "fetch2", "web01", "db07", DB07, "127.0.0.1", NOW), "out2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _row(tmp_path, "out2")["verdict"] == "compliant"
