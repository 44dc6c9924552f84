"""The assessment pipeline as a library: plan, acquire, assess, write, sign, render.

The ``lbaudit`` commands parse their options, call these steps and print; a timer, a fleet runner
or a test calls the same steps without click::

    registry = load_registry(plugins=False)
    policy = load_policy(Path("corp.yaml"), registry)
    started = datetime.now(timezone.utc)
    snapshot, collect_ms = timed_acquire(RootDir(Path("/mnt/image")), plan(policy, registry))
    evidence = assess(policy, snapshot, registry, started_at=started, collect_ms=collect_ms)
    write(evidence, Path("image.evidence.json"))

Every step fails closed as the commands do: bad input is an :class:`~auditor.errors.InputError`
(exit 2 on the command line), never a half-written file.
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from auditor.errors import InputError, RegistryError
from auditor.gcpause import cycle_collector_paused
from auditor.model.result import Severity

if TYPE_CHECKING:
    from auditor.attest.signing import WrittenSignature
    from auditor.collect.targets import Target
    from auditor.engine.registry import Registry
    from auditor.model.evidence import Evidence, ReporterPluginRecord
    from auditor.model.facts import HostSnapshot
    from auditor.model.policy import Policy, WaiverSource
    from auditor.storage.outputs import InputTree


def plan(policy: "Policy", registry: "Registry") -> frozenset[str]:
    """The fact sections the enabled rules need: collectors of other sections are not run."""
    return frozenset(s for rule in policy.rules if rule.enabled
                     for s in (*registry.checks[rule.check].needs, *registry.checks[rule.check].uses))


def acquire(target: "Target", sections: frozenset[str], *, record_cmdline: bool = False,
            command_timeout: float = 10.0) -> "HostSnapshot":
    """The facts of ``sections`` from ``target``: collected from a host or root directory, or read
    from a snapshot file (verified against its public key when the target names one).  Process
    arguments are kept only with ``record_cmdline`` (whatever the source held).  A name from the
    host that is not UTF-8 (a process, exe path, user or file name) holds its bytes as ``\\xNN``:
    every target's snapshot passes here, so every output can write it (a collection is so made by
    collect_snapshot itself, whoever calls it; the others here)."""
    return _acquire(target, sections, record_cmdline=record_cmdline, command_timeout=command_timeout)


def _acquire(target: "Target", sections: frozenset[str], *, record_cmdline: bool,
             command_timeout: float) -> "HostSnapshot":
    from auditor.collect.platforms import native_platform
    from auditor.collect.targets import LocalHost, Replay
    from auditor.model.base import with_text_of_host

    if isinstance(target, LocalHost) and native_platform() is not None:
        # Windows or macOS: the capture probes, run here, through the same parsers as a bundle
        from auditor.collect.platforms.native import collect_native

        return with_text_of_host(collect_native(native_platform(), frozenset(sections),  # type: ignore[arg-type]
                                                timeout=command_timeout))
    from auditor.collect import CollectContext
    from auditor.collect.cmdline import apply_cmdline_rule
    from auditor.collect.live import check_sections, collect_snapshot
    from auditor.collect.targets import RootDir, SnapshotFile

    if isinstance(target, SnapshotFile):
        snapshot = with_text_of_host(target.load())
    elif isinstance(target, Replay):
        try:
            check_sections(sections)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        snapshot = with_text_of_host(target.load(frozenset(sections)))
    else:
        try:
            check_sections(sections)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        if isinstance(target, RootDir):
            # a missing or non-directory root is exit 2; opened here, read by the collection below
            target = RootDir.open(target.root)
        # Only a target with runtime facts has processes whose arguments could be recorded.
        snapshot = collect_snapshot(CollectContext(target=target, command_timeout=command_timeout,
                                                   sections=frozenset(sections),
                                                   record_cmdline=record_cmdline and target.runtime))
    return apply_cmdline_rule(snapshot, record_cmdline)


def timed_acquire(target: "Target", sections: frozenset[str], **options: Any) -> "tuple[HostSnapshot, int]":
    """:func:`acquire`, and how long it took in milliseconds (the evidence's ``collect`` time)."""
    t0 = time.perf_counter()
    with cycle_collector_paused():
        snapshot = acquire(target, sections, **options)
    return snapshot, round((time.perf_counter() - t0) * 1000)


# A collection time this far ahead of the evaluation's clock is a clock that is wrong or a file
# edited, whatever --max-age says: two hosts' clocks that NTP keeps agree to far less.
FUTURE_TOLERANCE = timedelta(minutes=5)


def check_collection_time(snapshot: "HostSnapshot", now: datetime, max_age: timedelta | None,
                          max_age_source: str = "") -> None:
    """Refuse (InputError, exit 2) facts collected earlier (a snapshot file, a captured bundle) that
    are older than ``max_age`` at ``now`` (the evaluation's clock), or that claim a collection time
    more than :data:`FUTURE_TOLERANCE` after it: judged as the host's, stale facts pass a host as it
    was, not as it is.  Facts collected by this run are as old as the run.  ``max_age_source``: where
    the limit came from when that was not the command line (`` (from LBAUDIT_MAX_AGE)``), said after
    it: a limit of the configuration file was named "--max-age" alone, which the command line did not
    hold."""
    from auditor.durations import duration_text

    prov = snapshot.provenance
    if prov.source not in ("snapshot", "replay"):
        return
    collected = prov.collected_at if prov.collected_at.tzinfo else prov.collected_at.replace(tzinfo=timezone.utc)
    shown = collected.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    name = prov.source_detail or prov.target_id or "the snapshot"
    age = now - collected
    if -age > FUTURE_TOLERANCE:
        raise InputError(f"{name}: its facts claim to be collected at {shown}, {duration_text(-age)} after this "
                         f"evaluation's clock (more than {duration_text(FUTURE_TOLERANCE)} ahead): a wrong clock "
                         "or an edited file; not judged")
    if max_age is not None and age > max_age:
        raise InputError(f"{name}: its facts were collected at {shown}, {duration_text(age)} ago, older than "
                         f"--max-age {duration_text(max_age)}{max_age_source}: stale facts are not judged as the host's (collect "
                         "again, or give a larger --max-age)")


def assess(policy: "Policy", snapshot: "HostSnapshot", registry: "Registry", *, today: date | None = None,
           fail_on: Severity = Severity.INFO, started_at: datetime | None = None,
           collect_ms: int | None = None, waiver_file: "WaiverSource | None" = None,
           reporter_plugins: "list[ReporterPluginRecord] | None" = None) -> "Evidence":
    """Judge ``snapshot`` against ``policy`` (pure evaluation) and build the evidence, with the run's
    times: ``started_at`` (now by default), the evaluation day waivers are judged against
    (``today``, by default the UTC day of ``started_at``), per-rule times, ``collect`` and
    ``evaluate``.  ``waiver_file``: waivers of a separate file (``--waivers``), applied after the
    policy's own and recorded with their digest; ``reporter_plugins`` (:func:`reporter_plugins`) are
    recorded beside the checks.  The exit code of the run is ``evidence.result.exit_code``."""
    from auditor.engine.evaluate import evaluate
    from auditor.engine.evidence import build_evidence
    from auditor.engine.waivers import evaluation_day

    started = started_at or datetime.now(timezone.utc)
    day = today or evaluation_day(started)
    rule_timings: dict[str, int] = {}
    with cycle_collector_paused():
        t0 = time.perf_counter()
        result = evaluate(policy, snapshot, registry, fail_on=fail_on, today=day, timings_ms=rule_timings,
                          extra_waivers=waiver_file.waivers if waiver_file else None)
        evaluate_ms = round((time.perf_counter() - t0) * 1000)
        return build_evidence(
            policy=policy, snapshot=snapshot, registry=registry, result=result, started_at=started,
            finished_at=datetime.now(timezone.utc), evaluated_on=day,
            timings_ms={**rule_timings, "collect": collect_ms or 0, "evaluate": evaluate_ms}, waiver_file=waiver_file,
            reporter_plugins=reporter_plugins,
        )


def _remove_stale_signature(path: Path) -> None:
    from auditor.storage.outputs import remove_file, signature_of

    # A signature beside the file about to be replaced would vouch for what it never signed.
    remove_file(signature_of(path), "stale signature")


def write(evidence: "Evidence", path: Path) -> bytes:
    """Write the evidence atomically (a stale signature beside it removed first); return its bytes."""
    from auditor.storage.evidence import write_evidence

    _remove_stale_signature(Path(path))
    with cycle_collector_paused():
        return write_evidence(evidence, Path(path))


def write_streamed(evidence: "Evidence", path: Path) -> None:
    """:func:`write` (the same bytes, as atomically) for a run that needs no bytes afterwards (no
    report to render, no history to record): written in pieces as they are made, never held whole
    (18 MB beside the models at 5,000 listeners, the peak of such a run)."""
    from auditor.storage.evidence import stream_evidence

    _remove_stale_signature(Path(path))
    with cycle_collector_paused():
        stream_evidence(evidence, Path(path))


def write_snapshot(snapshot: "HostSnapshot", path: Path) -> bytes:
    """Write a snapshot file atomically (a stale signature beside it removed first); return its bytes."""
    from auditor.storage.snapshot import snapshot_bytes
    from auditor.storage.snapshot import write_snapshot as write_snapshot_file

    _remove_stale_signature(Path(path))
    write_snapshot_file(snapshot, Path(path))
    return snapshot_bytes(snapshot)


def sign(path: Path, key_path: Path, data: bytes, *, snapshot: bool = False) -> WrittenSignature:
    """Sign the evidence (or, with ``snapshot``, the snapshot) just written to ``path`` as ``data``
    (what :func:`write` returned): a detached ``<path>.sig`` over those bytes, never over the file
    read back, which another process may have replaced since.  Returns the key's fingerprint and
    the ``.sig`` document as written."""
    from auditor.attest.signing import sign_written

    return sign_written(Path(path), data, Path(key_path), snapshot=snapshot)


def _reporter_plugins_declared(plugins: bool) -> bool:
    """Whether a run loads reporter plugins: autoload on and a distribution declaring one.  When
    none is declared, loading them is loading nothing, and importing auditor.report for it was 7 M
    instructions of a run that renders nothing (issue 16)."""
    if not plugins:
        return False
    from auditor.plugins import REPORTERS_GROUP, declares_entry_points

    return declares_entry_points(REPORTERS_GROUP)


def select_reporters(formats: list[str], pdf: Path | None, plugins: bool) -> dict[str, Any]:
    """The reporters asked for (``formats``, plus ``pdf`` when a PDF path is given); an unknown
    format is an InputError before any work."""
    wanted = formats + (["pdf"] if pdf else [])
    if not wanted and not _reporter_plugins_declared(plugins):
        return {}  # nothing to look up and no plugin to load: auditor.report is not imported
    from auditor.report import reporter_names
    from auditor.report import select_reporters as look_up

    try:
        return dict(look_up(wanted, plugins=plugins))
    except KeyError as exc:
        from auditor.text import quoted_name

        raise InputError(f"unknown format {', '.join(quoted_name(name) for name in exc.args)} "
                         f"(available: {', '.join(reporter_names(plugins))})") from None


def reporter_plugins(plugins: bool) -> "list[ReporterPluginRecord]":
    """The reporter plugins loaded for a run (entry point, format, distribution, version), to record
    in its evidence; none when autoload is off."""
    if not _reporter_plugins_declared(plugins):
        return []  # none to record: auditor.report is not imported
    from auditor.report import reporter_plugin_records

    return reporter_plugin_records(plugins)


def target_inputs(source: Any) -> "list[tuple[str, Path | InputTree]]":
    """The files a target reads that an output of the run must not be: a replayed bundle's probe
    files (``collect --replay B -o B/hostname.txt`` replaced the capture it had just read), and the
    whole tree of an offline root directory (``--output IMAGE/etc/sysctl.d/10-x.conf`` replaced the
    configuration it had just judged)."""
    from auditor.collect.targets import Replay, RootDir
    from auditor.storage.outputs import InputTree

    if isinstance(source, RootDir):
        return [("offline root directory", InputTree(source.root))]
    if isinstance(source, Replay):
        from auditor.collect.platforms.bundle import bundle_files

        return [("bundle file", path) for path in bundle_files(source.directory)]
    return []


def plan_files(policy_id: str, reporters: dict[str, Any], evidence_path: Path, out_dir: Path | None,
               pdf: Path | None, evidence_written: bool, inputs: "list[tuple[str, Path | InputTree | None]]",
               format_dirs: dict[str, Path] | None = None, force: bool = False) -> None:
    """Every file the run will write or remove, checked together before any work (InputError
    otherwise): no device, FIFO or directory replaced, no missing directory, no two outputs or an
    output and an input that are the same file, no existing file that is not lbaudit's own output
    of its kind replaced without ``force``."""
    from auditor.storage.outputs import plan_outputs, report_targets, signature_of

    outputs: list[tuple[str, Path]] = []
    if evidence_written:
        # The signature beside it is written (--sign-key) or removed (a stale one): either way, touched.
        outputs += [("evidence", evidence_path), ("evidence signature", signature_of(evidence_path))]
    outputs += [(f"{name} report", path) for name, path in
                report_targets(policy_id, {n: r.extension for n, r in reporters.items()}, out_dir, evidence_path, pdf,
                               format_dirs)]
    plan_outputs(outputs, inputs, out_dir=out_dir, force=force)


# The most a reporter plugin may render, as the largest evidence lbaudit reads
# (auditor.storage.evidence.MAX_EVIDENCE_BYTES): a report is made from the evidence, and a plugin that
# rendered without end filled the disk the run's files go to.
MAX_PLUGIN_REPORT_BYTES = 256 * 1024 * 1024
# node_exporter reads the textfile directory as its own user (prometheus on Debian)
TEXTFILE_MODE = 0o644


def _rendered(name: str, reporter: Any, evidence: Any, context: Any) -> bytes:
    """What ``reporter`` renders, or a RegistryError (exit 2) naming a reporter plugin that failed.

    A plugin's ``sys.exit(0)`` in its render ended ``evaluate`` with status 0 after the evidence
    of a non-compliant host was written, and its exceptions were "internal error in lbaudit"
    (exit 70): the gate read a plugin's exit as the verdict.  A built-in reporter's failure is
    lbaudit's bug and stays exit 70; KeyboardInterrupt and the stopping signals pass.

    A plugin's rendering is bounded as a plugin's check is (auditor.engine.time_limit): one that
    looped or blocked held ``evaluate --format`` and ``report`` forever.  Everything of its code
    that lbaudit runs is under the limit, the ``__str__`` of what it raised and the ``__bytes__`` of
    what it returned too, and so is the bound on the size of what it rendered."""
    from auditor.report import BUILTIN_REPORTERS

    if name in BUILTIN_REPORTERS:
        return reporter.render(evidence, context)  # lbaudit's own: a failure is its bug (exit 70)
    from auditor.engine.time_limit import PLUGIN_REPORTER_SECONDS, ReporterTimedOut, time_limit

    plugin = f"report format {name!r} (a reporter plugin)"
    from auditor.plugins import plugin_code

    try:
        # the process put back around the plugin's rendering, the limit lifted inside (as for a check)
        with plugin_code(), time_limit(PLUGIN_REPORTER_SECONDS, ReporterTimedOut) as limit:
            data = _rendered_by_plugin(plugin, reporter, evidence, context)
    except ReporterTimedOut as exc:  # in its rendering, or in what lbaudit made of what it did
        raise RegistryError(f"{plugin} did not finish: {exc}; nothing was written") from None
    if limit.reached:  # it swallowed the stop (a bare except) and returned what it had by then
        raise RegistryError(f"{plugin} did not finish: {ReporterTimedOut(PLUGIN_REPORTER_SECONDS)}; "
                            "nothing was written")
    return data


def _rendered_by_plugin(plugin: str, reporter: Any, evidence: Any, context: Any) -> bytes:
    """:func:`_rendered` of a reporter plugin, within its time limit."""
    from auditor.engine.time_limit import ReporterTimedOut

    try:
        data = reporter.render(evidence, context)
        if isinstance(data, bytes):
            data = bytes(data)  # a subclass's own methods are the plugin's code, run here, under the limit
    except ReporterTimedOut:
        raise
    except BaseException as exc:  # any failure of a plugin is that plugin's (GeneratorExit too)
        from auditor.plugins import raised_text, stops_the_run

        if stops_the_run(exc):
            raise
        raise RegistryError(f"{plugin} failed to render: {type(exc).__name__}: {raised_text(exc)}; "
                            "nothing was written") from exc
    if not isinstance(data, bytes):
        raise RegistryError(f"{plugin} rendered {type(data).__name__}, not bytes; nothing was written")
    if len(data) > MAX_PLUGIN_REPORT_BYTES:
        raise RegistryError(f"{plugin} rendered {len(data):,} bytes; a reporter plugin may render at most "
                            f"{MAX_PLUGIN_REPORT_BYTES:,}; nothing was written")
    return data


def render(
    evidence: "Evidence",
    evidence_bytes: bytes,
    evidence_path: Path,
    reporters: dict[str, Any],
    out_dir: Path | None = None,
    pdf: Path | None = None,
    assessor: str | None = None,
    pdf_cert: Path | None = None,
    pdf_cert_key: Path | None = None,
    format_dirs: dict[str, Path] | None = None,
    on_rendered: "Callable[[str, Path, bytes], None] | None" = None,
    org_name: str | None = None,
    org_logo: bytes | None = None,
    signed: "WrittenSignature | None | bool" = True,
) -> list[Path]:
    """Render every requested format from the evidence (never re-evaluating); return the files written.
    ``org_name`` and ``org_logo`` (image bytes, :func:`auditor.report.pdf.read_org_logo`) brand the reports.
    ``signed`` is the signature this process just wrote for ``evidence_bytes`` (None or False: it
    wrote none), or True for evidence it did not write (``lbaudit report``): the ``.sig`` beside it.

    The caller has planned these paths (:func:`plan_files`) before any work.  ``on_rendered`` is
    told each format, file and bytes written (evaluate --record marks a run attested by its PDF)."""
    from auditor.storage.outputs import make_out_dir, report_targets, write_atomic

    fingerprint = signed.fingerprint if not isinstance(signed, bool) and signed is not None else None
    # The .sig beside the file itself, as verify reads it: beside a link to the evidence there is
    # none, and every report of signed evidence named through a link said "unsigned".  Not for
    # evidence this process just wrote and signed: what it signed is known, and the files beside it
    # may have been replaced since.  Of the bytes the reports are rendered from, never the file read
    # again; a .sig that shows the evidence changed after signing stops the run (exit 10).
    if signed is True:
        from auditor.attest.signing import key_that_signed_evidence

        fingerprint = key_that_signed_evidence(evidence_path, evidence_bytes)
    targets = report_targets(evidence.policy.id, {n: r.extension for n, r in reporters.items()}, out_dir,
                             evidence_path, pdf, format_dirs)
    signer = None
    if pdf_cert is not None:  # the attestation page names the certificate that signs the PDF
        from auditor.attest.pades import certificate_signer

        signer = certificate_signer(pdf_cert)
    make_out_dir(out_dir)
    written = []
    for name, target in targets:
        # Reports link to the evidence file relative to where they are written, so the set of files
        # can be moved together.
        link = os.path.relpath(evidence_path.resolve(), target.resolve().parent)
        from auditor.report import ReportContext  # here: a run that renders nothing never imports the reporters

        context = ReportContext(evidence_bytes=evidence_bytes, evidence_path=link,
                                signature_fingerprint=fingerprint, assessor=assessor, org_name=org_name,
                                org_logo=org_logo, pdf_signer=signer if name == "pdf" else None)
        data = _rendered(name, reporters[name], evidence, context)
        if name == "pdf" and pdf_cert is not None:
            from auditor.attest.pades import sign_pdf

            data = sign_pdf(data, pdf_cert, pdf_cert_key)
        # A format written elsewhere (--textfile-dir) is read there by node_exporter as its own user:
        # a new file readable by all, whatever the umask (the scheduled unit's UMask=0077 made it
        # root's alone, and every lbaudit metric was missing); an existing one keeps as much of its
        # mode as that (write_atomic: an administrator's 0640 stays 0640).
        write_atomic(target, data, new_mode=TEXTFILE_MODE if format_dirs and name in format_dirs else None)
        written.append(target)
        if on_rendered is not None:
            on_rendered(name, target, data)
    return written
