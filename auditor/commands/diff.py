"""``lbaudit diff BEFORE AFTER``: drift between two scans, for scheduled runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from auditor.analysis.diff import ScanDiff, diff_scans, reversed_order
from auditor.commands.options import quiet_option
from auditor.errors import InputError
from auditor.model.result import ExitCode
from auditor.storage.evidence import load_evidence_by_findings
from auditor.text import one_line, terminal_lines

HOST_CHANGE_HELP = ("The two scans are of different hosts (another host name or machine id: renamed, re-imaged), "
                    "or of hosts a scan does not name (an image without /etc/hostname or machine-id), on purpose: "
                    "do not fail on that alone.")


@click.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--allow-policy-change", is_flag=True,
              help="The policy change between the scans is intended: lost coverage (rules removed or disabled, "
                   "checks missing or changed, waivers added, severity lowered, --fail-on raised, params changed, facts of an "
                   "offline root directory after the running host's) does not fail.")
@click.option("--allow-host-change", is_flag=True, help=HOST_CHANGE_HELP)
@quiet_option
def diff(before: Path, after: Path, as_json: bool, allow_policy_change: bool, allow_host_change: bool,
         quiet: bool) -> None:
    """Compare two evidence files: regressions, improvements, policy changes, other changes.

    \b
    Exit 0 when nothing regressed; 1 when a finding now fails, errors or is not reviewed that
    did not before, when the verdict got worse (compliant, incomplete, non-compliant), or when coverage was lost through a policy change (a rule removed or
    disabled, a check missing, a waiver added...) and --allow-policy-change is not given;
    1 too when the scans are of different hosts (host name or machine id), or a scan names
    neither, unless --allow-host-change: that comparison is not drift; 2 when a file is unreadable or invalid;
    10 when a file's .sig shows it was changed after it was signed.
    """
    # Compared by their findings: a hand-edited summary or verdict (which show and report refuse to
    # print) is replaced by what the findings give, with a warning, so a diff of evidence whose
    # findings were edited still judges those findings.
    old, old_problems = _compared(before)
    new, new_problems = _compared(after)
    for path, problems in ((before, old_problems), (after, new_problems)):
        if problems:
            # the problem quotes the file (a rule id of a megabyte): said as every message is, cut
            click.echo(terminal_lines(f"lbaudit: warning: {path}: the recorded verdict or summary contradicts the "
                                      f"findings ({problems[0]}{'; ...' if len(problems) > 1 else ''}); compared by "
                                      "the findings"), err=True)
    backwards = reversed_order(old, new)
    if backwards:
        raise InputError(f"{before} {after}: {backwards}")
    failed = echo_diff(diff_scans(old, new), as_json, allow_policy_change, quiet=quiet,
                       allow_host_change=allow_host_change)
    sys.exit(ExitCode.NON_COMPLIANT if failed else ExitCode.COMPLIANT)


def _compared(path: Path) -> tuple[Any, list[str]]:
    """The evidence at ``path`` for a comparison, from the bytes whose signature was looked at: a
    ``.sig`` beside it that holds under its key over another digest proves the evidence was changed
    after it was signed, which ``report`` and ``verify`` refuse with exit 10; diff compared such a
    file without a word, so an edited scan (a failure turned pass) read as an improvement."""
    from auditor.attest.signing import read_evidence_unchanged_since_signed

    raw = read_evidence_unchanged_since_signed(path)  # raises EvidenceChangedSinceSigned (exit 10)
    return load_evidence_by_findings(path, raw)


# The findings one policy change leaves unjudged, shown under it on a terminal: a rule's params
# changed on a host of 5,000 listeners printed 10,000 lines under one change, burying the rest of
# the diff.  The count is always printed, and --json lists every one.
MAX_UNJUDGED_SHOWN = 20


def echo_diff(result: ScanDiff, as_json: bool, allow_policy_change: bool,
              extra: dict[str, object] | None = None, quiet: bool = False, allow_host_change: bool = False) -> bool:
    """Print a diff as ``lbaudit diff`` does (``extra`` keys join the JSON document); return whether
    it regressed (exit 1).  ``lbaudit history diff`` prints through this too."""
    failed = result.regressed(allow_policy_change, allow_host_change)
    if as_json:
        document = result.as_dict()
        document.update(extra or {})
        document["allow_policy_change"] = allow_policy_change
        document["allow_host_change"] = allow_host_change
        document["exit_code"] = int(ExitCode.NON_COMPLIANT if failed else ExitCode.COMPLIANT)
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return failed
    if quiet:
        return failed
    worse = " (worse: exit 1)" if result.verdict_worsened else ""
    click.echo(f"verdict: {result.verdict_before} -> {result.verdict_after}{worse}")
    if not result.same_host:
        allowed_host = " (allowed by --allow-host-change)" if allow_host_change else (
            ": not drift; exit 1 unless --allow-host-change")
        hosts = f"{one_line(result.host_before)} -> {one_line(result.host_after)}"
        if result.host_identified:
            click.echo(f"host changed: {hosts}{allowed_host}")
        else:
            click.echo(f"host unknown: {hosts} (a scan that names neither its host nor its machine id may be of "
                       f"another host){allowed_host}")
    if result.policy_changed:
        click.echo(f"note: the policy changed between the scans (SHA-256 {result.policy_sha256_before[:16]}... "
                   f"-> {result.policy_sha256_after[:16]}...)")
    for title, changes in (("regressions", result.regressions), ("improvements", result.improvements)):
        click.echo(f"{title}: {len(changes)}")
        for change in changes:
            click.echo(_change_line(change))
    lost = len(result.lost_coverage)
    allowed = " (allowed by --allow-policy-change)" if lost and allow_policy_change else ""
    click.echo(f"policy changes: {len(result.policy_changes)} ({lost} losing coverage{allowed})")
    for item in result.policy_changes:
        marker = "lost coverage" if item.loses_coverage else "change"
        click.echo(f"  [{marker}] {item.kind} {one_line(item.subject)}: {one_line(item.detail)}")
        for change in item.findings[:MAX_UNJUDGED_SHOWN]:
            now = f", now {change.after}" if change.after else ""
            click.echo(f"      no longer judged: {one_line(change.subject)} (was {change.before}{now})")
        if len(item.findings) > MAX_UNJUDGED_SHOWN:
            click.echo(f"      ... and {len(item.findings) - MAX_UNJUDGED_SHOWN:,} more no longer judged "
                       "(--json lists every one)")
    click.echo(f"other changes: {len(result.other_changes)}")
    for change in result.other_changes:
        click.echo(_change_line(change))
    return failed


def _change_line(change: Any) -> str:
    # rule ids and subjects are the evidence's text (a process name): one line each, escapes shown
    note = f" ({one_line(change.note)})" if change.note else ""
    return (f"  {one_line(change.rule_id)}: {one_line(change.subject)}: {change.before or 'new'} -> "
            f"{change.after or 'gone'}{note}")
