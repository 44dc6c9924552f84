"""How old a replayed bundle's facts are: the capture time a bundle gives (``collect --replay``,
``evaluate --target replay:DIR``) is what ``--max-age`` judges, in a fleet as alone.

A bundle has no clock of its own but its files' modification times, and the capture time was the
newest of them: a year-old bundle in which one file was written today (the ``id-u.txt`` an older
capture script did not write, added by hand when the replay asked for it, or any file copied in
again) was a capture of today, and passed ``--max-age 1d`` with a year-old listener table.  Facts
are as old as the oldest of them: the capture time is now the oldest file's.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.bundles import BUNDLES, CORP
from tests.cli import run_cli

YEAR = 365 * 24 * 3600


def _bundle(tmp_path: Path, name: str, fresh: list[str]) -> Path:
    """A copy of fixture bundle ``name`` whose files were written a year ago, but ``fresh`` now."""
    bundle = tmp_path / name
    shutil.copytree(BUNDLES / name, bundle)
    old = time.time() - YEAR
    for path in bundle.iterdir():
        if path.name not in fresh:
            os.utime(path, (old, old))
    return bundle


def _collected(tmp_path: Path, bundle: Path, host: str) -> Path:
    fetch = tmp_path / "fetch"
    (fetch / host).mkdir(parents=True)
    snapshot = fetch / host / "lbaudit.snapshot.json"
    done = run_cli("collect", "--replay", bundle, "--output", snapshot, "-q", timeout=60)
    assert done.returncode == 0, done.stderr
    return snapshot


@pytest.mark.parametrize("name, fresh", [("macos-audited", ["id-u.txt"]), ("windows-audited", ["hostname.txt"])])
def test_a_year_old_bundle_with_one_file_written_today_is_stale(tmp_path: Path, name: str, fresh: list[str]):
    snapshot = _collected(tmp_path, _bundle(tmp_path, name, fresh), "host01")
    collected = json.loads(snapshot.read_text())["provenance"]["collected_at"]
    assert collected < time.strftime("%Y-%m-%d", time.gmtime(time.time() - YEAR + 86400))  # a year ago
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", CORP, "--out-dir", out,
                     "--max-age", "1d", "--no-plugins", timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    (row,) = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    assert row["verdict"] is None and row["exit_code"] == 2
    assert f"its facts were collected at {collected}" in row["error"] and "older than --max-age 1d" in row["error"]
    # evaluated alone, the same
    alone = run_cli("evaluate", "--policy", CORP, "--target", f"replay:{tmp_path / name}", "--max-age", "1d",
                    "-o", tmp_path / "alone.json", "-q", "--no-plugins", timeout=60)
    assert alone.returncode == 2 and "older than --max-age 1d" in alone.stderr


def test_control_case_a_bundle_captured_today_is_judged(tmp_path: Path):
    bundle = tmp_path / "macos-audited"
    shutil.copytree(BUNDLES / "macos-audited", bundle)
    for path in bundle.iterdir():
        os.utime(path)  # written now
    _collected(tmp_path, bundle, "host01")
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", CORP, "--out-dir", out,
                     "--max-age", "1d", "--no-plugins", timeout=120)
    (row,) = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    assert row["error"] is None and row["verdict"] is not None and result.returncode == row["exit_code"]
