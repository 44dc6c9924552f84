"""How many outcomes a plugin check may return.

One plugin outcome is bounded in size (``MAX_PLUGIN_OUTCOME_BYTES``), but their number was not: a
plugin check returning a list of a million tiny valid outcomes had each validated, copied with its
text escaped, made a finding, written to the evidence and rendered by every report (a million rows),
memory growing with the count; a generator that yields forever was drained into a list until the
30 s time limit stopped it, by then holding hundreds of millions of values.  Now the engine takes at
most ``MAX_PLUGIN_OUTCOMES`` (20,000) of what a plugin check returns, plus one to know there are
more, and a check that returns more is one ``error`` finding naming the limit: never a pass, the run
incomplete (exit 3) unless something fails, within a second or two and without the memory.

Each run is a real ``lbaudit`` process (the peak memory asked of is its own, read with
``os.wait4``), the plugin a real installed distribution on its ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import FORK_AND_MEASURE, run_cli
from tests.plugin_distribution import install_plugin

pytestmark = pytest.mark.slow  # real processes

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
COMPLIANT, INCOMPLETE = 0, 3
LIMIT = 20_000
ERROR_FINDING_SECONDS = 20  # well under the plugin's 30 s time limit, on a loaded machine
PEAK_MEMORY_BYTES = 300 * 1024 * 1024
# A ceiling on the child's address space, so that this test fails (MemoryError) instead of taking
# the machine's memory if a generator is ever drained again.
ADDRESS_SPACE_BYTES = 2 * 1024 * 1024 * 1024

PLUGIN = """
from dataclasses import fields

from auditor.model.check import CheckParams, CheckSpec, check, passed


class Params(CheckParams):
    mode: str
    count: int = 0


ONE = passed("a", "fine")


def forever():
    while True:
        yield ONE


@check(name="manyplug.x", title="A plugin returning many outcomes", version="1", needs=["sysctl"],
       params=Params, severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    if params.mode == "list":  # the same tiny outcome, so the list itself costs 8 bytes a value
        return [ONE] * params.count
    if params.mode == "forever":
        return forever()
    return [passed(f"listener {i}", "fine") for i in range(params.count)]  # "distinct"


class Overridden(CheckSpec):
    \"\"\"A check whose run is the plugin's own.\"\"\"

    def run(self, snapshot, params):
        return forever()


overridden = Overridden(**{f.name: getattr(x, f.name) for f in fields(CheckSpec)} | {"name": "manyplug.own"})
"""


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    site = tmp_path / "site"
    install_plugin(site, monkeypatch, "manyplug", PLUGIN, "[lbaudit.checks]\nmanyplug = manyplug\n")
    yield site
    sys.modules.pop("manyplug", None)


def _policy(tmp_path: Path, mode: str, count: int, check: str = "manyplug.x") -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: {check}\n"
                      f"    params: {{mode: {mode}, count: {count}}}\n", encoding="utf-8")
    return policy


def _findings(evidence: Path) -> list[tuple[str, str, str | None]]:
    findings = json.loads(evidence.read_bytes())["result"]["findings"] if evidence.exists() else []
    return [(f["status"], f["subject"], f["reason"]) for f in findings]


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


def _evaluate_in_a_process(tmp_path: Path, site: Path, check: str, mode: str,
                           count: int) -> tuple[int, float, int, str]:
    """``lbaudit evaluate`` of the plugin's rule as a real process: its exit code, the seconds it
    took, its peak resident memory in bytes, and its stderr."""
    evidence = tmp_path / "evidence.json"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}
    env.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
    argv = [sys.executable, "-m", "auditor.cli", "evaluate", "--policy", _policy(tmp_path, mode, count, check),
            "--target", f"root:{ROOT}", "-q", "-o", evidence]
    peak_file = tmp_path / "peak"
    with open(tmp_path / "stderr", "w+b") as stderr:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", FORK_AND_MEASURE, peak_file, *argv], cwd=tmp_path, env=env,
                                   stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=_limit_address_space,
                                   start_new_session=True)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            pytest.fail(f"lbaudit evaluate ({mode}) ran past 120 s and was killed")
        seconds = time.monotonic() - started
        stderr.seek(0)
        text = stderr.read().decode("utf-8", "replace")
    return process.returncode, seconds, int(peak_file.read_text()), text




@pytest.mark.parametrize("check, mode, count, returned", [
    # before: exit 0 after 16 s and 800 MiB, each of the million a pass finding (a 414 MB evidence)
    ("manyplug.x", "list", 1_000_000, "1,000,000 outcomes"),
    # before: drained into a list until the 30 s time limit (or the memory) stopped it
    ("manyplug.x", "forever", 0, f"more than {LIMIT:,} outcomes"),
    # a CheckSpec subclass's own run, whose generator is taken as returned too
    ("manyplug.own", "forever", 0, f"more than {LIMIT:,} outcomes"),
])
def test_a_plugin_check_returning_more_outcomes_than_the_limit_is_one_error_finding_naming_it(
        site, tmp_path, check, mode, count, returned):
    code, seconds, peak, stderr = _evaluate_in_a_process(tmp_path, site, check, mode, count)
    assert code == INCOMPLETE, stderr
    assert _findings(tmp_path / "evidence.json") == [
        ("error", f"check {check}",
         f"check {check} (plugin manyplug 1.0) returned {returned}; a plugin check may return at most "
         f"{LIMIT:,}"),
    ]
    assert seconds < ERROR_FINDING_SECONDS
    assert peak < PEAK_MEMORY_BYTES, f"peak resident memory {peak / 2 ** 20:.0f} MiB"


def test_control_case_a_plugin_check_returning_exactly_the_limit_is_judged(site, tmp_path):
    from auditor.engine.evaluate import MAX_PLUGIN_OUTCOMES

    assert MAX_PLUGIN_OUTCOMES == LIMIT
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", _policy(tmp_path, "distinct", LIMIT), "--target", f"root:{ROOT}", "-q",
                  "-o", evidence, timeout=300)
    assert run.returncode == COMPLIANT, run.stderr
    findings = _findings(evidence)
    assert len(findings) == LIMIT
    assert findings[0] == ("pass", "listener 0", None)
    assert {status for status, _, _ in findings} == {"pass"}
    assert {subject for _, subject, _ in findings} == {f"listener {i}" for i in range(LIMIT)}


def test_the_rules_of_a_run_together_cannot_pass_the_run_limit_by_naming_one_check_again(site, tmp_path):
    """Each plugin check bounded alone, a policy naming it in many rules was that many times the
    limit (fifty rules, a million outcomes).  The run's plugin checks together may return at most
    MAX_RUN_PLUGIN_OUTCOMES: two rules of 15,000 are judged, the third is its check's error finding."""
    from auditor.engine.evaluate import MAX_RUN_PLUGIN_OUTCOMES

    assert MAX_RUN_PLUGIN_OUTCOMES == 2 * LIMIT
    policy = tmp_path / "policy.yaml"
    rules = "".join(f"  - id: r{n}\n    check: manyplug.x\n    params: {{mode: list, count: 15000}}\n" for n in (1, 2, 3))
    policy.write_text(f"id: plugged\nversion: '1'\nowner: T\nrules:\n{rules}", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-q", "-o", evidence, timeout=300)
    assert run.returncode == INCOMPLETE, run.stderr  # before: 0, 45,000 pass findings
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    assert [(rule, sum(f["rule_id"] == rule for f in findings)) for rule in ("r1", "r2", "r3")] == [
        ("r1", 15000), ("r2", 15000), ("r3", 1)]
    [error] = [f for f in findings if f["rule_id"] == "r3"]
    assert (error["status"], error["reason"]) == (
        "error", "check manyplug.x (plugin manyplug 1.0) returned 15,000 outcomes; a plugin check may return at "
                 f"most 10,000 (the run's plugin checks may return at most {2 * LIMIT:,} outcomes and 33,554,432 "
                 "bytes together; the rules before it left 10,000 outcomes and 29,384,432 bytes)")  # 139 bytes each
