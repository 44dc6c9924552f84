"""The PDF theme: the shipped parsed copy of reports/attestation.yaml, and an edited theme file (issue 16)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from auditor.report._pdf_theme import PARSED_THEME_FILE, THEME_FILE, parsed_theme_json, theme_values
from auditor.report.pdf import _theme_digest
from auditor.resources import data_dir
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_parsed_theme_is_the_shipped_yaml_parsed():
    """Stale, it would be ignored (its digest no longer matches) and every PDF would import PyYAML
    again: regenerate it with ``python -m auditor.report._pdf_theme``."""
    folder = data_dir("reports")
    assert (folder / PARSED_THEME_FILE).read_text(encoding="utf-8") == parsed_theme_json(folder / THEME_FILE)
    recorded = json.loads((folder / PARSED_THEME_FILE).read_bytes())["theme"]
    assert recorded == yaml.safe_load((folder / THEME_FILE).read_text(encoding="utf-8"))
    assert theme_values(folder / THEME_FILE) == recorded


def test_an_edited_theme_file_is_read_as_yaml_not_from_the_stale_parsed_copy(tmp_path):
    folder = data_dir("reports")
    shutil.copyfile(folder / THEME_FILE, tmp_path / THEME_FILE)
    shutil.copyfile(folder / PARSED_THEME_FILE, tmp_path / PARSED_THEME_FILE)
    edited = (tmp_path / THEME_FILE).read_text(encoding="utf-8").replace(
        "title: Network-Socket Compliance Attestation", "title: Edited Attestation")
    (tmp_path / THEME_FILE).write_text(edited, encoding="utf-8")
    values = theme_values(tmp_path / THEME_FILE)
    assert values["title"] == "Edited Attestation"
    assert values == yaml.safe_load(edited)
    (tmp_path / PARSED_THEME_FILE).write_text("{not json", encoding="utf-8")  # a damaged copy: the YAML, too
    assert theme_values(tmp_path / THEME_FILE)["title"] == "Edited Attestation"


def test_the_parsed_theme_is_not_part_of_the_theme_digest():
    """It is derived from attestation.yaml, whose bytes are digested: adding it kept the renderer id
    (and so ``verify --pdf`` of earlier PDFs) as it was.  The digest of the files without it:"""
    import hashlib

    folder = data_dir("reports")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] != "html"
                       and p.name != PARSED_THEME_FILE):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    assert _theme_digest() == digest.hexdigest()[:16]


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_a_pdf_of_the_shipped_theme_imports_no_yaml_parser(tmp_path):
    evidence = tmp_path / "e.json"
    evidence.write_bytes(evidence_bytes(make_evidence(extra_listeners=3)))
    script = ("import json, sys\nfrom auditor.cli import run\n"
              f"code = run(['report', {str(evidence)!r}, '--pdf', {str(tmp_path / 'a.pdf')!r}])\n"
              "print(json.dumps([code, sorted(sys.modules)]))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    code, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert code == 0 and (tmp_path / "a.pdf").stat().st_size > 0
    assert not [m for m in modules if m.split(".")[0] in ("yaml", "_yaml")], proc.stderr
