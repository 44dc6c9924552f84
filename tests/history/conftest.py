"""The history store under test, on both backends: SQLite in a temporary directory, and a real
PostgreSQL 15 server started for the session (``initdb``/``pg_ctl`` as ``nobody`` when run as
root, on a unix socket in a temporary directory; never a server of the machine).

Every test that takes ``store_url`` runs twice, ``[sqlite]`` and ``[postgresql]``.  Without the
PostgreSQL binaries (``apt-get install postgresql``; ``scripts/bootstrap --test`` installs it) the
PostgreSQL half skips with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_database_numbers = itertools.count(1)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI=true and the PostgreSQL test server cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def _pg_bin() -> Path | None:
    for candidate in sorted(glob.glob(PG_BIN_GLOB), reverse=True):
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


class PostgresServer:
    """A throwaway cluster: trust authentication, a unix socket only, fsync off (it is thrown away)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="lbaudit-pg-"))
        self.base.chmod(0o755)  # the server runs as nobody and must reach its directories
        self.data = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.as_user: list[str] = []
        for directory in (self.data, self.socket_dir):
            directory.mkdir()
        if os.geteuid() == 0:  # postgres refuses to run as root
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser(1) is missing to start PostgreSQL as nobody")
            for directory in (self.data, self.socket_dir):
                os.chown(directory, 65534, 65534)
            self.as_user = [runuser, "-u", "nobody", "--"]

    def _run(self, *argv: str, timeout: int = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, *argv], capture_output=True, text=True, timeout=timeout,
                              cwd=self.base, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})

    def start(self) -> None:
        init = self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "lbaudit", "--auth=trust",
                         "-E", "UTF8", "--no-sync")
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        started = self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                            "-l", str(self.data / "server.log"), "-w", "-t", "60", "start", timeout=90)
        if started.returncode:
            log = (self.data / "server.log").read_text(errors="replace") if (self.data / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-500:]}")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://lbaudit@/{database}?host={self.socket_dir}"

    def create_database(self) -> str:
        import psycopg

        name = f"history_{os.getpid()}_{next(_database_numbers)}"
        with psycopg.connect(host=str(self.socket_dir), user="lbaudit", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="session")
def postgres_server():
    bin_dir = _pg_bin()
    if bin_dir is None:
        _unavailable("PostgreSQL is not installed (apt-get install postgresql; scripts/bootstrap --test)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        _unavailable(f"the PostgreSQL test server did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request, tmp_path) -> str:
    """A fresh, empty store: an SQLite file path, or a new database on the test server."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "history.db")
    server = request.getfixturevalue("postgres_server")
    return server.url(server.create_database())
