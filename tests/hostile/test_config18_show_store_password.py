"""Hostile corpus, config round 18: ``config show`` never prints the password of a store URL.

``LBAUDIT_STORE=postgresql://scan:PASSWORD@db/lbaudit`` (or ``store:`` in the configuration file)
was printed whole by ``config show`` and ``config show --json``, the command one runs to see why a
scan does what it does and pastes into a ticket or a CI log; every other message naming the store
says ``scan:***@`` (SQLAlchemy's render_as_string).  libpq also takes the password as a parameter
(``?password=...``), which was printed as well.  Now both are shown as ``***``; the source still says
where the value came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(("location", "shown"), [
    (f"postgresql://scan:{SECRET}@db.example:5432/lbaudit", "postgresql://scan:***@db.example:5432/lbaudit"),
    (f"postgresql+psycopg://scan:{SECRET}@db/lbaudit?sslmode=require",
     "postgresql+psycopg://scan:***@db/lbaudit?sslmode=require"),
    (f"postgresql://scan@db/lbaudit?sslmode=require&password={SECRET}",
     "postgresql://scan@db/lbaudit?sslmode=require&password=***"),
])
def test_config_show_hides_the_password_of_a_store_url(tmp_path: Path, location: str, shown: str):
    config = tmp_path / "config.yaml"
    config.write_text(f'store: "{location}"\n', encoding="utf-8")
    for env in ({"LBAUDIT_CONFIG": "", "LBAUDIT_STORE": location},
                {"LBAUDIT_CONFIG": str(config), "LBAUDIT_STORE": None}):
        text = run_cli("config", "show", env=env, cwd=tmp_path)
        assert text.returncode == 0, text.stderr
        assert SECRET not in text.stdout + text.stderr
        assert shown in text.stdout
        as_json = run_cli("config", "show", "--json", env=env, cwd=tmp_path)
        assert as_json.returncode == 0, as_json.stderr
        assert SECRET not in as_json.stdout
        assert {row["key"]: row["value"] for row in json.loads(as_json.stdout)}["store"] == shown


def test_a_store_path_is_shown_as_it_is(tmp_path: Path):
    run = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": "", "LBAUDIT_STORE": "/var/lib/a:b@c/h.db"},
                  cwd=tmp_path)
    assert {row["key"]: row["value"] for row in json.loads(run.stdout)}["store"] == "/var/lib/a:b@c/h.db"


def test_a_store_that_cannot_be_opened_is_named_without_the_password_parameter(tmp_path: Path):
    """The store's own messages hid ``user:PASSWORD@`` and printed ``?password=...`` whole."""
    location = f"postgresql://scan@127.0.0.1:1/lbaudit?password={SECRET}"
    run = run_cli("history", "list", env={"LBAUDIT_CONFIG": "", "LBAUDIT_STORE": location,
                                          "LBAUDIT_STORE_TIMEOUT": "2"}, cwd=tmp_path, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "cannot open the history store" in run.stderr, run.stderr
    assert SECRET not in run.stdout + run.stderr
    assert "password=***" in run.stderr
