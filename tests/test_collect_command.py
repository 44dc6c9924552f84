"""``lbaudit collect``: facts only, into a snapshot, from this host or from a root directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.model.facts import GapKind
from auditor.storage.snapshot import load_snapshot
from tests.cli import Result, run_cli

REPO = Path(__file__).resolve().parent.parent
ROOTS = REPO / "tests" / "fixtures" / "roots"


def lbaudit(*args: object) -> Result:
    return run_cli(*args, cwd=REPO)


def image(tmp_path: Path) -> Path:
    """One root with the sysctl, socket unit and audit fixtures, and host files of its own."""
    root = tmp_path / "image"
    for name in ("sysctl-precedence", "socket-units", "audit-rules"):
        shutil.copytree(ROOTS / name, root, symlinks=True, dirs_exist_ok=True)
    (root / "etc/hostname").write_text("image01.example.test\n")
    (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "usr/lib/os-release").write_text('NAME="Fixture Linux"\nPRETTY_NAME="Fixture Linux 1.0"\n')
    os.symlink("../usr/lib/os-release", root / "etc/os-release")
    wants = root / "etc/systemd/system/sockets.target.wants"
    wants.mkdir()
    os.symlink("/usr/lib/systemd/system/web.socket", wants / "web.socket")
    return root


def test_collect_root_directory_writes_a_snapshot_of_the_image(tmp_path: Path):
    root = image(tmp_path)
    out = tmp_path / "image.snapshot.json"
    proc = lbaudit("collect", "--output", str(out), "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    assert f"snapshot: {out}" in proc.stdout and "source: root" in proc.stdout
    snap = load_snapshot(out)
    prov = snap.provenance
    assert (prov.hostname, prov.machine_id, prov.os) == ("image01.example.test", "0123456789abcdef0123456789abcdef", "Fixture Linux 1.0")
    assert prov.kernel is None and prov.source == "snapshot" and prov.source_detail == str(out)
    assert {l.port for l in snap.facts.sockets.listeners} >= {80, 443, 8080, 5353, 6001}
    assert snap.facts.sysctl.persistent["net.ipv4.tcp_max_tw_buckets"].origin == "/etc/sysctl.conf:2"
    assert snap.facts.audit.persistent_rules and snap.facts.audit.loaded_rules is None
    runtime_only = {(g.section, g.field) for g in snap.gaps if g.kind == GapKind.NOT_APPLICABLE}
    assert runtime_only == {("sockets", "listeners"), ("sockets", "counts"), ("sysctl", "runtime"),
                            ("audit", "enabled"), ("audit", "loaded_rules"), ("audit", "io_uring"), ("netns", "")}


@pytest.mark.live
def test_collect_live_sections_only(tmp_path: Path):
    out = tmp_path / "host.snapshot.json"
    proc = lbaudit("collect", "-o", str(out), "--section", "sysctl")
    assert proc.returncode == 0, proc.stderr
    snap = load_snapshot(out)
    assert snap.facts.sysctl is not None and snap.facts.sysctl.runtime
    assert snap.facts.sockets is None and snap.facts.audit is None
    assert set(snap.provenance.methods) == {"sysctl"}


def test_collect_bad_root_is_a_usage_error(tmp_path: Path):
    for bad, words in ((tmp_path / "missing", "no such directory"), (Path("/etc/hostname"), "not a directory")):
        proc = lbaudit("collect", "-o", str(tmp_path / "x.json"), "--root", str(bad))
        assert proc.returncode == 2 and words in proc.stderr
    assert not (tmp_path / "x.json").exists()
