"""The commands a report tells its reader to run name the evidence as one shell word.

The HTML, PDF and HDF reports say how to check them: ``sha256sum NAME``, ``lbaudit verify NAME
--pubkey ...``, ``lbaudit report NAME ...``, with the evidence file's name as it is.  That name is
chosen by whoever hands the evidence over: an evidence file called ``e$(touch pwned).json`` put
``sha256sum e$(touch pwned).json`` in front of the auditor, who pasted it into a shell and ran the
auditee's command.  Now the name is quoted where a shell would read it as syntax, and a plain name
stays as it was.
"""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
from pathlib import Path

from pypdf import PdfReader

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

HOSTILE = "e$(touch pwned).json"


def _rendered(tmp_path: Path, name: str) -> tuple[str, dict, str]:
    """The HTML page's text, the HDF document and the PDF's text of signed evidence called ``name``."""
    path, _ = write_evidence_file(tmp_path, make_evidence(), name=name)
    private, _ = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    run = run_cli("report", name, "--format", "html,hdf", "--out-dir", "out", "--pdf", "out/a.pdf", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    page = html.unescape(re.sub(r"<[^>]+>", "", (tmp_path / "out" / "corp-baseline.html").read_text()))
    hdf = json.loads((tmp_path / "out" / "corp-baseline.hdf.json").read_bytes())
    pdf = " ".join(" ".join(page.extract_text().split())
                   for page in PdfReader(io.BytesIO((tmp_path / "out" / "a.pdf").read_bytes())).pages)
    return page, hdf, pdf


def test_a_hostile_evidence_name_is_one_quoted_word_in_every_command(tmp_path: Path):
    page, hdf, pdf = _rendered(tmp_path, HOSTILE)
    quoted = "'e$(touch pwned).json'"
    assert f"sha256sum {quoted} prints" in page
    assert f"lbaudit verify {quoted} --pubkey SIGNER.pub exits 0" in page
    assert f"lbaudit report {quoted} --format html --out-dir DIR renders" in page
    assert f"sha256sum {HOSTILE} " not in page  # before: the name as it is
    how = hdf["passthrough"]["lbaudit"]["how_to_verify"]
    assert f"sha256sum '../{HOSTILE}' must print" in how
    assert f"lbaudit verify '../{HOSTILE}' --pubkey" in how
    assert f"lbaudit verify {quoted} --pubkey KEY --pdf THIS.pdf" in pdf


def test_the_commands_as_written_run_no_command_of_the_name(tmp_path: Path):
    _, hdf, _ = _rendered(tmp_path, HOSTILE)
    how = hdf["passthrough"]["lbaudit"]["how_to_verify"]
    digest = how.split(" must print")[0]  # sha256sum '../e$(touch pwned).json'
    verify = "true " + how.split("; lbaudit verify ")[1].split(" --pubkey")[0]  # its argument, expanded by the shell
    for line in (digest, verify):
        subprocess.run(["sh", "-c", line], cwd=tmp_path / "out", capture_output=True, timeout=10, check=False)
    assert sorted(p.name for p in tmp_path.rglob("pwned")) == []  # before: sh ran `touch pwned`


def test_control_case_a_plain_name_stays_as_it_is(tmp_path: Path):
    page, hdf, pdf = _rendered(tmp_path, "web01.evidence.json")
    assert "sha256sum web01.evidence.json prints" in page
    assert hdf["passthrough"]["lbaudit"]["how_to_verify"].startswith("sha256sum ../web01.evidence.json must print")
    assert "lbaudit verify web01.evidence.json --pubkey KEY --pdf THIS.pdf" in pdf
