"""``lbaudit schedule install|remove``: the scheduled scan, as a systemd timer or a cron.d job.

The files and every check before writing them are :mod:`auditor.schedule`; this module parses
options and prints."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import click

from auditor import schedule as sched
from auditor.commands.output import say
from auditor.errors import InputError
from auditor.plugins import plugins_enabled
from auditor.safeio import kind_of

ROOT_HELP = ("Write under DIR, an offline image root, instead of this host (image builds, tests); paths "
             "given are as the scheduled host sees them, and are checked under DIR (its links resolved inside "
             "DIR, never to this host's files).")


@click.group("schedule")
def schedule() -> None:
    """Install or remove the scheduled scan: a hardened systemd timer or an /etc/cron.d job.

    \b
    The scheduled command is `lbaudit evaluate --policy P --quiet --out-dir D --record
    --trigger timer|cron`, run by the absolute path of this lbaudit; its exit code is the verdict.
    """


def _default_policy() -> str:
    from auditor.resources import data_dir

    return str(data_dir("policies") / "corp.yaml")


def _existing_dir(root: Path, path: str, what: str, parent_will_do: bool = False) -> None:
    """A directory the scheduled run writes into exists (or, for --out-dir, only it is missing and
    its parent exists: evaluate creates that one level).  Something else there (a file, a FIFO, a
    link to a file) is refused by its kind: taken for "missing, the parent will do", an --out-dir
    that was a file was installed for cron with exit 0, and every run refused it."""
    real = sched.followed_under_root(root, path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a name too long under --root, a loop of links
        raise InputError(f"{real}: cannot use as the {what} directory: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        return
    if st is not None:
        kind = "a regular file" if stat.S_ISREG(st.st_mode) else kind_of(st.st_mode)
        raise InputError(f"{real}: cannot use as the {what} directory: it is {kind}, not a directory; "
                         "the scheduled scan would fail every night")
    try:
        # as evaluate makes it: a link to nothing is followed, and its target made
        parent_there = parent_will_do and Path(os.path.realpath(real)).parent.is_dir()
    except OSError:
        parent_there = False
    if parent_there:
        return
    raise InputError(f"{real}: {what} directory does not exist; the scheduled scan would fail every night")


@schedule.command("install")
@click.option("--backend", type=click.Choice(sched.BACKENDS), required=True,
              help="systemd: lbaudit-scan.service and .timer; cron: /etc/cron.d/lbaudit.")
@click.option("--policy", "policy", type=click.Path(), default=None, help="Policy file the scan evaluates [default: the shipped "
              "corporate baseline]. Checked now: a policy that does not load is refused.")
@click.option("--on-calendar", default="daily", show_default=True,
              help="When: systemd OnCalendar= (e.g. daily, hourly, 'Mon *-*-* 03:00'); for cron hourly, daily "
                   "(02:30), weekly, or five cron time fields.")
@click.option("--randomized-delay", default="1h", show_default=True,
              help="systemd RandomizedDelaySec=: each host of a fleet starts at its own fixed offset within it; at most "
                   "the time between two runs of --on-calendar (the default is cut to it; a longer one given is refused).")
@click.option("--out-dir", type=click.Path(), default=str(sched.STATE_DIR), show_default=True,
              help="Where each run writes <policy-id>.evidence.json (replaced every run; the history keeps them all).")
@click.option("--sign-key", type=click.Path(), default=None, help="Ed25519 private key: sign every run's evidence. Must be root's "
              "and readable by root only (chmod 600); refused otherwise.")
@click.option("--store", default=None, help="History store for --record (a file path or a SQLAlchemy URL) "
              "[default: evaluate's, /var/lib/lbaudit/history.db for root].")
@click.option("--textfile-dir", default=None, help="node_exporter textfile-collector directory: also write "
              "<policy-id>.prom there every run.")
@click.option("--executable", default=None, help="Absolute path of lbaudit on the scheduled host "
              "[default: this lbaudit].")
@click.option("--root", "root", type=click.Path(path_type=Path), default=Path("/"), help=ROOT_HELP)
@click.option("--dry-run", is_flag=True, help="Print the files instead of writing them.")
@click.option("--no-plugins", is_flag=True, help="Check the policy against built-in checks only.")
@click.option("--allow-overrides", is_flag=True, help="Install even when a systemd drop-in of lbaudit-scan.service "
              "or .timer (*.conf in a .d directory of systemd's search path), or a unit of the same name that systemd "
              "reads first, would change what runs; each is named on stderr. Without it such files are refused.")
def install(backend: str, policy: str | None, on_calendar: str, randomized_delay: str, out_dir: str,
            sign_key: str | None, store: str | None, textfile_dir: str | None, executable: str | None, root: Path,
            dry_run: bool, no_plugins: bool, allow_overrides: bool) -> None:
    """Write the scheduled scan (checked first; nothing is written when anything is refused)."""
    for name, value in (("--policy", policy), ("--out-dir", out_dir), ("--sign-key", sign_key),
                        ("--textfile-dir", textfile_dir), ("--executable", executable), ("--store", store)):
        if value is not None and value == "":
            raise click.UsageError(f"{name}: an empty value names nothing")
    this_host = sched.is_this_host(root)
    config = sched.ScheduleConfig(
        executable=sched.find_executable(executable),
        policy=sched.absolute_path(policy or _default_policy(), "--policy"),
        out_dir=sched.absolute_path(out_dir, "--out-dir"),
        on_calendar=on_calendar,
        randomized_delay=randomized_delay,
        sign_key=sched.absolute_path(sign_key, "--sign-key") if sign_key else None,
        # a store given as a file path is made absolute, like every path: the unit runs in /
        store=(sched.plain_value(store, "--store") if "://" in store else sched.absolute_path(store, "--store"))
        if store else None,
        textfile_dir=sched.absolute_path(textfile_dir, "--textfile-dir") if textfile_dir else None,
    )
    if config.store is not None and "://" in config.store:
        sched.check_store_secret(config.store)
        sched.check_store_opens(config.store)
    sched.check_calendar(on_calendar, randomized_delay)
    if backend == "cron":
        sched.cron_schedule(on_calendar)
    else:
        # the default delay (not given, nor configured) is cut to the time between two runs
        source = click.get_current_context().get_parameter_source("randomized_delay")
        delay = sched.check_with_systemd(on_calendar, randomized_delay,
                                         delay_given=source is not click.core.ParameterSource.DEFAULT)
        config = dataclasses.replace(config, randomized_delay=delay)
    if this_host:
        sched.check_executable(root, config.executable)
    else:
        sched.check_executable_in_image(root, config.executable)  # it may come later, but not as a directory
    extended = sched.check_policy(root, config.policy, plugins_enabled(no_plugins))
    if config.sign_key is not None:
        sched.check_sign_key(root, config.sign_key)
    _existing_dir(root, config.out_dir, "--out-dir", parent_will_do=True)
    sched.check_store_file(config, root)
    sched.check_configured_store(config, root)
    if config.textfile_dir is not None:
        _existing_dir(root, config.textfile_dir, "--textfile-dir")
    if backend == "systemd":
        sched.check_private_tmp(config, root, extended)
        sched.check_protected_trees(config, root)
        sched.check_executable_by_the_unit(root, config.executable)
        # ReadWritePaths= of a missing directory fails the unit before lbaudit even starts
        for path in sched.writable_paths(config, root):
            _existing_dir(root, path, "ReadWritePaths=")
        sched.check_writable_by_the_unit(config, root)
    files, overrides = sched.install(backend, config, root, dry_run=dry_run, allow_overrides=allow_overrides)
    for managed in files:
        shown = sched.under_root(root, managed.path)
        if managed.content is None:
            say(f"{'would link' if dry_run else 'linked'} {shown} -> {managed.link_to}")
        elif dry_run:
            say(f"would write {shown}:", *managed.content.split("\n"))
        else:
            say(f"wrote {shown}")
    for override in overrides:
        say(f"warning: {override}: the installed schedule is not all of what runs (--allow-overrides)", err=True)
    if dry_run or not this_host:
        return
    if backend == "systemd":
        click.echo(f"next: systemctl daemon-reload && systemctl start {sched.TIMER}  "
                   f"(it also starts at boot; systemctl list-timers {sched.TIMER} shows when it runs)")
    else:
        click.echo("cron reads /etc/cron.d by itself; the job runs at its next scheduled time")


@schedule.command("remove")
@click.option("--root", "root", type=click.Path(path_type=Path), default=Path("/"), help=ROOT_HELP)
@click.option("--dry-run", is_flag=True, help="Print what would be removed.")
def remove(root: Path, dry_run: bool) -> None:
    """Remove what `schedule install` wrote (either backend). Evidence, history and metrics stay."""
    this_host = sched.is_this_host(root)
    removed = sched.remove(root, dry_run=dry_run)
    for path in removed:
        say(f"{'would remove' if dry_run else 'removed'} {sched.under_root(root, path)}")
    if not removed:
        click.echo("nothing to remove: no scheduled scan installed")
    elif this_host and not dry_run and any(path.name == sched.TIMER for path in removed):
        click.echo(f"next: systemctl stop {sched.TIMER} && systemctl daemon-reload")
