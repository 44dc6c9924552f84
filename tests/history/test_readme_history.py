"""Every lbaudit command of the README's history section, run as written (issue 11: the README's
commands are run by a test), on the snapshots the section describes."""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.cli import REPO, run_cli
from tests.history.scans import record_scan, write_scan_snapshot

SECTION = "## History: every run recorded, verifiable"


def _blocks() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [[line.strip() for line in block.strip().splitlines()]
            for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def _run_block(lines: list[str], cwd: Path, env: dict[str, str], substitute=lambda arg: arg) -> list[tuple]:
    results = []
    for line in lines:
        command, _, comment = line.partition("  #")
        words = shlex.split(command)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        assert words[0] == "lbaudit", line
        expected = int(m.group(1)) if (m := re.search(r"exit (\d+)", comment)) else 0
        redirect = None
        if ">" in words:
            redirect = cwd / words[words.index(">") + 1]
            words = words[:words.index(">")]
        args: list[str] = []
        for word in words[1:]:
            args += sorted(glob.glob(str(cwd / word))) if "*" in word else [substitute(word)]
        result = run_cli(*args, cwd=cwd, env=env)
        assert result.returncode == expected, (line, result.returncode, result.stderr)
        if redirect is not None:
            redirect.write_text(result.stdout)
        results.append((line, result))
    return results


@pytest.mark.slow  # the README's history commands, each a run
def test_the_readme_history_commands_run_as_documented(tmp_path):
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    write_scan_snapshot(tmp_path / "monday.snapshot.json", wildcard_redis=False)
    write_scan_snapshot(tmp_path / "tuesday.snapshot.json", wildcard_redis=True)
    (tmp_path / "old-scans").mkdir()
    for name in ("a", "b"):  # earlier scans of another host, kept as files before there was a store
        evidence, _ = record_scan(tmp_path / "old-scans", str(tmp_path / "scratch.db"), name, wildcard_redis=False,
                                  hostname="db01.example.test", machine_id="fedcba9876543210fedcba9876543210")
    for stray in (tmp_path / "old-scans").glob("*.snapshot.json"):
        stray.unlink()

    results = dict(_run_block(_blocks()[0], tmp_path, {}))
    diff = next(r for line, r in results.items() if line.startswith("lbaudit history diff  "))
    assert "tcp 0.0.0.0:6379 redis-server" in diff.stdout
    assert (tmp_path / "trend.csv").read_text().startswith("day,runs,pass,fail,")
    assert (tmp_path / "monday-again.json").read_bytes() == (tmp_path / "monday.json").read_bytes()
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "history.db").is_file()
    final = json.loads(next(r for line, r in results.items() if line == "lbaudit history verify --json").stdout)
    assert final["ok"] is True and final["runs"] == 3  # web01's two (run 1 attested, kept) and db01's newest


def test_the_readme_postgresql_commands_run_against_a_real_server(tmp_path, postgres_server):
    url = postgres_server.url(postgres_server.create_database())
    evidence, _ = record_scan(tmp_path, str(tmp_path / "scratch.db"), "monday", wildcard_redis=False)
    evidence.rename(tmp_path / "monday.json")
    documented = "postgresql+psycopg://lbaudit@/lbaudit?host=/run/postgresql"
    lines = _blocks()[1]
    assert all(documented in line for line in lines)
    results = _run_block(lines, tmp_path, {}, substitute=lambda arg: url if arg == documented else arg)
    listed, verified = results[1][1], results[2][1]
    assert "web01.example.test" in listed.stdout and "history verified" in verified.stdout
