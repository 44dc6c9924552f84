"""Two ``lbaudit evaluate`` runs writing the same ``--out-dir`` that neither found there.

Two commands writing in one directory are meant to write one after the other, each its whole set of
files (the directory held with flock from the check of the outputs on, then looked at again).  A
directory that was not there yet could not be held: both runs checked "no file there", the first
to finish created the directory and wrote its files, and the other then refused its own: "changed
since it was checked (a file is there now that was not) ... run again", exit 2 (a usage error) from
a CI gate whose command line was right, where an existing directory made it wait and pass.  Now the
missing ``--out-dir`` is created when the outputs are checked (removed again if the run fails
while it is empty) and held from then on, like one that was there.

Real processes; the first run is held part way (after the check of its outputs) by a plugin check
that waits for the test's word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, snapshot
from tests.plugin_distribution import install_plugin

PLUGIN = """
import os
import time

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    pass


@check(name="holdplug.wait", title="A plugin that waits for the test", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def wait(snapshot, params):
    open(os.environ["HOLDPLUG_STARTED"], "w").close()
    deadline = time.monotonic() + 25
    while not os.path.exists(os.environ["HOLDPLUG_RELEASE"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [passed("the test", "released")]
"""


def _wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()


@pytest.mark.slow  # two runs, one held for a few seconds
def test_two_runs_creating_the_same_out_dir_write_one_after_the_other(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_plugin(site, monkeypatch, "holdplug", PLUGIN, "[lbaudit.checks]\nholdplug = holdplug\n")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), tmp_path / "s.json")
    policy = tmp_path / "held.yaml"
    policy.write_text("id: held\nversion: '1'\nowner: T\nrules:\n  - id: wait\n    check: holdplug.wait\n",
                      encoding="utf-8")
    out = tmp_path / "out"  # not there: each run would create it

    def start(name: str, release: Path) -> subprocess.Popen[str]:
        environment = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}",
                       "HOLDPLUG_STARTED": str(tmp_path / f"{name}.started"), "HOLDPLUG_RELEASE": str(release)}
        environment.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
        return subprocess.Popen([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy),
                                 "--snapshot", str(tmp_path / "s.json"), "--out-dir", str(out),
                                 "--format", "sarif,junit", "--json"],
                                env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    release_first = tmp_path / "first.release"
    first = start("first", release_first)
    try:
        assert _wait_for(tmp_path / "first.started", 30), "the first run never reached its check"
        released = tmp_path / "second.release"
        released.touch()
        second = start("second", released)
        # The second run waits for the first (no marker) now; before, it ran through and wrote.
        _wait_for(tmp_path / "second.started", 4)
    finally:
        release_first.touch()
    first_out, first_err = first.communicate(timeout=60)
    second_out, second_err = second.communicate(timeout=60)
    assert first.returncode == 0, first_err  # before: the first or the second was exit 2
    assert second.returncode == 0, second_err
    assert "changed since it was checked" not in first_err + second_err
    assert sorted(p.name for p in out.iterdir()) == ["held.evidence.json", "held.junit.xml", "held.sarif"]
    last = json.loads(second_out)
    assert last["exit_code"] == 0 and last["evidence"].endswith("held.evidence.json"), last


def test_a_run_refused_after_creating_the_out_dir_removes_it(tmp_path):
    # The out dir is made when the outputs are checked: a run that then fails leaves nothing behind.
    from tests.cli import run_cli

    (tmp_path / "p.yaml").write_text("id: p\nversion: '1'\nowner: T\nrules:\n  - id: bind\n"
                                     "    check: net.bind_addresses\n", encoding="utf-8")
    (tmp_path / "s.json").write_text("{not a snapshot", encoding="utf-8")
    result = run_cli("evaluate", "--no-plugins", "--policy", tmp_path / "p.yaml", "--snapshot", tmp_path / "s.json",
                     "--out-dir", tmp_path / "out", "--format", "sarif", "-q")
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "out").exists()


def test_an_out_dir_no_file_goes_to_is_not_made(tmp_path):
    # -o - writes no file (LBAUDIT_OUT_DIR set in the environment beside it): no directory is made for it
    from tests.cli import run_cli

    (tmp_path / "p.yaml").write_text("id: p\nversion: '1'\nowner: T\nrules:\n  - id: bind\n"
                                     "    check: net.bind_addresses\n", encoding="utf-8")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), tmp_path / "s.json")
    result = run_cli("evaluate", "--no-plugins", "--policy", tmp_path / "p.yaml", "--snapshot", tmp_path / "s.json",
                     "-o", "-", "-q", env={"LBAUDIT_OUT_DIR": str(tmp_path / "out")})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"]["exit_code"] == 0
    assert not (tmp_path / "out").exists()
