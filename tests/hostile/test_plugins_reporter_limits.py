"""A reporter plugin cannot hold ``evaluate --format`` or ``report`` forever, nor render without end.

A plugin's check has had a time limit (tests/hostile/test_plugins_hang.py); a reporter plugin had
none: one that looped, slept or waited on a socket (or raised an exception whose text never came)
hung ``lbaudit evaluate --format X`` and ``lbaudit report E --format X`` forever.  Its rendering
now has one (``auditor.engine.time_limit.PLUGIN_REPORTER_SECONDS``, 120 s; shortened here so the
test is quick): past it the run is exit 2 naming the format, as for any other failure of a
reporter plugin, and the run's files are put back (nothing half-written).  What it renders is
bounded too (``auditor.pipeline.MAX_PLUGIN_REPORT_BYTES``, 256 MiB; lowered here): more was written
whole.  Its own KeyboardInterrupt is its failure, as a check plugin's is.  The plugin is a real
installed distribution on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import pipeline
from auditor.engine import time_limit
from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "audit-rules"  # corp.yaml fails there: exit 1

PLUGIN = """
import os
import socket
import time

from auditor.report import Reporter


class Endless(Exception):
    def __str__(self):
        while True:
            pass


class Growing(bytes):
    def __bytes__(self):
        while True:
            pass


def _render(evidence, context):
    mode = os.environ["LIMPLUG_MODE"]
    if mode == "loop":
        while True:
            pass
    if mode == "sleep":
        time.sleep(3600)
    if mode == "swallow":
        while True:
            try:
                time.sleep(3600)
            except Exception:
                pass
    if mode == "socket":
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname())
        client.recv(1)  # nobody ever writes
    if mode == "endless-text":
        raise Endless()
    if mode == "endless-bytes":
        return Growing(b"x")
    if mode == "huge":
        return b"x" * 4097
    if mode == "interrupt":
        raise KeyboardInterrupt("from the reporter")
    return b"y" * 4096


REPORTER = Reporter(name="limited", extension=".txt", description="a hostile reporter", render=_render)
"""

TIMEOUT = 10  # the test's own bound: a hang fails the test instead of holding the suite


@pytest.fixture
def reporter_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "limplug", PLUGIN, "[lbaudit.reporters]\nlimited = limplug:REPORTER\n")
    monkeypatch.setattr(time_limit, "PLUGIN_REPORTER_SECONDS", 0.25, raising=False)
    monkeypatch.setattr(pipeline, "MAX_PLUGIN_REPORT_BYTES", 4096, raising=False)


def _evaluate(tmp_path: Path, mode: str):
    evidence, out_dir = tmp_path / "e.json", tmp_path / "out"
    result = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output", evidence,
                     "--format", "limited", "--out-dir", out_dir, "-q", env={"LIMPLUG_MODE": mode}, timeout=TIMEOUT)
    return result, evidence, out_dir


@pytest.mark.parametrize("mode", ["loop", "sleep", "swallow", "socket", "endless-bytes"])
def test_a_reporter_plugin_that_never_ends_is_exit_2_naming_it_and_writes_nothing(reporter_plugin, tmp_path: Path,
                                                                                  mode: str) -> None:
    result, evidence, out_dir = _evaluate(tmp_path, mode)
    assert result.returncode == 2, result.stderr
    assert ("report format 'limited' (a reporter plugin) did not finish: the reporter ran longer than 0.25 s "
            "and was stopped; nothing was written") in result.stderr
    assert not evidence.exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_a_reporter_plugin_whose_exception_has_no_end_of_text_is_exit_2(reporter_plugin, tmp_path: Path) -> None:
    result, evidence, _ = _evaluate(tmp_path, "endless-text")
    assert result.returncode == 2, result.stderr
    assert ("report format 'limited' (a reporter plugin) failed to render: Endless: (its text could not be made: "
            "ReporterTimedOut: the reporter ran longer than 0.25 s and was stopped); nothing was written") in result.stderr
    assert not evidence.exists()


def test_report_from_evidence_with_a_hanging_reporter_plugin_is_exit_2(reporter_plugin, tmp_path: Path) -> None:
    evidence = tmp_path / "e.json"
    made = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output", evidence, "-q")
    assert made.returncode == 1, made.stderr
    result = run_cli("report", evidence, "--format", "limited", "--out-dir", tmp_path / "out",
                     env={"LIMPLUG_MODE": "sleep"}, timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert "report format 'limited' (a reporter plugin) did not finish: the reporter ran longer than 0.25 s" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_reporter_plugin_rendering_more_than_the_bound_is_exit_2_and_writes_nothing(reporter_plugin,
                                                                                     tmp_path: Path) -> None:
    result, evidence, out_dir = _evaluate(tmp_path, "huge")
    assert result.returncode == 2, result.stderr
    assert ("report format 'limited' (a reporter plugin) rendered 4,097 bytes; a reporter plugin may render at "
            "most 4,096; nothing was written") in result.stderr
    assert not evidence.exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_a_reporter_plugins_own_keyboard_interrupt_is_its_failure(reporter_plugin, tmp_path: Path) -> None:
    # A real process: lbaudit's own signal handlers, which tell a raise from a Ctrl-C (in-process,
    # Python's SIGINT handler is in place and every KeyboardInterrupt is the user's).
    evidence, out_dir = tmp_path / "e.json", tmp_path / "out"
    environment = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{REPO}", "LIMPLUG_MODE": "interrupt"}
    environment.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(REPO / "policies" / "corp.yaml"),
                             "--root", str(ROOT), "--output", str(evidence), "--format", "limited", "--out-dir",
                             str(out_dir), "-q"], cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("lbaudit: report format 'limited' (a reporter plugin) failed to render: KeyboardInterrupt: "
                             "from the reporter; nothing was written\n")
    assert not evidence.exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_control_case_a_reporter_plugin_within_its_bounds_renders(reporter_plugin, tmp_path: Path) -> None:
    result, _, out_dir = _evaluate(tmp_path, "ok")
    assert result.returncode == 1, result.stderr
    assert [p.read_bytes() for p in out_dir.iterdir()] == [b"y" * 4096]
