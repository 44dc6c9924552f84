"""One target's snapshot could still take the controller's memory through its network namespaces:
each entered namespace is judged by every rule of the policy (its sysctls, its listeners, its
interfaces), about 32 KiB of a fleet worker's memory and 12 KiB of evidence each.  A 66 MB snapshot
of 60,000 namespaces, within the 64 MiB a snapshot may be and with no listener at all (so under
--max-listeners), peaked at 1.9 GB in the one worker judging it (corp.yaml) and wrote 704 MB of
evidence, with a worker per CPU.  A host whose snapshot records more namespaces than
``--max-namespaces`` (default 5,000: about 160 MiB a worker) now fails alone, exit 2, unjudged,
with the reason; the other hosts are judged.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.model.facts import NamespaceFacts, NetNamespace, SysctlSetting
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import LINUX_DEFAULT_SYSCTLS, listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _namespaces(count: int) -> NamespaceFacts:
    """The collector's own namespace and ``count - 1`` others entered, each with its running sysctls."""
    sysctl = {key: SysctlSetting(value=value, origin="/proc/sys/" + key.replace(".", "/"))
              for key, value in LINUX_DEFAULT_SYSCTLS.items()}
    return NamespaceFacts(namespaces=[NetNamespace(inode=4026531840, device=4, current=True)] + [
        NetNamespace(inode=4026540000 + i, device=4, pids=[100_000 + i], entered=True, listeners=[], sysctl=sysctl)
        for i in range(count - 1)], published=[], published_sources=["nat"])


def _host(fetch: Path, name: str, number: int, **kw) -> Path:
    (fetch / name).mkdir(parents=True)
    path = fetch / name / "lbaudit.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name, machine_id=f"{number:032x}",
                            collected_at=datetime.now(timezone.utc), **kw), path)
    return path


def _fleet(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "-q", "--jobs", "1",
                   *extra, timeout=300)


def _rows(out: Path) -> dict[str, dict]:
    return {row["host"]: row for row in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def test_a_snapshot_of_more_namespaces_than_the_default_limit_fails_its_host_alone(tmp_path: Path):
    fetch = tmp_path / "fetch"
    crowded = _host(fetch, "crowded", 1, netns=_namespaces(5_001))
    _host(fetch, "small", 2)
    result = _fleet(fetch, tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    rows = _rows(tmp_path / "out")
    assert (rows["crowded"]["verdict"], rows["crowded"]["exit_code"], rows["crowded"]["evidence"]) == (None, 2, None)
    assert rows["crowded"]["error"] == (
        f"{crowded}: records 5,001 network namespaces, more than --max-namespaces 5,000: not judged (a fleet "
        "worker's memory grows with each namespace it judges; judge this host alone with lbaudit evaluate "
        "--snapshot, or give a higher --max-namespaces)")
    assert not (tmp_path / "out" / "crowded.evidence.json").exists()
    assert rows["small"]["verdict"] is not None and rows["small"]["error"] is None


def test_max_namespaces_sets_the_limit(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _host(fetch, "crowded", 1, netns=_namespaces(4))
    assert _fleet(fetch, tmp_path / "out", "--max-namespaces", "3").returncode == 2
    assert _rows(tmp_path / "out")["crowded"]["error"].endswith(
        "records 4 network namespaces, more than --max-namespaces 3: not judged (a fleet worker's memory grows with "
        "each namespace it judges; judge this host alone with lbaudit evaluate --snapshot, or give a higher "
        "--max-namespaces)")
    judged = _fleet(fetch, tmp_path / "out2", "--max-namespaces", "4")
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
    assert _rows(tmp_path / "out2")["crowded"]["error"] is None
