"""A file lbaudit replaces (evidence, a report, a snapshot, through write_atomic) kept the old file's
mode whole: an evidence of mode 0666 was replaced by new evidence of mode 0666, which any user of the
host could then edit (and a set-user-ID or execute bit was carried onto a JSON document).  A replaced
file now gets at most what a new file would get (0664 less the umask: 0644 under the usual one, never
writable by others): an administrator's narrower mode (0600 evidence, a 0640 textfile) is kept, a
wider one is not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

OLD_EVIDENCE = '{"schema": "lbaudit/evidence", "previous": "run"}\n'


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("modes"), encoding="utf-8")
    snap = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), snap)
    return policy, snap


def test_evidence_and_reports_replacing_world_writable_files_are_not_world_writable(tmp_path: Path):
    policy, snap = _inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    assert run_cli("evaluate", "--policy", policy, "--snapshot", snap, "--out-dir", out, "--format", "sarif,junit",
                   "-q", umask=0o022).returncode == 1
    written = sorted(p.name for p in out.iterdir())
    assert written == ["modes.evidence.json", "modes.junit.xml", "modes.sarif"]
    for name in written:
        os.chmod(out / name, 0o666)
    os.chmod(out / "modes.sarif", 0o4777)  # set-user-ID and executable too

    assert run_cli("evaluate", "--policy", policy, "--snapshot", snap, "--out-dir", out, "--format", "sarif,junit",
                   "-q", umask=0o022).returncode == 1

    assert {name: _mode(out / name) for name in written} == dict.fromkeys(written, 0o644)


def test_a_snapshot_replacing_a_world_writable_one_gets_a_new_files_mode(tmp_path: Path):
    snap = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), snap)
    os.chmod(snap, 0o666)

    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), snap)

    assert _mode(snap) == 0o666 & ~_umask()


def test_a_narrower_mode_is_kept_and_the_umask_still_narrows(tmp_path: Path):
    policy, snap = _inputs(tmp_path)
    evidence = tmp_path / "e.json"
    evidence.write_text(OLD_EVIDENCE, encoding="utf-8")
    os.chmod(evidence, 0o600)

    assert run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", evidence, "-q", umask=0o022).returncode == 1
    assert _mode(evidence) == 0o600 and evidence.read_text(encoding="utf-8") != OLD_EVIDENCE

    os.chmod(evidence, 0o666)
    assert run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", evidence, "-q", umask=0o077).returncode == 1
    assert _mode(evidence) == 0o600


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current | 0o002  # a new file is 0664 at most: never writable by others
