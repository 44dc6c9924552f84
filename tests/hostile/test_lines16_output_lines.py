"""What a command prints when it succeeds names the paths the user typed: ``policy: PATH``,
``wrote PATH``, ``linked PATH -> ...``, ``removed PATH``, ``private key: PATH``.  Error messages went
through auditor.text.terminal_lines, these lines did not: a path holding a carriage return, an
erase-line escape or a bidi override reached the terminal raw, and a line feed in it printed a line
of the path's own making.  Each such line is now printed through one helper
(auditor.commands.output.say), each character a terminal obeys shown as its escape."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.schedule.conftest import IMAGE_EXECUTABLE, POLICY, make_image_root

# A carriage return and an erase-line escape (the terminal rewrites the line), a right-to-left
# override (the rest displays reversed) and a line feed (a line of the name's own making).
HOSTILE = "x\r\x1b[2Kok\u202e\nwrote evil"
ESCAPED = "x\\x0d\\x1b[2Kok\\u202e\\nwrote evil"
RAW = ("\r", "\x1b", "\u202e")


def _assert_safe(text: str) -> None:
    assert not any(char in text for char in RAW), repr(text)


def test_init_names_a_hostile_policy_path_escaped_on_one_line(tmp_path: Path):
    directory = tmp_path / HOSTILE
    directory.mkdir()
    output = directory / "policy.yaml"

    result = run_cli("init", "-o", output)

    assert result.returncode == 0, result.stderr
    assert output.is_file()
    _assert_safe(result.stdout)
    assert result.stdout == (f"policy: {tmp_path}/{ESCAPED}/policy.yaml (0 listener exceptions; review it, then "
                             f"`lbaudit validate {tmp_path}/{ESCAPED}/policy.yaml`)\n")


def test_schedule_install_and_remove_name_a_hostile_root_escaped_on_one_line_each(tmp_path: Path):
    root = make_image_root(tmp_path / HOSTILE)

    installed = run_cli("schedule", "install", "--backend", "systemd", "--root", root,
                        "--executable", IMAGE_EXECUTABLE, "--policy", POLICY)

    assert installed.returncode == 0, installed.stderr
    _assert_safe(installed.stdout)
    shown = f"{tmp_path}/{ESCAPED}/image"
    assert installed.stdout.splitlines() == [
        f"wrote {shown}/etc/systemd/system/lbaudit-scan.service",
        f"wrote {shown}/etc/systemd/system/lbaudit-scan.timer",
        f"linked {shown}/etc/systemd/system/timers.target.wants/lbaudit-scan.timer -> "
        "/etc/systemd/system/lbaudit-scan.timer",
    ]

    removed = run_cli("schedule", "remove", "--root", root)

    assert removed.returncode == 0, removed.stderr
    _assert_safe(removed.stdout)
    assert len(removed.stdout.splitlines()) == 3
    assert all(line.startswith(f"removed {shown}/etc/systemd/system/") for line in removed.stdout.splitlines())


def test_schedule_install_dry_run_shows_a_hostile_root_escaped(tmp_path: Path):
    root = make_image_root(tmp_path / HOSTILE)

    result = run_cli("schedule", "install", "--backend", "cron", "--root", root, "--executable", IMAGE_EXECUTABLE,
                     "--policy", POLICY, "--dry-run")

    assert result.returncode == 0, result.stderr
    _assert_safe(result.stdout)
    assert result.stdout.splitlines()[0] == f"would write {tmp_path}/{ESCAPED}/image/etc/cron.d/lbaudit:"


def test_keygen_names_a_hostile_key_directory_escaped_on_one_line_each(tmp_path: Path):
    keys = tmp_path / HOSTILE

    result = run_cli("keygen", "--out", keys)

    assert result.returncode == 0, result.stderr
    _assert_safe(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"private key: {tmp_path}/{ESCAPED}/lbaudit.key (mode 0600: keep it secret)",
                         f"public key:  {tmp_path}/{ESCAPED}/lbaudit.pub (give it to whoever verifies)"]
    assert len(lines) == 3 and lines[2].startswith("fingerprint: ")
