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


class LbauditError(Exception):
    """Base of errors shown to the user as a message (never a traceback)."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def render(self) -> str:
        """The message and its problems, one a line, as the error says them: where it is printed
        (cli.py's ``_say``), each line is shown with its control and bidi characters as escapes."""
        lines = [str(self)]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


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
