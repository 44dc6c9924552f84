"""An output written over (or in the place of) the configuration file the run read.

Every command reads its configuration file (``$LBAUDIT_CONFIG``, else /etc/lbaudit/config.yaml and
``~/.config/lbaudit/config.yaml``): an input of the run, like the policy.  It was not among the
inputs an output may not be: ``evaluate --force -o CONFIG`` replaced it with the evidence, and an
output at ``~/.config/lbaudit/config.yaml`` (no file there yet) made the evidence the configuration
of every later command, each of which then refused to start (exit 2, "invalid configuration file").
Now the configuration files, there or not, are inputs of every run (auditor/storage/outputs.py
``plan_outputs``): exit 2 before any work, ``--force`` or not, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE, WRITTEN = 2, 1  # the snapshot's listener binds 0.0.0.0: a run that writes fails its rule
CONFIGURATION = "org_name: Example Corp\n"
BUNDLE = Path(__file__).parents[1] / "fixtures" / "bundles" / "macos-audited"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "config.yaml").write_text(CONFIGURATION)
    return tmp_path


def state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_ino


@pytest.mark.parametrize("args", [
    ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "config.yaml"],
    ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "--pdf", "config.yaml"],
    ["collect", "--replay", BUNDLE, "-o", "config.yaml"],
], ids=["evaluate-o", "evaluate-pdf", "collect-o"])
def test_force_does_not_replace_the_configuration_file(work, args):
    before = state(work / "config.yaml")
    result = run_cli(*args, "-q", "--force", cwd=work, env={"LBAUDIT_CONFIG": str(work / "config.yaml")})
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "is the same file as the configuration file" in result.stderr
    assert state(work / "config.yaml") == before  # before: the evidence (snapshot, PDF) in its place
    assert not (work / "e.json").exists()


def test_an_output_in_the_place_of_the_users_configuration_file_is_refused(work):
    (work / "xdg" / "lbaudit").mkdir(parents=True)
    env = {"LBAUDIT_CONFIG": None, "XDG_CONFIG_HOME": str(work / "xdg")}
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q",
                     "-o", "xdg/lbaudit/config.yaml", cwd=work, env=env)
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "is the place of the configuration file" in result.stderr
    assert list((work / "xdg" / "lbaudit").iterdir()) == []
    # before: the evidence became the configuration, and every later command refused to start
    later = run_cli("validate", "policy.yaml", cwd=work, env=env)
    assert later.returncode == 0, later.stderr
