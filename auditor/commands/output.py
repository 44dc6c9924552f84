"""How commands print: colour, and the run summary laid out for where it goes (the ``--color``
and ``--quiet`` options are in :mod:`auditor.commands.options`).

A terminal gets rich tables at its real width, findings grouped by rule; a pipe, a file, cron mail
or a CI log gets one finding per line, never wrapped or cut, whatever ``COLUMNS`` says
(:func:`auditor.report.summary.plain_lines`).  rich is imported only when a table is drawn.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Any, Sequence

import click

if TYPE_CHECKING:  # the model (pydantic) is loaded by the commands that print a summary, not by --help
    from auditor.model.evidence import Evidence


def say(*lines: object, err: bool = False) -> None:
    """Print ``lines``, each one line of a command's ordinary output (``policy: PATH``, ``wrote PATH``,
    a unit ``schedule install --dry-run`` shows), on stdout or, with ``err``, stderr: as a message
    lbaudit ends with is shown (:func:`auditor.text.terminal_lines`), and each line on one line
    (:func:`auditor.text.one_line`).  These lines name the paths the user typed, and a file name can
    hold any character but NUL and "/": a carriage return, an erase-line escape or a right-to-left
    override in a directory's name reached the terminal raw, and a line feed printed a line of the
    name's own making ("wrote ...")."""
    from auditor.text import one_line, terminal_lines

    click.echo(terminal_lines("\n".join(one_line(line) for line in lines)), err=err)


def is_terminal(stream: IO[Any]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or not a real stream
        return False


def wants_color(choice: str, stream: IO[Any]) -> bool:
    """``--color``: always, never, or (auto) a terminal unless NO_COLOR is set; FORCE_COLOR
    colours a pipe too (https://no-color.org, https://force-color.org)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return is_terminal(stream)


def terminal_width(stream: IO[Any]) -> int:
    """The terminal's real width (the kernel's, not a stale ``COLUMNS``), else ``COLUMNS`` or 80."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    if columns:
        return max(columns, 20)
    # A pseudo-terminal nobody sized (script, some CI runners) says 0: then COLUMNS, else 80.  shutil
    # only here: it imports bz2, lzma and fnmatch, 0.5 MiB of a run that prints no summary (issue 16).
    import shutil

    return max(shutil.get_terminal_size((80, 24)).columns, 20)


def print_summary(evidence: "Evidence", evidence_path: str | None, *, color: str, err: bool = False,
                  extra: Sequence[str] = ()) -> None:
    """The run summary (and ``extra`` lines after it) on stdout, or stderr with ``err``: drawn
    for a terminal, one finding per line for anything else.  A reader that stops reading
    (``| head``) ends the summary, not the run: the files are written and the exit code is the
    verdict's."""
    stream = sys.stderr if err else sys.stdout
    try:
        _print_summary(evidence, evidence_path, stream, color, err, extra)
    except BrokenPipeError as exc:
        from auditor.stdio import forgive
        from auditor.storage.outputs import silence_closed_stream

        forgive(exc)  # the reader chose to stop reading: not a failure of the run (auditor/stdio.py)
        silence_closed_stream(stream)


def _print_summary(evidence: "Evidence", evidence_path: str | None, stream: IO[Any], color: str, err: bool,
                   extra: Sequence[str]) -> None:
    from auditor.text import one_line

    # The extra lines name the files written (report:, signature:), as the command line named them:
    # a directory's carriage return or ESC must not print a line of its own making.
    extra = [one_line(line) for line in extra]
    colored = wants_color(color, stream)
    if is_terminal(stream):
        # rich is imported only when a summary is drawn: `evaluate -q` or a pipe never pays for it.
        from rich.console import Console

        from auditor.report.console import render_summary

        console = Console(file=stream, width=terminal_width(stream), force_terminal=True, highlight=False,
                          color_system="auto" if colored else None, no_color=not colored)
        render_summary(evidence, console, evidence_path)
        for line in extra:
            console.print(line, markup=False)
        return
    from auditor.report.summary import plain_lines, verdict_line

    verdict = verdict_line(evidence)
    for line in [*plain_lines(evidence, evidence_path), *extra]:
        if colored and line == verdict:
            line = click.style(line, fg={"compliant": "green", "non_compliant": "red"}.get(
                evidence.result.verdict.value, "yellow"), bold=True)
        click.echo(line, err=err, color=colored)


def warn_problems(warnings: list[Any]) -> None:
    """Warnings (auditor.errors.Problem) go to stderr, one a line, so they never mix with what a
    command prints on stdout: evaluate's and fleet evaluate's about the policy and its waivers."""
    from auditor.errors import MAX_LISTED_PROBLEMS, more_problems
    from auditor.text import terminal_lines

    for warning in warnings[:MAX_LISTED_PROBLEMS]:
        click.echo(terminal_lines(f"lbaudit: warning: {warning.file}{problem_place(warning)}: {warning.message}"),
                   err=True)
    if len(warnings) > MAX_LISTED_PROBLEMS:
        click.echo(f"lbaudit: warning: ... and {more_problems(len(warnings) - MAX_LISTED_PROBLEMS, 'warning')} not "
                   "shown (lbaudit validate counts them)", err=True)


def problem_place(problem: Any) -> str:
    """``:LINE:COLUMN`` of a problem, as much of it as is known."""
    where = f":{problem.line}" if problem.line is not None else ""
    return where + (f":{problem.column}" if problem.line is not None and problem.column is not None else "")
