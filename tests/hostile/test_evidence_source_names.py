"""The same snapshot file or captured bundle gives the same evidence bytes however it is named.

``snapshot.provenance.source_detail`` and ``target_id`` recorded the path of ``--snapshot FILE``
(``--target replay:DIR``) as typed: ``snap.json`` from its directory, ``../snap.json`` from another,
``/abs/snap.json`` or a link's name gave three evidence files of one input (and a PDF, OSCAL and
HTML naming it three ways), which no documented time field explains; an offline root directory was
already recorded resolved (``RootDir.open``).  Now a snapshot file and a bundle directory are
recorded as the file and directory they are: absolute, links resolved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
BUNDLES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"


def _evidence(cwd: Path, output: Path, *source: object) -> dict:
    result = run_cli("evaluate", "--policy", cwd.parent / "policy.yaml" if cwd.name == "elsewhere" else "policy.yaml",
                     *source, "-o", output, "-q", cwd=cwd)
    assert result.returncode in (0, NON_COMPLIANT, 3), result.stderr
    document = json.loads(output.read_text())
    for name in ("started_at", "finished_at", "timings_ms"):
        document["run"].pop(name)
    return document


def test_a_snapshot_named_four_ways_gives_one_evidence(tmp_path):
    work = tmp_path / "work"
    (work / "elsewhere").mkdir(parents=True)
    (work / "policy.yaml").write_text(loopback_only_policy("loopback"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), work / "snap.json")
    (work / "linked.json").symlink_to("snap.json")
    named = [
        _evidence(work, tmp_path / "a.json", "--snapshot", "snap.json"),
        _evidence(work / "elsewhere", tmp_path / "b.json", "--snapshot", "../snap.json"),
        _evidence(work / "elsewhere", tmp_path / "c.json", "--snapshot", work / "snap.json"),
        _evidence(work, tmp_path / "d.json", "--target", "snapshot:linked.json"),
    ]
    real = os.path.realpath(work / "snap.json")
    # before: "snap.json", "../snap.json", the absolute path and "linked.json"
    assert [e["snapshot"]["provenance"]["source_detail"] for e in named] == [real] * 4
    assert [e["snapshot"]["provenance"]["target_id"] for e in named] == [real] * 4
    assert all(e == named[0] for e in named)


def test_a_bundle_named_two_ways_gives_one_evidence(tmp_path):
    work = tmp_path / "work"
    (work / "elsewhere").mkdir(parents=True)
    (work / "policy.yaml").write_text(loopback_only_policy("loopback"))
    (work / "bundle").symlink_to(BUNDLES / "windows-default-en")
    named = [
        _evidence(work, tmp_path / "a.json", "--target", "replay:bundle"),
        _evidence(work / "elsewhere", tmp_path / "b.json", "--target", f"replay:{BUNDLES / 'windows-default-en'}"),
    ]
    real = os.path.realpath(BUNDLES / "windows-default-en")
    assert [e["snapshot"]["provenance"]["source_detail"] for e in named] == [real] * 2  # before: "bundle"
    assert [e["snapshot"]["provenance"]["target_id"] for e in named] == [real] * 2
    assert named[0] == named[1]
