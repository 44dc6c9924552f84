"""Outputs under ``ulimit -f`` (RLIMIT_FSIZE): a write past it is EFBIG (Python ignores SIGXFSZ).

Each output (evidence, PDF, reports, a fleet's directory, the history store) is exit 74 naming the
file, in one line, with the previous run's files as they were.  The defect: a history store under a
limit below 32 KiB (SQLite's -shm, made by every reader) failed every command on it, ``history
list`` too, with "disk I/O error" alone: the user was sent to a disk that was fine.  Now the message
names ``ulimit -f`` and what SQLite keeps beside the store (auditor/history/store.py ``_fail``).

Real processes, the limit set before the interpreter starts.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # a real process per case

IO_ERROR = 74
NON_COMPLIANT = 1
TOO_LARGE = "File too large"


def _lbaudit(cwd: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": "", "LBAUDIT_LOCK_WAIT": "5",
           "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}

    def held() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=held)


def _tree(directory: Path) -> dict[str, str]:
    return {str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.rglob("*")) if path.is_file()}


def _without_sqlites_files(tree: dict[str, str]) -> dict[str, str]:
    return {name: digest for name, digest in tree.items() if name not in ("h.db-shm", "h.db-wal")}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A previous run's evidence, PDF, reports, fleet directory and history store."""
    work = tmp_path_factory.mktemp("fsize")
    (work / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), work / "snap.json")
    # evidence of some 40 KiB: more than the limits below
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8000 + n) for n in range(100)]), work / "big.json")
    for host in ("h1", "h2"):
        (work / "fetch" / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8000 + n) for n in range(40)], hostname=host),
                       work / "fetch" / host / "lbaudit.snapshot.json")
    first = _lbaudit(work, "evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "out/e.json",
                     "--pdf", "out/a.pdf", "--format", "html,sarif", "--out-dir", "out", "--record", "--store", "h.db")
    assert first.returncode == NON_COMPLIANT, first.stderr
    fleet = _lbaudit(work, "fleet", "evaluate", "--snapshots", "fetch", "--policy", "policy.yaml", "--out-dir", "fleet",
                     "-q")
    assert fleet.returncode == NON_COMPLIANT, fleet.stderr
    return work


EVALUATE = ("evaluate", "--policy", "policy.yaml", "--snapshot", "big.json", "-q")
# Each writer of a file over its previous version, under a limit its new version outgrows.
OUTPUTS = {
    "evidence": ((*EVALUATE, "-o", "out/e.json", "--force"), 16 * 1024, "out/e.json"),
    "pdf": (("report", "out/e.json", "--pdf", "out/a.pdf", "--force", "-q"), 16 * 1024, "out/a.pdf"),
    "reports": (("report", "out/e.json", "--format", "html,sarif", "--out-dir", "out", "--force", "-q"), 4096,
                "out/corp."),
    "fleet": (("fleet", "evaluate", "--snapshots", "fetch", "--policy", "policy.yaml", "--out-dir", "fleet", "--force",
               "-q"), 8192, "fleet/"),
}


@pytest.mark.parametrize("output", OUTPUTS)
def test_an_output_past_the_file_size_limit_is_exit_74_and_the_previous_one_stays(work, output):
    args, limit, named = OUTPUTS[output]
    before = _tree(work)
    done = _lbaudit(work, *args, limit=limit)
    assert done.returncode == IO_ERROR, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("lbaudit: "), done.stderr
    assert named in done.stderr and TOO_LARGE in done.stderr, done.stderr
    assert _tree(work) == before


@pytest.mark.parametrize("args", [("history", "list", "--store", "h.db"),
                                  ("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o",
                                   "e2.json", "--record", "--store", "h.db")],
                         ids=["read", "record"])
def test_a_store_under_a_file_size_limit_below_sqlites_index_names_the_limit(work, args):
    before = _tree(work)
    done = _lbaudit(work, *args, limit=8192)
    assert done.returncode == IO_ERROR, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("lbaudit: "), done.stderr
    assert "h.db" in done.stderr, done.stderr
    assert "ulimit -f" in done.stderr, done.stderr  # before: "disk I/O error" alone
    # (SQLite's own -shm and -wal it could not grow may stay: the next command on the store takes them)
    assert _without_sqlites_files(_tree(work)) == _without_sqlites_files(before)
    assert not os.path.exists(work / "e2.json")
