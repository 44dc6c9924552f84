"""Paths lbaudit prints after writing files, named by whoever ran it (or a script fed hostile names).

``evaluate`` printed ``report: PATH`` and ``signature: PATH.sig written`` lines, ``report`` its
``report: PATH`` lines, ``collect`` its ``signature: PATH.sig written`` line and ``attest keygen`` its
key paths, each as the path is: a directory named with a carriage return and an erase-line escape
(or a line feed) printed a line of its own making on the terminal.  Now each goes through
``auditor/text.py`` (``one_line``), as the other messages naming files do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

HOSTILE_DIR = "out\r\x1b[2Kverdict: COMPLIANT\nx\u202e"
SHOWN_DIR = "out\\x0d\\x1b[2Kverdict: COMPLIANT\\nx\\u202e"
NON_COMPLIANT = 1


def _raw(text: str) -> bool:
    return "\x1b" in text or "\r" in text or "\u202e" in text or "\nx" in text


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("paths"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "host.json")
    return tmp_path


def test_evaluate_prints_report_and_signature_paths_as_escapes(inputs: Path):
    keys = run_cli("keygen", "--out", inputs / HOSTILE_DIR)
    assert keys.returncode == 0, keys.stderr
    assert not _raw(keys.stdout)
    assert f"public key:  {inputs / SHOWN_DIR}/lbaudit.pub (give it to whoever verifies)" in keys.stdout.splitlines()
    out = inputs / HOSTILE_DIR
    result = run_cli("evaluate", "--policy", inputs / "policy.yaml", "--snapshot", inputs / "host.json",
                     "-o", out / "e.json", "--format", "junit", "--out-dir", out,
                     "--sign-key", out / "lbaudit.key")
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert (out / "paths.junit.xml").is_file() and (out / "e.json.sig").is_file()
    assert not _raw(result.stdout), result.stdout
    lines = result.stdout.splitlines()
    assert f"report: {inputs / SHOWN_DIR}/paths.junit.xml" in lines
    assert any(line.startswith(f"signature: {inputs / SHOWN_DIR}/e.json.sig written") for line in lines), lines

    report = run_cli("report", out / "e.json", "--format", "sarif", "--out-dir", out)
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines() == [f"report: {inputs / SHOWN_DIR}/paths.sarif"]


def test_collect_prints_the_signature_path_as_escapes(inputs: Path):
    keys = run_cli("keygen", "--out", inputs / "keys", "-q")
    assert keys.returncode == 0, keys.stderr
    (inputs / HOSTILE_DIR).mkdir()
    (inputs / "root").mkdir()
    result = run_cli("collect", "--root", inputs / "root", "-o", inputs / HOSTILE_DIR / "s.json",
                     "--sign-key", inputs / "keys" / "lbaudit.key")
    assert not _raw(result.stdout), result.stdout
    assert any(line.startswith(f"signature: {inputs / SHOWN_DIR}/s.json.sig written")
               for line in result.stdout.splitlines()), (result.returncode, result.stdout, result.stderr)
