"""The exit code table (README and ``lbaudit --help``) says what the gate does with a failure below
``--fail-on`` beside something not judged, and what keeps a run from exit 0.

The gate itself was right (auditor.model.result.tally_run): a run whose only failure is below
``--fail-on`` and whose other rule could not be judged is incomplete, exit 3, in the terminal, in
``--json`` and with ``-q``.  The table said otherwise: 3 was "no failure, but ...", so a run holding
a (listed, not counted) failure read as never 3, and 0 was "no failing finding at or above
--fail-on, nothing unreviewed", so a check that raised, or a run that judged nothing, read as 0.  A
CI author wiring ``--fail-on high`` from the table expected 0 (or 1) for such runs and treated 3 as
impossible.  Now both say it: 3 is "no failure at or above --fail-on", and 0 needs every rule judged
(nothing unreviewed or errored, something judged).
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.helptext import TOP_LEVEL_HELP
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

REPO = Path(__file__).resolve().parents[2]
# a low-severity failure (the wildcard listener) and a rule that cannot be judged (no audit section)
POLICY = ('id: p\nversion: "1"\nowner: T\nrules:\n'
          '  - id: audit\n    check: audit.socket_logging\n    severity: low\n'
          '  - id: bind\n    check: net.bind_addresses\n    severity: low\n')


def _row(code: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Exit codes"):]
    [row] = [line for line in table.splitlines() if line.startswith(f"| {code} |")]
    return row


def test_a_failure_below_fail_on_beside_an_unjudged_rule_is_exit_3_everywhere(tmp_path: Path):
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "s.json").write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22)])))
    common = ["evaluate", "--no-plugins", "--policy", tmp_path / "p.yaml", "--snapshot", tmp_path / "s.json",
              "--fail-on", "high", "--force"]
    shown = run_cli(*common, "-o", tmp_path / "e.json")
    assert shown.returncode == 3, shown.stderr
    assert "verdict: INCOMPLETE (exit 3)" in shown.stdout + shown.stderr
    as_json = run_cli(*common, "-o", tmp_path / "e.json", "--json")
    assert as_json.returncode == 3
    summary = json.loads(as_json.stdout)
    assert (summary["verdict"], summary["exit_code"], summary["counts"]["fail"]) == ("incomplete", 3, 1)
    quiet = run_cli(*common, "-o", tmp_path / "e.json", "-q")
    assert (quiet.returncode, quiet.stdout) == (3, "")
    to_stdout = run_cli(*common, "-o", "-", "-q")
    assert to_stdout.returncode == 3
    assert json.loads(to_stdout.stdout)["result"]["exit_code"] == 3


def test_the_table_says_a_failure_below_fail_on_does_not_keep_a_run_from_3():
    assert "no failure at or above `--fail-on`" in _row("3"), _row("3")
    assert "3   incomplete: no failure at or above --fail-on" in TOP_LEVEL_HELP


def test_the_table_says_what_else_keeps_a_run_from_0():
    row = _row("0")
    assert "nothing left unreviewed or errored" in row and "something judged" in row, row
    assert "nothing unreviewed or errored, something judged" in " ".join(TOP_LEVEL_HELP.split())
