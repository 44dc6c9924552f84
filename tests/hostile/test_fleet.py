"""Hostile input to ``lbaudit fleet evaluate``: what one host's snapshot does fails that host with
its exact exit code, never the run; what would fail every host is exit 2 before any work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _good(fetch: Path, name: str = "good01", **kw) -> None:
    (fetch / name).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name, **kw),
                   fetch / name / "lbaudit.snapshot.json")


def _run(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, *extra, timeout=120)


def _hosts(out: Path) -> dict:
    return {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def test_a_host_name_that_would_leave_the_out_dir_fails_that_host(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _good(fetch)
    write_snapshot(snapshot(listeners=[], hostname="../escaped"), fetch / "evil.snapshot.json")
    out = tmp_path / "out"
    result = _run(fetch, out)
    assert result.returncode == 2
    (evil,) = [h for h in _hosts(out).values() if h["snapshot"].endswith("evil.snapshot.json")]
    assert evil["exit_code"] == 2 and "cannot name a file" in evil["error"]
    assert not (tmp_path / "escaped.evidence.json").exists()
    assert _hosts(out)["good01"]["error"] is None


def test_a_fifo_snapshot_fails_its_host_without_hanging(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _good(fetch)
    (fetch / "fifo01").mkdir()
    os.mkfifo(fetch / "fifo01" / "lbaudit.snapshot.json")
    out = tmp_path / "out"
    assert _run(fetch, out).returncode == 2
    assert _hosts(out)["fifo01"]["exit_code"] == 2


def test_a_snapshot_linked_to_a_device_fails_its_host(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _good(fetch)
    (fetch / "zero01").mkdir()
    (fetch / "zero01" / "lbaudit.snapshot.json").symlink_to("/dev/zero")
    out = tmp_path / "out"
    assert _run(fetch, out).returncode == 2
    assert _hosts(out)["zero01"]["exit_code"] == 2


def test_two_snapshots_in_one_host_directory_fail_that_host(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _good(fetch)
    _good(fetch, "twice01")
    write_snapshot(snapshot(listeners=[]), fetch / "twice01" / "other.snapshot.json")
    out = tmp_path / "out"
    assert _run(fetch, out).returncode == 2
    assert "2 snapshots" in _hosts(out)["twice01"]["error"]


def test_two_snapshots_claiming_one_host_name_both_fail(tmp_path: Path):
    fetch = tmp_path / "fetch"
    fetch.mkdir()
    for name in ("a", "b"):
        write_snapshot(snapshot(listeners=[], hostname="same.example"), fetch / f"{name}.snapshot.json")
    out = tmp_path / "out"
    assert _run(fetch, out).returncode == 2
    rows = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    assert [r["exit_code"] for r in rows] == [2, 2] and all("appears 2 times" in r["error"] for r in rows)


def test_a_snapshot_not_signed_with_the_required_key_fails_its_host(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _good(fetch)
    assert run_cli("keygen", "--out", tmp_path / "keys").returncode == 0
    out = tmp_path / "out"
    result = _run(fetch, out, "--snapshot-pubkey", tmp_path / "keys" / "lbaudit.pub")
    host = _hosts(out)["good01"]
    alone = run_cli("evaluate", "--policy", POLICY, "--snapshot", fetch / "good01" / "lbaudit.snapshot.json",
                    "--snapshot-pubkey", tmp_path / "keys" / "lbaudit.pub", "-o", tmp_path / "alone.json")
    assert host["exit_code"] == alone.returncode == result.returncode
    assert host["exit_code"] not in (0, 1, 3, 70) and host["verdict"] is None


@pytest.mark.parametrize("case", ["out-dir-is-a-file", "no-snapshots", "bad-policy", "store-without-record",
                                  "jobs-zero"])
def test_what_would_fail_every_host_is_exit_2_before_any_work(tmp_path: Path, case: str):
    fetch = tmp_path / "fetch"
    _good(fetch)
    out = tmp_path / "out"
    args: list[object] = ["fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out]
    if case == "out-dir-is-a-file":
        out.write_text("not a directory")
    elif case == "no-snapshots":
        args[3] = tmp_path / "missing"
    elif case == "bad-policy":
        bad = tmp_path / "bad.yaml"
        bad.write_text("id: [unclosed\n")
        args[5] = bad
    elif case == "store-without-record":
        args += ["--store", tmp_path / "h.db"]
    elif case == "jobs-zero":
        args += ["--jobs", "0"]
    result = run_cli(*args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "fleet-summary.json").exists() and not (out.is_dir() and any(out.iterdir()))


def test_a_policy_named_like_a_host_page_in_the_out_dir_fails_that_host_and_survives(tmp_path: Path):
    # before: host web01's page replaced the policy the whole run was judged by (exit 1)
    fetch, out = tmp_path / "fetch", tmp_path / "out"
    _good(fetch, "web01")
    out.mkdir()
    policy = out / "web01.html"
    policy.write_bytes(POLICY.read_bytes())
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", out, "--host-html",
                     timeout=120)
    assert result.returncode == 2
    assert policy.read_bytes() == POLICY.read_bytes()
    host = _hosts(out)["web01"]
    assert host["exit_code"] == 2 and "is the same file as the policy" in host["error"]
    assert not (out / "web01.evidence.json").exists()


def test_a_store_named_like_a_host_evidence_fails_that_host_and_survives(tmp_path: Path):
    fetch, out = tmp_path / "fetch", tmp_path / "out"
    _good(fetch, "web01")
    _good(fetch, "web02")
    out.mkdir()
    store = out / "web01.evidence.json"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--record",
                     "--store", store, "--jobs", "1", timeout=120)
    assert result.returncode == 2
    hosts = _hosts(out)
    assert hosts["web01"]["exit_code"] == 2 and "is the same file as the history store" in hosts["web01"]["error"]
    assert hosts["web02"]["exit_code"] in (0, 1, 3) and hosts["web02"]["error"] is None
    assert run_cli("history", "list", "--json", "--store", store).returncode == 0  # still a store


def test_a_store_named_like_the_fleet_summary_is_exit_2_before_any_host(tmp_path: Path):
    fetch, out = tmp_path / "fetch", tmp_path / "out"
    _good(fetch, "web01")
    out.mkdir()
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--record",
                     "--store", out / "fleet-summary.json", timeout=120)
    assert result.returncode == 2 and "is the same file as the history store" in result.stderr
    # before: the store stayed, created and migrated by the refused run (tests/hostile/test_overwrites_store.py)
    assert sorted(p.name for p in out.iterdir()) == []
