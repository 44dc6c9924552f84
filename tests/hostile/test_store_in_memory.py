"""An in-memory SQLite store (``--store sqlite://``, ``sqlite:///:memory:``) keeps nothing past the
command: it is refused (exit 2) before any work, never "recorded".

The defect: ``evaluate --record --store sqlite://`` built the schema in memory, recorded the run,
printed "recorded: run 1 in sqlite://" and exited as the verdict says; the process ended and the
run with it.  ``history import`` said "recorded as run 1" of every file, and ``schedule install
--store sqlite://`` installed a nightly scan that "recorded" every night into nothing (with
``sqlite:///:memory:`` the unit's ReadWritePaths= even named ``/``, the parent of the "file"
``/:memory:``, the whole file system writable by the hardened scan).

Now every command that opens a store, and ``schedule install``, refuses an in-memory one, saying why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.schedule.conftest import install_into_image, make_image_root, tree

USAGE = 2
MEMORY_STORES = ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://", "sqlite+pysqlite:///:memory:"]


def _refusal(url: str) -> str:
    return (f"lbaudit: --store {url}: an in-memory SQLite database keeps nothing past the command (every run "
            "recorded in it would be lost): give a file path or sqlite:///PATH\n")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    from auditor.storage.snapshot import write_snapshot

    (tmp_path / "policy.yaml").write_text(loopback_only_policy("memory"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 6379)]), tmp_path / "snap.json")
    return tmp_path


@pytest.mark.parametrize("url", MEMORY_STORES)
def test_evaluate_record_in_memory_is_exit_2_before_any_file_is_written(work: Path, url: str) -> None:
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "--record",
                     "--store", url, cwd=work)
    assert (result.returncode, result.stderr) == (USAGE, _refusal(url)), result.stdout + result.stderr
    assert "recorded" not in result.stdout
    assert not (work / "e.json").exists()


@pytest.mark.parametrize("url", MEMORY_STORES[:2])
def test_history_import_and_list_in_memory_are_exit_2(work: Path, url: str) -> None:
    done = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "-q", cwd=work)
    assert done.returncode == 1, done.stderr
    for command in (["history", "import", "e.json"], ["history", "list"], ["history", "verify"]):
        result = run_cli(*command, "--store", url, cwd=work)
        assert (result.returncode, result.stderr) == (USAGE, _refusal(url)), (command, result.stdout, result.stderr)
        assert result.stdout == ""


@pytest.mark.parametrize("url", MEMORY_STORES[:2])
def test_schedule_install_refuses_an_in_memory_store_and_writes_nothing(tmp_path: Path, url: str) -> None:
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    run = install_into_image(image_root, "--store", url, backend="systemd")
    assert run.returncode == USAGE, (run.returncode, run.stdout[-500:], run.stderr[-1500:])
    assert run.stderr.endswith(_refusal(url)), run.stderr
    assert tree(image_root) == before


def test_control_case_a_file_url_still_records(work: Path) -> None:
    url = f"sqlite:///{work}/history.db"
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "--record",
                     "--store", url, cwd=work)
    assert result.returncode == 1, result.stderr
    assert f"recorded: run 1 in sqlite:///{work}/history.db (evidence" in result.stdout, result.stdout
    assert run_cli("history", "list", "--store", url, cwd=work).returncode == 0
