"""``lbaudit keygen`` and ``lbaudit verify``: the keys that sign evidence, and checking a signature."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from auditor.commands.options import quiet_option
from auditor.commands.output import say
from auditor.errors import LbauditError, exit_code_of
from auditor.model.result import ExitCode
from auditor.text import shown_line, terminal_lines

VERIFY_EPILOG = """\b
Checks, in this order; the exit code is that of the first failure:
  key        the detached signature (EVIDENCE.sig) was made with --pubkey    else 12
  signature  the Ed25519 signature over the recorded digest holds          else 11
             (also when the evidence has no .sig at all)
  digest     the SHA-256 of the evidence's canonical JSON is the signed one else 10
             (re-indenting the file is fine; changing any value is not)
  pdf        with --pdf: the PDF is exactly what lbaudit renders from this   else 13
             evidence (rendered again with the inputs the PDF records,
             compared byte for byte), then nothing or one valid PAdES
             signature over the whole file (needs lbaudit[pades])
Exit 0 when every check passes; 2 when an input cannot be read or is not what it should be
(also intact, signed evidence that is not valid evidence or contradicts its own findings).
evaluate --snapshot-pubkey checks a signed snapshot with the first three steps and codes.
"""


def _exit(code: int) -> NoReturn:
    # SystemExit, not click's Exit: the exit code must survive a caller that runs the group with
    # standalone_mode=False (there, click returns an Exit's code instead of exiting with it).
    sys.exit(int(code))


def _exit_with(error: LbauditError) -> NoReturn:
    click.echo(terminal_lines(f"lbaudit: {error.render()}"), err=True)
    _exit(exit_code_of(error))


@click.command("keygen")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False, allow_dash=True),  # refused below
              default=Path("keys"),
              show_default=True, help="Directory for NAME.key (private, mode 0600) and NAME.pub.")
@click.option("--name", default="lbaudit", show_default=True, help="Base name of the key files.")
@click.option("--force", is_flag=True, help="Replace an existing key pair (the old private key is gone for good).")
@quiet_option
def keygen(out_dir: Path, name: str, force: bool, quiet: bool) -> None:
    """Create an Ed25519 key pair for signing evidence (evaluate --sign-key)."""
    from auditor.attest.signing import generate_keypair, load_public_key, public_key_fingerprint
    from auditor.storage.outputs import is_stdout

    if is_stdout(out_dir):  # a key pair is two files, never standard output
        raise click.UsageError("--out -: keys are written to a directory; give its path (an absolute one for a "
                               "directory called -)")
    # An error is raised, not turned into sys.exit(2) here: the command line then puts back the
    # files the command wrote (--force replaced the private key, and the public key failed).
    private_path, public_path = generate_keypair(out_dir, name=name, force=force)
    fingerprint = public_key_fingerprint(load_public_key(public_path))
    if quiet:
        return
    say(f"private key: {private_path} (mode 0600: keep it secret)",
        f"public key:  {public_path} (give it to whoever verifies)", f"fingerprint: {fingerprint}")


@click.command("verify", epilog=VERIFY_EPILOG)
@click.argument("evidence_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pubkey", "pubkey_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Public key (.pub from lbaudit keygen) the evidence must be signed with.")
@click.option("--pdf", "pdf_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also check that this PDF attestation is exactly the rendering of the evidence.")
@quiet_option
def verify(evidence_path: Path, pubkey_path: Path, pdf_path: Path | None, quiet: bool) -> None:
    """Check that EVIDENCE is intact and signed by --pubkey (and that --pdf belongs to it)."""
    from auditor.attest.verify import verify as run_verify

    try:
        result = run_verify(evidence_path, pubkey_path, pdf_path)
    except LbauditError as exc:
        _exit_with(exc)
    # Each line as a terminal shows it, and one line (shown_line: its line feeds as "\\n" too, not a
    # message's own): a file name holding a carriage return and an erase-line escape made "NOT
    # verified: NAME" read "verified: host.json", and a host name holding line feeds (the evidence's,
    # signed as it should be) printed a "verified: prod.json" line of its own.
    if not quiet:
        for check in result.checks:
            state = {True: "ok", False: "FAIL", None: "--"}[check.ok]
            click.echo(shown_line(f"{check.name:<10} {state:<5} {check.detail}"))
    code = result.exit_code
    if code == ExitCode.COMPLIANT:
        if not quiet:
            # the file's name is the user's; what was signed is named by the signed content alone
            click.echo(shown_line(f"signed evidence of {result.subject}"))
            click.echo(shown_line(f"verified: {evidence_path}" + (f" and {pdf_path}" if pdf_path else "")))
    else:
        failed = ", ".join(c.name for c in result.failed)
        click.echo(shown_line(f"NOT verified: {evidence_path} ({failed} failed; exit {int(code)})"), err=True)
    _exit(code)
