"""The ``lbaudit`` command line.  Exit codes are documented here and in the README."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from auditor import __version__
from auditor.errors import InputError, LbauditError
from auditor.model.result import ExitCode, Severity
from auditor.plugins import plugins_enabled

EXIT_CODES_HELP = """\b
Exit codes:
  0   compliant: no failing finding at or above --fail-on, nothing unreviewed
  1   non-compliant: a failing finding at or above --fail-on
  2   usage error: bad command line, policy, snapshot, evidence or key file
  3   incomplete: no failure, but evidence could not be collected, a check errored,
      or nothing could be judged (every finding not applicable)
  10  verify: evidence digest mismatch        11  verify: signature invalid
  12  verify: signed by another key           13  verify: PDF does not belong to the evidence
  70  internal error in lbaudit (a bug: please report it)
"""

SEVERITIES = [s.value for s in Severity]


def _fail(message: str) -> None:
    raise InputError(message)


def _one_line_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An option printed on one line of a report (--assessor): no line break, no bidi override."""
    from auditor.model.base import LINE_BREAK_OR_BIDI

    if value is not None and (value == "" or LINE_BREAK_OR_BIDI.search(value)):
        raise click.BadParameter("must be one line of plain text, not empty", ctx, param)
    return value


@click.group(help="lbaudit: policy-as-code compliance auditor for the network-socket layer, "
                  "mapped to NIST SP 800-53 Rev. 5.", epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="lbaudit")
def cli() -> None:
    pass


# ------------------------------------------------------------------ evaluate

def _split_formats(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _needed_sections(policy: Any, registry: Any) -> frozenset[str]:
    return frozenset(s for rule in policy.rules if rule.enabled for s in registry.checks[rule.check].needs)


def _acquire_snapshot(snapshot_path: Path | None, root: Path | None, sections: frozenset[str],
                      record_cmdline: bool = False, snapshot_pubkey: Path | None = None) -> Any:
    """The facts to judge (a snapshot verified against ``snapshot_pubkey`` when given), with process
    arguments only if asked for (whatever the source held)."""
    from auditor.collect.cmdline import apply_cmdline_rule

    if snapshot_path is not None:
        from auditor.collect.snapshot_file import load_snapshot

        snapshot = load_snapshot(snapshot_path, snapshot_pubkey)
    elif root is not None:
        from auditor.collect.rootdir import collect_root

        snapshot = collect_root(root, sections)
    else:
        from auditor.collect.live import collect_live

        snapshot = collect_live(sections, record_cmdline=record_cmdline)
    return apply_cmdline_rule(snapshot, record_cmdline)


def _reporters_for(formats: list[str], pdf: Path | None, plugins: bool) -> dict[str, Any]:
    """The reporters the command line asks for; an unknown format is a usage error before any work."""
    from auditor.report import load_reporters

    reporters = load_reporters(plugins=plugins)
    wanted = formats + (["pdf"] if pdf else [])
    unknown = [name for name in wanted if name not in reporters]
    if unknown:
        _fail(f"unknown format {', '.join(unknown)} (available: {', '.join(sorted(reporters))})")
    return {name: reporters[name] for name in wanted}


def render_outputs(
    evidence: Any,
    evidence_bytes: bytes,
    evidence_path: Path,
    reporters: dict[str, Any],
    out_dir: Path | None,
    pdf: Path | None,
    assessor: str | None,
    pdf_cert: Path | None,
    pdf_cert_key: Path | None,
) -> list[Path]:
    """Render every requested format from the evidence (never re-evaluating); return the files written.

    The caller has planned these paths (auditor.outputs.plan_outputs) before any work."""
    from auditor.outputs import make_out_dir, report_targets, write_atomic
    from auditor.report import ReportContext

    fingerprint = None
    if (evidence_path.parent / (evidence_path.name + ".sig")).exists():
        from auditor.signing import signature_fingerprint

        fingerprint = signature_fingerprint(evidence_path)
    targets = report_targets(evidence.policy.id, {n: r.extension for n, r in reporters.items()}, out_dir,
                             evidence_path, pdf)
    make_out_dir(out_dir)
    written = []
    for name, target in targets:
        # Reports link to the evidence file relative to where they are written, so the set of files
        # can be moved together.
        link = os.path.relpath(evidence_path.resolve(), target.resolve().parent)
        context = ReportContext(evidence_bytes=evidence_bytes, evidence_path=link,
                                signature_fingerprint=fingerprint, assessor=assessor)
        data = reporters[name].render(evidence, context)
        if name == "pdf" and pdf_cert is not None:
            from auditor.pdfsign import sign_pdf

            data = sign_pdf(data, pdf_cert, pdf_cert_key)
        write_atomic(target, data)
        written.append(target)
    return written


def _plan_files(policy_id: str, reporters: dict[str, Any], evidence_path: Path, out_dir: Path | None,
                pdf: Path | None, evidence_written: bool, inputs: list[tuple[str, Path | None]]) -> None:
    """Every file the run will write or remove, checked together before any work (exit 2 otherwise):
    no device, FIFO or directory replaced, no missing directory, no two outputs or an output and an
    input that are the same file."""
    from auditor.outputs import plan_outputs, report_targets, signature_of

    outputs: list[tuple[str, Path]] = []
    if evidence_written:
        # The signature beside it is written (--sign-key) or removed (a stale one): either way, touched.
        outputs += [("evidence", evidence_path), ("evidence signature", signature_of(evidence_path))]
    outputs += [(f"{name} report", path) for name, path in
                report_targets(policy_id, {n: r.extension for n, r in reporters.items()}, out_dir, evidence_path, pdf)]
    plan_outputs(outputs, inputs, out_dir=out_dir)


def _check_readable(path: Path | None, what: str) -> None:
    if path is not None and not os.access(path, os.R_OK):
        _fail(f"{path}: cannot read {what}")


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
        from auditor.signing import refuse_exposed_key

        refuse_exposed_key(pdf_cert_key)  # as for --sign-key: a private key others can read is refused


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--policy", "policy_path", required=True, type=click.Path(path_type=Path), help="Policy YAML file.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Evidence JSON to write [default: lbaudit-evidence.json, or <out-dir>/<policy-id>.evidence.json].")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="info", show_default=True,
              help="Lowest severity of a failing finding that makes the run non-compliant (exit 1).")
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path), help="Evaluate a saved snapshot instead of this host.")
@click.option("--snapshot-pubkey", type=click.Path(path_type=Path), help="Public key the --snapshot must be signed "
              "with (collect --sign-key); refuse it otherwise, with verify's exit codes 10-12.")
@click.option("--root", type=click.Path(path_type=Path), help="Evaluate an offline root directory (mounted image).")
@click.option("--format", "formats", default=None, help="Comma-separated report formats to write besides the evidence "
              "(e.g. oscal,sarif,junit,text).")
@click.option("--out-dir", type=click.Path(path_type=Path), help="Directory for the --format reports.")
@click.option("--pdf", type=click.Path(path_type=Path), help="Also write a PDF attestation here.")
@click.option("--sign-key", type=click.Path(path_type=Path), help="Ed25519 private key: sign the evidence (detached .sig).")
@click.option("--assessor", callback=_one_line_option, help="Assessor named in attestations [default: the policy owner].")
@click.option("--pdf-cert", type=click.Path(path_type=Path), help="X.509 certificate (PEM): also sign the PDF itself (PAdES).")
@click.option("--pdf-cert-key", type=click.Path(path_type=Path), help="Private key (PEM) of --pdf-cert.")
@click.option("--no-plugins", is_flag=True, help="Load built-in checks and reporters only (also: LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1).")
@click.option("--record-cmdline", is_flag=True, help="Record the arguments of listening processes in the evidence "
              "[default: only the executable, argv[0] and a SHA-256 of the command line: arguments carry credentials].")
@click.option("--quiet", "-q", is_flag=True, help="No terminal summary; the exit code and the files still tell.")
def evaluate(policy_path: Path, output: Path | None, fail_on: str, snapshot_path: Path | None,
             snapshot_pubkey: Path | None, root: Path | None,
             formats: str | None, out_dir: Path | None, pdf: Path | None, sign_key: Path | None, assessor: str | None,
             pdf_cert: Path | None, pdf_cert_key: Path | None, no_plugins: bool, record_cmdline: bool,
             quiet: bool) -> None:
    """Evaluate a policy against this host (or a snapshot / root directory) and write the evidence."""
    from auditor.engine.evaluate import evaluate as run_evaluation
    from auditor.engine.registry import load_registry
    from auditor.engine.waivers import evaluation_day
    from auditor.outputs import make_out_dir, signature_of
    from auditor.policy.loader import load_policy
    from auditor.report.console import render_summary
    from auditor.report.evidence import build_evidence, write_evidence

    if snapshot_path is not None and root is not None:
        raise click.UsageError("--snapshot and --root are alternatives; give one")
    if snapshot_pubkey is not None and snapshot_path is None:
        raise click.UsageError("--snapshot-pubkey verifies a --snapshot: give --snapshot as well")
    _check_readable(snapshot_pubkey, "snapshot public key")
    format_list = _split_formats(formats)
    _check_readable(sign_key, "signing key")
    _check_report_options(out_dir, pdf, pdf_cert, pdf_cert_key)
    if sign_key is not None:
        from auditor.signing import load_private_key

        load_private_key(sign_key)  # an unusable or exposed key is exit 2 before any work, not after

    plugins = plugins_enabled(no_plugins)
    started = datetime.now(timezone.utc)
    registry = load_registry(plugins=plugins)
    policy = load_policy(policy_path, registry)
    reporters = _reporters_for(format_list, pdf, plugins)
    if output is None:
        output = (out_dir / f"{policy.id}.evidence.json") if out_dir else Path("lbaudit-evidence.json")
    _plan_files(policy.id, reporters, output, out_dir, pdf, evidence_written=True,
                inputs=[("policy", policy_path), *(("policy", Path(s.path)) for s in policy.sources),
                        ("snapshot", snapshot_path), ("snapshot public key", snapshot_pubkey),
                        ("snapshot signature", signature_of(snapshot_path) if snapshot_path else None),
                        ("signing key", sign_key), ("certificate", pdf_cert),
                        ("certificate key", pdf_cert_key)])

    t0 = time.perf_counter()
    snapshot = _acquire_snapshot(snapshot_path, root, _needed_sections(policy, registry), record_cmdline,
                                 snapshot_pubkey)
    t1 = time.perf_counter()
    rule_timings: dict[str, int] = {}
    result = run_evaluation(policy, snapshot, registry, fail_on=Severity(fail_on), today=evaluation_day(started),
                            timings_ms=rule_timings)
    t2 = time.perf_counter()
    evidence = build_evidence(
        policy=policy, snapshot=snapshot, registry=registry, result=result, started_at=started,
        finished_at=datetime.now(timezone.utc), evaluated_on=evaluation_day(started),
        timings_ms={**rule_timings, "collect": round((t1 - t0) * 1000), "evaluate": round((t2 - t1) * 1000)},
    )
    make_out_dir(out_dir)
    stale_signature = output.parent / (output.name + ".sig")
    try:
        # A signature beside the file we are about to replace would claim what it never signed.
        stale_signature.unlink(missing_ok=True)
    except OSError as exc:
        _fail(f"{stale_signature}: cannot remove the stale signature: {exc.strerror or exc}")
    data = write_evidence(evidence, output)
    if sign_key is not None:
        from auditor.signing import sign_evidence_file

        sign_evidence_file(output, sign_key)
    written = render_outputs(evidence, data, output, reporters, out_dir, pdf, assessor, pdf_cert, pdf_cert_key)
    if not quiet:
        console = Console()
        render_summary(evidence, console, str(output))
        for path in written:
            console.print(f"report: {path}")
    sys.exit(result.exit_code)


# ------------------------------------------------------------------ report

@cli.command()
@click.argument("evidence_path", type=click.Path(path_type=Path))
@click.option("--format", "formats", default=None, help="Comma-separated formats (e.g. oscal,sarif,junit,text).")
@click.option("--out-dir", type=click.Path(path_type=Path), help="Directory for the reports [default: beside the evidence].")
@click.option("--pdf", type=click.Path(path_type=Path), help="Write a PDF attestation here.")
@click.option("--assessor", callback=_one_line_option, help="Assessor named in attestations [default: the policy owner].")
@click.option("--pdf-cert", type=click.Path(path_type=Path), help="X.509 certificate (PEM): also sign the PDF (PAdES).")
@click.option("--pdf-cert-key", type=click.Path(path_type=Path), help="Private key (PEM) of --pdf-cert.")
@click.option("--no-plugins", is_flag=True, help="Built-in reporters only (also: LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1).")
def report(evidence_path: Path, formats: str | None, out_dir: Path | None, pdf: Path | None, assessor: str | None,
           pdf_cert: Path | None, pdf_cert_key: Path | None, no_plugins: bool) -> None:
    """Render reports from an evidence file alone, without touching any host."""
    from auditor.report.evidence import load_evidence

    format_list = _split_formats(formats)
    if not format_list and pdf is None:
        raise click.UsageError("nothing to render: give --format and/or --pdf")
    _check_report_options(out_dir, pdf, pdf_cert, pdf_cert_key)
    reporters = _reporters_for(format_list, pdf, plugins_enabled(no_plugins))
    evidence, raw = load_evidence(evidence_path)
    _plan_files(evidence.policy.id, reporters, evidence_path, out_dir, pdf, evidence_written=False,
                inputs=[("evidence", evidence_path), ("evidence signature", evidence_path.parent / (evidence_path.name + ".sig")),
                        ("certificate", pdf_cert), ("certificate key", pdf_cert_key)])
    for path in render_outputs(evidence, raw, evidence_path, reporters, out_dir, pdf, assessor, pdf_cert, pdf_cert_key):
        click.echo(f"report: {path}")


# ------------------------------------------------------------------ validate, list-checks, explain, schema

@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("policies", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
def validate(policies: tuple[Path, ...], no_plugins: bool) -> None:
    """Validate policy files: every problem with file:line:column (exit 2 if any)."""
    from auditor.engine.registry import load_registry
    from auditor.errors import PolicyError
    from auditor.policy.loader import load_policy

    registry = load_registry(plugins=plugins_enabled(no_plugins))
    bad = 0
    for path in policies:
        try:
            policy = load_policy(path, registry)
        except PolicyError as exc:
            bad += 1
            click.echo(exc.render(), err=True)
            continue
        enabled = sum(1 for r in policy.rules if r.enabled)
        click.echo(f"{path}: ok ({policy.id} {policy.version}: {enabled} enabled rules, {len(policy.waivers)} waivers)")
    sys.exit(ExitCode.USAGE if bad else ExitCode.COMPLIANT)


@cli.command("list-checks")
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
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("check", "title", "severity", "controls", "origin"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["title"], row["severity"], ", ".join(row["controls"]), row["origin"])
    Console().print(table)


def _params_table(model: Any) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, info in model.model_fields.items():
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation).replace("typing.", "")
        default = "required" if info.is_required() else json.dumps(
            info.get_default(call_default_factory=True), default=lambda o: getattr(o, "model_dump", lambda: str(o))())
        rows.append((name, annotation, default, info.description or ""))
    return rows


def explain_text(spec: Any, catalog: Any) -> str:
    lines = [f"{spec.name}: {spec.title}", f"version {spec.version}, {spec.origin}, default severity {spec.severity.value}",
             f"facts needed: {', '.join(spec.needs)}", "", "NIST SP 800-53 Rev. 5 controls:"]
    for control_id in spec.controls:
        control = catalog.get(control_id)
        lines.append(f"  {control_id}  {control.title if control else '?'}")
    lines += ["", "Params:"]
    for name, annotation, default, description in _params_table(spec.params):
        lines.append(f"  {name} ({annotation}) default: {default}")
        if description:
            lines.append(f"      {description}")
    lines += ["", "Rationale:", f"  {spec.rationale}", "", "Remediation:", *[f"  {line}" for line in spec.remediation.splitlines()]]
    if spec.notes:
        lines += ["", "Notes:", *[f"  {line}" for line in spec.notes.splitlines()]]
    return "\n".join(lines)


@cli.command()
@click.argument("check_name")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only.")
def explain(check_name: str, no_plugins: bool) -> None:
    """Explain a check: params and defaults, controls, rationale, remediation."""
    from auditor.engine.registry import load_registry

    registry = load_registry(plugins=plugins_enabled(no_plugins))
    spec = registry.get(check_name)
    if spec is None:
        _fail(f"unknown check {check_name!r} (available: {', '.join(registry.names())})")
    click.echo(explain_text(spec, registry.catalog))


def policy_schema(registry: Any) -> dict[str, Any]:
    """JSON Schema of a policy file, with each check's params schema, for editors (yaml-language-server)."""
    from pydantic.json_schema import models_json_schema

    from auditor.model.policy import PolicyDocument

    specs = [registry.checks[name] for name in registry.names()]
    keys, schema = models_json_schema([(PolicyDocument, "validation")] + [(s.params, "validation") for s in specs],
                                      ref_template="#/$defs/{model}")
    top = dict(schema["$defs"].pop("PolicyDocument"))
    rule = schema["$defs"]["RuleSpec"]
    rule["allOf"] = [
        {"if": {"properties": {"check": {"const": s.name}}, "required": ["check"]},
         "then": {"properties": {"params": keys[(s.params, "validation")]}}}
        for s in specs
    ]
    rule["properties"]["check"] = {"anyOf": [{"enum": [s.name for s in specs]}, {"type": "null"}],
                                   "description": "check name (lbaudit list-checks)"}
    top["$defs"] = schema["$defs"]
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    top["$id"] = "https://lbaudit.invalid/schemas/policy-1.0.json"
    top["title"] = "lbaudit policy"
    return top


def _schema_providers() -> dict[str, Callable[[], dict[str, Any]]]:
    def evidence() -> dict[str, Any]:
        from auditor.report.evidence import evidence_schema

        return evidence_schema()

    def policy() -> dict[str, Any]:
        from auditor.engine.registry import load_registry

        return policy_schema(load_registry())

    def snapshot() -> dict[str, Any]:
        from auditor.collect.snapshot_file import snapshot_schema

        return snapshot_schema()

    return {"evidence": evidence, "policy": policy, "snapshot": snapshot}


@cli.command()
@click.argument("kind", type=click.Choice(["policy", "evidence", "snapshot"]))
def schema(kind: str) -> None:
    """Print a JSON Schema: policy (for editors), evidence or snapshot."""
    click.echo(json.dumps(_schema_providers()[kind](), indent=2, sort_keys=True))


# ------------------------------------------------------------------ feature modules and entry point

def _add_feature_commands() -> None:
    import auditor.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_add_feature_commands()


class _NamedPath(click.Path):
    """A path option or argument that must name something: an empty value is a usage error.

    ``Path("")`` is ``Path(".")``: without this, ``--root ''`` audited the working directory as an
    image, ``--out-dir ''`` wrote into it, ``-o ''`` crashed, each silently or as exit 70."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value == "":
            self.fail("an empty path names no file", param, ctx)
        return super().convert(value, param, ctx)


def _refuse_empty_paths(group: click.Group) -> None:
    """Every path parameter of every command (feature modules included) refuses an empty value."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _refuse_empty_paths(command)
        for param in command.params:
            if isinstance(param.type, click.Path) and not isinstance(param.type, _NamedPath):
                named = _NamedPath.__new__(_NamedPath)
                named.__dict__.update(param.type.__dict__)
                param.type = named


_refuse_empty_paths(cli)


def main() -> None:
    try:
        # Without standalone mode click returns (not raises) the code of ctx.exit(n).
        sys.exit(cli.main(standalone_mode=False) or 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(ExitCode.USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except LbauditError as exc:
        click.echo(f"lbaudit: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug must still end in a message and a documented code
        if os.environ.get("LBAUDIT_DEBUG"):
            raise
        click.echo(f"lbaudit: internal error: {type(exc).__name__}: {exc} (set LBAUDIT_DEBUG=1 for the traceback; "
                   "please report it)", err=True)
        sys.exit(ExitCode.INTERNAL)


if __name__ == "__main__":
    main()
