"""Three nights of the scheduled scan, end to end (issue 11): the exact ExecStart= argv of the unit
``schedule install`` writes, run as systemd execs it, over three snapshots of one host in which a
wildcard listener appears and then goes; then ``history diff``, ``trend`` and ``verify`` on the
store the unit records into.

The unit scans the running host; to make the nights differ on purpose each run is given the night's
snapshot (``--snapshot``), the only word added to the unit's argv."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.factories import FIXED_TIME
from tests.history.scans import write_scan_snapshot
from tests.schedule.conftest import POLICY, lbaudit_executable, subprocess_env
from tests.schedule.test_units import _exec_start


@pytest.fixture
def unit_argv(image_root: Path, tmp_path: Path) -> tuple[list[str], Path, Path]:
    """The service's ExecStart= argv, with a store and an output directory of this test's own."""
    out_dir, store = tmp_path / "out", tmp_path / "history.db"
    out_dir.mkdir()
    # the unit names the policy by its path on the host it will run on; this host has it there too
    policy = tmp_path / "corp.yaml"
    policy.write_bytes((image_root / POLICY.lstrip("/")).read_bytes())
    (image_root / str(out_dir).lstrip("/")).mkdir(parents=True)  # ReadWritePaths= must exist there
    (image_root / str(policy).lstrip("/")).write_bytes(policy.read_bytes())
    result = run_cli("schedule", "install", "--backend", "systemd", "--policy", policy, "--out-dir", out_dir,
                     "--store", store, "--root", image_root, "--executable", lbaudit_executable())
    assert result.returncode == 0, result.stderr
    argv = _exec_start((image_root / "etc/systemd/system" / sched.SERVICE).read_text(encoding="utf-8"))
    assert argv[argv.index("--record"):] == ["--record", "--trigger", "timer", "--store", str(store)]
    return argv, out_dir, store


@pytest.mark.slow  # three real lbaudit processes, then history diff, trend and verify
def test_three_nights_then_diff_trend_and_verify(unit_argv, tmp_path):
    argv, out_dir, store = unit_argv
    evidence_of_night = []
    for night, wildcard in enumerate((False, True, False)):
        snap = write_scan_snapshot(tmp_path / f"night{night}.snapshot.json", wildcard_redis=wildcard,
                                   when=FIXED_TIME.replace(day=FIXED_TIME.day + night))
        run = subprocess.run([*argv, "--snapshot", str(snap)], cwd="/", env=subprocess_env(),
                             capture_output=True, text=True, timeout=300)
        assert run.returncode in (1, 3), run.stderr  # sshd on 0.0.0.0 fails corp every night
        latest = out_dir / "corp-baseline.evidence.json"
        evidence_of_night.append(json.loads(latest.read_bytes()))

    runs = json.loads(run_cli("history", "list", "--json", "--store", store).stdout)
    assert [r["trigger"] for r in runs] == ["timer"] * 3

    # the last two nights: the wildcard listener went away, an improvement (exit 0)
    last = run_cli("history", "diff", "--json", "--store", store)
    assert last.returncode == 0, last.stderr
    improved = json.loads(last.stdout)
    assert [c["subject"] for c in improved["improvements"]] == ["tcp 0.0.0.0:6379 redis-server pid 977"]
    assert improved["regressions"] == []
    # the first two nights: it appeared, a regression (exit 1) naming it
    first = run_cli("history", "diff", "1", "2", "--store", store)
    assert first.returncode == 1
    assert "regressions: 1" in first.stdout and "tcp 0.0.0.0:6379 redis-server" in first.stdout

    trend = run_cli("history", "trend", "--since", "2000-01-01", "--json", "--store", store)
    assert trend.returncode == 0, trend.stderr
    summed: Counter = Counter()
    for day in json.loads(trend.stdout)["by_day"]:
        # the findings' statuses (the runs' verdicts, non_compliant_runs and incomplete_runs, are not findings)
        summed.update({k: v for k, v in day.items() if k not in ("day", "runs", "non_compliant_runs", "incomplete_runs")
                       and v})
    expected: Counter = Counter()
    for evidence in evidence_of_night:
        expected.update(f["status"] for f in evidence["result"]["findings"])
    assert summed == expected

    verified = run_cli("history", "verify", "--store", store)
    assert verified.returncode == 0, verified.stdout + verified.stderr
