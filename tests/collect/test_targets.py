"""Targets own where facts come from: files, programs, /proc, runtime visibility (auditor.collect.targets),
and the one ``--target`` option of evaluate and collect with ``--root``/``--snapshot`` as aliases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor import pipeline
from auditor.cli import cli
from auditor.collect import CollectContext
from auditor.collect.sockets import collect_sockets
from auditor.collect.sysctl import SYSCTL_KEYS, collect_sysctl
from auditor.collect.targets import LocalHost, Replay, RootDir, SnapshotFile, parse_target
from auditor.model.facts import GapKind

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policies" / "corp.yaml"
ROOT = REPO / "tests" / "fixtures" / "roots" / "socket-units"
PROC_FIXTURES = REPO / "tests" / "fixtures" / "proc"


def _fake_proc(tmp_path: Path) -> Path:
    """A /proc tree of files: the sysctls the checks read, and the socket counters."""
    proc = tmp_path / "proc"
    for number, key in enumerate(SYSCTL_KEYS):
        path = proc / "sys" / key.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{1000 + number}\t{2000 + number}\n")
    (proc / "net").mkdir()
    for name in ("sockstat", "snmp"):
        shutil.copy(PROC_FIXTURES / name, proc / "net" / name)
    return proc


def test_runtime_sysctls_are_read_from_the_targets_proc(tmp_path: Path):
    proc = _fake_proc(tmp_path)
    (tmp_path / "root").mkdir()  # no sysctl.d files: this host's are not this test's business
    facts, gaps = collect_sysctl(CollectContext(target=LocalHost(root=tmp_path / "root", proc=str(proc))))
    assert [g for g in gaps if g.field.startswith("runtime")] == []
    setting = facts.runtime["net.ipv4.ip_local_port_range"]
    assert setting.value == f"{1000 + SYSCTL_KEYS.index('net.ipv4.ip_local_port_range')} " \
                            f"{2000 + SYSCTL_KEYS.index('net.ipv4.ip_local_port_range')}"
    assert setting.origin == f"{proc}/sys/net/ipv4/ip_local_port_range"


@pytest.mark.live
def test_socket_counters_are_read_from_the_targets_proc(tmp_path: Path):
    facts, _ = collect_sockets(CollectContext(target=LocalHost(proc=str(_fake_proc(tmp_path))),
                                              sections=frozenset({"sockets"})))
    assert facts.counts is not None and facts.counts.time_wait == 1  # "tw 1" in the fixture sockstat


def test_a_root_directory_runs_no_programs_and_has_no_runtime_facts(tmp_path: Path):
    target = RootDir(tmp_path)
    result = target.run(["auditctl", "-l"], 5.0)
    assert not result.ok and result.executable is None
    assert result.reason == "auditctl -l: offline root directory runs no programs"
    assert target.find_program("sh") is None
    facts, gaps = collect_sysctl(CollectContext(target=target))
    assert facts.runtime is None
    assert [(g.field, g.kind) for g in gaps if g.field == "runtime"] == [("runtime", GapKind.NOT_APPLICABLE)]


def test_the_older_context_spelling_builds_the_same_targets(tmp_path: Path):
    assert CollectContext(root=tmp_path, live=False).target == RootDir(tmp_path)
    live = CollectContext(program_path=(str(tmp_path),))
    assert live.target == LocalHost(program_path=(str(tmp_path),))
    assert (live.live, live.root) == (True, Path("/"))


def test_parse_target_forms(tmp_path: Path):
    assert parse_target("local") == LocalHost()
    assert parse_target(f"root:{tmp_path}") == RootDir(tmp_path)
    assert parse_target("snapshot:a.json", Path("k.pub")) == SnapshotFile(Path("a.json"), Path("k.pub"))
    assert parse_target(f"replay:{tmp_path}") == Replay(tmp_path)
    for bad in ("", "locale", "root:", "snapshot:", "ssh:web01", "/mnt/image"):
        with pytest.raises(ValueError, match="expected local, root:DIR, snapshot:FILE or replay:DIR"):
            parse_target(bad)


@pytest.mark.live
def test_provenance_names_the_target_of_a_live_run():
    snapshot = pipeline.acquire(LocalHost(), frozenset({"sysctl"}))
    assert (snapshot.provenance.source, snapshot.provenance.target_kind, snapshot.provenance.target_id) == \
        ("live", "local", "/")


# ---------------------------------------------------------------- the --target option

def _evaluate(*args: str):
    return CliRunner().invoke(cli, ["evaluate", "--policy", str(POLICY), "--no-plugins", "-q", *args])


def test_target_root_is_the_same_run_as_root(tmp_path: Path):
    by_target, by_root = tmp_path / "t.json", tmp_path / "r.json"
    first = _evaluate("--target", f"root:{ROOT}", "-o", str(by_target))
    second = _evaluate("--root", str(ROOT), "-o", str(by_root))
    assert first.exit_code == second.exit_code == 1, first.output
    a, b = json.loads(by_target.read_bytes()), json.loads(by_root.read_bytes())
    assert a["result"] == b["result"]
    assert a["snapshot"]["provenance"]["target_kind"] == "root"


def test_target_snapshot_is_the_same_run_as_snapshot(tmp_path: Path):
    snapshot = tmp_path / "s.json"
    collected = CliRunner().invoke(cli, ["collect", "--target", f"root:{ROOT}", "-q", "-o", str(snapshot)])
    assert collected.exit_code == 0, collected.output
    by_target, by_alias = tmp_path / "t.json", tmp_path / "a.json"
    first = _evaluate("--target", f"snapshot:{snapshot}", "-o", str(by_target))
    second = _evaluate("--snapshot", str(snapshot), "-o", str(by_alias))
    assert first.exit_code == second.exit_code == 1, first.output
    assert json.loads(by_target.read_bytes())["result"] == json.loads(by_alias.read_bytes())["result"]


@pytest.mark.parametrize("args, message", [
    (["--target", "local", "--root", "/"], "--target and --root are alternatives; give one"),
    (["--target", "local", "--snapshot", "x.json"], "--target and --snapshot are alternatives; give one"),
    (["--snapshot", "x.json", "--root", "/"], "--snapshot and --root are alternatives; give one"),
    (["--target", "ssh:web01"], "--target 'ssh:web01': expected local, root:DIR, snapshot:FILE or replay:DIR"),
    (["--target", "root:/", "--snapshot-pubkey", "k.pub"], "--snapshot-pubkey verifies a --snapshot"),
])
def test_conflicting_or_malformed_targets_are_usage_errors(tmp_path: Path, args: list[str], message: str):
    out = tmp_path / "e.json"
    result = _evaluate(*args, "-o", str(out))
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_collect_refuses_a_snapshot_target_and_two_targets(tmp_path: Path):
    out = tmp_path / "s.json"
    refused = CliRunner().invoke(cli, ["collect", "--target", "snapshot:x.json", "-o", str(out)])
    assert refused.exit_code == 2 and "a snapshot holds them already" in refused.output
    both = CliRunner().invoke(cli, ["collect", "--target", "local", "--root", str(ROOT), "-o", str(out)])
    assert both.exit_code == 2 and "--target and --root are alternatives" in both.output
    assert not out.exists()
