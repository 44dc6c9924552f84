"""``lbaudit config show``: the settings of auditor/config.py, their values and where each came from."""

from __future__ import annotations

import json

import click


@click.group("config")
def config() -> None:
    """Show the configuration: each setting's effective value and where it came from."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(as_json: bool) -> None:
    """Each setting's effective value and its source: environment variable, file:line or default.  A command-line
    option always wins over all three."""
    from auditor.config import config_files, effective, present
    from auditor.text import one_line

    rows = effective()
    if as_json:
        click.echo(json.dumps([{"key": s.key, "option": s.option, "env": s.env, "value": value, "source": source}
                               for s, value, source in rows], indent=2))
        return
    # Values, file names and sources are the user's text (a file, the environment): a line break or a
    # bidi override in org_name or $XDG_CONFIG_HOME went to the terminal as it was.
    files = [one_line(p) + ("" if present(p) else " (absent)") for p in config_files()]
    click.echo(f"configuration files: {', '.join(files) or 'none (LBAUDIT_CONFIG is empty)'}")
    shown = [("key", "value", "source")] + [(s.key, "-" if value is None else one_line(value), one_line(source))
                                          for s, value, source in rows]
    width = max(len(k) for k, _, _ in shown)
    value_width = max(len(v) for _, v, _ in shown)
    for key, value, source in shown:
        click.echo(f"{key:<{width}}  {value:<{value_width}}  {source}")
