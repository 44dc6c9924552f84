"""A plugin check that changes the process it runs in: its working directory, its umask.

A plugin's check runs in lbaudit's process, and the evidence and reports are written after the
rules are judged, at paths the user gave relative to the working directory and with modes the
umask decides.  A check calling ``os.chdir("/elsewhere")`` made ``-o e.json --out-dir out`` write
``/elsewhere/e.json`` and ``/elsewhere/out/hp.sarif`` (over files there, with ``--force``), and one
calling ``os.umask(0)`` wrote the evidence and reports writable by the group (0664 where 0644 is the
user's).  Now what a plugin's code changes of the process (working directory, umask, environment,
``sys.path``, signal handlers) is put back when it returns, and the rest of the run is as the user
started it.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.hostile._plugins18 import ROOT, run_lbaudit, write_plugin, write_policy

pytestmark = pytest.mark.slow  # a real lbaudit process per case

PLUGIN = """
import os

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


@check(name="hostplug.act", title="A plugin that changes the process", version="1", needs=["sysctl"],
       params=Params, severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def act(snapshot, params):
    if params.mode == "chdir":
        os.chdir(os.environ["ELSEWHERE"])
    elif params.mode == "umask":
        os.umask(0)
    yield passed("a", "finished")
"""


def _run(tmp_path: Path, mode: str):
    site = write_plugin(tmp_path / "site", PLUGIN, "[lbaudit.checks]\nhostplug = hostplug\n")
    policy = write_policy(tmp_path / "p.yaml", mode)
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    import os

    os.environ["ELSEWHERE"] = str(elsewhere)
    try:
        result = run_lbaudit(site, "evaluate", "--policy", policy, "--root", ROOT, "-o", "e.json", "-q",
                             "--format", "sarif", "--out-dir", "out", cwd=work)
    finally:
        del os.environ["ELSEWHERE"]
    assert result.returncode == 1, result.stderr
    return work, elsewhere


@pytest.mark.parametrize("mode", ["chdir", "umask", "none"])
def test_what_a_plugin_check_changes_of_the_process_does_not_move_or_open_the_outputs(tmp_path: Path,
                                                                                      mode: str) -> None:
    work, elsewhere = _run(tmp_path, mode)
    assert sorted(p.name for p in elsewhere.rglob("*")) == []
    evidence, sarif = work / "e.json", work / "out" / "hp.sarif"
    findings = json.loads(evidence.read_text())["result"]["findings"]
    assert [(f["status"], f["subject"]) for f in findings if f["rule_id"] == "act"] == [("pass", "a")]
    umask = _umask()
    for written in (evidence, sarif):
        assert stat.S_IMODE(written.stat().st_mode) & umask == 0, (written, oct(written.stat().st_mode))


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current
