"""The installed cron line, run the way cron runs it: its exit status is the scan's verdict, and a
second scan while one runs is skipped with 75, never mistaken for a verdict."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.schedule.conftest import lbaudit_executable, subprocess_env
from tests.schedule.test_units import cron_jobs

# A rule every host with a loopback listener fails: only private addresses are allowed.
FAILING_POLICY = """\
id: cron-test
version: "1"
owner: Test <test@example.test>
rules:
  - id: no-loopback-listeners
    check: net.bind_addresses
    severity: high
    params:
      allow: [private]
"""


def cron_command(command: str) -> tuple[str, str]:
    """What cron hands to the shell, and to its stdin: ``\\%`` is ``%``; an unescaped ``%`` ends the
    command (the rest, with ``%`` as line breaks, is stdin)."""
    out, stdin, i, target = [], [], 0, None
    while i < len(command):
        char = command[i]
        if char == "\\" and command[i + 1:i + 2] == "%":
            (out if target is None else stdin).append("%")
            i += 2
            continue
        if char == "%":
            if target is None:
                target = stdin
            else:
                stdin.append("\n")
            i += 1
            continue
        (out if target is None else stdin).append(char)
        i += 1
    return "".join(out), "".join(stdin)


def cron_environment(text: str) -> dict[str, str]:
    env = {"HOME": "/root", "LOGNAME": "root"}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.isidentifier() and not line.startswith("#"):
            env[name] = value
    return env


@pytest.fixture
def installed_cron(image_root: Path, tmp_path: Path) -> tuple[str, Path]:
    """The cron file `schedule install --backend cron` writes, for a policy whose path needs quoting
    for the shell and escaping for cron (a space and a %), with paths that exist on this host too."""
    policy = tmp_path / "policies dir" / "100% strict.yaml"
    out_dir = tmp_path / "out"
    for base in (Path("/"), image_root):
        target = base / str(policy).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(FAILING_POLICY, encoding="utf-8")
        (base / str(tmp_path).lstrip("/")).mkdir(parents=True, exist_ok=True)
    result = run_cli("schedule", "install", "--backend", "cron", "--root", image_root, "--policy", policy,
                     "--out-dir", out_dir, "--store", tmp_path / "history.db", "--executable", lbaudit_executable())
    assert result.returncode == 0, result.stderr
    return (image_root / "etc/cron.d/lbaudit").read_text(encoding="utf-8"), out_dir


def _runnable(command: str) -> str:
    """The line's command as cron runs it (it records into the test's own store, given at install)."""
    assert " --record --trigger cron " in command + " "
    return command


@pytest.mark.slow  # the cron line through sh, flock and lbaudit
@pytest.mark.live
@pytest.mark.root
def test_the_cron_line_runs_and_keeps_the_scan_exit_code(installed_cron):
    text, out_dir = installed_cron
    ((times, user, command),) = cron_jobs(text)
    assert user == "root" and times == ["30", "2", "*", "*", "*"]
    shell_command, stdin = cron_command(_runnable(command))
    assert stdin == ""  # every % was escaped
    with socket.socket() as listener:  # a loopback listener the policy does not allow
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = {**cron_environment(text), "PYTHONPATH": subprocess_env()["PYTHONPATH"]}
        run = subprocess.run([env["SHELL"], "-c", shell_command], env=env, cwd="/", capture_output=True,
                             text=True, timeout=300)
    assert run.returncode == 1, run.stderr  # non-compliant, as the evidence says, not the 0 of a later command
    evidence = json.loads((out_dir / "cron-test.evidence.json").read_text(encoding="utf-8"))
    assert evidence["result"]["exit_code"] == 1 and evidence["result"]["verdict"] == "non_compliant"
    assert run.stdout == ""  # --quiet: cron mails only what went wrong


@pytest.mark.live
@pytest.mark.root
def test_a_second_scan_while_one_runs_exits_75(installed_cron):
    text, out_dir = installed_cron
    ((_, _, command),) = cron_jobs(text)
    shell_command, _ = cron_command(_runnable(command))
    lock = Path(str(sched.CRON_LOCK))
    if not lock.parent.is_dir():
        pytest.skip(f"{lock.parent} does not exist on this host")
    # made as the line makes it (umask 077): a lock file others can open, any user could hold
    with open(os.open(lock, os.O_RDWR | os.O_CREAT, 0o600), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        env = {**cron_environment(text), "PYTHONPATH": subprocess_env()["PYTHONPATH"]}
        run = subprocess.run(["/bin/sh", "-c", shell_command], env=env, cwd="/", capture_output=True, text=True,
                             timeout=60)
    assert run.returncode == sched.LOCK_BUSY_EXIT
    assert not out_dir.exists()  # the scan did not run


def test_cron_command_unescapes_percent():
    assert cron_command("echo 100\\% done%line1%line2") == ("echo 100% done", "line1\nline2")


