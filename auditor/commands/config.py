"""``lbaudit config show``: the settings of auditor/config.py, their values and where each came from."""

from __future__ import annotations

import json

import click

# The widest the value column is padded to: a path or URL of some length; a longer value is printed
# whole on its line (cut at auditor.text.MAX_MESSAGE_LINE_CHARS, as a message's line is).
VALUE_COLUMN = 64


@click.group("config")
def config() -> None:
    """Show the configuration: each setting's effective value and where it came from."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(as_json: bool) -> None:
    """Each setting's effective value and its source: environment variable, file:line or default.  A command-line
    option always wins over all three."""
    from auditor.config import config_files, effective, hidden_password, present
    from auditor.text import one_line, shown_line

    # A store URL's password is never printed (every other message naming the store hides it too).
    rows = [(s, hidden_password(value) if s.kind == "path or URL" and isinstance(value, str) else value, source)
            for s, value, source in effective()]
    if as_json:
        click.echo(json.dumps([{"key": s.key, "option": s.option, "env": s.env, "value": value, "source": source}
                               for s, value, source in rows], indent=2))
        return
    # Values, file names and sources are the user's text (a file, the environment): a line break or a
    # bidi override in org_name or $XDG_CONFIG_HOME went to the terminal as it was.
    files = [one_line(p) + ("" if present(p) else " (absent)") for p in config_files()]
    click.echo(f"configuration files: {', '.join(files) or 'none (LBAUDIT_CONFIG is empty)'}")
    shown = [("key", "value", "source")] + [(s.key, "-" if value is None else shown_line(value), one_line(source))
                                          for s, value, source in rows]
    width = max(len(k) for k, _, _ in shown)
    # A long value pushes its own row's source along, not every row's: padded to the longest, an
    # org_name of 60,000 characters made each of the 14 lines 60,000 wide (780 KB for a 60 KB file).
    value_width = min(max(len(v) for _, v, _ in shown), VALUE_COLUMN)
    for key, value, source in shown:
        click.echo(f"{key:<{width}}  {value:<{value_width}}  {source}")
