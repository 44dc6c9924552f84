"""Every command of the README's "Scheduled scans" section, run: the schedule commands into an image
root (``--root``), the monitoring commands with the host paths moved into a temporary directory."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.report.test_prometheus import parse, values
from tests.schedule.conftest import REPO, tree

SECTION = "## Scheduled scans"


def _section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION + "\n")
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def _blocks(fence: str) -> list[list[str]]:
    blocks = re.finditer(r"^ *```(\w*)\n(.*?)^ *```", _section(), flags=re.S | re.M)
    return [[line.strip() for line in match.group(2).strip().splitlines()]
            for match in blocks if match.group(1) == fence]


def _commands() -> list[list[str]]:
    blocks = _blocks("sh")
    assert len(blocks) == 2, "the section's sh blocks: scheduling, monitoring"
    for block in blocks:
        for line in block:
            assert line.startswith("lbaudit "), f"a README command this test does not run: {line!r}"
    return [[shlex.split(line)[1:] for line in block] for block in blocks]


def _moved(argv: list[str], places: dict[str, Path]) -> list[str]:
    moved = []
    for arg in argv:
        for host_path, here in places.items():
            if arg.startswith(host_path):
                arg = str(here) + arg[len(host_path):]
        moved.append(arg)
    return moved


def test_scheduling_commands(image_root):
    (scheduling, _) = _commands()
    assert [argv[:2] for argv in scheduling] == [["keygen", "--out"], ["schedule", "install"], ["schedule", "remove"],
                                                 ["schedule", "install"], ["schedule", "remove"]]
    before = tree(image_root)
    for argv in scheduling:
        if argv[0] == "keygen":
            argv = _moved(argv, {"/etc/lbaudit": image_root / "etc/lbaudit"})
            before = None
        else:
            argv = [*argv, "--root", str(image_root)]
        result = run_cli(*argv)
        assert result.returncode == 0, (argv, result.stderr)
        if before is None:
            before = tree(image_root)  # after the key: what remove must come back to
        if argv[:2] == ["schedule", "install"]:
            backend = argv[argv.index("--backend") + 1]
            written = image_root / ("etc/cron.d/lbaudit" if backend == "cron" else "etc/systemd/system/lbaudit-scan.timer")
            assert written.is_file()
    assert tree(image_root) == before


def test_the_cron_line_shown_is_the_one_install_writes(image_root):
    (shown,) = _blocks("")
    assert run_cli("keygen", "--out", image_root / "etc/lbaudit").returncode == 0
    result = run_cli("schedule", "install", "--backend", "cron", "--policy", "/etc/lbaudit/corp.yaml",
                     "--sign-key", "/etc/lbaudit/lbaudit.key", "--executable", "/usr/local/bin/lbaudit",
                     "--root", image_root)
    assert result.returncode == 0, result.stderr
    job = (image_root / "etc/cron.d/lbaudit").read_text(encoding="utf-8").splitlines()[-1]
    assert shown == [job]


@pytest.mark.live  # evaluate reads this host, as the README's command does
def test_monitoring_commands(image_root, tmp_path):
    (_, monitoring) = _commands()
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()
    places = {"/etc/lbaudit": image_root / "etc/lbaudit", "/var/lib/prometheus/node-exporter": textfiles,
              "/var/lib/lbaudit": tmp_path / "state"}
    evaluate, report = (_moved(argv, places) for argv in monitoring)
    assert evaluate[0] == "evaluate" and report[0] == "report"
    evaluated = run_cli(*evaluate)
    assert evaluated.returncode in (0, 1, 3), evaluated.stderr
    prom = textfiles / "corp-baseline.prom"
    assert values(parse(prom.read_text(encoding="utf-8"))["lbaudit_exit_code"]) == {(): evaluated.returncode}
    prom.unlink()
    reported = run_cli(*report)
    assert reported.returncode == 0, reported.stderr
    assert values(parse(prom.read_text(encoding="utf-8"))["lbaudit_exit_code"]) == {(): evaluated.returncode}
