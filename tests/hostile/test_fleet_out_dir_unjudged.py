"""A host the latest fleet run could not judge kept its previous run's files in ``--out-dir``:
``web02.evidence.json`` (and its ``.sig``, and ``web02.html``) from the run before stayed beside
this run's ``fleet-summary.json``, which says web02 was not scanned, so an auditor opening the out
dir (or a CI job archiving ``*.evidence.json``) took the earlier evidence for this run's.  Those
files are now removed with the run (put back if the run fails); a file there that is not lbaudit's
output of its kind is left alone.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _fetch(root: Path, *hosts: str) -> Path:
    for number, host in enumerate(hosts):
        (root / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=f"{number + 1:032x}",
                                collected_at=datetime.now(timezone.utc)), root / host / "lbaudit.snapshot.json")
    root.mkdir(exist_ok=True)
    return root


def _fleet(fetch: Path, out: Path, keys: Path, jobs: str):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--host-html",
                   "--sign-key", keys / "lbaudit.key", "--expect-hosts", "web01,web02", "-q", "--jobs", jobs,
                   timeout=120)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_host_not_judged_leaves_no_earlier_evidence_in_the_out_dir(tmp_path: Path, jobs: str):
    keys, out = tmp_path / "keys", tmp_path / "out"
    assert run_cli("keygen", "--out", keys).returncode == 0
    assert _fleet(_fetch(tmp_path / "fetch1", "web01", "web02"), out, keys, jobs).returncode == 3
    files = {"web01.evidence.json", "web01.evidence.json.sig", "web01.html",
             "web02.evidence.json", "web02.evidence.json.sig", "web02.html"}
    assert files <= {p.name for p in out.iterdir()}
    second = _fleet(_fetch(tmp_path / "fetch2", "web01"), out, keys, jobs)  # web02 unreachable
    assert second.returncode == 2, second.stdout + second.stderr
    # before: web02's three files of the first run were still there
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["fleet-summary.html", "fleet-summary.json", "fleet.junit.xml",
         "web01.evidence.json", "web01.evidence.json.sig", "web01.html"])
    rows = {row["host"]: row for row in json.loads((out / "fleet-summary.json").read_text())["hosts"]}
    assert rows["web02"]["evidence"] is None and rows["web02"]["error"].endswith("it was not scanned in this run")


def test_a_file_there_that_is_not_lbaudits_is_left_alone(tmp_path: Path):
    keys, out = tmp_path / "keys", tmp_path / "out"
    assert run_cli("keygen", "--out", keys).returncode == 0
    out.mkdir()
    (out / "web02.html").write_text("<p>the team's own notes on web02</p>\n")
    assert _fleet(_fetch(tmp_path / "fetch", "web01"), out, keys, "1").returncode == 2
    assert (out / "web02.html").read_text() == "<p>the team's own notes on web02</p>\n"
