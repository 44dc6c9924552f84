"""How much of an existing file at an output path lbaudit reads to tell whether it may replace it.

The defect: an output replaces an existing file only when it is recognisably lbaudit's own output of
that kind (auditor/storage/outputs.py ``recognised``), and a JSON document or PDF there was read
whole (up to 256 MiB, then joined into one more copy) and parsed to tell.  An unrelated 4 GiB file
at ``-o`` or ``--pdf`` cost lbaudit 560 MiB of memory before it refused it, a 64 MiB JSON array
about 400 MiB (the parse builds every value), and an earlier run's large OSCAL report a parse of all
of it on every run.  Now the file is looked at in bounded memory: its first 64 KiB, and a mark
lbaudit's own writer puts in it (the evidence's top-level ``"schema"`` member, the PDF's
``/Creator``) searched for a chunk at a time; a file too large to be searched is not read at all.

Each run whose memory is measured is a real ``lbaudit`` process, started from a small process of
its own that reads its peak resident memory (``os.wait4``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.outputs import recognised
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.hostile.test_plugins_many_outcomes import FORK_AND_MEASURE

REPO = Path(__file__).resolve().parents[2]
USAGE, WRITTEN = 2, 1  # the snapshot's listener binds 0.0.0.0: a run that writes fails its rule
REFUSAL = "a file is there that is not an lbaudit"
# lbaudit evaluating one listener peaks at about 50 MiB; before, the refusals below took 400-560 MiB
PEAK_MEMORY_BYTES = 150 * 1024 * 1024
CHUNK = 1024 * 1024  # the writer's search reads this much at a time (auditor/storage/outputs.py _CHUNK)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


def _evaluate_measured(work: Path, *args: object) -> tuple[int, int, str]:
    """``lbaudit evaluate`` as a real process: its exit code, peak resident memory in bytes, stderr."""
    argv = [sys.executable, "-m", "auditor.cli", "evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json",
            "-q", *map(str, args)]
    peak = work / "peak"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", FORK_AND_MEASURE, peak, *argv], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, int(peak.read_text()), done.stderr


def _state(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_ino, st.st_blocks


@pytest.mark.slow  # a real process per case
@pytest.mark.parametrize("option", ["-o", "--pdf"])
def test_a_4_gib_file_at_an_output_is_refused_without_reading_it(work, option):
    huge = work / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(4 * 1024 ** 3)  # sparse: no disk, but every byte read costs memory
    before = _state(huge)
    args = ["-o", "huge.json"] if option == "-o" else ["-o", "e.json", "--pdf", "huge.json"]
    code, peak, stderr = _evaluate_measured(work, *args)
    assert code == USAGE and REFUSAL in stderr and "huge.json" in stderr, stderr
    assert _state(huge) == before
    assert not (work / "e.json").exists()
    assert peak < PEAK_MEMORY_BYTES, f"peak resident memory {peak / 2 ** 20:.0f} MiB"


@pytest.mark.slow  # a real process
def test_a_large_indented_json_document_at_the_evidence_path_is_refused_in_bounded_memory(work):
    # starts as lbaudit's indented JSON does, so it is searched through to its end for the mark
    document = work / "data.json"
    with open(document, "wb") as handle:
        handle.write(b'{\n  "values": [' + b"0," * (32 * 1024 * 1024) + b"0]\n}\n")
    before = _state(document)
    code, peak, stderr = _evaluate_measured(work, "-o", "data.json")
    assert code == USAGE and REFUSAL in stderr, stderr
    assert _state(document) == before
    assert peak < PEAK_MEMORY_BYTES, f"peak resident memory {peak / 2 ** 20:.0f} MiB"


# ------------------------------------------------------------------ what is still recognised

def test_control_case_an_earlier_evidence_whose_schema_lies_past_the_first_chunk_is_replaced(work):
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", port) for port in range(20000, 20700)]),
                   work / "snap.json")
    assert run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                   cwd=work).returncode == WRITTEN
    earlier = (work / "e.json").read_bytes()
    assert earlier.index(b'\n  "schema": "lbaudit/evidence"') > CHUNK  # found by the search, not in the head
    inode = (work / "e.json").stat().st_ino
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json", cwd=work)
    assert result.returncode == WRITTEN, result.stderr
    assert (work / "e.json").stat().st_ino != inode


def _indented_evidence_with_schema_at(path: Path, offset: int, indent: str = "  ") -> None:
    """An indented JSON object whose ``"schema": "lbaudit/evidence"`` member starts ``offset``
    bytes into the file, after one long member."""
    start = b'{\n  "checks": "'
    end = b'",\n' + f'{indent}"schema": "lbaudit/evidence",\n  "schema_version": "1.3"\n}}\n'.encode()
    path.write_bytes(start + b"x" * (offset - len(start) - 3) + end)
    assert path.read_bytes().index(b'\n' + indent.encode() + b'"schema"') == offset - 1


@pytest.mark.parametrize("offset", [CHUNK - 20, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 10])
def test_control_case_the_mark_across_two_chunks_is_found(tmp_path, offset):
    evidence = tmp_path / "e.json"
    _indented_evidence_with_schema_at(evidence, offset)
    assert recognised(evidence, "evidence")
    assert not recognised(evidence, "snapshot")


def test_control_case_a_document_holding_an_evidence_nested_in_it_is_not_an_evidence(tmp_path):
    wrapper = tmp_path / "e.json"
    wrapper.write_bytes(b'{\n  "kept": {\n    "schema": "lbaudit/evidence",\n    "schema_version": "1.3"\n  }\n}\n')
    assert not recognised(wrapper, "evidence")


def test_control_case_every_kind_lbaudit_writes_is_recognised_by_its_mark_when_larger_than_the_head(work):
    # Each real output, with blank space after it so that it is larger than the 64 KiB parsed whole:
    # then it is recognised by its mark alone, which must be the one lbaudit's writer puts there.
    from auditor.attest.signing import generate_keypair

    generate_keypair(work / "keys")
    assert run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                   "--format", "sarif,oscal,hdf", "--out-dir", "out", "--pdf", "out/r.pdf",
                   "--sign-key", "keys/lbaudit.key", cwd=work).returncode == WRITTEN
    (work / "fetched").mkdir()
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="web01"),
                   work / "fetched" / "web01.snapshot.json")
    assert run_cli("fleet", "evaluate", "--snapshots", "fetched", "--policy", "policy.yaml", "--out-dir", "fleet",
                   "-q", cwd=work).returncode == WRITTEN
    kinds = {
        "evidence": work / "e.json",
        "evidence signature": work / "e.json.sig",
        "snapshot": work / "snap.json",
        "sarif report": work / "out" / "corp.sarif",
        "oscal report": work / "out" / "corp.oscal.json",
        "hdf report": work / "out" / "corp.hdf.json",
        "fleet summary": work / "fleet" / "fleet-summary.json",
        "pdf report": work / "out" / "r.pdf",
    }
    for path in kinds.values():
        with open(path, "ab") as handle:
            handle.write(b" " * (128 * 1024))
    found = {(kind, role) for kind, path in kinds.items() for role in kinds if recognised(path, role)}
    assert found == {(kind, kind) for kind in kinds}
