"""``lbaudit diff BEFORE AFTER``: drift between two scans, for scheduled runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from auditor.diff import diff_scans
from auditor.model.result import ExitCode
from auditor.report.evidence import load_evidence


@click.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff(before: Path, after: Path, as_json: bool) -> None:
    """Compare two evidence files: regressions, improvements, other changes.

    \b
    Exit 0 when nothing regressed, 1 when a finding now fails, errors or is not reviewed
    that did not before, 2 when a file is unreadable or invalid.
    """
    old, _ = load_evidence(before)
    new, _ = load_evidence(after)
    result = diff_scans(old, new)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    else:
        click.echo(f"verdict: {result.verdict_before} -> {result.verdict_after}")
        if not result.same_host:
            click.echo("note: the two scans are of different hosts")
        if result.policy_changed:
            click.echo("note: the policy changed between the scans")
        for title, changes in (("regressions", result.regressions), ("improvements", result.improvements),
                               ("other changes", result.other_changes)):
            click.echo(f"{title}: {len(changes)}")
            for change in changes:
                click.echo(f"  {change.rule_id}: {change.subject}: {change.before or 'new'} -> {change.after or 'gone'}")
    sys.exit(ExitCode.NON_COMPLIANT if result.regressions else ExitCode.COMPLIANT)


COMMANDS = [diff]
