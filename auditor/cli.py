"""The ``lbaudit`` command line.  Exit codes are documented here and in the README."""

from __future__ import annotations

if __name__ == "__main__":
    # ``python -m auditor.cli`` is the console script (auditor.entry), which imports this module as
    # auditor.cli and runs it: so a limit met by the imports below (click under ulimit -d, a module's
    # file under ulimit -n) is exit 71 naming it here too, not a traceback and exit 1.
    from auditor.entry import main as console_script

    console_script()

import importlib
import io
import os
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from auditor import __version__, resource_limits
from auditor.commands.options import (
    EXPIRY_WARNING_HELP,
    TARGET_HELP,
    WAIVERS_HELP,
    color_option,
    force_option,
    max_age_option,
    max_snapshot_records_option,
    named_with_source,
    quiet_option,
    resolve_target,
    typed,
    value_source,
)
from auditor.config import EXPIRY_WARNING_DAYS_RANGE
from auditor.errors import InputError, LbauditError, Terminated, exit_code_of, io_failure_behind
from auditor.model.codes import ExitCode, Severity
from auditor.plugins import plugins_enabled
from auditor.stdio import (
    StreamError,
    flush_standard_streams,
    guard_standard_streams,
    raise_failure,
    stop_waiting_for_readers,
    wait_for_readers,
)

EXIT_CODES_HELP = """\b
Exit codes:
  0   compliant: no failing finding at or above --fail-on, nothing unreviewed
      or errored, something judged
  1   non-compliant: a failing finding at or above --fail-on
  2   usage error: bad command line, policy, snapshot, evidence or key file
  3   incomplete: no failure at or above --fail-on, but evidence could not be
      collected, a check errored, or nothing could be judged (every finding not
      applicable)
  10  evidence changed after it was signed: verify (digest mismatch);
      report, show, diff, history import (its .sig signs other bytes);
      history verify (a stored evidence, chain link or run does not hold)
  11  verify: signature invalid           12  verify: signed by another key
  13  verify: PDF does not belong to the evidence
  70  internal error in lbaudit (a bug: please report it)
  71  a resource limit stopped the run (memory, open files: ulimit -v, -n)
  74  a file, standard output or error could not be written (disk full, I/O
      error, reader gone, closed descriptor); the files of the run are put back
  75  busy: another lbaudit process kept a directory this command writes in
      past LBAUDIT_LOCK_WAIT seconds (default 120); nothing was written
  129, 130, 143  stopped by SIGHUP, Ctrl-C or SIGTERM; the files are put back
"""

SEVERITIES = [s.value for s in Severity]
TRIGGERS = ["manual", "timer", "cron", "ci", "fleet"]  # auditor.history.schema.TRIGGERS, without importing it
ATTESTING_FORMATS = ("pdf", "oscal")  # a rendering of these marks the recorded run attested


def _fail(message: str) -> None:
    raise InputError(message)


def _one_line_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An option printed on one line of a report (--assessor): no line break, no bidi override."""
    from auditor.model.base import LINE_BREAK_OR_BIDI

    if value is not None and (value == "" or LINE_BREAK_OR_BIDI.search(value)):
        raise click.BadParameter("must be one line of plain text, not empty", ctx, param)
    return value


# Every command: name -> ("module:function", short help for ``lbaudit --help``).  A command's module
# is imported only when that command runs (or its own --help is asked for), so ``lbaudit evaluate``
# never loads the PDF signer and a broken optional dependency breaks one command, not all.
COMMANDS: dict[str, tuple[str, str]] = {
    "capture": ("auditor.commands.capture:capture",
                "Print a PowerShell (windows) or sh (macos) script that captures a bundle for `collect --replay`."),
    "collect": ("auditor.commands.collect:collect",
                "Collect facts only, without a policy, into a snapshot for `lbaudit evaluate --snapshot`."),
    "config": ("auditor.commands.config:config",
               "Show the configuration: each setting's effective value and where it came from."),
    "coverage": ("auditor.commands.coverage:coverage",
                 "Which baseline controls the policy's enabled rules produce evidence for, which not, and the share."),
    "diff": ("auditor.commands.diff:diff",
             "Compare two evidence files: regressions, improvements, policy changes, other changes."),
    "evaluate": ("auditor.cli:evaluate",
                 "Evaluate a policy against this host (or a snapshot / root directory) and write the evidence."),
    "explain": ("auditor.cli:explain", "Explain a check: params and defaults, controls, rationale, remediation."),
    "fleet": ("auditor.commands.fleet:fleet",
              "Evaluate a fleet's snapshots centrally, and report on the fleet from the history store."),
    "history": ("auditor.commands.history:history",
                "The recorded runs (evaluate --record): list, show, diff, trend, prune, retire, import, export, head, verify."),
    "init": ("auditor.commands.init:init",
             "Write a starter policy (--from-host: from this host's listeners, each exception with reason TODO)."),
    "keygen": ("auditor.commands.attest:keygen",
               "Create an Ed25519 key pair for signing evidence (evaluate --sign-key)."),
    "list-checks": ("auditor.cli:list_checks", "List the loaded checks (built-in and plugins) with their controls."),
    "report": ("auditor.cli:report", "Render reports from an evidence file alone, without touching any host."),
    "schedule": ("auditor.commands.schedule:schedule",
                 "Install or remove the scheduled scan: a hardened systemd timer or an /etc/cron.d job."),
    "show": ("auditor.commands.show:show", "Print the summary of an existing evidence file, as evaluate did."),
    "schema": ("auditor.cli:schema", "Print a JSON Schema: policy (for editors), evidence or snapshot."),
    "validate": ("auditor.cli:validate", "Validate policy files: every problem with file:line:column (exit 2 if any)."),
    "verify": ("auditor.commands.attest:verify",
               "Check that EVIDENCE is intact and signed by --pubkey (and that --pdf belongs to it)."),
}


class LazyGroup(click.Group):
    """A group whose commands come from :data:`COMMANDS`, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            module_name, _, attribute = COMMANDS[cmd_name][0].partition(":")
            # Commands of this module are taken from it as loaded (it may be running as __main__).
            module = sys.modules[__name__] if module_name == "auditor.cli" else importlib.import_module(module_name)
            command = getattr(module, attribute)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise TypeError(f"COMMANDS[{cmd_name!r}] names {COMMANDS[cmd_name][0]}, not the command {cmd_name!r}")
            _guard_params(command)
            from auditor.config import attach_envvars

            attach_envvars(command)  # LBAUDIT_POLICY, LBAUDIT_STORE, ...: the table in auditor/config.py
            self.add_command(command, cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``lbaudit --help`` from the table, without importing any command."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        # click's own shortening (first sentence, cut at a word), applied to the stored text
        rows = [(name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, help="lbaudit: policy-as-code compliance auditor for the network-socket layer, "
                                 "mapped to NIST SP 800-53 Rev. 5.", epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="lbaudit")
@click.pass_context
def cli(ctx: click.Context) -> None:
    # Options named in auditor.config.SETTINGS take their defaults from the configuration file:
    # click reads the default_map of the command about to run (an option, then its environment
    # variable, win over it).
    if ctx.invoked_subcommand is not None:
        _check_process_environment()
        from auditor.config import default_map_for, file_values

        command = ctx.command.get_command(ctx, ctx.invoked_subcommand)  # type: ignore[attr-defined]
        ctx.default_map = {**(ctx.default_map or {}),
                           ctx.invoked_subcommand: default_map_for(command, file_values())}


def _check_process_environment() -> None:
    """What the process was started with, refused before any work with what to do (exit 2): a
    working directory that was removed (or that this user cannot get the path of), since every
    relative path (a policy, an output, a configuration file's relative settings) is read from it or
    recorded against it and os.getcwd() failing part way was exit 70; and a malformed
    LBAUDIT_LOCK_WAIT or LBAUDIT_STORE_TIMEOUT."""
    try:
        os.getcwd()
    except OSError as exc:
        raise InputError(f"the working directory cannot be used ({exc.strerror or exc}: it was removed, or a "
                         "directory above it is not searchable): run lbaudit from a directory that exists") from None
    # LBAUDIT_LOCK_WAIT is read only when a directory is busy, which is too late to say it is wrong
    from auditor.command_files import lock_wait

    try:
        lock_wait()
    except ValueError as exc:
        raise InputError(str(exc)) from None
    # read only when a PostgreSQL store is opened, which may be after the run's work
    from auditor.config import STORE_TIMEOUT_ENV, store_timeout

    if os.environ.get(STORE_TIMEOUT_ENV, "").strip():
        store_timeout()


def _group_defaults() -> dict[str, Any] | None:
    """The configuration's defaults for options of the ``lbaudit`` group itself (``lbaudit --color
    never evaluate``), which are parsed before the group's callback runs; the file is read only when
    the group has such an option."""
    from auditor.config import BY_OPTION, attach_envvars, default_map_for, file_values

    attach_envvars(cli)
    if not any(option in BY_OPTION for param in cli.params for option in getattr(param, "opts", [])):
        return None
    return default_map_for(cli, file_values())


def _read_org_logo(path: Path | None, pdf: Path | None) -> bytes | None:
    """--org-logo read and checked before any work (exit 2 naming the file); only the PDF shows it."""
    from auditor.commands.options import typed

    if path is None:
        return None
    if pdf is None:
        if not typed("org_logo"):
            return None  # LBAUDIT_ORG_LOGO or org_logo: a default of the PDFs this run does not render
        raise click.UsageError("--org-logo goes on the PDF cover: give --pdf as well")
    from auditor.report.pdf import read_org_logo

    return read_org_logo(path)


# ------------------------------------------------------------------ evaluate

def _split_formats(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


TEXTFILE_DIR_HELP = ("node_exporter's textfile-collector directory: write the prometheus format there, as "
                     "<policy-id>.prom, atomically (implies --format prometheus).")


def _textfile_formats(formats: list[str], textfile_dir: Path | None) -> tuple[list[str], dict[str, Path] | None]:
    """--textfile-dir asks for the prometheus format and says where it goes."""
    if textfile_dir is None:
        return formats, None
    return (formats if "prometheus" in formats else [*formats, "prometheus"]), {"prometheus": textfile_dir}


def _reporters_for(formats: list[str], pdf: Path | None, plugins: bool) -> dict[str, Any]:
    """The reporters the command line asks for; an unknown format is a usage error before any work."""
    from auditor.pipeline import select_reporters

    return select_reporters(formats, pdf, plugins)


def _check_readable(path: Path | None, what: str) -> None:
    if path is None or os.access(path, os.R_OK):
        return
    # os.access says only no: the reason (missing, a link to nowhere or a loop, a directory not
    # searchable) is what the user has to fix
    try:
        os.stat(path)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
    else:
        reason = "permission denied"
    _fail(f"{path}: cannot read {what}: {reason}")


def _check_report_options(out_dir: Path | None, pdf: Path | None, pdf_cert: Path | None,
                          pdf_cert_key: Path | None) -> None:
    """The report options shared by evaluate and report, checked before any work is done."""
    if (pdf_cert is None) != (pdf_cert_key is None):
        raise click.UsageError("--pdf-cert and --pdf-cert-key go together")
    if pdf_cert is not None and pdf is None:
        raise click.UsageError("--pdf-cert signs the PDF: give --pdf as well")
    _check_readable(pdf_cert, "certificate")
    _check_readable(pdf_cert_key, "certificate key")
    if pdf_cert_key is not None:
        from auditor.attest.signing import refuse_exposed_key

        refuse_exposed_key(pdf_cert_key)  # as for --sign-key: a private key others can read is refused
    if pdf_cert is not None and pdf_cert_key is not None:
        from auditor.attest.pades import load_signing_pair

        load_signing_pair(pdf_cert, pdf_cert_key)  # unusable, or not the certificate's key: exit 2 before any work


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--policy", "policy_path", required=True, type=click.Path(path_type=Path), help="Policy YAML file.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default=None,
              help="Evidence JSON to write; - writes it to stdout (the summary then goes to stderr) "
                   "[default: lbaudit-evidence.json, or <out-dir>/<policy-id>.evidence.json].")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="info", show_default=True,
              help="Lowest severity of a failing finding that makes the run non-compliant (exit 1); "
              "info: any failure.  Failures below it are listed as below the threshold.")
@click.option("--target", "target", metavar="TARGET", help=TARGET_HELP)
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path), help="Evaluate a saved snapshot instead of this host.")
@click.option("--snapshot-pubkey", type=click.Path(path_type=Path), help="Public key the --snapshot must be signed "
              "with (collect --sign-key); refuse it otherwise, with verify's exit codes 10-12.")
@click.option("--root", type=click.Path(path_type=Path), help="Evaluate an offline root directory (mounted image).")
@max_age_option(None, "Refuse (exit 2) a snapshot (or captured bundle) collected longer ago than this "
                "(36h, 7d, ...) [default: no limit; the summary shows how old the facts are].")
@max_snapshot_records_option("is refused")
@click.option("--format", "formats", default=None, help="Comma-separated report formats to write besides the evidence "
              "(e.g. oscal,sarif,junit,text).")
@click.option("--out-dir", type=click.Path(path_type=Path), help="Directory for the --format reports.")
@click.option("--textfile-dir", type=click.Path(path_type=Path), help=TEXTFILE_DIR_HELP)
@click.option("--pdf", type=click.Path(path_type=Path, dir_okay=False), help="Also write a PDF attestation here.")
@click.option("--sign-key", type=click.Path(path_type=Path), help="Ed25519 private key: sign the evidence (detached .sig).")
@click.option("--assessor", callback=_one_line_option, help="Assessor named in attestations [default: the policy owner].")
@click.option("--org-name", callback=_one_line_option, help="Organisation named on the PDF cover and page headers.")
@click.option("--org-logo", type=click.Path(path_type=Path), help="PNG or JPEG logo for the PDF cover (at most 512 KiB).")
@click.option("--pdf-cert", type=click.Path(path_type=Path), help="X.509 certificate (PEM): also sign the PDF itself (PAdES).")
@click.option("--pdf-cert-key", type=click.Path(path_type=Path), help="Private key (PEM) of --pdf-cert.")
@click.option("--no-plugins", is_flag=True, help="Load built-in checks and reporters only (also: LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1).")
@click.option("--record-cmdline", is_flag=True, help="Record the arguments of listening processes in the evidence "
              "[default: only the executable, argv[0] and a SHA-256 of the command line: arguments carry credentials].")
@click.option("--json", "as_json", is_flag=True, help="Print a compact JSON summary on stdout (verdict, exit code, "
              "counts, failing findings, next steps) instead of the human one.")
@color_option
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path), help=WAIVERS_HELP)
@click.option("--expiry-warning-days", type=click.IntRange(*EXPIRY_WARNING_DAYS_RANGE), default=30, show_default=True,
              help=EXPIRY_WARNING_HELP)
@click.option("--quiet", "-q", is_flag=True, help="No summary; the exit code and the files still tell.")
@click.option("--record", is_flag=True, help="Record the run in the history store (lbaudit history).")
@click.option("--store", metavar="PATH|URL", help="History store for --record: a file path or a SQLAlchemy URL "
              "[default: $LBAUDIT_STORE, else /var/lib/lbaudit/history.db for root, ~/.local/state/lbaudit/history.db].")
@click.option("--trigger", type=click.Choice(TRIGGERS), default="manual", show_default=True,
              help="What started this run, as recorded with --record.")
@force_option
def evaluate(policy_path: Path, output: Path | None, fail_on: str, target: str | None, snapshot_path: Path | None,
             snapshot_pubkey: Path | None, root: Path | None, max_age: timedelta | None, max_snapshot_records: int | None,
             formats: str | None, out_dir: Path | None, textfile_dir: Path | None, pdf: Path | None,
             sign_key: Path | None, assessor: str | None, org_name: str | None, org_logo: Path | None,
             pdf_cert: Path | None, pdf_cert_key: Path | None, no_plugins: bool, record_cmdline: bool,
             as_json: bool, color: str, waivers_path: Path | None, expiry_warning_days: int, quiet: bool,
             record: bool, store: str | None, trigger: str, force: bool) -> None:
    """Evaluate a policy against this host (or a snapshot / root directory) and write the evidence.

    \b
    The summary: on a terminal, tables at its width, findings grouped
    by rule; piped or captured (CI logs, cron mail), one finding per line
    (rule | severity | status | subject | reason), never wrapped or cut.
    -o - writes the evidence to stdout, the summary to stderr; --json
    prints a compact JSON summary instead of the human one.
    """
    from auditor import pipeline
    from auditor.collect.targets import SnapshotFile
    from auditor.commands.output import print_summary
    from auditor.engine.registry import load_registry
    from auditor.errors import PolicyError
    from auditor.policy.loader import inspect_policy, source_files
    from auditor.storage.outputs import is_stdout, make_out_dir, signature_of

    source = resolve_target(target, root, snapshot_path, snapshot_pubkey)
    snapshot_file = source.path if isinstance(source, SnapshotFile) else None
    if max_snapshot_records is not None:
        if not isinstance(source, SnapshotFile):
            raise click.UsageError("--max-snapshot-records limits what a --snapshot may record: give --snapshot as well")
        source = SnapshotFile(source.path, source.pubkey, max_values=max_snapshot_records)
    _check_readable(snapshot_pubkey, "snapshot public key")
    format_list, format_dirs = _textfile_formats(_split_formats(formats), textfile_dir)
    to_stdout = is_stdout(output)
    if to_stdout and as_json:
        raise click.UsageError("-o - and --json both write to stdout: give one (with --json, write the evidence "
                               "to a file)")
    if to_stdout and sign_key is not None:
        # A configured key too: the configuration says the evidence is signed, and -o - cannot be.
        raise click.UsageError(f"{named_with_source('sign_key', '--sign-key')} writes a detached signature beside the evidence file, and -o - writes "
                               "no file: write the evidence to a file to sign it")
    if to_stdout and (format_list or pdf is not None):
        raise click.UsageError("reports link to the evidence file, and -o - writes no file: write the evidence to "
                               "a file, or render them later with `lbaudit report`")
    _check_readable(sign_key, "signing key")
    _check_report_options(out_dir, pdf, pdf_cert, pdf_cert_key)
    logo = _read_org_logo(org_logo, pdf)
    if sign_key is not None:
        from auditor.attest.signing import load_private_key

        load_private_key(sign_key)  # an unusable or exposed key is exit 2 before any work, not after
    if not record:
        if (store is not None and typed("store")) or trigger != "manual":
            raise click.UsageError("--store and --trigger say how to --record: give --record as well")
        store = None  # LBAUDIT_STORE or store: where a run asked to --record records, not a request to
    history_store = None
    if record:
        from auditor.history import open_store
        from auditor.history.location import store_location
        from auditor.history.store import store_file
        from auditor.storage.outputs import refuse_inside_trees

        # The store is created and updated in place: never inside the image being audited.
        database = store_file(store_location(store))
        if database is not None:
            refuse_inside_trees("history store", database, pipeline.target_inputs(source))
        history_store = open_store(store)  # an unreachable or foreign store is exit 2 before any work
        click.get_current_context().call_on_close(history_store.close)

    plugins = plugins_enabled(no_plugins)
    started = datetime.now(timezone.utc)
    registry = load_registry(plugins=plugins)
    checked = inspect_policy(policy_path, registry, waivers_path=waivers_path, today=started.date(),
                             expiry_warning_days=expiry_warning_days)
    if checked.policy is None:
        raise PolicyError(f"{policy_path}: invalid policy", checked.problems)
    policy = checked.policy
    reporters = _reporters_for(format_list, pdf, plugins)
    if output is None:
        output = (out_dir / f"{policy.id}.evidence.json") if out_dir else Path("lbaudit-evidence.json")
    pipeline.plan_files(policy.id, reporters, output, out_dir, pdf, evidence_written=not to_stdout,
                        inputs=[*(("policy", path) for path in source_files(policy_path, policy)),
                                ("waivers file", waivers_path),
                                ("snapshot", snapshot_file), ("snapshot public key", snapshot_pubkey),
                                ("snapshot signature", signature_of(snapshot_file) if snapshot_file else None),
                                ("signing key", sign_key), ("certificate", pdf_cert),
                                ("certificate key", pdf_cert_key), ("logo", org_logo),
                                *(("history store", path) for path in (history_store.files if history_store else [])),
                                *pipeline.target_inputs(source)],
                        format_dirs=format_dirs, force=force)

    snapshot, collect_ms = pipeline.timed_acquire(source, pipeline.plan(policy, registry),
                                                  record_cmdline=record_cmdline)
    pipeline.check_collection_time(snapshot, started, max_age,  # before anything is written
                                   value_source("max_age"))
    evidence = pipeline.assess(policy, snapshot, registry, fail_on=Severity(fail_on), started_at=started,
                               collect_ms=collect_ms, waiver_file=checked.waiver_file,
                               reporter_plugins=pipeline.reporter_plugins(plugins))
    if not quiet:
        # on stderr, before the summary: expired and blanket waivers, waivers that matched nothing
        _warn(checked.warnings + _unused_waivers(evidence, checked.waiver_places))
    if to_stdout:
        from auditor.storage.evidence import evidence_bytes
        from auditor.storage.outputs import write_stdout

        evidence_document = evidence_bytes(evidence)
        write_stdout(evidence_document)  # the document alone on stdout, so that it parses as JSON
        if history_store is not None:
            # committed once the summary is out too (a closed stream: exit 74, nothing recorded)
            history_store.record_with_command(evidence_document, evidence, trigger=trigger)
        if not quiet:
            print_summary(evidence, "standard output", color=color, err=True)
        sys.exit(evidence.result.exit_code)
    make_out_dir(out_dir)
    if reporters or history_store is not None or sign_key is not None:
        data = pipeline.write(evidence, output)
    else:  # nothing reads the bytes after writing them: not held whole (issue 16)
        pipeline.write_streamed(evidence, output)
    # signed from the bytes written, never the file read back (another process may have replaced it)
    signed = pipeline.sign(output, sign_key, data) if sign_key is not None else None
    fingerprint = signed.fingerprint if signed is not None else None
    rendered: list[tuple[str, bytes]] = []
    written = pipeline.render(evidence, data, output, reporters, out_dir, pdf, assessor, pdf_cert, pdf_cert_key,
                              format_dirs, on_rendered=lambda name, path, document: rendered.append((name, document)),
                              org_name=org_name, org_logo=logo, signed=signed) if reporters else []
    recorded = None
    if history_store is not None:
        from auditor.history import mark_attested

        # Committed when the command ends well, after its summary (exit 74, 143, a full disk: not recorded).
        recorded = history_store.record_with_command(data, evidence, trigger=trigger,
                                                     signature=signed.document if signed is not None else None)
        for name, document in rendered:
            if name in ATTESTING_FORMATS:
                mark_attested(history_store, data, name, document)
    signature = signature_of(output)
    if as_json:

        from auditor.report.summary import summary_json, summary_object
        from auditor.storage.outputs import write_stdout

        document = summary_object(evidence, str(output))
        document["signature"] = {"path": str(signature), "key": fingerprint} if fingerprint else None
        document["reports"] = [str(path) for path in written]
        if recorded is not None and history_store is not None:
            document["recorded"] = {"run": recorded.run_id, "store": history_store.shown,
                                    "evidence_sha256": recorded.evidence_sha256}
        write_stdout(summary_json(document))
    elif not quiet:
        extra = [f"report: {path}" for path in written]
        if fingerprint:
            extra.append(f"signature: {signature} written (Ed25519, key {fingerprint}; "
                         f"check with lbaudit verify {output} --pubkey KEY.pub)")
        if recorded is not None and history_store is not None:
            # the chain's new head: kept elsewhere, `history verify --expect-head` proves it still there
            extra.append(f"recorded: run {recorded.run_id} in {history_store.shown} (evidence SHA-256 "
                         f"{recorded.evidence_sha256})")
        print_summary(evidence, str(output), color=color, extra=extra)
    sys.exit(evidence.result.exit_code)


def _warn(warnings: list[Any]) -> None:
    from auditor.commands.output import warn_problems  # not for --help: auditor/commands/output.py

    warn_problems(warnings)


def _where(problem: Any) -> str:
    from auditor.commands.output import problem_place

    return problem_place(problem)


def _unused_waivers(evidence: Any, places: list[Any]) -> list[Any]:
    """Waivers that matched no failing finding of this run: fixed, or written for another subject.
    ``places`` says where each waiver was written, in the order the run applied them."""
    from auditor.errors import Problem
    from auditor.model.waiving import unused_reasons

    waivers = [*evidence.policy.waivers, *(evidence.waiver_file.waivers if evidence.waiver_file else [])]
    superseded = _superseded_waivers(evidence, waivers, places)
    if not any(state.state == "unused" for state in evidence.result.waivers):
        return superseded  # most runs: no finding to read again
    # "fixed" only when it names no finding of this run: not one that could not be judged
    reasons = unused_reasons(evidence.result.findings, waivers, evidence.result.waivers)
    waiver_rules_disabled = {rule.id: not rule.enabled for rule in evidence.policy.rules}
    unused = []
    for state, place, why in zip(evidence.result.waivers, places, reasons):
        if state.state != "unused":
            continue
        if waiver_rules_disabled.get(state.rule_id):
            continue  # validate's warning says it (DISABLED_RULE_WAIVER): its rule judged nothing to fix
        said = "; remove it if what it waived is fixed" if why is None else f", but {why}"
        unused.append(Problem(place.file, place.line, place.column,
                              f"{place.message}: matched no failing finding in this run{said}"))
    return superseded + unused


def _superseded_waivers(evidence: Any, waivers: list[Any], places: list[Any]) -> list[Any]:
    """Waivers that matched failing findings, each of which an earlier waiver waived: recorded
    "applied", they waived nothing (a failure is waived by the first honoured waiver that matches
    it), which an attestation calls "superseded".  Not one validate's warning already names as dead
    behind an earlier one of its subject (auditor/policy/loader.py ``waiver_warnings``)."""
    from auditor.errors import Problem
    from auditor.model.result import Status
    from auditor.model.waiving import EarlierWaivers, applied_waiver

    states = evidence.result.waivers
    if sum(1 for state in states if state.state == "applied") < 2:
        return []  # a waiver can be superseded only by another that applied
    waived_under = {f.id: f.waiver for f in evidence.result.findings if f.status is Status.WAIVED}
    superseded = []
    earlier = EarlierWaivers()
    for index, (waiver, state, place) in enumerate(zip(waivers, states, places)):
        shadowed = earlier.first_shadowing(waiver) is not None
        earlier.add(index, waiver)
        if state.state != "applied" or shadowed:
            continue
        own = applied_waiver(waiver)
        if not any(waived_under.get(fid) == own for fid in state.findings):
            superseded.append(Problem(place.file, place.line, place.column,
                                      f"{place.message}: every failing finding it matches ({len(state.findings)}) is "
                                      "waived by an earlier waiver, so it waives nothing in this run; remove it, or "
                                      "narrow the earlier one if this one is the approval meant"))
    return superseded


# ------------------------------------------------------------------ report

@click.command("report")
@click.argument("evidence_path", type=click.Path(path_type=Path))
@click.option("--format", "formats", default=None, help="Comma-separated formats (e.g. oscal,sarif,junit,text).")
@click.option("--out-dir", type=click.Path(path_type=Path), help="Directory for the reports [default: beside the evidence].")
@click.option("--textfile-dir", type=click.Path(path_type=Path), help=TEXTFILE_DIR_HELP)
@click.option("--pdf", type=click.Path(path_type=Path, dir_okay=False), help="Write a PDF attestation here.")
@click.option("--assessor", callback=_one_line_option, help="Assessor named in attestations [default: the policy owner].")
@click.option("--org-name", callback=_one_line_option, help="Organisation named on the PDF cover and page headers.")
@click.option("--org-logo", type=click.Path(path_type=Path), help="PNG or JPEG logo for the PDF cover (at most 512 KiB).")
@click.option("--pdf-cert", type=click.Path(path_type=Path), help="X.509 certificate (PEM): also sign the PDF (PAdES).")
@click.option("--pdf-cert-key", type=click.Path(path_type=Path), help="Private key (PEM) of --pdf-cert.")
@click.option("--no-plugins", is_flag=True, help="Built-in reporters only (also: LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1).")
@click.option("--store", metavar="PATH|URL", help="History store in which a PDF or OSCAL rendered here marks the "
              "recorded run of this evidence as attested (history prune keeps it).")
@quiet_option
@force_option
def report(evidence_path: Path, formats: str | None, out_dir: Path | None, textfile_dir: Path | None, pdf: Path | None,
           assessor: str | None, org_name: str | None, org_logo: Path | None, pdf_cert: Path | None,
           pdf_cert_key: Path | None, no_plugins: bool, store: str | None, quiet: bool, force: bool) -> None:
    """Render reports from an evidence file alone, without touching any host."""
    from auditor import pipeline
    from auditor.attest.signing import load_evidence_unchanged_since_signed
    from auditor.storage.outputs import signature_of

    format_list, format_dirs = _textfile_formats(_split_formats(formats), textfile_dir)
    if not format_list and pdf is None:
        raise click.UsageError("nothing to render: give --format, --textfile-dir and/or --pdf")
    _check_report_options(out_dir, pdf, pdf_cert, pdf_cert_key)
    logo = _read_org_logo(org_logo, pdf)
    reporters = _reporters_for(format_list, pdf, plugins_enabled(no_plugins))
    evidence, raw = load_evidence_unchanged_since_signed(evidence_path)  # a .sig proving it changed: exit 10 first
    if store is not None and not typed("store") and (not any(name in ATTESTING_FORMATS for name in reporters)
                                                     or _no_store_there(store)):
        # LBAUDIT_STORE or store: it marks the runs a PDF or OSCAL attests; with none rendered, or no
        # store there yet (nothing recorded in it, nothing to mark), it has nothing to do
        store = None
    store_files: list[Path] = []
    if store is not None:
        from auditor.history import open_store

        # a bad or missing store is exit 2 before anything is rendered (it marks recorded runs; creates none)
        with open_store(store, create=False) as history_store:
            store_files = history_store.files
    pipeline.plan_files(evidence.policy.id, reporters, evidence_path, out_dir, pdf, evidence_written=False,
                        inputs=[("evidence", evidence_path),
                                # beside the file itself: named through a link, the .sig beside
                                # the link is not its signature, and --force replaced the real one
                                ("evidence signature", signature_of(evidence_path)),
                                ("certificate", pdf_cert), ("certificate key", pdf_cert_key), ("logo", org_logo),
                                *(("history store", path) for path in store_files)], format_dirs=format_dirs,
                        force=force)
    from auditor.commands.output import say

    rendered: list[tuple[str, bytes]] = []
    for path in pipeline.render(evidence, raw, evidence_path, reporters, out_dir, pdf, assessor, pdf_cert, pdf_cert_key,
                                format_dirs, on_rendered=lambda name, path, document: rendered.append((name, document)),
                              org_name=org_name, org_logo=logo):
        if not quiet:
            say(f"report: {path}")
    if "json" in reporters and not quiet:
        # The json format is the evidence itself, never written twice (report_targets): said, so
        # that --format json --out-dir D, which writes nothing into D, does not read as done there
        say(f"report: {evidence_path} (json: the evidence file itself, not copied)")
    if store is not None:
        from auditor.history import mark_attested, open_store

        with open_store(store, create=False) as history_store:
            history_store.hold_until_command_ends()  # marked only once the reports are out and the summary printed
            runs = [run for name, document in rendered if name in ATTESTING_FORMATS
                    for run in mark_attested(history_store, raw, name, document)]
        if not quiet and any(name in ATTESTING_FORMATS for name, _ in rendered):
            click.echo(f"attested: run {', '.join(str(r) for r in sorted(set(runs)))}" if runs else
                       "attested: this evidence is not recorded in the store; nothing marked")


def _no_store_there(store: str) -> bool:
    """Whether ``store`` names an SQLite file that is not there (a server's store cannot be told
    absent without opening it)."""
    from auditor.history.location import store_location
    from auditor.history.store import store_file

    database = store_file(store_location(store))
    return database is not None and not os.path.lexists(database)


# ------------------------------------------------------------------ validate, list-checks, explain, schema

def _policy_files(paths: tuple[Path, ...]) -> list[Path]:
    """The policies named: a directory stands for every *.yaml and *.yml entry directly in it.  One that
    is not a readable file (a dangling or looping link, a FIFO, a directory) is validated like the
    others and so reported: skipping it let `validate policies/` pass a CI gate while a policy in it
    was a link to nowhere."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            # the suffix in any case: "Prod.YAML", which evaluate reads as any policy, was skipped and
            # `validate policies/` passed whatever it held
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml"))
            if not any(p.is_file() for p in found):
                _fail(f"{path}: a directory with no policy in it (no *.yaml or *.yml file)")
            files += found
        else:
            files.append(path)
    return files




@click.command(epilog=EXIT_CODES_HELP)
@click.argument("policies", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path), help=WAIVERS_HELP)
@click.option("--expiry-warning-days", type=click.IntRange(*EXPIRY_WARNING_DAYS_RANGE), default=30, show_default=True,
              help=EXPIRY_WARNING_HELP)
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
@quiet_option
def validate(policies: tuple[Path, ...], waivers_path: Path | None, expiry_warning_days: int, no_plugins: bool,
             quiet: bool) -> None:
    """Validate policy files: every problem with file:line:column (exit 2 if any).

    A directory stands for every *.yaml and *.yml file in it.  Structural and semantic problems are reported
    together, sorted by file and line, with suggestions; warnings (exit 0) name waivers that expired, expire
    within --expiry-warning-days, have no subject or run more than a year.  A reason or approver that is a
    placeholder (TODO, TBD, "-") is a problem: no exception or waiver is granted without one."""
    from auditor.engine.registry import load_registry
    from auditor.errors import MAX_LISTED_PROBLEMS, PolicyError, more_problems
    from auditor.policy.loader import inspect_policy
    from auditor.text import one_line, terminal_lines

    registry = load_registry(plugins=plugins_enabled(no_plugins))
    bad = 0
    for path in _policy_files(policies):
        shown = one_line(str(path))  # a name's line feed would start a line of its own: "x.yaml: ok"
        try:
            report = inspect_policy(path, registry, waivers_path=waivers_path, expiry_warning_days=expiry_warning_days)
        except PolicyError as exc:
            bad += 1
            click.echo(terminal_lines(exc.render()), err=True)
            continue
        lines = sorted([(p, "") for p in report.problems] + [(w, "warning: ") for w in report.warnings],
                       key=lambda item: (item[0].file, item[0].line or 0, item[0].column or 0))
        if report.policy is None:
            bad += 1
            click.echo(terminal_lines(f"{shown}: invalid policy ({_count(report.problems, 'problem')}, "
                                      f"{_count(report.warnings, 'warning')})"), err=True)
        else:
            policy = report.policy
            enabled = sum(1 for r in policy.rules if r.enabled)
            waivers = len(policy.waivers) + (len(report.waiver_file.waivers) if report.waiver_file else 0)
            warned = f", {_count(report.warnings, 'warning')}" if report.warnings else ""
            if not quiet:  # the problems and warnings below still print: -q silences only the ok lines
                click.echo(terminal_lines(f"{shown}: ok ({policy.id} {policy.version}: {enabled} enabled rules, "
                                          f"{waivers} waivers{warned})"))
        for problem, kind in lines[:MAX_LISTED_PROBLEMS]:
            click.echo(terminal_lines(f"  {one_line(problem.file)}{_where(problem)}: {kind}{problem.message}"),
                       err=report.policy is None)
        if len(lines) > MAX_LISTED_PROBLEMS:  # the header line counts them all
            unlisted = lines[MAX_LISTED_PROBLEMS:]
            warned = sum(1 for _, kind in unlisted if kind)
            more = [more_problems(count, noun) for count, noun in ((len(unlisted) - warned, "problem"),
                                                                   (warned, "warning")) if count]
            click.echo(f"  ... and {' and '.join(more)} not shown", err=report.policy is None)
    sys.exit(ExitCode.USAGE if bad else ExitCode.COMPLIANT)


def _count(items: list[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


@click.command("list-checks")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
def list_checks(as_json: bool, no_plugins: bool) -> None:
    """List the loaded checks (built-in and plugins) with their controls."""
    from auditor.engine.registry import load_registry

    registry = load_registry(plugins=plugins_enabled(no_plugins))
    rows = [
        {"name": s.name, "title": s.title, "version": s.version, "origin": s.origin, "severity": s.severity.value,
         "controls": list(s.controls), "needs": list(s.needs)}
        for s in (registry.checks[n] for n in registry.names())
    ]
    if as_json:
        import json

        click.echo(json.dumps(rows, indent=2))
        return
    from auditor.commands.output import is_terminal

    if not is_terminal(sys.stdout):
        # Piped or captured: one check per line, never wrapped, whatever COLUMNS says.
        for row in rows:
            click.echo(" | ".join([row["name"], row["title"], row["severity"], ", ".join(row["controls"]),
                                   row["origin"]]))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from auditor.commands.output import terminal_width

    table = Table(header_style="bold")
    for column in ("check", "title", "severity", "controls", "origin"):
        table.add_column(column, overflow="fold")
    for row in rows:  # as text, never rich markup: a plugin's title may hold "[...]"
        table.add_row(*(Text(value) for value in (row["name"], row["title"], row["severity"],
                                                   ", ".join(row["controls"]), row["origin"])))
    Console(width=terminal_width(sys.stdout)).print(table)


EXPLAIN_WIDTH = 100


def _paragraphs(text: str, indent: str, width: int) -> list[str]:
    """``text`` reflowed: its paragraphs (separated by blank lines) filled to ``width``, each line
    indented the same, so that no line starts at the left margin in the middle of a section."""
    import textwrap

    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if lines:
            lines.append("")
        lines += textwrap.wrap(" ".join(paragraph.split()), width, initial_indent=indent, subsequent_indent=indent,
                               break_on_hyphens=False)
    return lines


def explain_text(spec: Any, catalog: Any, width: int = EXPLAIN_WIDTH) -> str:
    """What ``lbaudit explain`` prints: aligned paragraphs, the README's words for types, nested
    params (``exceptions[].match.process``) listed one by one."""
    import textwrap

    from auditor.docs import check_param_entries
    from auditor.text import shown_line

    lines = [f"{spec.name}: {spec.title}", f"  version {spec.version}, {spec.origin}, default severity "
             f"{spec.severity.value}; facts needed: {', '.join(spec.needs)}",
             f"  platforms: {', '.join(spec.platforms)}", "", "NIST SP 800-53 Rev. 5 controls:"]
    id_width = max((len(c) for c in spec.controls), default=0)
    for control_id in spec.controls:
        control = catalog.get(control_id)
        lines.append(f"  {control_id:<{id_width}}  {control.title if control else '?'}")
    lines += ["", "Params:"]
    entries = check_param_entries(spec)
    if not entries:
        lines.append("  (none)")
    for entry in entries:
        # a plugin's params texts (its model's names, descriptions, defaults) are its own, which the
        # registry does not hold to its bounds as it holds a check's title and rationale: shown as
        # plain text of a bounded length (a description's ESC [2J cleared the terminal, U+202E
        # reversed the line, one of megabytes was printed whole)
        name, kind, default, description = (shown_line(text, kept="in the check's params") for text in entry)
        head = f"{name}: {kind}; " + ("required" if default == "required" else f"default {default}")
        lines += textwrap.wrap(head, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False)
        if description:
            lines += _paragraphs(description, "      ", width)
    for title, text in (("Rationale", spec.rationale), ("Remediation", spec.remediation), ("Notes", spec.notes)):
        if text and text.strip():
            lines += ["", f"{title}:", *_paragraphs(text, "  ", width)]
    return "\n".join(lines)


@click.command()
@click.argument("check_name")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
def explain(check_name: str, no_plugins: bool) -> None:
    """Explain a check: params and defaults, controls, rationale, remediation."""
    from auditor.engine.registry import load_registry

    registry = load_registry(plugins=plugins_enabled(no_plugins))
    spec = registry.get(check_name)
    if spec is None:
        from auditor.policy.loader import did_you_mean
        from auditor.text import quoted_name

        _fail(f"unknown check {quoted_name(check_name)}{did_you_mean(check_name, registry.names())} "
              f"(available: {', '.join(registry.names())})")
    click.echo(explain_text(spec, registry.catalog))


def policy_schema(registry: Any) -> dict[str, Any]:
    """JSON Schema of a policy file, with each check's params schema, for editors (yaml-language-server)."""
    from pydantic.json_schema import models_json_schema

    from auditor.model.policy import PolicyDocument, RuleSpec, Waiver
    from auditor.policy.loader import null_refused_keys

    specs = [registry.checks[name] for name in registry.names()]
    own = [(PolicyDocument, "validation"), (RuleSpec, "validation"), (Waiver, "validation")]
    keys, schema = models_json_schema([*own] + [(s.params, "validation") for s in specs],
                                      ref_template="#/$defs/{model}")

    def named(model: type) -> str:
        # pydantic names a model of $defs by its module too when a plugin's model has its name
        # ("Waiver", "RuleSpec"): looked up by name, the policy schema was exit 70 (KeyError)
        return str(keys[(model, "validation")]["$ref"]).rsplit("/", 1)[-1]

    top = dict(schema["$defs"].pop(named(PolicyDocument)))
    rule = schema["$defs"][named(RuleSpec)]
    rule["allOf"] = [
        {"if": {"properties": {"check": {"const": s.name}}, "required": ["check"]},
         "then": {"properties": {"params": keys[(s.params, "validation")]}}}
        for s in specs
    ]
    rule["properties"]["check"] = {"enum": [s.name for s in specs], "description": "check name (lbaudit list-checks)"}
    # The control ids the loader takes: those of the catalog, as written there (an editor showed
    # "SC-07", "sc-7" or a withdrawn control as valid, and lbaudit validate refused the policy).
    rule["properties"]["controls"]["items"] = {"enum": sorted(registry.catalog.controls, key=registry.catalog.sort_key)}
    # A key the loader refuses written as null (read as left out) takes no null here either: the
    # schema's anyOf [..., null] showed "severity:" with nothing after it as valid.
    for model, properties in ((PolicyDocument, top["properties"]), (RuleSpec, rule["properties"]),
                              (Waiver, schema["$defs"][named(Waiver)]["properties"])):
        for key in null_refused_keys(model):
            properties[key] = _without_null(properties[key])
    top["$defs"] = schema["$defs"]
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    top["$id"] = "https://lbaudit.invalid/schemas/policy-1.0.json"
    top["title"] = "lbaudit policy"
    return top


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without the null of its ``anyOf`` (and without the default null)."""
    kept = {key: value for key, value in prop.items() if not (key == "default" and value is None)}
    branches = [branch for branch in kept.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        kept.update(branches[0])
    elif branches:
        kept["anyOf"] = branches
    return kept


def _schema_providers() -> dict[str, Callable[[], dict[str, Any]]]:
    def evidence() -> dict[str, Any]:
        from auditor.storage.evidence import evidence_schema

        return evidence_schema()

    def policy() -> dict[str, Any]:
        from auditor.engine.registry import load_registry

        return policy_schema(load_registry())

    def snapshot() -> dict[str, Any]:
        from auditor.storage.snapshot import snapshot_schema

        return snapshot_schema()

    return {"evidence": evidence, "policy": policy, "snapshot": snapshot}


@click.command()
@click.argument("kind", type=click.Choice(["policy", "evidence", "snapshot"]))
def schema(kind: str) -> None:
    """Print a JSON Schema: policy (for editors), evidence or snapshot."""
    import json

    click.echo(json.dumps(_schema_providers()[kind](), indent=2, sort_keys=True))


# ------------------------------------------------------------------ entry point

# The largest integer an option takes: SQLite's INTEGER and C's long (a run id, a --limit); a larger
# one was an OverflowError (exit 70) where it met the store or the C library.
MAX_OPTION_INTEGER = 2**63 - 1


class _GuardedValue(click.ParamType):
    """Mixed into the type of every parameter of every command (:func:`_guard_params`): the one
    boundary where a value from the command line, an ``LBAUDIT_*`` variable or the configuration
    file (click converts all three through the parameter's type) is refused before any command
    sees it, as a usage error (exit 2) naming the option.

    A path must name something (``Path("")`` is ``Path(".")``: ``--root ''`` audited the working
    directory as an image, ``-o ''`` crashed; nor white space alone), a file option's (``dir_okay=False``) no directory
    (``results/``: pathlib drops the slash) and be one a file can have (no NUL, names within the
    kernel's limits, UTF-8: see :func:`auditor.safeio.path_problem`); any other text must hold no NUL
    and be UTF-8 (``--host`` with a byte that is no character was an encoding error in the store,
    exit 70); an integer must fit in 64 bits."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from auditor.safeio import path_problem, text_problem

        if isinstance(value, str):
            if isinstance(self, click.Path):
                if value == "":
                    self.fail("an empty path names no file", param, ctx)
                if not value.strip():
                    # What a template, a unit's Environment=LBAUDIT_OUT_DIR= or a CI variable of one
                    # space leaves, never a name meant: LBAUDIT_OUT_DIR=' ' wrote the evidence and the
                    # reports into a new directory called ' ' (the file's out_dir: ' ' was refused).
                    self.fail(f"{_shown(value)} is blank: a path of white space alone names no file meant "
                              "(write ./ before a name that is only white space)", param, ctx)
                if value == "-" and not self.allow_dash:
                    # Standard input or output only where the option says so (allow_dash: evaluate and
                    # collect -o; init -o and keygen --out, which say why not themselves): fleet report
                    # --html - and fleet evaluate --out-dir - wrote a file or directory called -.
                    name = next((o for o in getattr(param, "opts", ()) if o.startswith("--")), None) or (
                        param.human_readable_name if param is not None else "this path")
                    self.fail(f"{name} -: only -o/--output takes - (standard output): no other path reads or "
                              "writes a standard stream; give a path (an absolute one for a file called -)", param, ctx)
                if not self.dir_okay and value.rsplit("/", 1)[-1] in ("", ".") and "/" in value:
                    # pathlib drops the slash (and a last "."): `-o results/` wrote a file called
                    # results, and `-o earlier.json/` replaced earlier.json, where the kernel says ENOTDIR
                    self.fail(f"{_shown(value)} ends with '/', which names a directory: give the path of the file",
                              param, ctx)
                problem = path_problem(value)
            else:
                problem = text_problem(value)
            if problem is not None:
                self.fail(f"{_shown(value)} {problem}", param, ctx)
        result = super().convert(value, param, ctx)
        if isinstance(result, int) and not isinstance(result, bool) and abs(result) > MAX_OPTION_INTEGER:
            self.fail(f"{_shown(str(result))} is too large (at most {MAX_OPTION_INTEGER})", param, ctx)
        return result


def _shown(value: str) -> str:
    """A value as an error message quotes it: on one line, escaped, at most 60 characters."""
    from auditor.text import one_line

    text = one_line(value.encode("utf-8", "backslashreplace").decode("utf-8"))
    return f"'{text if len(text) <= 60 else text[:57] + '...'}'"


class _OptionsGivenOnce(click.Command):
    """Mixed into the class of every command and group (:func:`_guard_params`): what the command
    line gives each option is checked where click's parser stores it, the only place that still
    sees every occurrence as typed (click's result holds the last value alone, and a default from
    a variable or the configuration file is no occurrence).

    An option is given at most once, unless it says it may be repeated (click's ``multiple``, as
    ``fleet evaluate --snapshots``; ``count``).  click kept the last value silently, so ``lbaudit
    evaluate --policy corp.yaml $EXTRA`` was judged by whatever policy ``$EXTRA`` named (and
    ``--fail-on``, ``-o`` and ``--store`` alike): a second occurrence is a usage error (exit 2)
    naming the option and both values, the same value twice included, since two sources that each
    think they decide are the mistake.  A flag given twice is the same flag; one given with opposite
    forms (``--x --no-x``) is refused as well.

    A value is not one of the command's own options (``-o --json``, ``--pdf --force``, ``--assessor
    --org-name ACME``: click took the next word whatever it was, and the evidence went into a file
    called ``--json``), and a path does not start with ``--``: the option's value was left out.  A
    file of such a name is ``./--json``.

    The parser's options are wrapped at ``process`` (the same in click 8.1 to 8.5)."""

    def make_parser(self, ctx: click.Context) -> Any:
        parser = super().make_parser(ctx)
        if ctx.resilient_parsing:  # shell completion: nothing is run, every word is only offered
            return parser
        given: dict[int, Any] = {}
        names = frozenset([*parser._long_opt, *parser._short_opt])
        options = {id(o): o for o in [*parser._long_opt.values(), *parser._short_opt.values()]}
        for option in options.values():
            option.process = _checked(option, option.process, given, names, ctx)
        return parser


def _checked(option: Any, process: Callable[[Any, Any], None], given: dict[int, Any], names: frozenset[str],
             ctx: click.Context) -> Callable[[Any, Any], None]:
    """``option``'s ``process``, with the checks of :class:`_OptionsGivenOnce`."""
    param = option.obj
    flag = not option.takes_value
    repeatable = getattr(param, "multiple", False) or getattr(param, "count", False)
    shown_names = "/".join(sorted((*param.opts, *param.secondary_opts), key=lambda name: (len(name) < 3, name)))

    def process_checked(value: Any, state: Any) -> None:
        if not flag:
            for part in value if isinstance(value, (tuple, list)) else (value,):
                _refuse_option_as_value(part, param, shown_names, names, ctx)
        this = option.const if flag else value
        key = id(param)
        if not repeatable and key in given and not (flag and given[key] == this):
            first, second = given[key], this
            if flag:
                shown = f"as {_flag_form(param, first)} and as {_flag_form(param, second)}"
            else:
                shown = f"{_shown_value(first)} and {_shown_value(second)}"
            raise click.BadOptionUsage(
                param.name or shown_names,
                f"{shown_names} given more than once ({shown}): it takes one value, and a later one would "
                "silently replace the first; give it once", ctx)
        given[key] = this
        process(value, state)

    return process_checked


def _refuse_option_as_value(value: Any, param: click.Parameter, shown_names: str, names: frozenset[str],
                            ctx: click.Context) -> None:
    """A usage error when ``value``, given to ``param`` on the command line, is one of the command's
    options (``--json``, ``-q``, ``--org-name=X``) or, for a path, starts with ``--``."""
    if not isinstance(value, str) or not value.startswith("-") or value == "-":
        return
    option_named = value in names or value.split("=", 1)[0] in names
    if not option_named and not (isinstance(param.type, click.Path) and value.startswith("--")):
        return
    what = "an option of this command" if option_named else "no path one means"
    hint = f"; a file of that name is ./{value}" if isinstance(param.type, click.Path) else ""
    raise click.BadOptionUsage(param.name or shown_names,
                               f"{shown_names} {_shown(value)}: that is {what}, not a value of {shown_names}: its "
                               f"value was left out{hint}", ctx)


def _flag_form(param: click.Parameter, value: Any) -> str:
    """The form of a flag that gives ``value``: its first option for true, its ``--no-`` form for false."""
    opts = param.opts if value or not param.secondary_opts else param.secondary_opts
    return max(opts, key=len)


def _shown_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):  # nargs > 1
        return "(" + ", ".join(_shown(str(part)) for part in value) + ")"
    return _shown(str(value))


_GUARDED_TYPES: dict[type, type] = {}
_GUARDED_COMMANDS: dict[type, type] = {}


def _guard_params(command: click.Command) -> None:
    """Every parameter of a command (and of its subcommands) gets :class:`_GuardedValue` in front of
    its type, and the command :class:`_OptionsGivenOnce` in front of its class; the lazy group
    applies this to each command as it loads it, so no command can forget.  The type is copied,
    never changed in place: ``click.STRING`` and the like are shared."""
    for sub in getattr(command, "commands", {}).values():
        _guard_params(sub)
    kind_of_command = type(command)
    if not issubclass(kind_of_command, _OptionsGivenOnce):
        command.__class__ = _GUARDED_COMMANDS.setdefault(
            kind_of_command, type(f"Once{kind_of_command.__name__}", (_OptionsGivenOnce, kind_of_command), {}))
    for param in command.params:
        kind = type(param.type)
        if issubclass(kind, _GuardedValue):
            continue
        guarded = _GUARDED_TYPES.setdefault(kind, type(f"Guarded{kind.__name__}", (_GuardedValue, kind), {}))
        copy = guarded.__new__(guarded)
        copy.__dict__.update(param.type.__dict__)
        param.type = copy


def run(args: list[str] | None = None, prog_name: str | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` when ARGS is None) and return its exit code, every
    error mapped to its message on stderr and its documented code.  :func:`main` is this plus
    ``sys.exit``; the tests run commands in-process through it, so both share one mapping.
    PROG_NAME is the name usage lines show (click derives it from ``sys.argv[0]`` when None)."""
    resource_limits.hold()
    try:
        return _run_command(args, prog_name)
    except Exception as exc:
        # Saying how the command ended ran out of memory too (its message, its escaping, an import):
        # the message encoded beforehand, and exit 71, not a traceback and exit 1 ("non-compliant").
        if not resource_limits.out_of_memory(exc):
            raise
        resource_limits.say_out_of_memory()
        return ExitCode.RESOURCE_LIMIT


def _run_command(args: list[str] | None, prog_name: str | None) -> int:
    from auditor.command_files import DELIVERED, transaction
    from auditor.plugins import without_pydantic_plugins

    DELIVERED.clear()
    _COMMAND_ENDED.clear()  # a command run again in one process (the tests) starts as the first did
    wait_for_readers()
    try:
        # One transaction per command: a command that fails part way (exit 2, 70, 74, Ctrl-C, SIGTERM) puts
        # back every file it wrote; one that finishes (sys.exit with its verdict) keeps them all.
        # Models validated without pydantic's plugins (and its scan of every installed distribution).
        with without_pydantic_plugins(), transaction(keep_on=(SystemExit, click.exceptions.Exit)):
            try:
                # Without standalone mode click returns (not raises) the code of ctx.exit(n).
                code = cli.main(args=args, prog_name=prog_name, standalone_mode=False, default_map=_group_defaults())
            except (SystemExit, click.exceptions.Exit):
                _streams_written()
                _interruption_swallowed()
                raise
            _streams_written()
            _interruption_swallowed()
            return code or 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # a command's sys.exit(code): the code, as the interpreter would take it
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        _say(str(exc.code))
        return 1
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click's own turn of Ctrl-C: 130, as documented
            _say("interrupted")
            return 130
        _say("aborted")
        return ExitCode.USAGE
    except Exception as exc:
        if resource_limits.out_of_memory(exc):  # what follows (a message, escaped) runs in the reserve
            resource_limits.release()
        if DELIVERED:  # a signal's exception turned into another on its way out: the signal's code
            return _map_exception(DELIVERED[0])
        return _map_exception(exc)
    except (KeyboardInterrupt, Terminated) as exc:
        return _map_exception(exc)


def _interruption_swallowed() -> None:
    """A Ctrl-C or SIGTERM raised in this command that something swallowed instead of ending the
    command with it (Python's "Exception ignored in ..." of an exception raised in a ``__del__``,
    a library's ``except BaseException``): raised now, inside the command's transaction, so its
    files are put back and the exit code is the signal's, not the verdict's of a run stopped by hand."""
    from auditor.command_files import DELIVERED

    if DELIVERED:
        raise DELIVERED[0]


def _map_exception(exc: BaseException) -> int:
    """The message and exit code of what ended a command other than its own exit."""
    try:
        raise exc
    except StreamError as exc:  # before ClickException and OSError: the environment, never a bug or a usage error
        _say(f"lbaudit: {exc.message}")
        return ExitCode.IO_ERROR
    except click.ClickException as exc:
        # click's message quotes the command line (``No such command '...'``): said as every other
        # message is, cut and escaped (a megabyte argument was a megabyte of usage error)
        shown = io.StringIO()
        exc.show(file=shown)
        _say(shown.getvalue().removesuffix("\n"))
        return ExitCode.USAGE
    except LbauditError as exc:
        limit = _limit_behind(exc)
        if limit is not None:  # a reader that met the limit said "cannot read ...": not bad input
            _say(f"lbaudit: {limit}{resource_limits.LIMIT_ENDING}")
            return ExitCode.RESOURCE_LIMIT
        _say(f"lbaudit: {exc.render()}")
        return exit_code_of(exc)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Terminated as exc:
        _say("terminated" if exc.signum == signal.SIGTERM else f"terminated by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except Exception as exc:  # noqa: BLE001 - a bug must still end in a message and a documented code
        if os.environ.get("LBAUDIT_DEBUG"):
            # the traceback, and still exit 70: raised out of main it was exit 1, which reads "non-compliant"
            import traceback

            _say("".join(traceback.format_exception(exc)).rstrip("\n"))
            return ExitCode.INTERNAL
        limit = resource_limits.limit_met(exc)
        if limit is not None:
            _say(f"lbaudit: {limit}{resource_limits.LIMIT_ENDING}")
            return ExitCode.RESOURCE_LIMIT
        if io_failure_behind(exc):  # the disk, met where no message names the file: still not a bug
            where = next((e.filename for e in (exc, exc.__cause__, exc.__context__)
                          if isinstance(e, OSError) and e.filename), None)
            _say(f"lbaudit: {f'{where}: ' if where else ''}{getattr(exc, 'strerror', None) or exc}; "
                 "the files of this run were put back")
            return ExitCode.IO_ERROR
        _say(f"lbaudit: internal error: {type(exc).__name__}: {exc} (set LBAUDIT_DEBUG=1 for the traceback; "
             "please report it)")
        return ExitCode.INTERNAL


def _limit_behind(exc: BaseException) -> str | None:
    """The resource limit an error of lbaudit was made from (``raise InputError(...) from exc``):
    a policy, snapshot or key that could not be opened for want of a descriptor is the
    environment's limit (exit 71), not a file to fix (exit 2)."""
    causes = resource_limits.exception_chain(exc)
    next(causes)  # exc itself: an error of lbaudit, not a limit
    return next((limit for cause in causes if (limit := resource_limits.limit_met(cause)) is not None), None)


def _streams_written() -> None:
    """What the command printed is written out, and a stream that failed on the way (caught or not)
    fails the command here, inside its transaction: exit 74 and its files put back."""
    flush_standard_streams()
    raise_failure()


def _say(message: str) -> None:
    """The message that ends a command, on standard error if that still works (never an exception);
    control and bidi characters in it (a file name, an exception's text) shown as escapes."""
    from auditor.text import terminal_lines  # only once a command ends with a message

    try:
        click.echo(terminal_lines(message), err=True)
    except OSError:
        pass


def _raise_terminated(signum: int, frame: Any) -> None:
    from auditor.command_files import interrupt

    if os.getpid() != _MAIN_PID:
        # a forked child (a network namespace reader, or a fleet worker before its own handlers are
        # in place: auditor.fleet._init_worker): the files of the block it was writing put back, not
        # those it handed over; then the default action, after the writer's step under way
        from auditor.command_files import stop_worker

        _ignore_stopping_signals()
        interrupt(lambda: stop_worker(handed=False))
        return
    _ignore_stopping_signals()  # a second SIGTERM (or a SIGHUP after it) must not interrupt the clean-up
    stop_waiting_for_readers()  # nor may a reader that does not read keep the stopped command from ending
    if _COMMAND_ENDED:
        raise _StoppedWhileEnding
    interrupt(Terminated(signum))  # raised here, or after the writer's step under way (a file and its record)


# Signals that stop a command as SIGTERM does: SIGHUP is what a closed terminal or a dropped SSH
# session sends, and its default action killed the process between two files of a run (a new evidence
# beside the old PDF, a temporary file left).  Installed only where the signal is not ignored
# (`nohup lbaudit ...` must go on).
STOPPING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))  # Windows: no SIGHUP


def _ignore_stopping_signals() -> None:
    from auditor.command_files import ignore_signal

    for signum in STOPPING_SIGNALS:
        if signal.getsignal(signum) is _raise_terminated:
            signal.signal(signum, ignore_signal)  # not SIG_IGN: see ignore_signal


def _raise_interrupted(signum: int, frame: Any) -> None:
    """Ctrl-C: KeyboardInterrupt, as Python's own handler raises it, but never between two steps
    of the writer that belong together (auditor.command_files.uninterrupted)."""
    from auditor.command_files import interrupt

    stop_waiting_for_readers()
    if _COMMAND_ENDED:
        raise _StoppedWhileEnding
    interrupt(KeyboardInterrupt())


# Set once run() has returned in main: the command's code is decided and its files kept or put back.
# A signal then (a second Ctrl-C while a stopped command waits for its reader, a SIGTERM while a
# failed command's last output waits for one) only cuts those last writes short: raised out of
# main's flush as KeyboardInterrupt, it was a traceback and a death by SIGINT instead of exit 130.
_COMMAND_ENDED: list[bool] = []


class _StoppedWhileEnding(BaseException):
    """A signal after the command ended: its last writes to standard output and error are cut
    short (auditor.stdio.stop_waiting_for_readers); its exit code stands."""


_MAIN_PID = os.getpid()


def _redelivering(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """``sys.unraisablehook`` that gives a Ctrl-C or SIGTERM back to the command when its exception
    was raised where Python cannot raise one (a ``__del__``, a weakref callback such as importlib's
    module locks, while a module is imported part way through a run): Python printed it as
    "Exception ignored in ..." with a traceback and went on, so the run finished as if the signal had
    never come (exit 0 or 1, its files kept).  The signal is raised again, and its handler raises
    the exception at the next point of the command, which ends as a signal ends it."""
    def redeliver(unraisable: Any) -> object:
        exc = unraisable.exc_value
        if not isinstance(exc, (KeyboardInterrupt, Terminated)) or os.getpid() != _MAIN_PID:
            return hook(unraisable)
        import threading
        import time

        if isinstance(exc, KeyboardInterrupt):
            signum, handler = signal.SIGINT, _raise_interrupted
        else:
            signum, handler = signal.Signals(exc.signum), _raise_terminated
        signal.signal(signum, handler)  # a stopping signal's handler set itself aside: put it back

        def again() -> None:
            # From another thread, a moment later: raised now, the handler would run inside this
            # hook, where its exception is as unraisable as the first.  (Should it still land in
            # such a place, run() ends the command with the signal's code when it would have ended.)
            time.sleep(0.01)
            os.kill(os.getpid(), signum)

        threading.Thread(target=again, name="lbaudit-signal-again", daemon=True).start()
        return None

    redeliver.redelivers_interruptions = True  # type: ignore[attr-defined]
    return redeliver


def install_signal_handlers() -> None:
    """SIGTERM, SIGHUP and SIGINT end the command through its transaction (the files it wrote put back).

    What the process that started lbaudit left behind is undone first.  SIGCHLD ignored (inherited
    across exec: some supervisors and shells set it): the kernel reaps every child at once, so the
    exit status of auditctl, iptables-save or nft was lost and Python reported 0, and a tool that
    failed part way was read as a whole, successful answer.  Stopping signals blocked (an inherited
    signal mask): SIGTERM from systemd never arrived, and SIGKILL came in the middle of writing."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    if hasattr(signal, "SIGCHLD") and signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:  # POSIX only
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD, signal.SIGINT, *STOPPING_SIGNALS})
    signal.signal(signal.SIGTERM, _raise_terminated)
    if not getattr(sys.unraisablehook, "redelivers_interruptions", False):
        sys.unraisablehook = _redelivering(sys.unraisablehook)
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_DFL:  # not under nohup
        signal.signal(signal.SIGHUP, _raise_terminated)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where Ctrl-C was set to be ignored
        signal.signal(signal.SIGINT, _raise_interrupted)


def main() -> None:
    guard_standard_streams()  # first: before any file is opened, a closed descriptor 1 or 2 is /dev/null
    install_signal_handlers()
    code = run()
    _COMMAND_ENDED.append(True)
    try:
        flush_standard_streams()  # the message of a failed command, here rather than at exit (exit 120)
    except (OSError, _StoppedWhileEnding):
        pass
    # Nothing is left to cut short: a signal from here on (while SystemExit unwinds, or the
    # interpreter's exit handlers run) raised _StoppedWhileEnding over SystemExit, a traceback and exit 1.
    from auditor.command_files import ignore_signal

    for signum in (signal.SIGINT, *STOPPING_SIGNALS):
        if signal.getsignal(signum) in (_raise_interrupted, _raise_terminated):
            signal.signal(signum, ignore_signal)
    sys.exit(code)

