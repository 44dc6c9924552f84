"""A plugin check that never ends cannot hold the run, and the gate with it, forever.

Before, a plugin's check that slept, looped or waited on a socket that never answered hung
``lbaudit evaluate`` with nothing saying which check it was.  Each plugin check now has a time
limit (``auditor.engine.time_limit.PLUGIN_CHECK_SECONDS``, 30 s; shortened here so the test is
quick): past it the check is an ``error`` finding, "the check did not finish", the other rules are
judged, and the run is incomplete (exit 3) unless something fails.  A plugin that catches
``Exception`` around its wait cannot swallow the stop.
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
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool

PLUGIN = """
import socket
import time

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


@check(name="hangplug.wait", title="A plugin that never ends", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def wait(snapshot, params):
    if params.mode == "sleep":
        time.sleep(3600)
    elif params.mode == "loop":
        while True:
            pass
    elif params.mode == "swallow":
        while True:
            try:
                time.sleep(3600)
            except Exception:
                pass
    elif params.mode == "socket":
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname())
        client.recv(1)  # nobody ever writes
    yield passed("a", "finished")
"""

POLICY = """id: hang
version: "1"
owner: Security <sec@example.com>
rules:
  - id: waits
    check: hangplug.wait
    params: {{mode: {mode}}}
  - id: eph
    check: net.ephemeral_port_range
    params: {{min_pool_size: 16384}}
"""


@pytest.fixture
def hanging_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "hangplug", PLUGIN, "[lbaudit.checks]\nhangplug = hangplug\n")
    monkeypatch.setattr(time_limit, "PLUGIN_CHECK_SECONDS", 0.25)


def _evaluate(tmp_path: Path, mode: str):
    policy, evidence = tmp_path / "p.yaml", tmp_path / "e.json"
    policy.write_text(POLICY.format(mode=mode))
    started = time.monotonic()
    result = run_cli("evaluate", "--policy", policy, "--root", ROOT, "--output", evidence, "-q")
    return result, time.monotonic() - started, evidence


@pytest.mark.parametrize("mode", ["sleep", "loop", "swallow", "socket"])
def test_a_plugin_check_that_never_ends_is_an_error_finding_and_the_run_goes_on(hanging_plugin, tmp_path: Path,
                                                                                mode: str) -> None:
    result, took, evidence = _evaluate(tmp_path, mode)
    assert took < 30, took  # bounded by the 0.25 s limit, with room for a loaded machine
    findings = json.loads(evidence.read_text())["result"]["findings"]
    waits = [(f["status"], f["subject"], f["reason"]) for f in findings if f["rule_id"] == "waits"]
    assert waits == [("error", "check hangplug.wait", "the check ran longer than 0.25 s and was stopped")]
    eph = {f["status"] for f in findings if f["rule_id"] == "eph"}
    assert "fail" in eph  # the next rule was judged: a 10,001-port pool is below 16,384
    assert result.returncode == 1, result.stderr


def test_control_case_a_plugin_check_within_its_limit_is_judged(hanging_plugin, tmp_path: Path) -> None:
    result, _, evidence = _evaluate(tmp_path, "none")
    findings = json.loads(evidence.read_text())["result"]["findings"]
    assert [(f["status"], f["subject"]) for f in findings if f["rule_id"] == "waits"] == [("pass", "a")]


def test_a_callers_own_earlier_alarm_is_kept(hanging_plugin, tmp_path: Path) -> None:
    """The limit sets the interval timer again when the check ends: a timer that was running (a
    caller's alarm, as tests/cli.py's guard is) still fires, less the time spent."""
    import signal

    fired: list[int] = []

    def callers_handler(signum: int, frame: object) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, callers_handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        with time_limit.time_limit(0.4):
            time.sleep(0.1)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0.1 < left <= 0.5
        assert signal.getsignal(signal.SIGALRM) is callers_handler
        time.sleep(left + 0.3)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
