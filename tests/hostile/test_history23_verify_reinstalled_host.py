"""``history verify`` failed an untouched store whose host got a new machine id.

The host row holds the host's newest host name and machine id, and verify compared that machine id
with every run's evidence.  A fleet host (keyed by its inventory name) reinstalled has a new machine
id, and a host keyed by its name alone (no machine id of its own) may go from none to
"uninitialized": every earlier run of such a host was a ``record_mismatch`` break (exit 10, "a store
changed") though nothing had touched the store.  Now verify compares what keys the host: the machine
id of a host keyed by it, the name of one keyed by its name; an edited machine id is still a break.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # real evaluations


def _evidence(tmp_path: Path, name: str, **provenance) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("lo"))
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], **provenance), tmp_path / f"{name}.json")
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", tmp_path / f"{name}.json", "-q", "-o", evidence)
    assert result.returncode == 0, result.stderr
    return evidence


def test_a_fleet_host_reinstalled_verifies(tmp_path: Path):
    store = tmp_path / "history.db"
    for name, machine in (("before", "1" * 32), ("after", "2" * 32)):  # the reinstall: a new machine id
        evidence = _evidence(tmp_path, name, hostname="web01", machine_id=machine)
        imported = run_cli("history", "import", evidence, "--host", "web01", "--store", store)
        assert imported.returncode == 0, imported.stderr
    result = run_cli("history", "verify", "--store", store)
    # before: exit 10, "run 1: record_mismatch: the run says machine_id '222...', its evidence '111...'"
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 runs in 1 chains" in result.stdout


def test_a_host_without_a_machine_id_of_its_own_verifies(tmp_path: Path):
    store = tmp_path / "history.db"
    for name, machine in (("before", None), ("after", "uninitialized")):  # keyed by its name both times
        evidence = _evidence(tmp_path, name, hostname="web02", machine_id=machine)
        imported = run_cli("history", "import", evidence, "--store", store)
        assert imported.returncode == 0, imported.stderr
    result = run_cli("history", "verify", "--store", store)
    assert result.returncode == 0, result.stdout + result.stderr  # before: exit 10, machine_id None vs 'uninitialized'
    assert "2 runs in 1 chains" in result.stdout


def test_an_edited_machine_id_is_still_a_break(tmp_path: Path):
    store = tmp_path / "history.db"
    for name in ("before", "after"):
        evidence = _evidence(tmp_path, name, hostname="web03", machine_id="3" * 32)
        assert run_cli("history", "import", evidence, "--store", store).returncode == 0
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE hosts SET machine_id = ?", ("4" * 32,))  # history show now names another machine
    result = run_cli("history", "verify", "--store", store)
    assert result.returncode == 10, result.stdout + result.stderr
    assert f"record_mismatch: the run says machine_id '{'4' * 32}', its evidence '{'3' * 32}'" in result.stdout


def test_a_name_keyed_host_given_a_machine_id_of_its_own_is_a_break(tmp_path: Path):
    store = tmp_path / "history.db"
    evidence = _evidence(tmp_path, "only", hostname="web04", machine_id=None)
    assert run_cli("history", "import", evidence, "--store", store).returncode == 0
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE hosts SET machine_id = ?", ("5" * 32,))
    result = run_cli("history", "verify", "--store", store)
    assert result.returncode == 10, result.stdout + result.stderr
    assert "record_mismatch: the run says machine_id" in result.stdout


def test_history_show_names_the_machine_the_run_was_of(tmp_path: Path):
    """``history show`` of the run before the reinstall named the host's new machine id alone: the
    run read as a scan of a machine it never saw.  It now says what the run was scanned as."""
    store = tmp_path / "history.db"
    for name, machine in (("before", "1" * 32), ("after", "2" * 32)):
        evidence = _evidence(tmp_path, name, hostname="web01", machine_id=machine)
        assert run_cli("history", "import", evidence, "--host", "web01", "--store", store).returncode == 0
    shown = run_cli("history", "show", "1", "--store", store)
    assert shown.returncode == 0, shown.stderr
    assert f"scanned as: web01 (machine id {'1' * 32})" in shown.stdout  # before: only machine id 222...
    as_json = run_cli("history", "show", "1", "--store", store, "--json")
    assert json.loads(as_json.stdout)["scanned_as"] == {"hostname": "web01", "machine_id": "1" * 32}
    newest = run_cli("history", "show", "2", "--store", store)
    assert "scanned as" not in newest.stdout  # the host's names are the newest run's
