"""Evidence holding a snapshot of a newer schema version is refused as written by another lbaudit.

Snapshot versions move (1.0 to 1.8) while evidence stays at schema version 1.0, so a newer lbaudit
writes evidence 1.0 around a snapshot 1.9.  ``show`` and ``report`` called such a file "invalid
evidence" with pydantic's "Input should be '1.0', ..., '1.8'": read as a damaged file, not one
this lbaudit is too old for.  Now it is refused (exit 2) as a snapshot file of that version is
(``evaluate --snapshot``): the version, the versions supported, and that this lbaudit does not
support it.
"""

from __future__ import annotations

import json

import pytest

from auditor.storage.snapshot import SUPPORTED_VERSIONS
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.mark.parametrize("command", [("show",), ("show", "--json"), ("report", "--format", "text")],
                         ids=["show", "show-json", "report"])
def test_evidence_around_a_newer_snapshot_is_refused_as_unsupported(tmp_path, command):
    path, raw = write_evidence_file(tmp_path / "scan", make_evidence())
    data = json.loads(raw)
    newer = f"1.{int(SUPPORTED_VERSIONS[-1].split('.')[1]) + 1}"  # one past the newest this lbaudit reads
    data["snapshot"]["schema_version"] = newer
    data["snapshot"]["facts"]["a_section_of_a_newer_version"] = {"new": True}  # what a newer collector adds
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    run = run_cli(*command, path, timeout=60)

    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith(
        f"lbaudit: {path}: an lbaudit evidence file whose snapshot is of schema version '{newer}', which is not "
        f"supported by this lbaudit (supported: {', '.join(SUPPORTED_VERSIONS)}): it was written by a newer "
        "lbaudit\n"), run.stderr
    assert run.stdout == ""
