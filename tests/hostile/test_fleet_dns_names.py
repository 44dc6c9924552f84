"""Two spellings of one DNS name in one fleet: ``web1`` and ``web1.`` (the absolute form, with the
root's dot; RFC 1034 3.1) name one host, as ``Web1`` and ``web1`` do.  Each was judged, written
(``web1.evidence.json`` beside ``web1..evidence.json``) and recorded as a host of its own, so the
host was counted twice and whichever snapshot was stale or failing stood beside the other.  Like
names differing in case (tests/hostile/test_fleet_duplicate_names.py), neither stands now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _in_dir(fetch: Path, directory: str, number: int, address: str) -> None:
    (fetch / directory).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname=directory, machine_id=f"{number:032x}"),
                   fetch / directory / "lbaudit.snapshot.json")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_name_and_its_absolute_form_are_one_host(tmp_path: Path, jobs: str):
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", tmp_path / "h.db"
    _in_dir(fetch, "web1", 1, "127.0.0.1")
    _in_dir(fetch, "web1.", 2, "0.0.0.0")
    _in_dir(fetch, "db1", 3, "127.0.0.1")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--record",
                     "--store", store, "--jobs", jobs, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    rows = {r["host"]: r for r in json.loads((out / "fleet-summary.json").read_text())["hosts"]}
    for name in ("web1", "web1."):
        assert (rows[name]["exit_code"], rows[name]["error"], rows[name]["evidence"], rows[name]["run_id"]) == (
            2, f"host {name!r} appears 2 times (as 'web1', 'web1.')", None, None)
    assert rows["db1"]["error"] is None
    assert sorted(p.name for p in out.iterdir()) == [
        "db1.evidence.json", "fleet-summary.html", "fleet-summary.json", "fleet.junit.xml"]
    listed = run_cli("history", "list", "--store", store, "--json")
    assert sorted(r["host"]["inventory_name"] for r in json.loads(listed.stdout)) == ["db1"]
