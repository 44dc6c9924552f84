"""A plugin check that takes the time limit's signal away and never ends.

A plugin's check is stopped by SIGALRM after its time limit (``PLUGIN_CHECK_SECONDS``,
tests/hostile/test_plugins_hang.py).  A check that first ignored SIGALRM
(``signal.signal(SIGALRM, SIG_IGN)``), put a handler of its own in its place, or cancelled the
interval timer (``signal.setitimer(ITIMER_REAL, 0)``) and then looped held ``lbaudit evaluate``
forever.  Now a plugin's code cannot change the process's signal handlers or its interval timer
(a change is refused with an error the check raises, its error finding), and a check that gets
past that and runs on is stopped from a watchdog thread all the same: past its limit, an ``error``
finding, the other rules judged, and the handlers as lbaudit had them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.hostile._plugins18 import ROOT, run_lbaudit, write_plugin, write_policy

pytestmark = pytest.mark.slow  # a real lbaudit process per case

PLUGIN = """
import signal
import _signal

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


@check(name="hostplug.act", title="A plugin that takes the alarm away", version="1", needs=["sysctl"],
       params=Params, severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def act(snapshot, params):
    try:
        if params.mode == "ignore":
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        elif params.mode == "handler":
            signal.signal(signal.SIGALRM, lambda signum, frame: None)
        elif params.mode == "cancel":
            signal.setitimer(signal.ITIMER_REAL, 0)
        elif params.mode == "alarm":
            signal.alarm(0)
        elif params.mode == "low-level":
            _signal.signal(_signal.SIGALRM, _signal.SIG_IGN)  # past any guard of the signal module
    except Exception:
        pass  # a refused change swallowed: the loop below must still be stopped
    while True:
        pass
    yield passed("a", "finished")
"""


@pytest.mark.parametrize("mode", ["ignore", "handler", "cancel", "alarm", "low-level"])
def test_a_plugin_check_that_takes_the_alarm_away_is_still_stopped(tmp_path: Path, mode: str) -> None:
    site = write_plugin(tmp_path / "site", PLUGIN, "[lbaudit.checks]\nhostplug = hostplug\n")
    policy = write_policy(tmp_path / "p.yaml", mode)
    started = time.monotonic()
    result = run_lbaudit(site, "evaluate", "--policy", policy, "--root", ROOT, "-o", tmp_path / "e.json", "-q",
                         cwd=tmp_path, timeout=25)  # on main: the run never ends (TimeoutExpired)
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr  # the next rule was judged: 10,001 ports < 16,384
    findings = json.loads((tmp_path / "e.json").read_text())["result"]["findings"]
    acted = [(f["status"], f["message"]) for f in findings if f["rule_id"] == "act"]
    assert acted == [("error", "the check did not finish")], acted
    assert "fail" in {f["status"] for f in findings if f["rule_id"] == "eph"}  # the next rule was judged


SLEEPER = """
import os
import time
from pathlib import Path

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    mode: str


@check(name="hostplug.act", title="A plugin that waits", version="1", needs=["sysctl"],
       params=Params, severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def act(snapshot, params):
    Path(os.environ["STARTED"]).write_text("started")
    time.sleep(20)
    yield passed("a", "finished")
"""


def test_control_case_sigterm_while_a_plugin_check_runs_is_still_the_users_stop(tmp_path: Path) -> None:
    """lbaudit's own SIGTERM handler sets the stopping signals aside as it runs, wherever the signal
    lands: in a plugin's code, where the signal module's setters refuse the plugin, it must not be
    refused (the user's stop became the check's PermissionError and the run went on)."""
    import os
    import signal
    import subprocess
    import sys

    from tests.hostile._plugins18 import MAIN, REPO

    site = write_plugin(tmp_path / "site", SLEEPER, "[lbaudit.checks]\nhostplug = hostplug\n")
    policy = write_policy(tmp_path / "p.yaml", "sleep")
    started = tmp_path / "started"
    env = {key: value for key, value in os.environ.items() if key != "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD"}
    env.update(PYTHONPATH=f"{REPO}{os.pathsep}{site}", STARTED=str(started))
    process = subprocess.Popen([sys.executable, "-c", MAIN.replace("= 0.5", "= 30"), "evaluate", "--policy",
                                str(policy), "--root", str(ROOT), "-o", str(tmp_path / "e.json"), "-q"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert started.exists(), process.communicate()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert b"PermissionError" not in stderr and b"may not change" not in stderr, stderr
    assert not (tmp_path / "e.json").exists()
