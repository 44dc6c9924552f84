"""Errors a user can cause and fix.  Each carries the exit code the CLI returns for it."""

from __future__ import annotations

from auditor.model.codes import ExitCode
from auditor.model.records import record


@record
class Problem:
    """One located problem in an input file: ``file:line:column: message``."""

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


# The most problems a message lists (of an invalid policy, snapshot or evidence): far more than anyone
# fixes in one go, and the rest are counted ("... and 9,900 more problems not shown").  A policy of
# 10,000 list items that are no rules listed 10,001 lines (700 KB) on standard error.
MAX_LISTED_PROBLEMS = 100


def listed_problems(problems: list[Problem], noun: str = "problem") -> list[str]:
    """Each of ``problems`` as a line of a message (``  file:line:column: message``), at most
    :data:`MAX_LISTED_PROBLEMS` of them, then one line saying how many more there are."""
    lines = [f"  {p}" for p in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  ... and {more_problems(len(problems) - MAX_LISTED_PROBLEMS, noun)} not shown")
    return lines


def more_problems(count: int, noun: str = "problem") -> str:
    """``N more problems`` (``1 more problem``)."""
    return f"{count:,} more {noun}{'' if count == 1 else 's'}"


class LbauditError(Exception):
    """Base of errors shown to the user as a message (never a traceback)."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def render(self) -> str:
        """The message and its problems, one a line (at most :data:`MAX_LISTED_PROBLEMS` of them),
        as the error says them: where it is printed (cli.py's ``_say``), each line is shown with its
        control and bidi characters as escapes, and cut (:func:`auditor.text.terminal_lines`)."""
        return "\n".join([str(self), *listed_problems(self.problems)])


class PolicyError(LbauditError):
    """The policy file (or one it extends) is invalid."""


class RegistryError(LbauditError):
    """The set of loaded checks is unusable: duplicates, shadowing, unknown controls, none at all."""


class InputError(LbauditError):
    """A snapshot, evidence or key file given on the command line is unreadable or invalid."""


class Busy(LbauditError):
    """Another lbaudit process is writing in a directory this command writes in, for longer than
    this command waits (EX_TEMPFAIL: try again later; never one of the verdict codes)."""

    exit_code = ExitCode.BUSY


class Terminated(BaseException):
    """SIGTERM (systemd stopping a timer's scan, ``timeout``) or SIGHUP (the terminal or SSH session
    closed): raised where the process is, so that the files the run wrote are put back as they were,
    as for Ctrl-C; the exit code is 128 + ``signum``.  A BaseException, so that no ``except
    Exception`` turns it into a finding or exit 70."""

    def __init__(self, signum: int = 15):  # SIGTERM (the signal module is not imported for this)
        super().__init__(signum)
        self.signum = signum
