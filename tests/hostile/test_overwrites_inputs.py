"""Hostile outputs that are the run's inputs in a way plan_outputs did not see: the files of a
replayed bundle, and inputs that do not exist yet.

``collect --replay B`` and ``evaluate --target replay:B`` read the probe files of the bundle B; the
bundle was not an input of the plan, so ``-o B/hostname.txt`` replaced the capture just read with
the snapshot (whatever the spelling: a symlink, ``B/./x``, ``B/../B/x``, ``//``; a hard link of a
probe file is refused as a hard link of any input is), and
``-o B/netstat-ano.txt`` put a Windows probe file in a macOS bundle, which replay then refuses as a
bundle of both.  And an input that is missing was dropped from the comparison, so ``evaluate
--snapshot S -o S.sig`` wrote the evidence where the snapshot's signature is looked for.  Each case
asserts the exact exit code and that every file is byte for byte what it was, with nothing added.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot

BUNDLE = REPO / "tests" / "fixtures" / "bundles" / "macos-audited"
USAGE = 2


def contents(directory: Path) -> dict[str, bytes | str]:
    """Every entry under ``directory``: a file's bytes, a link's target."""
    found: dict[str, bytes | str] = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root, name)
            found[str(path.relative_to(directory))] = (f"link {os.readlink(path)}" if path.is_symlink() else
                                                       "dir" if path.is_dir() else path.read_bytes())
    return found


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(BUNDLE, tmp_path / "bundle")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("inputs"))
    return tmp_path


SPELLINGS = {
    "plain": lambda work: "bundle/hostname.txt",
    "dot": lambda work: "bundle/./hostname.txt",
    "dotdot": lambda work: "bundle/../bundle/hostname.txt",
    "double-slash": lambda work: "/" + str(work / "bundle" / "hostname.txt"),
    "symlink": lambda work: (os.symlink("bundle/hostname.txt", work / "latest.json"), "latest.json")[1],
    "hard-link": lambda work: (os.link(work / "bundle" / "hostname.txt", work / "linked.json"), "linked.json")[1],
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_collect_into_a_file_of_the_bundle_it_replays_is_refused(work, spelling):
    output = SPELLINGS[spelling](work)
    before = contents(work)
    result = run_cli("collect", "--replay", "bundle", "-o", output, "-q", cwd=work)
    assert result.returncode == USAGE, result.stderr  # before: 0, and the bundle's hostname.txt was the snapshot
    assert "bundle file" in result.stderr and "Traceback" not in result.stderr
    assert contents(work) == before


def test_evaluate_into_a_file_of_the_bundle_it_replays_is_refused(work):
    before = contents(work)
    result = run_cli("evaluate", "--policy", "policy.yaml", "--target", "replay:bundle", "-o", "bundle/sysctl.txt",
                     "-q", cwd=work)
    assert result.returncode == USAGE, result.stderr  # before: 1 (the verdict), sysctl.txt now the evidence
    assert "bundle file bundle/sysctl.txt" in result.stderr
    assert contents(work) == before


def test_an_output_named_like_a_probe_of_the_other_platform_is_refused(work):
    before = contents(work)
    result = run_cli("collect", "--replay", "bundle", "-o", "bundle/netstat-ano.txt", "-q", cwd=work)
    assert result.returncode == USAGE, result.stderr
    assert contents(work) == before
    # before: written, and the bundle no longer replayed ("holds probe outputs of both Windows ... and macOS")
    assert run_cli("collect", "--replay", "bundle", "-o", "s.json", "-q", cwd=work).returncode == 0


def test_control_case_a_snapshot_kept_beside_the_probe_files_is_written(work):
    assert run_cli("collect", "--replay", "bundle", "-o", "bundle/lbaudit.snapshot.json", "-q", cwd=work).returncode == 0
    again = run_cli("collect", "--replay", "bundle", "-o", "again.json", "-q", cwd=work)
    assert again.returncode == 0, again.stderr


def test_evidence_where_the_snapshot_signature_is_looked_for_is_refused(tmp_path):
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("inputs"))
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), tmp_path / "snap.json")
    before = contents(tmp_path)
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "snap.json.sig", "-q",
                     cwd=tmp_path)
    assert result.returncode == USAGE, result.stderr  # before: 0, the evidence posing as the snapshot's signature
    assert "snapshot signature snap.json.sig" in result.stderr
    assert contents(tmp_path) == before
