"""Where the store lives when nothing names it, and what --store / LBAUDIT_STORE may name."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.history.location import ROOT_STORE, default_store_path, store_location


def test_root_keeps_the_store_in_var_lib():
    assert default_store_path(uid=0, environ={"HOME": "/root", "XDG_STATE_HOME": "/elsewhere"}) == ROOT_STORE
    assert ROOT_STORE == Path("/var/lib/lbaudit/history.db")


def test_a_user_keeps_it_in_the_xdg_state_directory():
    assert default_store_path(uid=1000, environ={"HOME": "/home/ann", "XDG_STATE_HOME": "/home/ann/.st"}) == \
        Path("/home/ann/.st/lbaudit/history.db")
    assert default_store_path(uid=1000, environ={"HOME": "/home/ann"}) == \
        Path("/home/ann/.local/state/lbaudit/history.db")
    # a relative XDG_STATE_HOME is invalid by the XDG spec and ignored
    assert default_store_path(uid=1000, environ={"HOME": "/home/ann", "XDG_STATE_HOME": "rel"}) == \
        Path("/home/ann/.local/state/lbaudit/history.db")


def test_the_option_wins_over_the_environment_and_empty_values_are_refused():
    assert store_location("x.db", {"LBAUDIT_STORE": "y.db"}) == "x.db"
    assert store_location(None, {"LBAUDIT_STORE": "postgresql+psycopg://a@b/c"}) == "postgresql+psycopg://a@b/c"
    with pytest.raises(InputError, match="--store is empty"):
        store_location(" ", {})
    with pytest.raises(InputError, match="LBAUDIT_STORE is empty"):
        store_location(None, {"LBAUDIT_STORE": ""})


def test_a_new_store_file_and_its_directory_are_private(tmp_path):
    from auditor.history import open_store

    path = tmp_path / "state" / "lbaudit" / "history.db"
    open_store(str(path)).close()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_sqlite_is_in_wal_mode_with_a_busy_timeout(tmp_path):
    from auditor.history import open_store

    with open_store(str(tmp_path / "h.db")) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_store_bound_on_evidence_is_the_evidence_loaders():
    from auditor.history import store
    from auditor.storage import evidence

    assert store.MAX_EVIDENCE_BYTES == evidence.MAX_EVIDENCE_BYTES
