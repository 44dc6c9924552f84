"""One Windows or macOS capture under two hosts' names in a fleet.

A fleet fails the later of two hosts whose snapshots record one collection: the same file, or a
copy recording the same machine id, host name and collection time.  A snapshot replayed from a
bundle (``collect --replay``) has no machine id, and its collection time is its files' modification
times, which a copy of the bundle (``cp -r``, a second download) makes anew: so one bundle copied
into two hosts' places, each collected there, was two hosts, both judged, the second "compliant"
from the first host's facts.  Without a machine id, the host name and the facts themselves (their
digest, independent of when and where they were read) tell one collection: the second host fails.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from tests.bundles import BUNDLES, CORP
from tests.cli import run_cli


def _host_from_copy(tmp_path: Path, host: str, bundle: str, written: float) -> Path:
    """``bundle`` copied anew (its files written at ``written``) and collected as ``host``'s snapshot."""
    copy = tmp_path / "bundles" / host
    shutil.copytree(BUNDLES / bundle, copy)
    for path in copy.iterdir():
        os.utime(path, (written, written))
    snapshot = tmp_path / "fetch" / host / "lbaudit.snapshot.json"
    snapshot.parent.mkdir(parents=True)
    done = run_cli("collect", "--replay", copy, "--output", snapshot, "-q", timeout=60)
    assert done.returncode == 0, done.stderr
    return snapshot


def _fleet(tmp_path: Path):
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", CORP, "--out-dir", out,
                     "--no-plugins", "--jobs", "1", timeout=120)
    return result, {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def test_one_bundle_copied_to_two_hosts_fails_the_second(tmp_path: Path):
    now = time.time()
    first = _host_from_copy(tmp_path, "win01", "windows-audited", now - 60)
    _host_from_copy(tmp_path, "win02", "windows-audited", now - 30)  # the copy made later: another time
    result, rows = _fleet(tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert rows["win01"]["error"] is None and rows["win01"]["verdict"] is not None
    assert (rows["win02"]["exit_code"], rows["win02"]["verdict"], rows["win02"]["evidence"]) == (2, None, None)
    assert ("this snapshot records the same facts (host name 'WIN-SRV01', no machine id) as host 'win01''s "
            f"({first})") in rows["win02"]["error"]
    assert not (tmp_path / "out" / "win02.evidence.json").exists()


def test_control_case_two_captures_of_different_hosts_are_two_hosts(tmp_path: Path):
    now = time.time()
    _host_from_copy(tmp_path, "win01", "windows-audited", now - 60)
    _host_from_copy(tmp_path, "mac01", "macos-audited", now - 60)
    result, rows = _fleet(tmp_path)
    assert [rows[h]["error"] for h in ("mac01", "win01")] == [None, None]
    assert result.returncode == max(rows["mac01"]["exit_code"], rows["win01"]["exit_code"])
