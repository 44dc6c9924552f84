"""Hostile process environment: a working directory that was removed before lbaudit started
(``rmdir`` of a build directory under a running shell, a cron job's directory cleaned up).

Before, ``os.getcwd()`` failed part way (the policy's recorded path, a plugin path, a relative
output): exit 70, "internal error: FileNotFoundError".  Now it is checked once before any command
runs: exit 2 with what to do, and nothing written.  A real process: it has to start in the directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # a real process per case

USAGE = 2
GONE = ("lbaudit: the working directory cannot be used (No such file or directory: it was removed, or a directory "
        "above it is not searchable): run lbaudit from a directory that exists\n")


@pytest.mark.parametrize("command", ["evaluate", "validate", "coverage"])
def test_a_removed_working_directory_is_exit_2_with_what_to_do(tmp_path: Path, command: str):
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("env-cwd"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), tmp_path / "snap.json")
    args = {"evaluate": ["evaluate", "--policy", str(tmp_path / "policy.yaml"), "--snapshot",
                         str(tmp_path / "snap.json"), "-o", str(tmp_path / "e.json"), "-q"],
            "validate": ["validate", str(tmp_path / "policy.yaml")],
            "coverage": ["coverage", "--policy", str(tmp_path / "policy.yaml"), "--baseline", "low"]}[command]
    (tmp_path / "gone").mkdir()
    done = subprocess.run(["sh", "-c", 'cd gone && rmdir ../gone && exec "$@"', "sh", sys.executable, "-m",
                           "auditor.cli", *args], cwd=tmp_path, capture_output=True, timeout=120, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_CONFIG": "",
                               "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert (done.returncode, done.stderr) == (USAGE, GONE)  # before: 70, FileNotFoundError
    assert sorted(os.listdir(tmp_path)) == ["policy.yaml", "snap.json"]
