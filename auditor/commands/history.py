"""``lbaudit history list|show|diff|trend|prune|retire|import|export|head|verify``: the recorded runs.

The commands parse options and print; :mod:`auditor.history` does the work.  Tables are drawn by
rich on a terminal and printed as plain aligned text when the output is piped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from auditor.commands.options import MAX_DAYS
from auditor.commands.output import say
from auditor.errors import MAX_LISTED_PROBLEMS, InputError
from auditor.model.codes import ExitCode  # the plain enum: listing runs needs no pydantic model
from auditor.text import MAX_REPORT_TEXT_CHARS, one_line, shown_line, terminal_lines

STORE_HELP = ("History store: a file path or a SQLAlchemy URL (postgresql+psycopg://...) [default: $LBAUDIT_STORE, "
              "else /var/lib/lbaudit/history.db for root, ~/.local/state/lbaudit/history.db otherwise].")
VERDICTS = ("compliant", "non_compliant", "incomplete")
# The store's key of a host too: the name fleet report gives two hosts that share every other name.
HOST_HELP = ("Host name, machine id, inventory name, or the store's key of the host (inventory:NAME, "
             "machine-id:ID, hostname:NAME, as fleet report names hosts that share a name)")


def store_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--store", "store", metavar="PATH|URL", default=None, help=STORE_HELP)(function)


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(function)


def _open(store: str | None, create: bool = False) -> Any:
    """The store a subcommand reads; only ``import`` records, and so creates a missing one."""
    from auditor.history import open_store

    return open_store(store, create=create)


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """YYYY-MM-DD (midnight UTC) or an ISO 8601 time (UTC unless it says otherwise), as a UTC time."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("not a date (YYYY-MM-DD) or ISO 8601 time", ctx, param) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        # made UTC here, not where the store compares it: 9999-12-31T23:59:59-01:00 is past year
        # 9999 in UTC, and the store's conversion was an OverflowError, exit 70
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise click.BadParameter(f"{value[:60]!r} is outside the years 1 to 9999 in UTC", ctx, param) from None


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("not a date (YYYY-MM-DD)", ctx, param) from None


# The widest a column of a piped table is padded to: a subject of some length.
TABLE_COLUMN = 120


def echo_table(headers: list[str], rows: list[list[Any]], numeric: set[str] | None = None,
               keep_whole: set[str] | None = None, kept: str = "not shown") -> None:
    """A table: rich's on a terminal, plain aligned columns (two spaces apart) when piped.  Columns
    in ``keep_whole`` are never wrapped on a terminal (the others fold when it is narrow).  Each cell
    is cut at ``MAX_REPORT_TEXT_CHARS`` (:func:`auditor.text.shown_line`; ``kept`` says where the rest is)."""
    numeric = numeric or set()
    keep_whole = keep_whole or set()
    # every cell on one line, its control characters shown as escapes, and cut as a report cuts a
    # finding's text (history diff and fleet report show the same subjects so): a subject is the host's text
    cells = [[shown_line(value, kept, MAX_REPORT_TEXT_CHARS) for value in row] for row in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(header_style="bold")
        for header in headers:
            table.add_column(header, justify="right" if header in numeric else "left", overflow="fold",
                             no_wrap=header in keep_whole)
        for row in cells:
            table.add_row(*(Text(cell) for cell in row))  # text, never rich markup ("[/]" in a name)
        Console().print(table)
        return
    # A longer cell pushes its own row along, not every row: padded to the longest, one subject of
    # 65,536 characters made each of a run's 500 finding lines as wide (32 MB).
    widths = [min(max([len(h)] + [len(row[i]) for row in cells]), max(len(h), TABLE_COLUMN))
              for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if h in numeric else v.ljust(w) for v, w, h in zip(values, widths, headers)]
        return "  ".join(parts).rstrip()

    click.echo(line(headers))
    for row in cells:
        click.echo(line(row))


@click.group()
def history() -> None:
    """The recorded runs (evaluate --record): list, show, diff, trend, prune, retire, import, export, head, verify.

    \b
    The store is SQLite by default (WAL mode), or PostgreSQL with
    --store postgresql+psycopg://USER@HOST/DB (pip install 'lbaudit[postgres]'):
    a server that does not connect or answer within LBAUDIT_STORE_TIMEOUT
    seconds (default 30) is exit 2.
    """


# ------------------------------------------------------------------ list

def _filters(function: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed([
        click.option("--host", help=HOST_HELP + "."),
        click.option("--policy", help="Policy id."),
        click.option("--verdict", type=click.Choice(VERDICTS), help="Only runs with this verdict."),
        click.option("--since", callback=_moment, help="Runs started at or after (YYYY-MM-DD or ISO time, UTC)."),
        click.option("--until", callback=_moment, help="Runs started before (YYYY-MM-DD or ISO time, UTC)."),
    ]):
        function = decorator(function)
    return function


@history.command("list")
@_filters
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many runs.")
@store_option
@json_option
def list_runs(host: str | None, policy: str | None, verdict: str | None, since: datetime | None,
              until: datetime | None, limit: int, store: str | None, as_json: bool) -> None:
    """Recorded runs, newest first, filtered by host, policy, verdict and time.

    \b
    A run started, or over facts collected, more than an hour ahead of this clock, or over facts
    collected after it was evaluated, is listed where its start puts it, marked "dated ahead" (JSON:
    its dated_ahead says why) and named on standard error: it is no host's latest run (fleet report,
    history diff and prune --keep-last pass it over).
    """
    from auditor.history.store import dated_ahead_words, run_dated_ahead

    now = datetime.now(timezone.utc)
    with _open(store) as opened:
        runs = opened.list_runs(host=host, policy=policy, verdict=verdict, since=since, until=until, limit=limit)
        collected = opened.collected_times([run["id"] for run in runs])
    for run in runs:
        moment = collected.get(run["id"])
        run["collected_at"] = None if moment is None else moment.isoformat().replace("+00:00", "Z")
        run["dated_ahead"] = None if moment is None else run_dated_ahead(
            datetime.fromisoformat(run["started_at"].replace("Z", "+00:00")), moment, now)
        if run["dated_ahead"] is not None:  # as fleet report says it
            click.echo(f"lbaudit: warning: run {run['id']} started {run['started_at']} over facts collected "
                       f"{run['collected_at']}, {dated_ahead_words(run['dated_ahead'])}: not its host's latest run "
                       "(fleet report and history diff pass it over; retire or prune that run)", err=True)
    if as_json:
        click.echo(json.dumps(runs, indent=2, sort_keys=True))
        return
    marked = any(r["dated_ahead"] for r in runs)  # the column only when a run needs it
    echo_table(["run", "started (UTC)", "host", "policy", "trigger", "verdict", "fail", "unreviewed", "error",
                "signed", "attested", *(["note"] if marked else [])],
               [[r["id"], r["started_at"].replace("T", " ").rstrip("Z")[:19], r["host"]["inventory_name"]
                 or r["host"]["hostname"], r["policy"]["id"], r["trigger"], r["verdict"],
                 r["counts"]["fail"], r["counts"]["not_reviewed"], r["counts"]["error"],
                 "yes" if r["signature"]["state"] == "signed" else "no", "yes" if r["attested"] else "no"]
                + (["dated ahead" if r["dated_ahead"] else ""] if marked else [])
                for r in runs],
               numeric={"run", "fail", "unreviewed", "error"}, keep_whole={"run", "started (UTC)", "host", "verdict"})


# ------------------------------------------------------------------ show

@history.command()
@click.argument("run_id", type=click.IntRange(min=1))
@click.option("--evidence", "raw_evidence", is_flag=True,
              help="Print the run's evidence file as recorded, byte for byte (to re-verify or re-render it).")
@store_option
@json_option
def show(run_id: int, raw_evidence: bool, store: str | None, as_json: bool) -> None:
    """One run: host, policy, times, digests, signature, verdict and its findings."""
    with _open(store) as opened:
        run = opened.get_run(run_id) if raw_evidence else opened.shown_run(run_id)
        if raw_evidence:
            data = opened.evidence_bytes(run["evidence_sha256"])
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
    if as_json:
        click.echo(json.dumps(run, indent=2, sort_keys=True))
        return
    host = run["host"]
    lines = [
        f"run {run['id']}: {run['verdict']} (exit {run['exit_code']})",
        f"host: {one_line(host['hostname'])} (machine id {one_line(host['machine_id'] or 'unknown')}"
        + (f", inventory {one_line(host['inventory_name'])})" if host["inventory_name"] else ")"),
        *([f"scanned as: {one_line(scanned['hostname'])} (machine id {one_line(scanned['machine_id'] or 'unknown')}): "
           "the host's names when this run was made"]
          if (scanned := run["scanned_as"])["hostname"] != host["hostname"]
          or scanned["machine_id"] != host["machine_id"] else []),
        f"policy: {one_line(run['policy']['id'])} {one_line(run['policy']['version'])} "
        f"(SHA-256 {run['policy']['sha256']})",
        f"started: {run['started_at']}  finished: {run['finished_at']}  trigger: {run['trigger']}  "
        f"lbaudit {run['tool_version']}",
        f"evidence SHA-256: {run['evidence_sha256']}",
        f"previous evidence: {run['prev_evidence_sha256'] or 'none (first run of this host and policy)'}",
        f"snapshot (facts) SHA-256: {run['snapshot_sha256']}",
        f"signature: {run['signature']['state']}" + (f" (key {run['signature']['key']})" if run["signature"]["key"] else ""),
        "attested: " + (", ".join(f"{a['kind']} {a['document_sha256'][:16]}..." for a in run["attestations"]) or "no"),
        "counts: " + ", ".join(f"{k} {v}" for k, v in run["counts"].items() if v),
    ]
    click.echo(terminal_lines("\n".join(lines)))
    echo_table(["status", "severity", "rule", "subject", "controls", "id"],
               [[f["status"], f["severity"], f["rule"], f["subject"], ",".join(f["controls"]), f["id"]]
                for f in run["findings"]], keep_whole={"status", "id"},
               kept="in the run's evidence (history show --evidence)")


# ------------------------------------------------------------------ diff

@history.command("diff")
@click.argument("run_ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--host", help=HOST_HELP + " [needed when the store holds several].")
@click.option("--policy", help="Policy id [needed when the store holds several].")
@click.option("--allow-policy-change", is_flag=True, help="As for lbaudit diff: lost coverage through an intended "
              "policy change does not fail.")
@click.option("--allow-host-change", is_flag=True, help="As for lbaudit diff: runs of different hosts (another "
              "host name or machine id) do not fail on that alone.")
@store_option
@json_option
def diff_runs(run_ids: tuple[int, ...], host: str | None, policy: str | None, allow_policy_change: bool,
              allow_host_change: bool, store: str | None, as_json: bool) -> None:
    """Compare the last two runs of a host and policy, or two run ids (BEFORE AFTER).

    \b
    The categories and exit codes of lbaudit diff: 0 when nothing regressed, 1 on a regression
    or a worse verdict (or lost coverage without --allow-policy-change), 2 on bad input.  Without
    run ids, the last two runs are compared in the order of their facts (collected, then evaluated);
    a run started, or over facts collected, more than an hour ahead of this clock, or over facts
    collected after it was evaluated, is not one of them (as in fleet report), and is named on
    standard error and in the JSON's runs.passed_over.
    """
    from auditor.analysis.diff import diff_scans, reversed_order
    from auditor.commands.diff import echo_diff

    if len(run_ids) not in (0, 2):
        raise click.UsageError("give two run ids (BEFORE AFTER), or none for the last two runs")
    if run_ids and (host or policy):
        raise click.UsageError("--host and --policy choose the last two runs; not with run ids")
    passed_over: list[dict[str, Any]] = []
    with _open(store) as opened:
        if run_ids:
            before_id, after_id = run_ids
        else:
            before_id, after_id, passed_over = opened.last_two(host, policy)
        before, _ = opened.run_evidence(before_id)
        after, _ = opened.run_evidence(after_id)
    from auditor.history.store import dated_ahead_words

    for row in passed_over:  # as fleet report says it
        click.echo(f"lbaudit: warning: run {row['run']} in the history store started {row['started_at']} over facts "
                   f"collected {row['collected_at']}, {dated_ahead_words(row['reason'])}: not taken as the latest "
                   "run (retire or prune that run)", err=True)
    if not run_ids and reversed_order(before, after):
        # The last two runs are the last two evaluated; the later of the two evaluated an older
        # snapshot (a backfill, a new policy over old facts): compared in the order of their facts.
        (before_id, before), (after_id, after) = (after_id, after), (before_id, before)
    backwards = reversed_order(before, after)
    if backwards:
        raise InputError(f"runs {before_id} {after_id}: {backwards}")
    if not as_json:
        click.echo(f"runs: {before_id} -> {after_id}")
    failed = echo_diff(diff_scans(before, after), as_json, allow_policy_change,
                       extra={"runs": {"before": before_id, "after": after_id,
                                       **({} if run_ids else {"passed_over": passed_over})}},
                       allow_host_change=allow_host_change)
    sys.exit(ExitCode.NON_COMPLIANT if failed else ExitCode.COMPLIANT)


# ------------------------------------------------------------------ trend

@history.command()
@click.option("--days", type=click.IntRange(min=1, max=MAX_DAYS), default=30, show_default=True,
              help="The last N UTC days, today included (unless --since is given).")
@click.option("--since", callback=_day, help="First day (YYYY-MM-DD).")
@click.option("--until", callback=_day, help="Last day (YYYY-MM-DD) [default: today].")
@click.option("--host", help=HOST_HELP + "; a name of several hosts is refused (give one's key).")
@click.option("--policy", help="Policy id.")
@click.option("--by", type=click.Choice(["day", "family"]), default="day", show_default=True,
              help="Rows of the table and CSV: per day, or per NIST SP 800-53 family.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (the --by rows) instead of a table.")
@store_option
@json_option
def trend(days: int, since: date | None, until: date | None, host: str | None, policy: str | None, by: str,
          as_csv: bool, store: str | None, as_json: bool) -> None:
    """Findings by status per day and per NIST control family, summed over the recorded runs.

    \b
    Per day also the hosts a fleet run could not judge (missed_scans: none of their findings is
    summed), and the runs that were non-compliant and those incomplete (gaps: a finding in error or
    not reviewed, or nothing judged at all), whatever their counts say.  Runs of several policies or
    policy versions summed are named on standard error (JSON: policies)."""
    from auditor.history.schema import STATUSES

    if as_csv and as_json:
        raise click.UsageError("--csv and --json are alternatives; give one")
    last = until or datetime.now(timezone.utc).date()
    if since is None and last.toordinal() < days:  # the date arithmetic would be an OverflowError, exit 70
        raise click.UsageError(f"--days {days} before {last} reaches before year 1: give --since")
    first = since or last - timedelta(days=days - 1)
    if first > last:
        raise click.UsageError(f"--since {first} is after --until {last}")
    with _open(store) as opened:
        result = opened.trend(since=first, until=last, host=host, policy=policy)
    if len(result["policies"]) > 1:
        # counts of different rules added up: a version that dropped a failing rule reads as a fix
        named = ", ".join(f"{one_line(p.get('id', '?'))} {one_line(p.get('version', '?'))} ({p['first_day']}.."
                          f"{p['last_day']}, {p['runs']} runs)" for p in result["policies"][:10])
        click.echo(f"lbaudit: warning: the counts are summed over runs of {len(result['policies'])} policies or policy "
                   f"versions ({named}{', ...' if len(result['policies']) > 10 else ''}): a change of the counts may be "
                   "a change of the rules, not of the hosts (history diff says which); give --policy, and --since "
                   "after a version change, for one rule set", err=True)
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    key = "day" if by == "day" else "family"
    headers = [key, *(["runs"] if by == "day" else []), *STATUSES,
               *(["missed_scans", "non_compliant_runs", "incomplete_runs"] if by == "day" else [])]
    rows = [[row[h] for h in headers] for row in result["by_day" if by == "day" else "by_family"]]
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
        return
    click.echo(f"{first} .. {last}" + (f", host {host}" if host else "") + (f", policy {policy}" if policy else ""))
    echo_table(headers, rows, numeric=set(headers[1:]))


# ------------------------------------------------------------------ prune

@history.command()
@click.option("--older-than", "older_than", type=click.IntRange(min=0, max=MAX_DAYS), metavar="DAYS",
              help="Remove runs started more than DAYS days ago.")
@click.option("--keep-last", type=click.IntRange(min=0), metavar="N",
              help="Always keep the newest N runs of each host and policy (alone: remove all older ones).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--force", is_flag=True, help="Remove attested runs too (a PDF or OSCAL was issued from them).")
@store_option
@json_option
def prune(older_than: int | None, keep_last: int | None, dry_run: bool, force: bool, store: str | None,
          as_json: bool) -> None:
    """Retention: remove old runs (attested ones only with --force) and evidence no run refers to.

    A pruned run leaves its link in the chain, so history verify still passes.  A run dated ahead (as
    fleet report and history diff pass it over) is kept by --keep-last, and not counted among the newest.
    The newest are the newest by their facts (when collected, then evaluated); a run of older facts
    evaluated after them (a backfill) is kept by --keep-last too.  --older-than also removes the records
    of hosts a fleet run could not judge older than DAYS, but the newest of each host and policy."""
    if older_than is None and keep_last is None:
        raise click.UsageError("give --older-than DAYS and/or --keep-last N")
    with _open(store) as opened:
        report = opened.prune(older_than=timedelta(days=older_than) if older_than is not None else None,
                              keep_last=keep_last, force=force, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(report.pruned)} runs" + (f" ({_ids(report.pruned)})" if report.pruned else ""))
    if report.kept_attested:
        click.echo(f"kept {len(report.kept_attested)} attested runs ({_ids(report.kept_attested)}); --force removes them")
    if report.dated_ahead:
        click.echo(f"kept, not counted among the newest --keep-last: {len(report.dated_ahead)} runs dated ahead "
                   f"({_ids(sorted(report.dated_ahead))}; started or over facts collected ahead of this clock, or over "
                   "facts collected after they were evaluated)")
    if report.evaluated_later:
        click.echo(f"kept: {len(report.evaluated_later)} runs of older facts evaluated after the newest kept "
                   f"({_ids(report.evaluated_later)}; a backfill: its link would stand as its host's newest run)")
    click.echo(f"{verb} {report.orphan_evidence} evidence documents no run refers to")
    if report.missed_scans:
        click.echo(f"{verb} {report.missed_scans} records of hosts a fleet run could not judge (each host's newest "
                   "is kept)")


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f", ... {len(ids) - 20} more" if len(ids) > 20 else "")


# ------------------------------------------------------------------ retire

@history.command("retire")
@click.argument("host")
@click.option("--policy", help="Retire the host from this policy only [default: from every policy it was recorded with].")
@click.option("--reason", help="Why (decommissioned, renamed, ...): kept in the retirement, which the chain covers.")
@store_option
@json_option
def retire(host: str, policy: str | None, reason: str | None, store: str | None, as_json: bool) -> None:
    """Retire a host that no longer exists: fleet report stops listing it as stale.

    \b
    HOST is a host name, machine id or inventory name of exactly one host
    of the store.  Its runs are kept: each of its chains gets a retirement
    link, which history verify walks and history head shows.  A host that
    records a run again is back in the fleet.  Exit 2 for a host the store
    never recorded (or a name of several hosts: give its machine id).
    """
    with _open(store) as opened:
        links = opened.retire(host, policy=policy, reason=reason)
    if as_json:
        click.echo(json.dumps({"host": host, "store": opened.shown, "retired": links}, indent=2, sort_keys=True))
        return
    for link in links:
        if link["already"]:
            click.echo(f"{one_line(host)} ({one_line(link['policy'])}): already retired (link {link['run_id']})")
        else:
            click.echo(f"{one_line(host)} ({one_line(link['policy'])}): retired (link {link['run_id']}, "
                       f"SHA-256 {link['digest']})")


# ------------------------------------------------------------------ import, export

@history.command("import")
@click.argument("evidence_files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--export", "export_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Record the output of history export --with-evidence as it was (run ids, triggers, signatures, "
                   "attestations, pruned runs, retirements): to move a store to another backend.")
@click.option("--trigger", type=click.Choice(["manual", "timer", "cron", "ci", "fleet"]), default="manual",
              show_default=True, help="What ran these scans.")
@click.option("--host", "inventory_name", help="Inventory name of the host the files are of.")
@store_option
@json_option
def import_files(evidence_files: tuple[Path, ...], export_file: Path | None, trigger: str, inventory_name: str | None,
                 store: str | None, as_json: bool) -> None:
    """Record existing evidence files (and their .sig) as runs, oldest first: a backfill.

    Every file (and .sig) is read and validated before anything is recorded, and the runs are
    recorded in one transaction: all or none. A file already recorded is skipped, and so is a copy of a
    recorded run in other bytes (the same start, end, facts and policy); but a signed file whose run was
    recorded unsigned (a copy without its .sig imported first) gives that run its signature (JSON:
    signed_now), and one whose .sig does not sign the recorded copy is exit 10.

    \b
    With --export FILE (the output of history export --with-evidence, into a fresh
    store): every entry as it was recorded, in one transaction. A line that is not
    an entry, or was edited, is exit 2 naming FILE:LINE; a signature that no longer
    holds over its evidence is exit 10. Nothing is recorded then."""
    if export_file is not None:
        ctx = click.get_current_context()
        given = [name for name in ("trigger", "inventory_name")
                 if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
        if evidence_files or given:
            raise click.UsageError("--export FILE records the export as it was: give no evidence files, --trigger "
                                   "or --host with it")
        _import_export(export_file, store, as_json)
        return
    if not evidence_files:
        raise click.UsageError("give evidence files, or --export FILE")
    from auditor.attest.signing import EvidenceChangedSinceSigned, load_evidence_unchanged_since_signed, signature_path
    from auditor.history import signature_beside
    from auditor.history.store import UnkeepableText, dated_ahead, prepare_run

    loaded = []
    now = datetime.now(timezone.utc)
    for path in evidence_files:
        # its .sig first: a failure turned pass with the summary left as signed is tampering (exit 10),
        # not only evidence that contradicts its findings (exit 2)
        evidence, raw = load_evidence_unchanged_since_signed(path, "nothing is recorded")
        ahead = dated_ahead(evidence, now)
        if ahead:  # refused before anything is recorded
            raise InputError(f"{path}: {ahead}")
        signature = signature_beside(path)  # read_bounded names the file it cannot read
        try:
            prepared = prepare_run(raw, evidence, signature)
        except UnkeepableText as exc:  # a text of the evidence no store keeps
            raise InputError(f"{path}: {exc}") from None
        except InputError as exc:  # the evidence is parsed already: else it is the .sig beside it
            raise InputError(f"{signature_path(path)}: {exc}") from None
        except EvidenceChangedSinceSigned as exc:
            raise EvidenceChangedSinceSigned(f"{path}: {exc}") from None
        loaded.append((evidence.run.started_at, str(path), prepared))
    loaded.sort(key=lambda item: (item[0], item[1]))  # the chain follows the scans' own order
    with _open(store, create=True) as opened:
        recorded = opened.import_prepared([prepared for _, _, prepared in loaded], trigger=trigger,
                                          inventory_name=inventory_name, names=[name for _, name, _ in loaded])
    # signed_now only where a recorded unsigned copy of the run took this file's signature
    results = [{"file": name, "run": run_id, "recorded": new, **({"signed_now": True} if signed_now else {})}
               for (_, name, _), (run_id, new, signed_now) in zip(loaded, recorded)]
    if as_json:
        click.echo(json.dumps(results, indent=2, sort_keys=True))
        return
    for item in results:
        # the file's name as a terminal shows it: a name is any character but NUL and "/"
        say(f"{item['file']}: " + (f"recorded as run {item['run']}" if item["recorded"]
                                   else f"already recorded as run {item['run']}")
            + ("; it was unsigned, and its signature (this file's .sig) is now recorded" if item.get("signed_now")
               else ""))


MAX_EXPORT_FILE = 4 * 1024 * 1024 * 1024  # bytes: 16 evidence documents of the largest size


def _import_export(path: Path, store: str | None, as_json: bool) -> None:
    from auditor.history.store import read_export
    from auditor.safeio import read_regular

    try:
        raw = read_regular(path, MAX_EXPORT_FILE, document="history export")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the export: {exc.strerror or exc}") from None
    entries = read_export(raw, str(path))
    with _open(store, create=True) as opened:
        counts = opened.import_export(entries)
    if as_json:
        click.echo(json.dumps({"file": str(path), "store": opened.shown, "recorded": counts}, indent=2,
                              sort_keys=True))
        return
    say(f"{path}: recorded {counts['run']} runs, {counts['pruned_run']} pruned runs' links, "
        f"{counts['retirement']} retirements and {counts['missed_scan']} hosts not scanned")


EXPORT_IN_MEMORY = 32 * 1024 * 1024  # bytes of export lines held in memory before they spill to a temporary file


@history.command("export")
@_filters
@click.option("--with-evidence", is_flag=True, help="Each line also holds the evidence document as recorded (text), "
              "and its .sig document when it was signed (evidence_signature; write them as FILE and FILE.sig for "
              "history import), and after the runs the other entries of their chains (pruned runs, retirements, "
              "hosts not scanned): history import --export records them all again.")
@store_option
@json_option
def export_runs(host: str | None, policy: str | None, verdict: str | None, since: datetime | None,
                until: datetime | None, with_evidence: bool, store: str | None, as_json: bool) -> None:
    """Runs as JSON Lines, oldest first: one run (with its findings) per line.

    \b
    Every run is read (and with --with-evidence, its evidence checked against its digest) before
    the first line is printed: a damaged run is exit 2 with nothing on stdout, never part of the
    runs for a consumer to import. The output is JSON Lines with or without --json (accepted for
    symmetry with the other commands)."""
    import shutil
    import tempfile

    from auditor.history.store import dump_json_line

    # Spooled: a large export (--with-evidence) goes to a temporary file, not all into memory.
    with tempfile.SpooledTemporaryFile(max_size=EXPORT_IN_MEMORY, mode="w+b") as lines:
        with _open(store) as opened:
            for run in opened.export_runs(with_evidence=with_evidence, host=host, policy=policy, verdict=verdict,
                                          since=since, until=until):
                lines.write(dump_json_line(run).encode("utf-8") + b"\n")
        lines.seek(0)
        sys.stdout.flush()
        shutil.copyfileobj(lines, sys.stdout.buffer)
        sys.stdout.buffer.flush()


# ------------------------------------------------------------------ verify

HEADS_SCHEMA = "lbaudit/history-heads"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
MAX_HEADS_FILE = 256 * 1024 * 1024  # an evidence file may be this large (auditor.storage.evidence)


def expected_heads(values: tuple[str, ...]) -> list[str]:
    """The evidence digests ``--expect-head`` gives: a SHA-256 (64 lowercase hex digits); or a file:
    the output of ``history head --json`` (every head in it), else an evidence file (the SHA-256 of
    its bytes, which is the digest its recorded run carries)."""
    from auditor.safeio import read_regular
    from auditor.storage.jsonfile import parse_document

    digests: list[str] = []
    for value in values:
        if _DIGEST.match(value):
            digests.append(value)
            continue
        try:
            raw = read_regular(value, MAX_HEADS_FILE, document="history head or evidence file")
        except OSError as exc:
            raise InputError(f"--expect-head {value!r}: neither a SHA-256 (64 hex digits) nor a readable file: "
                             f"{exc.strerror or exc}") from None
        document: Any = None
        if raw.lstrip().startswith(b"{") and HEADS_SCHEMA.encode() in raw:
            try:
                document = parse_document(raw, value, "JSON")
            except InputError:
                document = None
        if isinstance(document, dict) and document.get("schema") == HEADS_SCHEMA:
            heads = document.get("heads")
            found = [h.get("evidence_sha256") for h in heads if isinstance(h, dict)] if isinstance(heads, list) else []
            if not found or not all(isinstance(d, str) and _DIGEST.match(d) for d in found) or len(found) != len(heads):
                raise InputError(f"{value}: a {HEADS_SCHEMA} document whose heads are not a list of evidence "
                                 "SHA-256 digests")
            digests += found
            continue
        digests.append(hashlib.sha256(raw).hexdigest())
    return digests


# The breaks of no run, and what each is of instead
_NOT_OF_A_RUN = {"head_missing": "expected head", "store_damaged": "the store's database file"}


@history.command("head")
@click.option("--host", help=HOST_HELP + ".")
@click.option("--policy", help="Policy id.")
@store_option
@json_option
def heads(host: str | None, policy: str | None, store: str | None, as_json: bool) -> None:
    """The newest run (or pruned run's link) of every host and policy: keep it outside the store.

    \b
    history verify --expect-head FILE|SHA256 then proves those runs, and every run before them,
    are still in the store: the chain alone cannot tell that its newest runs were deleted.
    """
    with _open(store) as opened:
        found = opened.heads(host=host, policy=policy)
    if as_json:
        click.echo(json.dumps({"schema": HEADS_SCHEMA, "store": opened.shown, "heads": found}, indent=2,
                              sort_keys=True))
        return
    echo_table(["run", "started (UTC)", "host", "policy", "state", "evidence SHA-256"],
               [[h["run_id"], (h["started_at"] or "").replace("T", " ").rstrip("Z")[:19],
                 h["host"]["inventory_name"] or h["host"]["hostname"], h["policy"], h["state"], h["evidence_sha256"]]
                for h in found], numeric={"run"}, keep_whole={"run", "evidence SHA-256"})


@history.command("verify")
@click.option("--pubkey", type=click.Path(path_type=Path),
              help="Public key (lbaudit keygen): also verify the Ed25519 signature of every signed run.")
@click.option("--expect-head", "expect_head", multiple=True, metavar="SHA256|FILE",
              help="A run the store must still hold, pinned outside it: an evidence SHA-256, an evidence file "
                   "(archived elsewhere), or the output of history head --json. Repeatable.")
@click.option("--require-signed", is_flag=True, help="With --pubkey: every run must be signed (a run without a "
              "signature is a break). Without it, only an unsigned run after a signed one of its host and policy is.")
@store_option
@json_option
def verify_store(pubkey: Path | None, expect_head: tuple[str, ...], require_signed: bool, store: str | None,
                 as_json: bool) -> None:
    """Walk every chain of runs and every stored evidence (and signature); report the first break.

    \b
    Exit 0 when every link, evidence digest and record holds; 10 when one does not (an evidence
    changed or missing, a run removed, a record that disagrees with its evidence, an expected
    head no longer in the store, an SQLite file that fails its integrity check); 11 when a
    signature does not hold; 2 on bad input.
    Without --expect-head, deleting the newest runs of a chain cannot be told; without
    --pubkey, a run appended by anyone who can write the store cannot.
    """
    if require_signed and pubkey is None:
        raise click.UsageError("--require-signed needs --pubkey: the key the runs must be signed with")
    pinned = expected_heads(expect_head)
    with _open(store) as opened:
        report = opened.verify(pubkey, tuple(pinned), require_signed)
    code = ExitCode.COMPLIANT
    if report.breaks:
        code = ExitCode.VERIFY_SIGNATURE if report.breaks[0].kind == "signature" else ExitCode.VERIFY_DIGEST
    if as_json:
        document = report.as_dict()
        document["exit_code"] = int(code)
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        retired = f", {report.retirements} retirements (history retire)" if report.retirements else ""
        click.echo(f"{report.runs} runs in {report.chains} chains{retired}; {report.signatures_checked} signatures "
                   "verified")
        if report.ok:
            click.echo("history verified: every chain link, evidence digest and record holds"
                       + (f", and the {len(report.heads)} expected heads are in it" if report.heads else
                          " (newest runs deleted cannot be told: give --expect-head)"))
        else:
            first = report.breaks[0]
            where = _NOT_OF_A_RUN.get(first.kind) or (
                f"run {first.run_id} ({one_line(first.host)}, policy {one_line(first.policy_id)})")
            # A break quotes what the store holds, and verify is run on a store that may have been
            # edited: a signature key of "\r..." and a megabyte rewrote the line on the terminal.
            # Each line as a message's line is shown, and at most MAX_LISTED_PROBLEMS of them.
            click.echo(terminal_lines(f"FIRST BREAK: {where}: {first.kind}: {first.detail}"))
            for other in report.breaks[1:MAX_LISTED_PROBLEMS]:
                click.echo(terminal_lines(f"  also: {_NOT_OF_A_RUN.get(other.kind) or f'run {other.run_id}'}: "
                                          f"{other.kind}: {other.detail}"))
            if len(report.breaks) > MAX_LISTED_PROBLEMS:
                click.echo(f"  ... and {len(report.breaks) - MAX_LISTED_PROBLEMS:,} more breaks not shown "
                           "(--json lists them all)")
        for head in report.heads:
            if head.found == "pruned":
                click.echo(f"note: expected head {head.evidence_sha256} is run {head.run_id}, pruned (its link remains)")
    sys.exit(code)

