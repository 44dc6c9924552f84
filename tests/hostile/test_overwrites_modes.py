"""Hostile outputs, their permissions: a permissive umask (``umask 000``, set by a careless cron
line, a container's init or a CI runner) never makes what lbaudit writes writable by others.

Before this fix every document was created ``0666`` less the umask and ``--out-dir`` ``0777`` less
it, so under ``umask 000`` anyone on the host could rewrite the evidence, its reports, a policy
``init`` wrote or the public key ``verify`` trusts, and swap files in the report directory; the
history store's directory tree was ``0777`` above its own ``0700`` directory.  Each case runs the
real command line in-process under ``umask 000`` and asserts the exact exit code and every mode.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot

POLICY = loopback_only_policy("modes")
WRITTEN = 1  # the snapshot's listener binds 0.0.0.0: the run fails its rule, and writes
BUNDLE = REPO / "tests" / "fixtures" / "bundles" / "macos-audited"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    facts = snapshot(listeners=[listener("0.0.0.0", 5432, processes=[ProcessInfo(pid=812, name="postgres")])])
    write_snapshot(facts, tmp_path / "snap.json")
    return tmp_path


def test_evaluate_under_umask_000_writes_nothing_others_can_rewrite(work):
    assert run_cli("keygen", "--out", work / "keys", "-q", umask=0o000).returncode == 0
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                     "--sign-key", "keys/lbaudit.key", "--format", "sarif,junit", "--out-dir", "reports",
                     cwd=work, umask=0o000)
    assert result.returncode == WRITTEN, result.stderr
    # before: 0666 files in a 0777 directory
    assert {name: mode(work / name) for name in ("e.json", "e.json.sig", "reports", "reports/modes.sarif",
                                                  "reports/modes.junit.xml")} == {
        "e.json": 0o664, "e.json.sig": 0o664, "reports": 0o775, "reports/modes.sarif": 0o664,
        "reports/modes.junit.xml": 0o664}


def test_keygen_under_umask_000_writes_a_public_key_others_cannot_replace(tmp_path):
    result = run_cli("keygen", "--out", tmp_path / "keys", "-q", umask=0o000)
    assert result.returncode == 0, result.stderr
    # before: lbaudit.pub 0666, so anyone could swap the key that verify trusts
    assert {p.name: mode(p) for p in [tmp_path / "keys", *(tmp_path / "keys").iterdir()]} == {
        "keys": 0o700, "lbaudit.key": 0o600, "lbaudit.pub": 0o664}


def test_init_and_collect_under_umask_000_are_not_writable_by_others(tmp_path):
    assert run_cli("init", "-o", tmp_path / "policy.yaml", umask=0o000).returncode == 0
    assert run_cli("collect", "--replay", BUNDLE, "-o", tmp_path / "s.json", "-q", umask=0o000).returncode == 0
    # before: 0666 (a policy anyone could weaken; a snapshot anyone could rewrite)
    assert (mode(tmp_path / "policy.yaml"), mode(tmp_path / "s.json")) == (0o664, 0o664)


def test_fleet_under_umask_000_writes_no_world_writable_directory_or_file(work):
    fetch = work / "fetch"
    (fetch / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 5432)], hostname="web01"),
                   fetch / "web01" / "lbaudit.snapshot.json")
    out = work / "fleet"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", work / "policy.yaml",
                     "--out-dir", out, "--jobs", "1", "-q", umask=0o000, timeout=120)
    assert result.returncode == WRITTEN, result.stderr
    assert mode(out) == 0o775
    assert {p.name: mode(p) for p in out.iterdir()} == dict.fromkeys(
        ("web01.evidence.json", "fleet-summary.json", "fleet.junit.xml", "fleet-summary.html"), 0o664)


def test_a_new_history_store_under_umask_000_creates_only_private_directories(work):
    store = work / "var" / "lib" / "lbaudit" / "history.db"
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                     "--record", "--store", store, cwd=work, umask=0o000)
    assert result.returncode == WRITTEN, result.stderr
    # before: var and var/lib were 0777 (Path.mkdir(parents=True) gives the parents the default mode)
    assert [mode(p) for p in (work / "var", work / "var" / "lib", work / "var" / "lib" / "lbaudit", store)] == \
        [0o700, 0o700, 0o700, 0o600]


def test_control_case_a_replaced_file_keeps_the_mode_it_had(work):
    (work / "e.json").write_text('{"schema": "lbaudit/evidence"}\n')  # an earlier run's: its own kind
    os.chmod(work / "e.json", 0o640)
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                     cwd=work, umask=0o000)
    assert result.returncode == WRITTEN and mode(work / "e.json") == 0o640
