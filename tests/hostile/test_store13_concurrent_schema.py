"""Several lbaudit processes opening one new or older PostgreSQL store at the same moment (a fleet's
hosts whose nightly timers fire together into one team store, the first night or the first after
an upgrade of lbaudit).  Each saw the schema missing (or old) and built (or migrated) it in a
transaction of its own; PostgreSQL let them all go ahead, and all but one failed: "cannot create
the history store: duplicate key value violates unique constraint" and "cannot migrate the history
store: column collected_at of relation runs already exists", exit 2, the nightly scan not recorded
(and a usage error paged on, for a store that was fine).

Now the schema is built and migrated under a transaction-level advisory lock: the others wait for
it, find the store at the newest revision and go on.  (SQLite's writing transactions are
IMMEDIATE: one at a time already; the same processes there are the control case.  The upgrade
is one quick ALTER TABLE, so its race is lost only now and then: that case is kept as a control of
the lock, whose waiters must find the new revision.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from auditor.history.schema import HEAD_REVISION
from auditor.history.store import make_engine
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

pytestmark = pytest.mark.slow  # processes started together

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 4
# Each process imports what it needs, waits for the start file, then opens the store.
OPEN_AT_ONCE = """
import os, sys, time
from auditor.history import open_store
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
with open_store(sys.argv[1]) as store:
    print(store.revision())
"""


def _open_together(store: str, tmp_path: Path) -> list[tuple[int, str, str]]:
    start = tmp_path / "start"
    start.unlink(missing_ok=True)
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, store, str(start)], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
                 for _ in range(PROCESSES)]
    time.sleep(1.5)  # every process has imported SQLAlchemy and is polling
    start.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out.strip(), err.strip()[-300:]))
    return results


def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path, store_url):  # noqa: F811
    results = _open_together(store_url, tmp_path)
    assert results == [(0, HEAD_REVISION, "")] * PROCESSES


def test_processes_upgrading_one_older_store_at_once_all_succeed(tmp_path, store_url):  # noqa: F811
    with open_store(store_url):
        pass
    engine, _ = make_engine(store_url, create=False)
    with engine.begin() as conn:  # the store as revision 0005 left it
        conn.execute(sa.text("ALTER TABLE runs DROP COLUMN collected_at"))
        conn.execute(sa.text("DROP INDEX ix_runs_day_verdicts"))  # revision 0007's
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
    engine.dispose()
    results = _open_together(store_url, tmp_path)
    assert results == [(0, HEAD_REVISION, "")] * PROCESSES
