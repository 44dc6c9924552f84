"""Command-line options shared by several commands: where the facts come from (``--target``),
``--color`` and ``--quiet``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import click

if TYPE_CHECKING:
    from auditor.collect.targets import Target

# auditor.collect.targets.TARGET_FORMS, written out: `lbaudit --help` must not import the targets
# (socket, the program runner); tests/test_lazy_imports.py holds the two equal.
TARGET_HELP = ("Where the facts come from: local, root:DIR, snapshot:FILE or replay:DIR [default: local, this host]. "
               "--root DIR and --snapshot FILE are the same as root:DIR and snapshot:FILE.")


# --waivers and --expiry-warning-days, as evaluate, validate and fleet evaluate take them
WAIVERS_HELP = ("Waivers file (a mapping with one key, waivers): kept apart from the policy so that renewing a "
                "waiver does not change the policy's digest.")
EXPIRY_WARNING_HELP = "Warn about waivers that expire within this many days."


def resolve_target(target: str | None, root: Path | None, snapshot: Path | None = None,
                   snapshot_pubkey: Path | None = None) -> Target:
    """The one target given by ``--target`` or its aliases ``--root``/``--snapshot``; two of them,
    a malformed ``--target`` or a ``--snapshot-pubkey`` without a snapshot is a usage error (exit 2)."""
    from auditor.collect.targets import LocalHost, RootDir, SnapshotFile, parse_target

    given = [name for name, value in (("--target", target), ("--snapshot", snapshot), ("--root", root))
             if value is not None]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} are alternatives; give one")
    chosen: Target
    if snapshot is not None:
        chosen = SnapshotFile(snapshot, snapshot_pubkey)
    elif root is not None:
        chosen = RootDir(root)
    elif target is not None:
        try:
            chosen = parse_target(target, snapshot_pubkey)
        except ValueError as exc:
            raise click.UsageError(f"--target {exc}") from None
    else:
        chosen = LocalHost()
    if snapshot_pubkey is not None and not isinstance(chosen, SnapshotFile):
        raise click.UsageError("--snapshot-pubkey verifies a --snapshot: give --snapshot as well")
    return chosen


def typed(name: str) -> bool:
    """Whether the running command's parameter ``name`` was given on its command line.  A value from
    the option's ``LBAUDIT_*`` variable or the configuration file is a default: it applies where the
    option does and is left unused where it does not, never held to what the option needs beside it
    ("give --record as well"): ``store:`` in /etc/lbaudit/config.yaml, the history commands' store,
    made every ``evaluate`` without ``--record`` exit 2, and ``org_logo:`` every run without ``--pdf``."""
    source = click.get_current_context().get_parameter_source(name)
    return source is click.core.ParameterSource.COMMANDLINE


def named_with_source(name: str, option: str) -> str:
    """``option`` as a message names it, followed by where its value came from when that was not the
    command line (its variable, or its key in the configuration file): a refusal that names
    ``--sign-key`` sent the user looking for an option the command line did not hold."""
    return option + value_source(name)


def value_source(name: str) -> str:
    """`` (from VARIABLE)`` or `` (from KEY in the configuration file; ...)`` when the value of the
    parameter ``name`` of the running command came from there, else empty (typed, or its default)."""
    ctx = click.get_current_context()
    source = ctx.get_parameter_source(name)
    param = next((p for p in ctx.command.params if p.name == name), None)
    if source is click.core.ParameterSource.ENVIRONMENT and param is not None and isinstance(param.envvar, str):
        return f" (from {param.envvar})"
    if source is click.core.ParameterSource.DEFAULT_MAP and param is not None:
        from auditor.config import setting_of

        setting = setting_of(param)
        key = setting.key if setting is not None else name
        return f" (from {key} in the configuration file; lbaudit config show says which)"
    return ""


# The most days a day-count option (--days, --older-than, --stale-days) takes: a century of runs,
# far past any retention; a count that reached before year 1 was an OverflowError of the date
# arithmetic (exit 70).
MAX_DAYS = 36600

COLOR_CHOICES = ("auto", "always", "never")
F = TypeVar("F", bound=Callable[..., Any])


def color_option(function: F) -> F:
    return click.option(
        "--color", "color", type=click.Choice(COLOR_CHOICES), default="auto", show_default=True,
        help="Colour the output: auto colours a terminal unless NO_COLOR is set (FORCE_COLOR colours a pipe too).",
    )(function)


def quiet_option(function: F) -> F:
    return click.option("--quiet", "-q", is_flag=True,
                        help="Print nothing but errors; the exit code (and any file written) still tell.")(function)


def _max_age(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from auditor.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def max_age_option(default: str | None, help: str) -> Callable[[F], F]:
    """``--max-age DURATION|none``: the oldest facts collected earlier that are judged (a timedelta,
    or None for no limit); a malformed value is a usage error (exit 2)."""
    return click.option("--max-age", "max_age", metavar="DURATION", default=default, show_default=default is not None,
                         callback=_max_age, help=help)


# auditor.storage.snapshot.DEFAULT_MAX_SNAPSHOT_RECORDS and SNAPSHOT_RECORDS_COST, written out:
# `lbaudit --help` must not import the snapshot models (tests/hostile/test_limits14_snapshot_records.py
# holds them equal).
DEFAULT_MAX_SNAPSHOT_RECORDS = 2_000_000
# auditor.storage.jsonfile.MAX_JSON_VALUES, which bounds every JSON document lbaudit reads: a higher
# --max-snapshot-records was accepted and then refused by that bound, with another message
MAX_SNAPSHOT_RECORDS_CEILING = 16_000_000
SNAPSHOT_RECORDS_COST = "each costs a judging process about 150 bytes of memory once built and judged"


def max_snapshot_records_option(what: str) -> Callable[[F], F]:
    """``--max-snapshot-records N``: the most JSON values a snapshot may hold in all (None: the
    default); ``what`` names what refusing one does ("the snapshot is refused")."""
    return click.option("--max-snapshot-records", "max_snapshot_records", type=click.IntRange(min=1, max=MAX_SNAPSHOT_RECORDS_CEILING),
                        default=None, metavar="N", help=f"A snapshot that holds more JSON values than this (strings, numbers, "
                        f"arrays, ..., in all) {what} (exit 2) unjudged: {SNAPSHOT_RECORDS_COST} "
                        f"[default: {DEFAULT_MAX_SNAPSHOT_RECORDS}].")


FORCE_HELP = ("Replace an existing file at an output path even when it is not lbaudit's own output of that kind "
              "[default: refuse it, exit 2]; never an input of the run, a key, anything but a regular file, or "
              "the file a symbolic link at the path leads to.")


def force_option(function: F) -> F:
    """``--force`` of the commands that write reports, evidence or snapshots (storage/outputs.py's rule)."""
    return click.option("--force", is_flag=True, help=FORCE_HELP)(function)
