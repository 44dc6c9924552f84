"""A host's directory holding several snapshots fails the host, its reason naming them: every one
of them, so a directory of 20,000 (names of 120 characters) made a reason of 2.5 MB, written into
the fleet summary, the JUnit, the HTML overview, the terminal and (with --record) the store.  The
reason now names the first ten and counts the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import REPO, run_cli

POLICY = REPO / "policies" / "corp.yaml"


def test_a_host_directory_of_many_snapshots_is_refused_with_a_bounded_reason(tmp_path: Path):
    host = tmp_path / "fetch" / "web01"
    host.mkdir(parents=True)
    names = sorted(f"{number:05d}-{'x' * 100}.snapshot.json" for number in range(20_000))
    for name in names:
        (host / name).touch()
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", POLICY,
                     "--out-dir", tmp_path / "out", "--jobs", "1", "-q", timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    [row] = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert (row["host"], row["verdict"], row["exit_code"]) == ("web01", None, 2)
    assert row["error"] == (f"{host}: 20,000 snapshots in the host's directory, expected one: "
                            + ", ".join(names[:10]) + ", and 19,990 more")
    assert (tmp_path / "out" / "fleet.junit.xml").stat().st_size < 10_000
