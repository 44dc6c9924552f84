"""One target's snapshot could take the controller's memory: a 62 MB snapshot of 260,000 listeners
(within the 64 MiB a snapshot may be) peaked at about 1.9 GB in the one fleet worker judging it, and
``fleet evaluate`` runs a worker per CPU.  A host whose snapshot records more listening sockets than
``--max-listeners`` (default 20,000: about 225 MiB a worker; the host's and its namespaces'
together) now fails alone, exit 2, unjudged, with the reason; the other hosts are judged.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.model.facts import NamespaceFacts, NetNamespace
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _listeners(count: int, net: int = 10) -> list:
    return [listener(f"{net}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", 1024 + i % 60000) for i in range(count)]


def _host(fetch: Path, name: str, number: int, **kw) -> Path:
    (fetch / name).mkdir(parents=True)
    path = fetch / name / "lbaudit.snapshot.json"
    write_snapshot(snapshot(hostname=name, machine_id=f"{number:032x}", collected_at=datetime.now(timezone.utc), **kw),
                   path)
    return path


def _fleet(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "-q", "--jobs", "1",
                   *extra, timeout=300)


def _rows(out: Path) -> dict[str, dict]:
    return {row["host"]: row for row in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def test_a_snapshot_of_more_listeners_than_the_default_limit_fails_its_host_alone(tmp_path: Path):
    fetch = tmp_path / "fetch"
    big = _host(fetch, "big", 1, listeners=_listeners(20_001))
    _host(fetch, "small", 2, listeners=[listener("127.0.0.1", 22)])
    result = _fleet(fetch, tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    rows = _rows(tmp_path / "out")
    assert (rows["big"]["verdict"], rows["big"]["exit_code"], rows["big"]["evidence"]) == (None, 2, None)
    assert rows["big"]["error"] == (
        f"{big}: records 20,001 listening sockets (the host's and its namespaces'), more than "
        "--max-listeners 20,000: not judged (a fleet worker's memory grows with each listener it judges; judge "
        "this host alone with lbaudit evaluate --snapshot, or give a higher --max-listeners)")
    assert not (tmp_path / "out" / "big.evidence.json").exists()
    assert rows["small"]["verdict"] is not None and rows["small"]["error"] is None


def test_listeners_of_other_namespaces_count_and_max_listeners_sets_the_limit(tmp_path: Path):
    fetch = tmp_path / "fetch"
    namespaces = NamespaceFacts(namespaces=[NetNamespace(inode=4026531840, device=4, current=True),
                                            NetNamespace(inode=4026532999, device=4, names=["app"], entered=True,
                                                         listeners=_listeners(60, net=11))],
                                published=[], published_sources=["nat"])
    crowded = _host(fetch, "crowded", 1, listeners=_listeners(41), netns=namespaces)
    result = _fleet(fetch, tmp_path / "out", "--max-listeners", "100")
    assert result.returncode == 2, result.stdout + result.stderr
    assert _rows(tmp_path / "out")["crowded"]["error"].startswith(
        f"{crowded}: records 101 listening sockets (the host's and its namespaces'), more than "
        "--max-listeners 100: not judged")
    judged = _fleet(fetch, tmp_path / "out2", "--max-listeners", "101")
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
    assert _rows(tmp_path / "out2")["crowded"]["error"] is None
