"""A snapshot could still take a judging process's memory through the lists no section limit
counts: a listener's process's command line (argv), an interface's addresses, a namespace's
process ids or workloads, published ports, TPROXY rules, local routes, an audit rule's fields...
A 15 MB snapshot of one process with 3,000,000 arguments (within the 64 MiB a snapshot may be and
within every --max-... of auditor.storage.snapshot.SECTION_LIMITS) peaked at 483 MiB in
``lbaudit evaluate --snapshot`` and was judged (exit 3), and 3,000,000 addresses of one interface
wrote 96 MB of evidence; a fleet worker judged either alike.  Every snapshot read now has a
catch-all limit on the JSON values it holds, counted on its bytes before it is parsed
(tests/hostile/test_limits16_values_before_parse.py) (--max-snapshot-records, default 2,000,000, well above the 730,000 of a
snapshot of 5,000 listeners and 5,000 furnished namespaces): one with more is refused, exit 2 for
evaluate, that host failed for the fleet, naming the count and the option.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import REPO, run_cli, run_measuring_peak
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"
HOSTILE_ITEMS = 3_000_000
# The arguments parsed and counted cost about 306 MiB (each its own string); built and judged, 483 MiB.
PEAK_BOUND = 400 * 1024 * 1024


def _document(name: str = "crowded", number: int = 1) -> dict:
    return json.loads(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name,
                                              machine_id=f"{number:032x}", collected_at=datetime.now(timezone.utc))))


def _with_argv(document: dict, count: int) -> dict:
    document["facts"]["sockets"]["listeners"][0]["processes"] = [
        {"pid": 1000, "name": "sshd", "exe": "/usr/sbin/sshd", "argv0": "sshd", "cmdline": ["-D"] * count}]
    return document


def _with_addresses(document: dict, count: int) -> dict:
    document["facts"]["netns"]["namespaces"] = [{"inode": 4026531840, "device": 4, "current": True, "interfaces": [
        {"name": "eth0", "index": 2, "kind": "physical", "up": True, "addresses": ["10.0.0.1/8"] * count}]}]
    return document


def _values(data: Any) -> int:
    """Every JSON value of ``data``, itself included: what --max-snapshot-records counts."""
    if isinstance(data, dict):
        return 1 + sum(_values(value) for value in data.values())
    if isinstance(data, list):
        return 1 + sum(_values(value) for value in data)
    return 1


def _write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(document, separators=(",", ":")).encode())
    return path


def _refusal(path: Path, count: int, maximum: int) -> str:
    return (f"{path}: records {count:,} JSON values, more than --max-snapshot-records {maximum:,}: not judged "
            "(each costs a judging process about 150 bytes of memory once built and judged; a host that really "
            "records so many is judged with a higher --max-snapshot-records)")


def _peak_evaluate(tmp_path: Path, path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    return run_measuring_peak(tmp_path / "peak", "evaluate", "--snapshot", path, "--policy", POLICY,
                              "-o", tmp_path / "e.json", "-q")


@pytest.mark.slow
def test_a_snapshot_of_millions_of_arguments_is_refused_before_its_models_are_built(tmp_path: Path):
    document = _with_argv(_document(), HOSTILE_ITEMS)
    path = _write(tmp_path / "crowded.snapshot.json", document)
    result, peak = _peak_evaluate(tmp_path, path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == f"lbaudit: {_refusal(path, _values(document), 2_000_000)}\n"
    assert not (tmp_path / "e.json").exists()
    # Parsed, counted and refused: its models and their judgement (483 MiB in all before) are never built.
    assert peak < PEAK_BOUND, peak


@pytest.mark.slow
def test_a_snapshot_of_millions_of_interface_addresses_is_refused_unjudged(tmp_path: Path):
    document = _with_addresses(_document(), HOSTILE_ITEMS)
    path = _write(tmp_path / "crowded.snapshot.json", document)
    result = run_cli("evaluate", "--snapshot", path, "--policy", POLICY, "-o", tmp_path / "e.json", "-q")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == f"lbaudit: {_refusal(path, _values(document), 2_000_000)}\n"
    assert not (tmp_path / "e.json").exists()  # 96 MB of evidence before


def test_max_snapshot_records_sets_the_limit_of_evaluate(tmp_path: Path):
    document = _with_argv(_document(), 40)
    path = _write(tmp_path / "s.snapshot.json", document)
    counted = _values(document)
    refused = run_cli("evaluate", "--snapshot", path, "--policy", POLICY, "-o", tmp_path / "e.json", "-q",
                      "--max-snapshot-records", counted - 1)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr == f"lbaudit: {_refusal(path, counted, counted - 1)}\n"
    assert not (tmp_path / "e.json").exists()
    judged = run_cli("evaluate", "--snapshot", path, "--policy", POLICY, "-o", tmp_path / "e.json", "-q",
                     "--max-snapshot-records", counted)
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
    assert (tmp_path / "e.json").exists()


def test_max_snapshot_records_without_a_snapshot_is_a_usage_error(tmp_path: Path):
    result = run_cli("evaluate", "--root", tmp_path, "--policy", POLICY, "-o", tmp_path / "e.json",
                     "--max-snapshot-records", 10)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--max-snapshot-records limits what a --snapshot may record: give --snapshot as well" in result.stderr
    assert not (tmp_path / "e.json").exists()


def test_max_snapshot_records_above_what_any_document_may_hold_is_a_usage_error(tmp_path: Path):
    """A --max-snapshot-records above MAX_JSON_VALUES (the bound of every JSON document lbaudit reads)
    was accepted, and a snapshot between the two bounds was then refused by the other one, with a
    message that named neither the option nor its ceiling.  The option's range says it now."""
    from auditor.commands.options import MAX_SNAPSHOT_RECORDS_CEILING
    from auditor.storage.jsonfile import MAX_JSON_VALUES

    assert MAX_SNAPSHOT_RECORDS_CEILING == MAX_JSON_VALUES
    path = _write(tmp_path / "s.snapshot.json", _document())
    result = run_cli("evaluate", "--snapshot", path, "--policy", POLICY, "-o", tmp_path / "e.json",
                     "--max-snapshot-records", MAX_JSON_VALUES + 1)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{MAX_JSON_VALUES + 1} is not in the range 1<=x<={MAX_JSON_VALUES}" in result.stderr
    assert not (tmp_path / "e.json").exists()
    judged = run_cli("evaluate", "--snapshot", path, "--policy", POLICY, "-o", tmp_path / "e.json", "-q",
                     "--max-snapshot-records", MAX_JSON_VALUES)
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr


def _fleet(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "-q", "--jobs", "1",
                   *extra, timeout=300)


def _rows(out: Path) -> dict[str, dict]:
    return {row["host"]: row for row in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


@pytest.mark.slow
def test_a_fleet_host_of_millions_of_values_fails_alone_and_the_option_sets_the_limit(tmp_path: Path):
    fetch = tmp_path / "fetch"
    hostile = _with_argv(_document("crowded", 1), HOSTILE_ITEMS)
    crowded = _write(fetch / "crowded" / "lbaudit.snapshot.json", hostile)
    small = _document("small", 2)
    small_path = _write(fetch / "small" / "lbaudit.snapshot.json", small)
    result = _fleet(fetch, tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    rows = _rows(tmp_path / "out")
    assert (rows["crowded"]["verdict"], rows["crowded"]["exit_code"], rows["crowded"]["evidence"]) == (None, 2, None)
    assert rows["crowded"]["error"] == _refusal(crowded, _values(hostile), 2_000_000)
    assert not (tmp_path / "out" / "crowded.evidence.json").exists()
    assert rows["small"]["verdict"] is not None and rows["small"]["error"] is None

    crowded.unlink()
    crowded.parent.rmdir()  # a host directory without a snapshot fails its host
    counted = _values(small)
    refused = _fleet(fetch, tmp_path / "out2", "--max-snapshot-records", counted - 1)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert _rows(tmp_path / "out2")["small"]["error"] == _refusal(small_path, counted, counted - 1)
    judged = _fleet(fetch, tmp_path / "out3", "--max-snapshot-records", counted)
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
    assert _rows(tmp_path / "out3")["small"]["error"] is None


def test_the_options_default_and_cost_are_the_snapshot_readers():
    from auditor.commands import options
    from auditor.storage import snapshot as snapshot_module

    assert options.DEFAULT_MAX_SNAPSHOT_RECORDS == snapshot_module.DEFAULT_MAX_SNAPSHOT_RECORDS == 2_000_000
    assert options.SNAPSHOT_RECORDS_COST == snapshot_module.SNAPSHOT_RECORDS_COST
    from auditor.storage.jsonfile import json_values_in_bytes

    # Counted on the bytes, before the parse: exactly what walking the parse counts, once over the limit.
    for document in (_with_argv(_document(), 40), 7, [], {}, [[], {}, " [,{ ", 'a\\"b,', {"k": [1, {}]}]):
        raw = json.dumps(document).encode()
        assert json_values_in_bytes(raw, 0) == _values(document), document
        assert json_values_in_bytes(raw, 10**9) <= 10**9


@pytest.mark.slow
def test_the_default_is_well_above_a_snapshot_of_5000_listeners_and_5000_namespaces():
    from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace, ProcessInfo, SysctlSetting, Workload
    from auditor.storage.jsonfile import json_values_in_bytes
    from auditor.storage.snapshot import DEFAULT_MAX_SNAPSHOT_RECORDS
    from tests.factories import LINUX_DEFAULT_SYSCTLS

    def process(pid: int) -> ProcessInfo:
        return ProcessInfo(pid=pid, name="nginx", exe="/usr/sbin/nginx", user="www-data", argv0="nginx: worker process",
                           cmdline_sha256="0" * 64, cmdline=["nginx", "-g", "daemon off;"])

    sysctl = {key: SysctlSetting(value=value, origin="/proc/sys/" + key.replace(".", "/"))
              for key, value in LINUX_DEFAULT_SYSCTLS.items()}
    namespaces = [NetNamespace(
        inode=4026540000 + i, device=4, pids=[100_000 + i, 200_000 + i], entered=True, sysctl=sysctl, tproxy=[],
        local_routes=[], listeners=[listener("0.0.0.0", 8080, processes=[process(100_000 + i)])],
        interfaces=[NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"]),
                    NetInterface(name="eth0", index=2, kind="veth", up=True, peer_index=5,
                                 addresses=[f"10.1.{i >> 8}.{i & 255}/16", "fe80::1/64"])],
        workloads=[Workload(runtime="docker", id=f"{i:064x}", name=f"c{i}", image="nginx:1", pids=[100_000 + i])])
        for i in range(4_999)]
    big = snapshot(listeners=[listener("10.0.0.1", 1024 + i, uid=33, user="www-data", inode=10_000 + i,
                                       processes=[process(1000 + i), process(7000 + i)]) for i in range(5_000)],
                   netns=NamespaceFacts(namespaces=[NetNamespace(inode=4026531840, device=4, current=True), *namespaces],
                                        published=[], published_sources=["nat"]),
                   hostname="big", machine_id="1" * 32, collected_at=datetime.now(timezone.utc))
    counted = json_values_in_bytes(snapshot_bytes(big), 0)
    assert 600_000 < counted < DEFAULT_MAX_SNAPSHOT_RECORDS / 2.5, counted
