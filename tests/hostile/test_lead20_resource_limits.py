"""Hostile process environment, continued: limits met by commands other than evaluate, at any step.

Before: ``lbaudit fleet evaluate`` under ``ulimit -v`` ended "internal error: RuntimeError: can't
start new thread" (exit 70), or waited for ever, its pool's manager thread dead of that error and
its workers never given their task; a fleet run killed with SIGKILL left its workers waiting on
their task queue for ever; a history store SQLite could not open for want of a descriptor was exit 2,
"cannot open the history store: unable to open database file", a file to fix.  Real processes, the
limits set before the interpreter starts.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot
from tests.hostile.test_env_limits import RUST_ALLOCATION_FAILED, without_hashlib_noise

pytestmark = pytest.mark.slow  # a real process per case

RESOURCE_LIMIT = 71
NON_COMPLIANT = 1


def _env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": "",
            "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def _fleet(work: Path, hosts: int) -> list[str]:
    (work / "policy.yaml").write_text(loopback_only_policy("limits"))
    for number in range(hosts):
        host = work / "fleet" / f"host{number}"
        host.mkdir(parents=True)
        write_snapshot(snapshot(hostname=f"host{number}", listeners=[listener("0.0.0.0", 8080)]),
                       host / "host.snapshot.json")
    return [sys.executable, "-m", "auditor.cli", "fleet", "evaluate", "--policy", "policy.yaml", "--snapshots",
            "fleet", "--out-dir", "out", "--jobs", "2"]


# From where the command line is imported to past where the run finishes, 6 MiB apart: the pool's
# threads, its workers and their evaluations each meet the limit at some of them.
FLEET_LIMITS_MIB = range(32, 140, 6)


def test_a_fleet_run_under_an_address_space_limit_ends_in_exit_71_or_finishes(tmp_path):
    outcomes = []
    for mib in FLEET_LIMITS_MIB:
        work = tmp_path / str(mib)
        work.mkdir()
        command = _fleet(work, 3)
        limit = mib * 1024 * 1024
        done = subprocess.run(command, cwd=work, env=_env(), capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda limit=limit: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
        if done.returncode == RESOURCE_LIMIT:
            # its last line (hashlib, imported when memory has run out, logs each hash it could not load
            # before: the standard library's own, not lbaudit's)
            said = done.stderr.splitlines()[-1] if done.stderr else ""
            assert said.startswith("lbaudit: "), (mib, done.stderr)
            assert said.endswith("the run could not finish; nothing was written (raise the limit, or run where more "
                                 "is free)"), (mib, done.stderr)
            assert sorted(os.listdir(work)) == ["fleet", "policy.yaml"], (mib, sorted(os.listdir(work)))
        elif done.returncode == -signal.SIGABRT:  # Rust's allocator (see test_env_limits): beyond any process
            assert RUST_ALLOCATION_FAILED in done.stderr, (mib, done.stderr)
        else:  # every host judged (a host whose worker ran out of memory is its own failure, not the run's)
            assert done.returncode in (NON_COMPLIANT, 70), (mib, done.returncode, done.stderr)
            said = without_hashlib_noise(done.stderr)
            assert "Traceback" not in said and "Exception in thread" not in said, (mib, done.stderr)
        outcomes.append(done.returncode)
    assert RESOURCE_LIMIT in outcomes and NON_COMPLIANT in outcomes, outcomes


def _children(pid: int) -> set[int]:
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_workers_of_a_fleet_run_killed_with_sigkill_stop_too(tmp_path):
    command = _fleet(tmp_path, 400)
    run = subprocess.Popen(command, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2 and run.poll() is None:
            workers = _children(run.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, f"the run did not start its workers: {run.poll()}"
        run.send_signal(signal.SIGKILL)
        run.wait(30)
        deadline = time.monotonic() + 20  # a worker puts back its host, waits two seconds for the run's word
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        # before: each worker waited on the pool's task queue for ever, an orphan
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        for pid in _children(run.pid) | workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if run.poll() is None:
            run.kill()
        run.wait(30)


def test_a_store_sqlite_cannot_open_for_want_of_descriptors_is_exit_71(tmp_path):
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("limits"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), tmp_path / "snap.json")
    command = [str(Path(sys.executable).parent / "lbaudit"), "evaluate", "--policy", "policy.yaml", "--snapshot",
               "snap.json", "-o", "e.json", "--record", "--store", "h.db", "-q"]
    outcomes = {}
    for files in range(5, 12):  # the command line imported, then the store opened with one descriptor or none to spare
        done = subprocess.run(command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda files=files: resource.setrlimit(resource.RLIMIT_NOFILE, (files, files)))
        outcomes[files] = done.returncode
        # before: exit 2, "h.db: cannot open the history store: unable to open database file"
        assert done.returncode in (RESOURCE_LIMIT, NON_COMPLIANT), (files, done.returncode, done.stderr)
        if done.returncode == RESOURCE_LIMIT:
            assert done.stderr.startswith("lbaudit: too many open files (ulimit -n)"), (files, done.stderr)
            assert sorted(os.listdir(tmp_path)) == ["policy.yaml", "snap.json"], (files, os.listdir(tmp_path))
        else:
            for written in ("e.json", "h.db", "h.db-shm", "h.db-wal"):
                (tmp_path / written).unlink(missing_ok=True)
    assert RESOURCE_LIMIT in outcomes.values(), outcomes
