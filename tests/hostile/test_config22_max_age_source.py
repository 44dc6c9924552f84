"""A snapshot refused as older than a configured maximum age names where that maximum came from.

The defect: with ``max_age: 1h`` in the configuration file (or ``LBAUDIT_MAX_AGE=1h``),
``evaluate --snapshot`` (and ``fleet evaluate``, for each host) refused an old snapshot as "older
than --max-age 1h ... give a larger --max-age": an option the command line did not hold, so the
user looked for it there and not in the file or the variable that set the limit.  Now the refusal
says "older than --max-age 1h (from max_age in the configuration file; ...)" or "(from
LBAUDIT_MAX_AGE)"; typed, it says "--max-age 1h" alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

BASE = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    os.chmod(tmp_path, 0o755)
    (tmp_path / "corp.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="h1"), tmp_path / "s.json")
    config = tmp_path / "config.yaml"
    config.write_text("max_age: 1h\n")
    os.chmod(config, 0o644)
    return tmp_path


CASES = [("file", "older than --max-age 1h (from max_age in the configuration file; lbaudit config show says which):"),
         ("environment", "older than --max-age 1h (from LBAUDIT_MAX_AGE):"),
         ("option", "older than --max-age 1h:")]


def _env_and_limit(work: Path, how: str) -> tuple[dict[str, str], list[str]]:
    env = dict(BASE)
    if how == "file":
        env["LBAUDIT_CONFIG"] = str(work / "config.yaml")
    elif how == "environment":
        env["LBAUDIT_MAX_AGE"] = "1h"
    return env, (["--max-age", "1h"] if how == "option" else [])


@pytest.mark.parametrize("how, named", CASES)
def test_a_stale_snapshot_refusal_names_where_the_maximum_age_came_from(work, how, named):
    env, limit = _env_and_limit(work, how)
    result = run_cli("evaluate", "--policy", str(work / "corp.yaml"), "--snapshot", str(work / "s.json"),
                     "-o", str(work / "e.json"), *limit, env=env)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert not (work / "e.json").exists()


@pytest.mark.parametrize("how, named", CASES)
def test_fleet_names_where_the_maximum_age_of_a_stale_host_came_from(work, how, named):
    env, limit = _env_and_limit(work, how)
    result = run_cli("fleet", "evaluate", "--snapshots", str(work / "s.json"), "--policy", str(work / "corp.yaml"),
                     "--out-dir", str(work / "fleet"), *limit, env=env)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr + result.stdout
