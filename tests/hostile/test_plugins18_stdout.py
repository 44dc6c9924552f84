"""A plugin that writes to standard output while ``-o -`` writes the evidence there.

``lbaudit evaluate -o -`` writes the evidence JSON to stdout (the summary goes to stderr), so a
pipeline (``lbaudit evaluate -o - | lbaudit verify`` or a CI step that stores stdout) takes stdout
as the evidence.  A plugin check's ``print`` (or ``os.write(1, ...)``), and a reporter plugin's,
went there too, before the evidence: ``{"forged": true}`` and then the evidence, which no JSON
reader takes as the evidence (or, with a plugin printing a whole document, one it takes in its
place).  Now a plugin's code runs with standard output sent to standard error, at the descriptor
too: stdout holds the evidence alone, and what the plugin printed is on stderr.  The same for a
reporter plugin and ``--json``, the summary on stdout that a CI step parses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile._plugins18 import ROOT, run_lbaudit, write_plugin, write_policy

pytestmark = pytest.mark.slow  # a real lbaudit process per case

PLUGIN = """
import os

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


@check(name="hostplug.act", title="A plugin that prints", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def act(snapshot, params):
    if params.mode == "print":
        print('{"forged": true}', flush=False)
    elif params.mode == "descriptor":
        os.write(1, b'{"forged": true}\\n')
    yield passed("a", "finished")
"""


@pytest.mark.parametrize("mode", ["print", "descriptor"])
def test_what_a_plugin_check_prints_does_not_reach_the_evidence_on_stdout(tmp_path: Path, mode: str) -> None:
    site = write_plugin(tmp_path / "site", PLUGIN, "[lbaudit.checks]\nhostplug = hostplug\n")
    policy = write_policy(tmp_path / "p.yaml", mode)
    result = run_lbaudit(site, "evaluate", "--policy", policy, "--root", ROOT, "-o", "-", "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # the 10,001-port pool fails min_pool_size 16384
    evidence = json.loads(result.stdout)  # stdout is the evidence alone: one JSON document
    acted = [(f["status"], f["subject"]) for f in evidence["result"]["findings"] if f["rule_id"] == "act"]
    assert acted == [("pass", "a")]
    assert b'{"forged": true}' in result.stderr  # what the plugin printed is not lost: it is on stderr


def test_control_case_a_plugin_that_prints_nothing_leaves_the_evidence_on_stdout(tmp_path: Path) -> None:
    site = write_plugin(tmp_path / "site", PLUGIN, "[lbaudit.checks]\nhostplug = hostplug\n")
    policy = write_policy(tmp_path / "p.yaml", "quiet")
    result = run_lbaudit(site, "evaluate", "--policy", policy, "--root", ROOT, "-o", "-", "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["result"]["verdict"]
    assert b"forged" not in result.stderr


REPORTER = """
import os

from auditor.report import Reporter


def render(evidence, context):
    print('{"forged": true}')
    os.write(1, b'{"forged": "descriptor"}\\n')
    return b"report\\n"


REPORTER = Reporter(name="loudfmt", extension=".loud", description="prints", render=render)
"""


def test_what_a_reporter_plugin_prints_does_not_reach_the_json_summary_on_stdout(tmp_path: Path) -> None:
    site = write_plugin(tmp_path / "site", REPORTER, "[lbaudit.reporters]\nloudfmt = hostplug:REPORTER\n")
    policy = tmp_path / "p.yaml"
    policy.write_text(write_policy(tmp_path / "q.yaml", "x").read_text().split("  - id: act")[0]
                      + "  - id: eph\n    check: net.ephemeral_port_range\n    params: {min_pool_size: 16384}\n")
    result = run_lbaudit(site, "evaluate", "--policy", policy, "--root", ROOT, "-o", tmp_path / "e.json", "--json",
                         "--format", "loudfmt", "--out-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["verdict"]  # the --json summary alone
    assert (tmp_path / "out" / "hp.loud").read_bytes() == b"report\n"
    assert b'{"forged": true}' in result.stderr and b'{"forged": "descriptor"}' in result.stderr
