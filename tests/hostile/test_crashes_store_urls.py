"""A --store URL whose port is no number is a usage error on every command that takes a store,
never exit 70.

Before: SQLAlchemy's make_url raises ArgumentError for a URL of no known form, which lbaudit
turned into exit 2, but int()'s own ValueError for a port that is no number
(``postgresql://scan@127.0.0.1:abc/lbaudit``, ``postgresql://scan@[::1/lbaudit``, a port of 5,000
digits), which reached the top: "internal error: ValueError: invalid literal for int()", exit 70,
from history, fleet report and evaluate --record (before any work), and from LBAUDIT_STORE.
``schedule install`` wrote such a URL into the timer (exit 0), so that every scheduled scan failed.
Now one parser (auditor/history/store.py ``_parsed_url``) refuses it, exit 2, quoting the URL with
its password hidden; schedule install reads the port as it checks the URL, exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.factories import loopback_only_policy, snapshot
from tests.schedule.conftest import install_into_image, make_image_root, tree

USAGE = 2
BAD_PORTS = ["postgresql://scan@127.0.0.1:abc/lbaudit", "postgresql+psycopg://scan@[::1/lbaudit",
             "postgresql://scan@127.0.0.1:" + "9" * 5000 + "/lbaudit", "sqlite://host:abc/store.db"]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    from auditor.storage.snapshot import write_snapshot

    (tmp_path / "policy.yaml").write_text(loopback_only_policy("urls"))
    write_snapshot(snapshot(), tmp_path / "snap.json")
    run = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "ev.json", "-q", cwd=tmp_path,
                  env={"LBAUDIT_CONFIG": ""})
    assert run.returncode in (0, 1, 3), run.stderr
    return tmp_path


def lbaudit(*args: object, cwd: Path, env: dict[str, str | None] | None = None):
    return run_cli(*args, cwd=cwd, env={"LBAUDIT_CONFIG": "", **(env or {})}, timeout=60)


def assert_refused(run) -> None:
    assert run.returncode == USAGE, (run.returncode, run.stderr[-1500:])
    assert "internal error" not in run.stderr and "set_int_max_str_digits" not in run.stderr, run.stderr
    assert "not a SQLAlchemy URL (what follows the host is no port number" in run.stderr, run.stderr
    assert len(run.stderr) < 1000, run.stderr  # the URL is quoted cut short


@pytest.mark.parametrize("url", BAD_PORTS)
@pytest.mark.parametrize("command", [["history", "list"], ["history", "trend"], ["history", "import", "ev.json"],
                                     ["fleet", "report"]])
def test_a_store_url_whose_port_is_no_number_is_exit_2(work: Path, url: str, command: list[str]) -> None:
    assert_refused(lbaudit(*command, "--store", url, cwd=work))


@pytest.mark.parametrize("url", BAD_PORTS)
def test_evaluate_record_refuses_it_before_any_file_is_written(work: Path, url: str) -> None:
    before = sorted(p.name for p in work.iterdir())
    run = lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "out.json", "--record",
                  "--store", url, cwd=work)
    assert_refused(run)
    assert sorted(p.name for p in work.iterdir()) == before


def test_lbaudit_store_holding_it_is_exit_2(work: Path) -> None:
    assert_refused(lbaudit("history", "list", cwd=work, env={"LBAUDIT_STORE": BAD_PORTS[0]}))


def test_the_password_of_an_unparsable_url_is_not_quoted(work: Path) -> None:
    run = lbaudit("history", "list", "--store", "postgresql://scan:s3cret@127.0.0.1:abc/lbaudit", cwd=work)
    assert_refused(run)
    assert "s3cret" not in run.stderr and "'postgresql://scan:***@127.0.0.1:abc/lbaudit'" in run.stderr, run.stderr


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("url", BAD_PORTS[:3] + ["postgresql://scan@127.0.0.1:70000/lbaudit"])
def test_schedule_install_refuses_it_and_writes_nothing(tmp_path: Path, backend: str, url: str) -> None:
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    run = install_into_image(image_root, "--store", url, backend=backend)
    assert run.returncode == USAGE, (run.returncode, run.stdout[-500:], run.stderr[-1500:])
    assert "not a URL lbaudit can read" in run.stderr, run.stderr
    assert tree(image_root) == before


@pytest.mark.parametrize("port", ["x", "9" * 5000])
def test_a_port_in_the_url_query_that_is_no_number_is_exit_2(tmp_path, port):
    """``?port=`` passes make_url and is read by the dialect as the engine is made: SQLAlchemy's
    ArgumentError there was exit 70."""
    result = run_cli("history", "head", "--store", f"postgresql+psycopg://auditor:pw@db.invalid/lbaudit?port={port}",
                     cwd=tmp_path, env={"LBAUDIT_CONFIG": ""}, timeout=60)
    assert result.returncode == 2, (result.returncode, result.stderr[-400:])
    assert result.stderr.startswith("lbaudit: postgresql+psycopg://auditor:***@db.invalid/lbaudit?port="), \
        result.stderr[-400:]
    assert ": cannot open the history store: Received non-integer port arguments: ('" in result.stderr


@pytest.mark.parametrize("url, reason", [
    ("postgresql+psycopg://scan@db.invalid/lbaudit?port=x", "cannot open the history store: Received non-integer port"),
    ("postgresql+psycopg://scan@db.invalid/lbaudit?connect_timeout=0", "connect_timeout=0 in the URL: libpq would wait"),
    ("postgresql+psycopg2://scan@db.invalid/lbaudit", "lbaudit talks to PostgreSQL through psycopg 3 only"),
])
def test_schedule_install_refuses_a_url_every_run_would_refuse(tmp_path: Path, url: str, reason: str) -> None:
    """It installed them (exit 0), and then every scheduled run ended in exit 2 unwatched."""
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    run = install_into_image(image_root, "--store", url, backend="systemd")
    assert run.returncode == USAGE, (run.returncode, run.stdout[-500:], run.stderr[-1500:])
    assert reason in run.stderr, run.stderr
    assert tree(image_root) == before
