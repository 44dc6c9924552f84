"""``lbaudit collect``: gather facts only (no policy) into a snapshot file to evaluate later.

    lbaudit collect --output web01.snapshot.json                 # this host
    lbaudit collect --output image.snapshot.json --root /mnt/image
    lbaudit evaluate --policy corp.yaml --snapshot web01.snapshot.json

    lbaudit collect --output web01.snapshot.json --sign-key keys/lbaudit.key   # + web01.snapshot.json.sig
    lbaudit evaluate --policy corp.yaml --snapshot web01.snapshot.json --snapshot-pubkey keys/lbaudit.pub
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from auditor.commands.options import force_option, named_with_source
from auditor.commands.output import say
from auditor.model.facts import SECTIONS, GapKind, HostSnapshot
from auditor.text import one_line, terminal_lines

if TYPE_CHECKING:
    from auditor.collect.targets import Target


def _summary(snapshot: HostSnapshot, path: Path | str, digest: str) -> list[str]:
    """What collect prints of the snapshot it wrote, each line as a message's line is shown
    (:func:`auditor.text.terminal_lines`): the root directory, the host name and the OS are the
    command line's, the image's or the captured host's words (a carriage return in a root
    directory's name rewrote the line on the terminal)."""
    lines = _summary_lines(snapshot, path, digest)
    return [terminal_lines(line) for line in lines]


def _summary_lines(snapshot: HostSnapshot, path: Path | str, digest: str) -> list[str]:
    from auditor.collect.sections import summary_counts

    counts = summary_counts(snapshot.facts)
    kinds = Counter(g.kind for g in snapshot.gaps)
    where = snapshot.provenance.source_detail or snapshot.provenance.hostname
    platform = snapshot.provenance.platform
    return [
        f"snapshot: {one_line(path)} (sha256 {digest})",
        *([f"platform: {platform} ({snapshot.provenance.os or 'unknown OS'})"] if platform != "linux" else []),
        f"source: {snapshot.provenance.source} {where}; {'; '.join(counts) or 'no sections'}",
        f"gaps: {kinds.get(GapKind.UNREADABLE, 0)} unreadable, {kinds.get(GapKind.NOT_APPLICABLE, 0)} not applicable",
    ]


@click.command("collect")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Snapshot file to write (JSON; replaced atomically); - writes it to stdout (the summary then "
                   "goes to stderr).")
@click.option("--target", "target", metavar="TARGET",
              help="Where to collect from: local (this host, the default), root:DIR (an offline root directory) or "
                   "replay:DIR (a bundle captured on a Windows or macOS host).")
@click.option("--root", type=click.Path(path_type=Path),
              help="Collect from an offline root directory (mounted image, container filesystem) instead of this host.")
@click.option("--replay", type=click.Path(path_type=Path),
              help="Parse a bundle captured on a Windows or macOS host (lbaudit capture) instead of collecting "
                   "(the same as --target replay:DIR).")
@click.option("--section", "sections", multiple=True, type=click.Choice(SECTIONS),
              help="Fact section to collect (repeat for several) [default: all].")
@click.option("--record-cmdline", is_flag=True, help="Record the arguments of listening processes "
              "[default: only the executable, argv[0] and a SHA-256 of the command line: arguments carry credentials].")
@click.option("--sign-key", type=click.Path(path_type=Path, dir_okay=False),
              help="Ed25519 private key (lbaudit keygen): sign the snapshot (detached OUTPUT.sig), so that "
                   "evaluate --snapshot-pubkey can refuse one edited since.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit code and the file still tell.")
@force_option
def collect(output: Path, target: str | None, root: Path | None, replay: Path | None, sections: tuple[str, ...],
            record_cmdline: bool, sign_key: Path | None, quiet: bool, force: bool) -> None:
    """Collect facts only, without a policy, into a snapshot for `lbaudit evaluate --snapshot`.

    What cannot be read is recorded in the snapshot as a gap with its reason; the evaluation turns
    it into not_reviewed or not_applicable findings, never into passes.
    """
    from auditor import pipeline
    from auditor.collect.targets import SnapshotFile
    from auditor.commands.options import resolve_target
    from auditor.storage.outputs import is_stdout, plan_outputs, signature_of

    if replay is not None:
        if target is not None or root is not None:
            raise click.UsageError(f"--replay and {'--target' if target is not None else '--root'} are alternatives; give one")
        target = f"replay:{replay}"
    source = resolve_target(target, root)
    if isinstance(source, SnapshotFile):
        raise click.UsageError("collect gathers facts from a host or a root directory; a snapshot holds them "
                               "already (evaluate it with --target snapshot:FILE)")
    if is_stdout(output):
        if sign_key is not None:
            raise click.UsageError(f"{named_with_source('sign_key', '--sign-key')} writes a detached signature "
                                   "beside the snapshot file, and -o - writes no file: write the snapshot to a "
                                   "file to sign it")
        _collect_to_stdout(source, sections, record_cmdline, quiet)
        return
    # A device, FIFO, missing directory or an output that is the key itself: exit 2 before collecting.
    plan_outputs([("snapshot", output), ("snapshot signature", signature_of(output))],
                 inputs=[("signing key", sign_key), *pipeline.target_inputs(source)], force=force)
    if sign_key is not None:
        from auditor.attest.signing import load_private_key

        load_private_key(sign_key)  # an unusable or exposed key is refused before any collecting
    snapshot = pipeline.acquire(source, frozenset(sections or SECTIONS), record_cmdline=record_cmdline)
    data = pipeline.write_snapshot(snapshot, output)
    # signed from the bytes written, never the file read back: a target's snapshot directory is
    # where another process could replace it between the two
    fingerprint = pipeline.sign(output, sign_key, data, snapshot=True).fingerprint if sign_key is not None else None
    if not quiet:
        say(*_summary(snapshot, output, hashlib.sha256(data).hexdigest()),
            f"signature: {output}.sig written (Ed25519, key {fingerprint})" if fingerprint
            else "signature: none (unsigned: evaluate will mark its facts as an unverified snapshot)")


def _collect_to_stdout(source: "Target", sections: tuple[str, ...], record_cmdline: bool, quiet: bool) -> None:
    """``collect -o -``: the snapshot alone on stdout (so that it parses as JSON), the summary on stderr."""
    from auditor import pipeline
    from auditor.storage.outputs import write_stdout
    from auditor.storage.snapshot import snapshot_bytes

    snapshot = pipeline.acquire(source, frozenset(sections or SECTIONS), record_cmdline=record_cmdline)
    data = snapshot_bytes(snapshot)
    write_stdout(data)
    if not quiet:
        say(*_summary(snapshot, "standard output", hashlib.sha256(data).hexdigest()),
            "signature: none (unsigned: evaluate will mark its facts as an unverified snapshot)", err=True)
