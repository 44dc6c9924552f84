"""``lbaudit fleet evaluate|report``: many hosts' snapshots evaluated on the controller.

The work is :mod:`auditor.fleet` (and, for ``report``, the history store); this module parses
options and prints."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from auditor.commands.options import (
    EXPIRY_WARNING_HELP,
    MAX_DAYS,
    WAIVERS_HELP,
    force_option,
    max_age_option,
    max_snapshot_records_option,
    typed,
    value_source,
)
from auditor.commands.output import say, warn_problems
from auditor.config import EXPIRY_WARNING_DAYS_RANGE
from auditor.model.result import Severity
from auditor.plugins import plugins_enabled

SEVERITIES = [s.value for s in Severity]
# The runs passed over as dated ahead that fleet report names on standard error, one line each: a
# store may hold any number of them (each one a line, 200,000 lines for a store of forged runs).
WARNINGS_SHOWN = 20


def section_limit_options(command: Any) -> Any:
    """An option for each limit of what one host's snapshot may record (--max-listeners, ...,
    auditor.storage.snapshot.SECTION_LIMITS), handed to the command as ``section_limits``: the
    (option, maximum) pairs given."""
    from auditor.storage.snapshot import SECTION_LIMITS

    def given(context: click.Context, parameter: click.Parameter, value: int | None) -> int | None:
        if value is not None:
            chosen = context.meta.setdefault("lbaudit.section_limits", {})
            chosen[parameter.opts[0]] = value
            context.params["section_limits"] = tuple(sorted(chosen.items()))
        else:
            context.params.setdefault("section_limits", ())
        return value

    for limit in reversed(SECTION_LIMITS):
        command = click.option(limit.option, type=click.IntRange(min=1), default=None, metavar="N", expose_value=False,
                               callback=given, help=f"A host whose snapshot records more {limit.noun} than this fails "
                               f"(exit 2) unjudged: {limit.cost} [default: {limit.default}].")(command)
    return command


@click.group("fleet")
def fleet() -> None:
    """Evaluate a fleet's snapshots centrally, and report on the fleet from the history store.

    \b
    Targets only collect (lbaudit collect, or the Ansible collection lbaudit.compliance);
    the policy, the evaluation and the signing key stay on the controller.
    """


@fleet.command("evaluate")
@click.option("--snapshots", "snapshots", multiple=True, required=True, type=click.Path(path_type=Path),
              help="A directory of host directories (Ansible's fetch layout DIR/<inventory_hostname>/"
                   "*.snapshot.json), or snapshot files; repeat for several.")
@click.option("--policy", "policy_path", required=True, type=click.Path(path_type=Path), help="Policy YAML file.")
@click.option("--out-dir", required=True, type=click.Path(path_type=Path),
              help="Where each host's <host>.evidence.json and the fleet summary (fleet-summary.json, "
                   "fleet.junit.xml, fleet-summary.html) are written.")
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path),
              help=WAIVERS_HELP + " Applied to every host, as evaluate applies it, and recorded in each host's evidence.")
@click.option("--expiry-warning-days", type=click.IntRange(*EXPIRY_WARNING_DAYS_RANGE), default=30, show_default=True,
              help=EXPIRY_WARNING_HELP)
@click.option("--sign-key", type=click.Path(path_type=Path), help="Ed25519 private key: sign each host's evidence.")
@click.option("--record", is_flag=True, help="Record every host's run in the history store (trigger fleet); a host "
              "whose snapshot was collected before the facts of its latest recorded run, or records neither that "
              "run's machine id nor its host name (another machine's), fails (exit 2).")
@click.option("--store", default=None, help="History store for --record: a file path or a SQLAlchemy URL "
              "[default: LBAUDIT_STORE, else the per-user default].")
@click.option("--snapshot-pubkey", type=click.Path(path_type=Path),
              help="Public key every snapshot must be signed with; a host whose snapshot is not fails (exit 10-12).")
@click.option("--host-html", is_flag=True,
              help="Also write each host's HTML report (<host>.html, beside its evidence), linked from the overview.")
@click.option("--expect-hosts", "expect_hosts", multiple=True, metavar="NAMES",
              help="The hosts this run is about, comma-separated (the inventory's; repeatable): one without a "
                   "snapshot fails with exit 2, and a snapshot of a host not named is not judged (names compare without "
                   "case or a trailing dot, as the run's hosts do).")
@click.option("--expect-host", "expect_host", multiple=True, metavar="NAME",
              help="One host this run is about, as --expect-hosts, its name taken whole, never split (repeatable): "
                   "what a program passes, since an inventory name may hold a comma; one that cannot name a host "
                   "is refused (exit 2).")
@max_age_option(None, "A host whose snapshot was collected longer ago than this (36h, 7d, ...) fails (exit 2): "
                "a snapshot left from an earlier run is not the host as it is now [default: no limit; the "
                "Ansible play gives 1d].")
@section_limit_options
@max_snapshot_records_option("fails its host")
@click.option("--jobs", "-j", type=click.IntRange(min=1, max=1024), default=None,  # auditor.fleet.MAX_JOBS
              help="Worker processes, never more than the hosts need [default: the CPUs this process may use].")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="info", show_default=True,
              help="Lowest severity of a failing finding that makes a host non-compliant.")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit code and the files still tell.")
@force_option
def evaluate(snapshots: tuple[Path, ...], policy_path: Path, out_dir: Path, waivers_path: Path | None,
             expiry_warning_days: int, sign_key: Path | None, record: bool,
             store: str | None, snapshot_pubkey: Path | None, host_html: bool, expect_hosts: tuple[str, ...],
             expect_host: tuple[str, ...],
             max_age: timedelta | None, section_limits: tuple[tuple[str, int], ...], max_snapshot_records: int | None,
             jobs: int | None, fail_on: str, no_plugins: bool,
             quiet: bool, force: bool) -> None:
    """Evaluate many hosts' snapshots against one policy, in parallel; the exit code is the worst host's.

    A bad snapshot fails its host (exit 2, the reason in the summary), never the whole run.
    """
    from auditor.fleet import SUMMARY_HTML, SUMMARY_JSON, SUMMARY_JUNIT, FleetJob, evaluate_fleet

    for names in expect_hosts:
        if not any(name.strip() for name in names.split(",")):
            # "$HOSTS" empty (an inventory query that failed) was no expectation at all: the run
            # judged whatever it found, and a host missing from the collection went unnamed
            raise click.UsageError(f"--expect-hosts {names!r} names no host: give the hosts this run is about")
    if store is not None and not record:
        if typed("store"):
            raise click.UsageError("--store says where --record records: give --record as well")
        store = None  # LBAUDIT_STORE or store: where a run asked to --record records, not a request to
    summary = evaluate_fleet(FleetJob(snapshots=list(snapshots), policy=policy_path, out_dir=out_dir,
                                      waivers=waivers_path, expiry_warning_days=expiry_warning_days,
                                      sign_key=sign_key, store=store, record=record, jobs=jobs,
                                      fail_on=Severity(fail_on), plugins=plugins_enabled(no_plugins),
                                      snapshot_pubkey=snapshot_pubkey, host_html=host_html, max_age=max_age,
                                      max_age_source=value_source("max_age"),
                                      section_limits=section_limits, max_snapshot_records=max_snapshot_records,
                                      force=force,
                                      expect_hosts=tuple(dict.fromkeys([
                                          *(name.strip() for names in expect_hosts for name in names.split(",")
                                            if name.strip()),
                                          # whole, as given: a comma, a space or an empty name is
                                          # refused by its name (auditor.fleet.check_job), never
                                          # read as other hosts or dropped
                                          *expect_host]))))
    if not quiet:
        from auditor.text import one_line, shown_line

        warn_problems(summary.warnings)  # expired and expiring waivers, as evaluate warns of them
        for host in summary.hosts:
            # the error names what the snapshot holds: one line of a terminal, cut as a message's line is
            what = host.verdict or f"exit {host.exit_code}: {shown_line(host.error, f'in {SUMMARY_JSON}')}"
            age = f" [collected {host.collection_age} ago]" if host.collection_age and host.error is None else ""
            click.echo(f"{one_line(host.host)}: {what}"
                       + (f" ({one_line(', '.join(host.failing_rules))})" if host.failing_rules else "") + age)
        counts = ", ".join(f"{n} {verdict}" for verdict, n in summary.as_dict()["hosts_by_verdict"].items())
        click.echo(f"fleet: {len(summary.hosts)} hosts ({counts or 'none'}); exit {summary.exit_code}")
        say(f"summary: {out_dir / SUMMARY_JSON}, {out_dir / SUMMARY_JUNIT}, {out_dir / SUMMARY_HTML}")
    sys.exit(summary.exit_code)


@fleet.command("report")
@click.option("--store", default=None, help="History store (a file path or a SQLAlchemy URL) "
              "[default: LBAUDIT_STORE, else the per-user default].")
@click.option("--policy", "policy_id", default=None, help="Only runs of this policy id.")
@click.option("--stale-days", type=click.IntRange(min=0, max=MAX_DAYS), default=7, show_default=True,
              help="List hosts whose latest run is older than this many days.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many of the rules failing on most hosts to list.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the HTML fleet overview of each host's latest run to this file (one policy: "
                   "give --policy when the store holds several).")
@force_option
def report(store: str | None, policy_id: str | None, stale_days: int, top: int, as_json: bool,
           html_path: Path | None, force: bool) -> None:
    """The fleet from the history store: hosts by verdict, rules failing on most hosts, controls by
    share of hosts satisfied, hosts that regressed since their previous run, hosts not scanned lately.

    \b
    A host whose latest run was pruned (history prune) is still listed, by the link its run left:
    "pruned" (its result is gone), or "stale" and not scanned once older than --stale-days.
    A host retired with history retire is listed as retired only, until it records a run again.
    A host the latest fleet run (evaluate --record) expected and could not judge is "not_scanned",
    with the reason, not listed by its last judged run.
    A run started, or over facts collected, more than an hour ahead of this clock, or over facts
    collected after it was evaluated (recorded before the store refused such runs) is not taken as
    its host's latest or previous run, and is named on standard error; a host with no other run is
    "not_scanned".  So is a pruned run's link, or a fleet run's record of a host it could not judge,
    started more than an hour ahead of this clock.
    Exit 1 when a host regressed, else 3 when a host was not scanned in the latest fleet run, else 0.
    """
    import json

    from auditor.fleet import fleet_report
    from auditor.history import open_store

    with open_store(store, create=False) as opened:  # reads: a misspelt --store is exit 2, not an empty fleet
        if html_path is not None:
            from auditor.storage.outputs import plan_outputs

            # The store's files as the store names them (a path or a sqlite URL; its -journal, -wal
            # and -shm beside it), as report --store checks them: checked against a path-form
            # --store alone, the overview replaced a store named by a URL, or took a journal's place.
            plan_outputs([("fleet overview", html_path)], inputs=[("history store", path) for path in opened.files],
                         force=force)
        data = fleet_report(opened, policy=policy_id, stale_days=stale_days, top=top)
    from auditor.history.store import dated_ahead_words
    from auditor.text import one_line

    for row in data["dated_ahead"][:WARNINGS_SHOWN]:  # as fleet evaluate --record's replay check says it
        host = f"lbaudit: warning: host {one_line(repr(row['host']))}:"
        if row["kind"] == "pruned_run":
            click.echo(f"{host} the link its pruned run {row['run']} left in the history store started "
                       f"{row['started_at']}, {dated_ahead_words(row['reason'])}: not taken as its latest run "
                       "(it is kept, as the proof of the chain)", err=True)
        elif row["kind"] == "missed_scan":
            click.echo(f"{host} the record in the history store of a fleet run that could not judge it started "
                       f"{row['started_at']}, {dated_ahead_words(row['reason'])}: not taken as its latest scan",
                       err=True)
        else:
            click.echo(f"{host} its run {row['run']} in the history store started {row['started_at']} over facts "
                       f"collected {row['collected_at']}, {dated_ahead_words(row['reason'])}: not taken as its "
                       "latest run (retire or prune that run)", err=True)
    if len(data["dated_ahead"]) > WARNINGS_SHOWN:
        click.echo(f"lbaudit: warning: and {len(data['dated_ahead']) - WARNINGS_SHOWN:,} more runs dated ahead, not "
                   "taken as their host's latest run (--json lists them under dated_ahead)", err=True)
    if html_path is not None:
        from auditor.fleet import report_as_summary
        from auditor.report.fleet_html import render_fleet_html
        from auditor.storage.outputs import write_atomic

        write_atomic(html_path, render_fleet_html(report_as_summary(data), links_from=None))
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        from auditor.text import one_line  # host names and subjects are what the recorded hosts said

        click.echo(f"hosts: {data['hosts_total']}")
        for verdict, hosts in data["hosts_by_verdict"].items():
            click.echo(f"  {verdict}: {len(hosts)} ({one_line(', '.join(hosts[:10]))}{', ...' if len(hosts) > 10 else ''})")
        click.echo("rules failing on most hosts:")
        for row in data["rules_failing_on_most_hosts"]:
            click.echo(f"  {one_line(row['rule'])}: {row['hosts']} hosts")
        click.echo("controls by share of hosts satisfied:")
        for row in data["controls_by_share_satisfied"]:
            click.echo(f"  {row['control']}: {row['hosts_satisfied']}/{row['hosts']} ({row['share']:.0%})")
        click.echo(f"regressed since their previous run: {len(data['regressed_since_previous_run'])}")
        for row in data["regressed_since_previous_run"]:
            what = "; ".join(f"{one_line(c['rule'])}: {one_line(c['subject'])} {c['before']} -> {c['after']}"
                             for c in row["regressions"][:5])
            what = "; ".join([*([what] if what else []), *(f"{one_line(c['kind'])} {one_line(c['subject'])}"
                                                          for c in row.get("lost_coverage", [])[:5])])
            verdict = row.get("verdict") or {}
            if verdict.get("worsened"):
                what = "; ".join([f"verdict {verdict['before']} -> {verdict['after']}", *([what] if what else [])])
            click.echo(f"  {one_line(row['host'])} ({one_line(row['policy'])}, run {row['previous_run']} -> {row['run']}): "
                       f"{what}")
        stale = data["not_scanned_for_days"]
        click.echo(f"not scanned for {stale['days']} days: {len(stale['hosts'])}")
        for row in stale["hosts"]:
            if row["state"] == "not_scanned":  # expected by the latest fleet run, not judged by it
                last = (f"last judged run {row['last_run']} started {row['last_started_at']}" if row["last_run"]
                        else "never judged")
                click.echo(f"  {one_line(row['host'])}: not scanned in the latest fleet run; {last} "
                           f"({row['days']} days)")
                continue
            if row["state"] == "pruned":  # known to the store only by the link its pruned run left
                click.echo(f"  {one_line(row['host'])}: last run {row['last_started_at']} ({row['days']} days), "
                           f"run {row['last_run']} pruned: its result is no longer in the store")
                continue
            click.echo(f"  {one_line(row['host'])}: last run {row['last_started_at']}, facts collected "
                       f"{row['collected_at']} ({row['days']} days), {row['verdict']}")
        if data["retired"]:
            click.echo(f"retired (history retire): {len(data['retired'])}")
            for row in data["retired"]:
                click.echo(f"  {one_line(row['host'])} ({one_line(row['policy'])}): retired {row['retired_at']}"
                           + (f": {one_line(row['reason'])}" if row["reason"] else ""))
        if html_path is not None:
            say(f"overview: {html_path}")
    # A host the latest fleet run could not judge makes the report incomplete (3), as an evaluation
    # that could not see its evidence is: a gate or a cron job reading only the exit code took 0 for
    # "every host judged".  A regression outranks it, as a failure outranks incomplete in evaluate.
    not_judged = bool(data["hosts_by_verdict"].get("not_scanned"))  # however recent its last judged run
    sys.exit(1 if data["regressed_since_previous_run"] else 3 if not_judged else 0)
