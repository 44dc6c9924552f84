"""``history import`` of an older scan of a host that was renamed since.

The store keys a host by its machine id and keeps the name of its runs as the host's name.  A
backfill (an older scan's evidence imported after a newer one was recorded) set that name back to
the old one, and every ``history list``, ``fleet report`` and diff then named the host by the name
it had given up.  Now an older scan leaves the names of the newer one standing; a newer scan still
renames the host.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.hostile.test_history22_unnamed_hosts import POLICY, image

MACHINE_ID = "4c4c4544004d3510804bb4c04f333333"


def _evaluate(tmp_path: Path, name: str, hostname: str, *extra: object) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    evidence = tmp_path / f"{name}.json"
    done = run_cli("evaluate", "--policy", policy, "--root", image(tmp_path / name, hostname, MACHINE_ID, False),
                   "--output", evidence, "-q", *extra)
    assert done.returncode == 0, done.stderr
    return evidence


def _host_names(store: Path) -> list[str]:
    listed = run_cli("history", "list", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted({run["host"]["hostname"] for run in json.loads(listed.stdout)})


def test_an_older_scan_imported_later_does_not_rename_the_host_back(tmp_path: Path) -> None:
    store = tmp_path / "history.db"
    older = _evaluate(tmp_path, "old", "web01")
    _evaluate(tmp_path, "new", "web01-renamed", "--record", "--store", store)
    imported = run_cli("history", "import", older, "--store", store)
    assert imported.returncode == 0, imported.stderr
    assert _host_names(store) == ["web01-renamed"]


def test_control_a_newer_scan_renames_the_host(tmp_path: Path) -> None:
    store = tmp_path / "history.db"
    _evaluate(tmp_path, "old", "web01", "--record", "--store", store)
    _evaluate(tmp_path, "new", "web01-renamed", "--record", "--store", store)
    assert _host_names(store) == ["web01-renamed"]
