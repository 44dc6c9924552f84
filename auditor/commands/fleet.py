"""``lbaudit fleet evaluate|report``: many hosts' snapshots evaluated on the controller.

The work is :mod:`auditor.fleet` (and, for ``report``, the history store); this module parses
options and prints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.model.result import Severity
from auditor.plugins import plugins_enabled

SEVERITIES = [s.value for s in Severity]


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
                   "fleet.junit.xml) are written.")
@click.option("--sign-key", type=click.Path(path_type=Path), help="Ed25519 private key: sign each host's evidence.")
@click.option("--record", is_flag=True, help="Record every host's run in the history store (trigger fleet).")
@click.option("--store", default=None, help="History store for --record: a file path or a SQLAlchemy URL "
              "[default: LBAUDIT_STORE, else the per-user default].")
@click.option("--snapshot-pubkey", type=click.Path(path_type=Path),
              help="Public key every snapshot must be signed with; a host whose snapshot is not fails (exit 10-12).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: the CPUs this process may use].")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="info", show_default=True,
              help="Lowest severity of a failing finding that makes a host non-compliant.")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit code and the files still tell.")
def evaluate(snapshots: tuple[Path, ...], policy_path: Path, out_dir: Path, sign_key: Path | None, record: bool,
             store: str | None, snapshot_pubkey: Path | None, jobs: int | None, fail_on: str, no_plugins: bool,
             quiet: bool) -> None:
    """Evaluate many hosts' snapshots against one policy, in parallel; the exit code is the worst host's.

    A bad snapshot fails its host (exit 2, the reason in the summary), never the whole run.
    """
    from auditor.fleet import SUMMARY_JSON, SUMMARY_JUNIT, FleetJob, evaluate_fleet

    if store is not None and not record:
        raise click.UsageError("--store says where --record records: give --record as well")
    summary = evaluate_fleet(FleetJob(snapshots=list(snapshots), policy=policy_path, out_dir=out_dir,
                                      sign_key=sign_key, store=store, record=record, jobs=jobs,
                                      fail_on=Severity(fail_on), plugins=plugins_enabled(no_plugins),
                                      snapshot_pubkey=snapshot_pubkey))
    if not quiet:
        for host in summary.hosts:
            what = host.verdict or f"exit {host.exit_code}: {host.error}"
            click.echo(f"{host.host}: {what}" + (f" ({', '.join(host.failing_rules)})" if host.failing_rules else ""))
        counts = ", ".join(f"{n} {verdict}" for verdict, n in summary.as_dict()["hosts_by_verdict"].items())
        click.echo(f"fleet: {len(summary.hosts)} hosts ({counts or 'none'}); exit {summary.exit_code}")
        click.echo(f"summary: {out_dir / SUMMARY_JSON}, {out_dir / SUMMARY_JUNIT}")
    sys.exit(summary.exit_code)
