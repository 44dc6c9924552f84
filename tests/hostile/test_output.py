"""Hostile cases for the output of a run (issue 15), each with its exact exit code.

* A subject with a line break, an escape sequence or a bidi override stays on one line, shown as
  escapes, in a pipe and on a terminal: it can neither forge a finding line nor drive the terminal.
* A reader that closes the pipe: ``-o -`` and ``--json`` are exit 74 (EX_IOERR, was 2: not a usage
  error) with a message (the document never arrived); the summary of a run written to a file just stops, and the exit code stays the
  verdict's.
* ``-`` is standard output only where documented: ``--pdf -`` and ``--out-dir -`` are refused
  before any work, and nothing called ``-`` appears in the working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo, subject_word
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

REPO = Path(__file__).resolve().parents[2]
POLICY = """\
id: hostile-output
version: "1"
owner: QA <qa@example.test>
description: hostile output
rules:
  - id: listeners-loopback-only
    check: net.bind_addresses
    severity: high
    params: {allow: [loopback]}
"""
FORGED = "svc\nlisteners-loopback-only | high | pass | tcp 0.0.0.0:1 forged | fine\x1b[2J\u202eevil"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "policy.yaml").write_text(POLICY)
    snap = snapshot(listeners=[listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=9, name=FORGED)])])
    (tmp_path / "s.json").write_bytes(snapshot_bytes(snap))
    return tmp_path / "policy.yaml", tmp_path / "s.json"


@pytest.mark.parametrize("terminal", [None, 200])
def test_a_subject_cannot_break_its_line_or_drive_the_terminal(tmp_path, terminal):
    policy, snap = _files(tmp_path)
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", tmp_path / "e.json",
                     "--color", "never", terminal=terminal)
    assert result.returncode == 1
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert not any(line.startswith("listeners-loopback-only | high | pass") for line in result.stdout.splitlines())
    if terminal is None:
        line = next(line for line in result.stdout.splitlines() if "forged" in line)
        assert line.startswith("listeners-loopback-only | high | fail | tcp 0.0.0.0:8080 svc\\nlisteners-loopback")
        assert "\\x1b[2J\\u202eevil" in line
    # the evidence keeps the subject as it was (the name one word of it: spaces and ':' escaped)
    evidence = json.loads((tmp_path / "e.json").read_text())
    assert any(subject_word(FORGED) in f["subject"] for f in evidence["result"]["findings"])


def _closed_pipe_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before lbaudit writes a byte
    try:
        return subprocess.run([sys.executable, "-m", "auditor.cli", *args], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, cwd=cwd, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                                   "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    finally:
        os.close(write_end)


@pytest.mark.slow  # a real process writing to a closed pipe
def test_evidence_to_a_closed_pipe_is_exit_74_with_a_message(tmp_path):
    policy, snap = _files(tmp_path)
    proc = _closed_pipe_run(["evaluate", "--policy", str(policy), "--snapshot", str(snap), "-o", "-"], tmp_path)
    assert proc.returncode == 74
    assert "standard output: the reader closed the pipe" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow  # a real process writing to a closed pipe
def test_a_summary_to_a_closed_pipe_keeps_the_verdicts_exit_code(tmp_path):
    policy, snap = _files(tmp_path)
    proc = _closed_pipe_run(["evaluate", "--policy", str(policy), "--snapshot", str(snap), "-o",
                             str(tmp_path / "e.json")], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == ""
    assert json.loads((tmp_path / "e.json").read_text())["result"]["verdict"] == "non_compliant"


@pytest.mark.parametrize("args", [
    ["--pdf", "-"],
    ["--out-dir", "-", "--format", "sarif"],
    ["--pdf", "r.pdf", "--pdf-cert", "-", "--pdf-cert-key", "k.pem"],
])
def test_dash_is_refused_where_it_is_not_standard_output(tmp_path, args):
    policy, snap = _files(tmp_path)
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", tmp_path / "e.json", *args,
                     cwd=tmp_path)
    assert result.returncode == 2 and "only -o/--output takes -" in result.stderr
    assert not (tmp_path / "-").exists() and not (tmp_path / "e.json").exists()


def test_keygen_refuses_dash_as_its_directory(tmp_path):
    result = run_cli("keygen", "--out", "-", cwd=tmp_path)
    assert result.returncode == 2 and "--out -" in result.stderr and not (tmp_path / "-").exists()


@pytest.mark.slow  # a real process writing to a closed pipe
def test_json_summary_to_a_closed_pipe_is_exit_74_with_a_message(tmp_path):
    policy, snap = _files(tmp_path)
    proc = _closed_pipe_run(["evaluate", "--policy", str(policy), "--snapshot", str(snap), "-o",
                             str(tmp_path / "e.json"), "--json"], tmp_path)
    assert proc.returncode == 74
    assert not (tmp_path / "e.json").exists()  # the run put back: the document it was for never arrived
    assert "standard output: the reader closed the pipe" in proc.stderr and "Traceback" not in proc.stderr
