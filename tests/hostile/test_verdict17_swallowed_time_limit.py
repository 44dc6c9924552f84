"""A plugin check that catches the stop at its time limit and answers "pass" is still an error.

The time limit (auditor.engine.time_limit) raises ``CheckTimedOut`` into a plugin's check that runs
past it, a BaseException so that ``except Exception`` cannot swallow it.  But a bare ``except:``
(``except BaseException``) or a ``return`` in a ``finally`` does swallow it, and common plugin code
is written so (a network lookup "that must never crash the check").  Before, the check then returned
what it liked and the engine took it as judged: a check that ran past its limit and saw nothing
passed, ``lbaudit evaluate`` exit 0, "compliant".  And one that swallowed the stop once and waited
again was never stopped a second time: the run hung forever.

Now the engine knows the limit was reached, whatever the check did with the stop: the rule is the
check's ``error`` finding ("the check did not finish"), never what it returned, and the run is
incomplete (exit 3).  Past the limit the stop is raised again, every second, until the check ends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from auditor.engine import time_limit
from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"

PLUGIN = """
import time

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


@check(name="swallowplug.lookup", title="A plugin that swallows its stop", version="1", needs=["sysctl"],
       params=Params, severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def lookup(snapshot, params):
    if params.mode == "bare_except":
        try:
            time.sleep(3600)  # a lookup that never answers
        except:  # noqa: E722 - the plugin's own sloppy handler
            pass
        return [passed("lookup", "nothing found")]
    if params.mode == "finally_return":
        try:
            time.sleep(3600)
        finally:
            return [passed("lookup", "nothing found")]  # noqa: B012 - swallows what was raised
    if params.mode == "swallow_then_wait":
        try:
            time.sleep(3600)
        except BaseException:
            pass
        time.sleep(3600)  # and waits again
        return [passed("lookup", "nothing found")]
    return [passed("lookup", "found quickly")]
"""

POLICY = """id: swallow
version: "1"
owner: Security <sec@example.com>
rules:
  - id: lookup
    check: swallowplug.lookup
    params: {{mode: {mode}}}
"""


@pytest.fixture
def swallowing_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "swallowplug", PLUGIN, "[lbaudit.checks]\nswallowplug = swallowplug\n")
    monkeypatch.setattr(time_limit, "PLUGIN_CHECK_SECONDS", 0.25)


def _evaluate(tmp_path: Path, mode: str):
    policy, evidence = tmp_path / "p.yaml", tmp_path / "e.json"
    policy.write_text(POLICY.format(mode=mode))
    started = time.monotonic()
    result = run_cli("evaluate", "--policy", policy, "--root", ROOT, "--output", evidence, "--color", "never",
                     "--json", timeout=60)
    return result, time.monotonic() - started, evidence


@pytest.mark.parametrize("mode", ["bare_except", "finally_return", "swallow_then_wait"])
def test_a_check_that_swallows_its_stop_is_an_error_and_the_run_incomplete(swallowing_plugin, tmp_path: Path,
                                                                            mode: str) -> None:
    result, took, evidence = _evaluate(tmp_path, mode)
    assert took < 30, took
    document = json.loads(evidence.read_text())
    findings = [(f["status"], f["subject"], f["reason"]) for f in document["result"]["findings"]]
    assert findings == [("error", "check swallowplug.lookup",
                         "the check ran longer than 0.25 s and was stopped")], findings
    assert document["result"]["verdict"] == "incomplete"
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert json.loads(result.stdout)["verdict"] == "incomplete"


def test_control_case_a_check_within_its_limit_passes(swallowing_plugin, tmp_path: Path) -> None:
    result, _, evidence = _evaluate(tmp_path, "quick")
    findings = json.loads(evidence.read_text())["result"]["findings"]
    assert [(f["status"], f["subject"]) for f in findings] == [("pass", "lookup")]
    assert result.returncode == 0, result.stderr


REPORTER_PLUGIN = """
import time

from auditor.report import Reporter


def _render(evidence, context):
    try:
        time.sleep(3600)  # a rendering that never ends
    except:  # noqa: E722 - the plugin's own sloppy handler
        pass
    return b"all green"


REPORTER = Reporter(name="swallowing", extension=".txt", description="a reporter that swallows its stop",
                    render=_render)
"""


def test_a_reporter_plugin_that_swallows_its_stop_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The same for a reporter plugin: before, what it returned after its limit was written as the
    report (exit as the verdict's); now it did not finish, exit 2, nothing written."""
    from auditor import pipeline  # noqa: F401 - the module whose limit is lowered

    install_plugin(tmp_path / "site", monkeypatch, "swallowrep", REPORTER_PLUGIN,
                   "[lbaudit.reporters]\nswallowing = swallowrep:REPORTER\n")
    monkeypatch.setattr(time_limit, "PLUGIN_REPORTER_SECONDS", 0.25)
    evidence, out_dir = tmp_path / "e.json", tmp_path / "out"
    result = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output", evidence,
                     "--format", "swallowing", "--out-dir", out_dir, "-q", timeout=60)
    assert result.returncode == 2, result.stderr
    assert ("report format 'swallowing' (a reporter plugin) did not finish: the reporter ran longer than 0.25 s "
            "and was stopped; nothing was written") in result.stderr
    assert not evidence.exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())
