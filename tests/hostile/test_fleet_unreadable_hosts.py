"""Host directories the controller's user may not read, in ``fleet evaluate``.

The controller runs as an ordinary user; the fetch directory is filled by the Ansible play, which
may leave a host's directory with another owner or mode.  One host directory that could not be
listed ended the whole run with exit 2 ("cannot list: Permission denied") before any host was
judged and with no summary: the other hosts unjudged, an earlier run's summary left in the out dir.
A --snapshots directory that may be listed but not searched (mode r--) was exit 70, a traceback
(PermissionError from Path.is_dir).  Each such host now fails alone, exit 2, its reason in the
summary, and the others are judged.

Run for real as ``nobody`` (tests/privileges.py): root reads every directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.privileges import require_root, run_as_unprivileged


@pytest.fixture()
def shared() -> Iterator[Path]:
    """A directory ``nobody`` may enter (pytest's tmp_path is root's alone)."""
    require_root()
    path = Path(tempfile.mkdtemp(prefix="lbaudit-fleet-unreadable-"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        for directory, _, _ in os.walk(path):
            os.chmod(directory, 0o755)
        shutil.rmtree(path)


def _fleet_of(root: Path, *hosts: str) -> tuple[Path, Path]:
    fetch, policy = root / "fetch", root / "policy.yaml"
    policy.write_text(loopback_only_policy("lo"))
    for number, host in enumerate(hosts):
        (fetch / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host,
                                machine_id=f"{number + 1:032x}"), fetch / host / "lbaudit.snapshot.json")
    out = root / "out"
    out.mkdir()
    os.chmod(out, 0o777)  # nobody writes the run's files there
    for path in [root, policy, *fetch.rglob("*"), fetch]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return fetch, policy


def _as_nobody(fetch: Path, policy: Path) -> tuple[int, str, str]:
    # the modules lbaudit imports on first use, imported here as root: nobody cannot read this interpreter's library
    warm = fetch.parent / "warm"
    run_cli("fleet", "evaluate", "--snapshots", fetch / "web01", "--policy", policy, "--out-dir", warm, "-j", "1", "-q")
    shutil.rmtree(warm, ignore_errors=True)

    def fleet() -> tuple[int, str, str]:
        result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir",
                         fetch.parent / "out", "-j", "1", "--no-plugins", env={"HOME": str(fetch.parent)},
                         timeout=120)
        return result.returncode, result.stdout, result.stderr

    return run_as_unprivileged(fleet)


def _rows(root: Path) -> dict[str, dict]:
    return {h["host"]: h for h in json.loads((root / "out" / "fleet-summary.json").read_text())["hosts"]}


def test_a_host_directory_that_cannot_be_listed_fails_that_host_alone(shared: Path):
    fetch, policy = _fleet_of(shared, "web01", "web02")
    os.chmod(fetch / "web02", 0o000)
    code, _, stderr = _as_nobody(fetch, policy)
    assert (code, stderr) == (2, "")
    rows = _rows(shared)
    assert (rows["web01"]["verdict"], rows["web01"]["exit_code"]) == ("compliant", 0)
    assert (rows["web02"]["verdict"], rows["web02"]["exit_code"]) == (None, 2)
    assert rows["web02"]["error"] == f"{fetch / 'web02'}: cannot list the host's directory: Permission denied"


def test_a_snapshots_directory_that_cannot_be_searched_fails_each_host_not_a_traceback(shared: Path):
    fetch, policy = _fleet_of(shared, "web01", "web02")
    os.chmod(fetch, 0o744)  # listed, but nothing in it can be reached
    code, _, stderr = _as_nobody(fetch, policy)
    assert (code, stderr) == (2, "")
    rows = _rows(shared)
    assert sorted(rows) == ["web01", "web02"]
    for host in ("web01", "web02"):
        assert (rows[host]["verdict"], rows[host]["exit_code"]) == (None, 2)
        assert rows[host]["error"] == f"{fetch / host}: cannot be examined: Permission denied"


def test_a_snapshots_path_under_a_directory_that_cannot_be_searched_is_exit_2_not_a_traceback(shared: Path):
    fetch, policy = _fleet_of(shared, "web01")
    os.chmod(shared / "fetch", 0o700)
    os.chmod(shared / "fetch" / "web01", 0o755)
    code, _, stderr = _as_nobody(fetch / "web01", policy)
    assert code == 2
    assert stderr == f"lbaudit: {fetch / 'web01'}: --snapshots: cannot be examined: Permission denied\n"
