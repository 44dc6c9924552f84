"""A fleet host whose name is too long to name its files.

Each host's files are named after it (``<host>.evidence.json.sig`` the longest), and a host name
from a snapshot or an inventory directory was taken up to 253 characters, the length of a DNS name:
one of 240 made ``<host>.evidence.json`` longer than a file name may be (255 bytes).  Its own run
failed (exit 2, "File name too long"), and then the fleet, looking for that host's earlier files
to remove, stopped on the same error: ``internal error: OSError: [Errno 36] File name too long``
(exit 70) and no summary, no JUnit and no other host's files.  Now a name whose files cannot be
named is refused as a name that cannot name a file (that host: exit 2, the reason in the summary),
and every other host is judged and written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"
USAGE = 2
LONGEST = 255 - len(".evidence.json.sig")  # the longest host name whose every file can be named


def _host(fetch: Path, name: str) -> Path:
    path = fetch / f"{len(name)}.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name), path)
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_host_name_too_long_for_its_files_fails_that_host_alone(tmp_path: Path, jobs: str):
    fetch, out = tmp_path / "fetch", tmp_path / "out"
    fetch.mkdir()
    _host(fetch, "h" * (LONGEST + 1))
    _host(fetch, "web1")
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--host-html",
                  "--jobs", jobs, timeout=120)
    # before: exit 70, "internal error: OSError: [Errno 36] File name too long", and no file at all
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "internal error" not in run.stderr
    rows = {Path(r["snapshot"]).name: r for r in json.loads((out / "fleet-summary.json").read_text())["hosts"]}
    long_row = rows[f"{LONGEST + 1}.snapshot.json"]
    assert (long_row["exit_code"], long_row["evidence"]) == (USAGE, None)
    assert long_row["error"].endswith(f"host name {'h' * 80!r}... (a name of {LONGEST + 1} characters) cannot name "
                                      f"a file (letters, digits, '.', '-', '_'; at most {LONGEST} characters)")
    assert rows["4.snapshot.json"]["error"] is None
    assert sorted(p.name for p in out.iterdir()) == ["fleet-summary.html", "fleet-summary.json", "fleet.junit.xml",
                                                     "web1.evidence.json", "web1.html"]


def test_control_case_the_longest_name_is_judged_and_written(tmp_path: Path):
    fetch, out = tmp_path / "fetch", tmp_path / "out"
    fetch.mkdir()
    _host(fetch, "h" * LONGEST)
    key = run_cli("keygen", "--out", tmp_path / "keys", "-q")
    assert key.returncode == 0, key.stderr
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--host-html",
                  "--sign-key", tmp_path / "keys" / "lbaudit.key", timeout=120)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr
    assert "internal error" not in run.stderr
    assert (out / f"{'h' * LONGEST}.evidence.json.sig").is_file()


def test_expect_hosts_refuses_a_name_too_long_for_its_files(tmp_path: Path):
    fetch = tmp_path / "fetch"
    fetch.mkdir()
    _host(fetch, "web1")
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", tmp_path / "out",
                  "--expect-hosts", "h" * (LONGEST + 1))
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "--expect-hosts: " in run.stderr and "cannot name a host" in run.stderr
    assert not (tmp_path / "out").exists()
