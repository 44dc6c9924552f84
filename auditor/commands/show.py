"""``lbaudit show EVIDENCE``: the summary of an evidence file, as ``evaluate`` printed it.

The evidence is read and validated through storage (exit 2 on a bad file; 10 when its .sig shows it
was changed after it was signed) and rendered by the same code as evaluate's summary; nothing is
evaluated again.
"""

from __future__ import annotations

from pathlib import Path

import click

from auditor.commands.options import color_option
from auditor.commands.output import print_summary


@click.command("show")
@click.argument("evidence_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the compact JSON summary (as evaluate --json) instead.")
@color_option
def show(evidence_path: Path, as_json: bool, color: str) -> None:
    """Print the summary of an existing evidence file, as evaluate did.

    \b
    On a terminal, tables grouped by rule; piped, one finding per line.  Exit 0 when the file
    is a valid evidence file (the verdict it records is in the output), 2 when it is not,
    10 when the .sig beside it shows it was changed after it was signed.
    """
    from auditor.attest.signing import read_evidence_unchanged_since_signed
    from auditor.storage.evidence import parse_evidence

    # Of the bytes whose signature was looked at: evidence its .sig proves was edited after signing
    # is refused (exit 10), as report, verify and diff refuse it, not printed as a valid file.
    evidence = parse_evidence(read_evidence_unchanged_since_signed(evidence_path), str(evidence_path))
    if as_json:
        from auditor.report.summary import summary_json, summary_object
        from auditor.storage.outputs import write_stdout

        write_stdout(summary_json(summary_object(evidence, str(evidence_path))))
        return
    print_summary(evidence, str(evidence_path), color=color)
