"""An existing file at the text report's path is replaced without ``--force`` only when it is an
earlier text report.

The text report was recognised by its first five bytes, "lbaudit ": a file of notes in the out dir
that began with the word (``corp-baseline.txt``: "lbaudit notes: rotate the signing key ...") was
replaced by ``report --format text`` without ``--force``, where every other format is recognised by
what only lbaudit writes.  Now it is the report's header, "lbaudit VERSION policy ID ..." and the
"facts: " line after it.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

NOTES = b"lbaudit notes: rotate the signing key before the March audit\nfacts: ask the network team\n"


def _report(work: Path, *extra: str):
    return run_cli("report", "evidence.json", "--format", "text", "--out-dir", "out", *extra, cwd=work)


def test_notes_that_begin_with_the_word_lbaudit_are_not_replaced_without_force(tmp_path: Path):
    write_evidence_file(tmp_path, make_evidence())
    (tmp_path / "out").mkdir()
    notes = tmp_path / "out" / "corp-baseline.txt"
    notes.write_bytes(NOTES)
    run = _report(tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert ("out/corp-baseline.txt: cannot write the text report: a file is there that is not an lbaudit text report "
            "(lbaudit replaces only its own output of the same kind, or an empty file); move it away, or give "
            "--force to replace it") in run.stderr
    assert notes.read_bytes() == NOTES  # before: replaced by the report
    assert _report(tmp_path, "--force").returncode == 0
    assert notes.read_bytes().startswith(b"lbaudit 0.")


def test_control_case_an_earlier_text_report_is_replaced(tmp_path: Path):
    write_evidence_file(tmp_path, make_evidence())
    assert _report(tmp_path).returncode == 0
    report = tmp_path / "out" / "corp-baseline.txt"
    earlier = report.read_bytes()
    report.write_bytes(earlier.replace(b"web01", b"web02"))  # an earlier run's report of another host name
    run = _report(tmp_path)
    assert run.returncode == 0, run.stderr
    assert report.read_bytes() == earlier
