"""``store:`` in the configuration file takes what ``--store`` and ``LBAUDIT_STORE`` take: a file path
or a SQLAlchemy URL.  The file's ``store`` was read as a path and joined to the file's directory, so
``store: postgresql://lbaudit@db/lbaudit`` in /etc/lbaudit/config.yaml became the SQLite file
``/etc/lbaudit/postgresql:/lbaudit@db/lbaudit``: ``evaluate --record`` created that directory and file
and recorded every run there, exit as ever, and the central store the configuration names never
received one.  A URL is now kept as written; a path is still relative to the file's directory.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = 'id: gate\nversion: "1"\nowner: Sec\nrules:\n  - id: bind\n    check: net.bind_addresses\n'


def _setup(tmp_path: Path, store: str) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "s.json").write_bytes(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)])))
    config = tmp_path / "etc" / "config.yaml"
    config.parent.mkdir()
    config.write_text(f"store: {store}\n", encoding="utf-8")
    return config


def _record(tmp_path: Path, config: Path):
    return run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "s.json",
                   "-o", tmp_path / "e.json", "-q", "--record", env={"LBAUDIT_CONFIG": str(config),
                                                                    "LBAUDIT_STORE": None})


def test_a_sqlite_url_in_the_configuration_is_the_store_it_names(tmp_path: Path):
    database = tmp_path / "central" / "history.db"
    database.parent.mkdir()
    config = _setup(tmp_path, f"sqlite:///{database}")
    result = _record(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert database.is_file()
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]  # no "sqlite:" beside it
    shown = run_cli("history", "list", "--json", "--store", f"sqlite:///{database}")
    assert shown.returncode == 0, shown.stderr
    assert [run["policy"]["id"] for run in json.loads(shown.stdout)] == ["gate"]


def test_a_server_url_in_the_configuration_is_shown_and_used_as_written(tmp_path: Path):
    url = "postgresql://lbaudit@127.0.0.1:1/lbaudit"  # nothing listens on port 1: the store is unreachable
    config = _setup(tmp_path, url)
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_STORE": None})
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[1] for line in shown.stdout.splitlines() if line.startswith("store ")] == [url]
    result = _record(tmp_path, config)
    assert result.returncode == 2, result.stderr  # the store named cannot be reached: nothing recorded elsewhere
    assert not (tmp_path / "e.json").exists()
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]


def test_control_case_a_relative_path_is_still_the_files_directorys(tmp_path: Path):
    config = _setup(tmp_path, "history.db")
    result = _record(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert (config.parent / "history.db").is_file()


def test_a_sqlite_url_of_a_relative_file_is_the_files_directorys(tmp_path: Path):
    """As a relative path in the file is: the working directory of a scheduled scan is /."""
    config = _setup(tmp_path, "sqlite:///history.db")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "s.json",
                     "-o", tmp_path / "e.json", "-q", "--record", cwd=elsewhere,
                     env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_STORE": None})
    assert result.returncode == 0, result.stderr
    assert (config.parent / "history.db").is_file()
    assert list(elsewhere.iterdir()) == []
