"""``lbaudit capture --platform windows|macos``: print the script that captures a bundle.

    lbaudit capture --platform windows > capture.ps1     # run elevated on the Windows host
    lbaudit capture --platform macos > capture.sh        # sudo sh capture.sh on the Mac
    lbaudit collect --replay lbaudit-bundle-HOST --output host.snapshot.json
"""

from __future__ import annotations

import click


@click.command("capture")
@click.option("--platform", "platform", required=True, type=click.Choice(["windows", "macos"]),
              help="The OS of the host to capture: windows (a PowerShell script) or macos (an sh script).")
def capture(platform: str) -> None:
    """Print a PowerShell (windows) or sh (macos) script that captures a bundle for `collect --replay`.

    The script writes one file per probe into a directory; `lbaudit collect --replay DIR` parses it."""
    from auditor.collect.platforms.probes import capture_script

    click.echo(capture_script(platform), nl=False)
