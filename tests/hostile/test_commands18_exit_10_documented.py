"""Exit 10 is documented for every command that gives it.

Before: ``show``, ``diff`` and ``history import`` exit 10 when the ``.sig`` beside an evidence file
proves it was changed after it was signed (as ``report`` does), but the README's exit code table
named 10 for ``verify``, ``report`` and ``history verify`` only, and ``lbaudit --help`` for ``verify``
alone ("10 verify: evidence digest mismatch"): a CI gate written from either took ``diff``'s 10 for
an unknown failure, or a wrapper that maps the documented codes let it through as "other".  Now
both name every command that exits 10, and this test keeps them to what the commands do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.helptext import TOP_LEVEL_HELP
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

REPO = Path(__file__).resolve().parents[2]


def _signed_then_changed(tmp_path: Path) -> tuple[Path, Path, Path]:
    evidence = make_evidence()
    before, _ = write_evidence_file(tmp_path / "before", evidence)
    after, raw = write_evidence_file(tmp_path / "after", evidence)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(after, private)
    data = json.loads(raw)
    # an edit the findings do not contradict (a failure turned pass is refused by report as exit 2 first)
    next(f for f in data["result"]["findings"] if f["status"] == "fail")["message"] = "reviewed: acceptable"
    after.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return before, after, public


def _readme_row(code: int) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.search(rf"^\| {code} \| (.*)$", text, re.MULTILINE).group(1)  # type: ignore[union-attr]


def _help_entry(code: int) -> str:
    """The words after ``code`` in the exit code list of ``lbaudit --help``, up to the next code."""
    lines = TOP_LEVEL_HELP.split("Exit codes:", 1)[1]
    entry = re.search(rf"(?:^|\s){code}\s+(.*?)(?=\s+\d{{2,3}}\s|\Z)", lines, re.DOTALL).group(1)  # type: ignore[union-attr]
    return " ".join(entry.split())


def test_every_command_that_exits_10_is_named_where_exit_10_is_documented(tmp_path: Path) -> None:
    before, after, public = _signed_then_changed(tmp_path)
    runs = {
        "show": run_cli("show", after, timeout=60),
        "diff": run_cli("diff", before, after, timeout=60),
        "report": run_cli("report", after, "--format", "json", "--out-dir", tmp_path / "out", timeout=60),
        "history import": run_cli("history", "import", after, "--store", tmp_path / "h.db", timeout=60),
        "verify": run_cli("verify", after, "--pubkey", public, timeout=60),
    }
    for command, run in runs.items():
        assert run.returncode == int(ExitCode.VERIFY_DIGEST), (command, run.stdout, run.stderr)

    readme, help_text = _readme_row(10), _help_entry(10)
    for command in runs:
        assert f"`{command}`" in readme, (command, readme)
        assert command in help_text, (command, help_text)
