"""The PDF attestation's bytes do not depend on reportlab's settings of the machine or the user.

reportlab reads, when it is first imported, ``RL_<setting>`` environment variables, a
``reportlab_settings`` module on ``sys.path`` and ``~/.reportlab_settings`` (``reportlab.rl_config``),
and several of those settings change the bytes it writes (``pageCompression``, ``pdfMultiLine``,
``ttfAsciiReadable``...).  So ``report --pdf`` in a shell with ``RL_pageCompression=0``, or by a user
whose home holds a ``.reportlab_settings``, wrote another PDF than the same evidence gives elsewhere,
and ``verify --pdf`` re-renders and compares byte for byte: a genuine attestation, untouched, failed
verification with exit 13 ("it was altered or rendered from other evidence") on the verifier's
machine, or one rendered there failed everywhere else.  Now lbaudit's PDF renderer reads reportlab's
shipped settings only (``auditor/report/_pdf_start.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, snapshot

NON_COMPLIANT = 1
PDF_NOT_OF_THE_EVIDENCE = 13

POLICY = """\
id: rl
version: "1"
owner: Tests <tests@example.test>
description: a policy for a PDF
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
"""

# Settings reportlab takes from its surroundings that changed the bytes of the attestation.
SURROUNDINGS = [
    {"RL_pageCompression": "0"},
    {"RL_pdfMultiLine": "1"},
    {"RL_ttfAsciiReadable": "0"},
    {"HOME": "settings-home"},  # ~/.reportlab_settings
]


def _lbaudit(cwd: Path, *args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(cwd / "plain-home"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *map(str, args)], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def signed_evidence(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "settings-home").mkdir()
    (tmp_path / "settings-home" / ".reportlab_settings").write_text("pageCompression = 0\npdfMultiLine = 1\n")
    # code reportlab ran from the home directory at its import
    (tmp_path / "settings-home" / ".reportlab_mods").write_text("open('mods-ran', 'w').close()\n")
    (tmp_path / "plain-home").mkdir()
    assert _lbaudit(tmp_path, "keygen", "--out", tmp_path, "-q").returncode == 0
    evaluate = _lbaudit(tmp_path, "evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "ev.json",
                        "--sign-key", "lbaudit.key", "-q")
    assert evaluate.returncode == NON_COMPLIANT, evaluate.stderr
    return tmp_path / "ev.json"


@pytest.mark.slow  # a real process per surrounding: reportlab reads its settings once, when imported
def test_reportlab_settings_of_the_environment_change_no_byte_and_verify_holds(signed_evidence: Path):
    work = signed_evidence.parent
    plain = _lbaudit(work, "report", "ev.json", "--pdf", "plain.pdf", "-q")
    assert plain.returncode == 0, plain.stderr
    for index, surrounding in enumerate(SURROUNDINGS):
        env = {k: str(work / v) if k == "HOME" else v for k, v in surrounding.items()}
        rendered = _lbaudit(work, "report", "ev.json", "--pdf", f"r{index}.pdf", "-q", env=env)
        assert rendered.returncode == 0, rendered.stderr
        # before: other bytes (a PDF that verifies nowhere but under the same settings)
        assert (work / f"r{index}.pdf").read_bytes() == (work / "plain.pdf").read_bytes(), surrounding
        # before: exit 13, the genuine attestation "not the rendering of this evidence"
        verified = _lbaudit(work, "verify", "ev.json", "--pubkey", "lbaudit.pub", "--pdf", "plain.pdf", "-q", env=env)
        assert verified.returncode == 0, (surrounding, verified.stdout, verified.stderr)
    assert not (work / "mods-ran").exists()  # before: ~/.reportlab_mods ran in report and verify


@pytest.mark.slow
def test_reportlab_imported_before_the_renderer_gets_the_shipped_settings_again():
    # a plugin (or anything) that imported reportlab first: its settings were read with RL_...
    probe = ("import reportlab.rl_config as c; assert c.pageCompression == 0; import auditor.report.pdf; "
             "print(c.pageCompression, c.pdfMultiLine)")
    result = subprocess.run([sys.executable, "-c", probe], env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                            "RL_pageCompression": "0", "RL_pdfMultiLine": "1"}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0"]  # before: 0 1, the environment's


@pytest.mark.slow
def test_control_case_an_altered_pdf_still_fails_verification(signed_evidence: Path):
    work = signed_evidence.parent
    assert _lbaudit(work, "report", "ev.json", "--pdf", "plain.pdf", "-q").returncode == 0
    data = bytearray((work / "plain.pdf").read_bytes())
    at = data.index(b"/Producer")
    data[at + 1:at + 2] = b"p"  # one byte of the metadata
    (work / "altered.pdf").write_bytes(bytes(data))
    verified = _lbaudit(work, "verify", "ev.json", "--pubkey", "lbaudit.pub", "--pdf", "altered.pdf", "-q",
                        env={"RL_pageCompression": "0"})
    assert verified.returncode == PDF_NOT_OF_THE_EVIDENCE, verified.stdout + verified.stderr
    assert os.path.getsize(work / "altered.pdf") == os.path.getsize(work / "plain.pdf")
