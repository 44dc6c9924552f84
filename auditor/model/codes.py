"""Severities and exit codes: plain enums, without pydantic, so that the command line can name them
(``--fail-on`` choices, exit codes) without importing the models (``lbaudit --help`` stays fast).
:mod:`auditor.model.result` re-exports both."""

from __future__ import annotations

from enum import Enum, IntEnum


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class ExitCode(IntEnum):
    """Documented in the README and in ``lbaudit --help``."""

    COMPLIANT = 0
    NON_COMPLIANT = 1  # a failing finding at or above --fail-on
    USAGE = 2  # bad command line, policy, snapshot or other input
    INCOMPLETE = 3  # no failure at or above --fail-on, but something was not reviewed, a check errored or nothing was judged
    # lbaudit verify (issue: signed evidence)
    VERIFY_DIGEST = 10
    VERIFY_SIGNATURE = 11
    VERIFY_WRONG_KEY = 12
    VERIFY_PDF_MISMATCH = 13
    INTERNAL = 70  # a bug in lbaudit; the message says where to report it
    RESOURCE_LIMIT = 71  # EX_OSERR: out of memory, open files or processes (ulimit -v / -n / -u): the run could not finish
    IO_ERROR = 74  # EX_IOERR: a file, standard output or error could not be written (full disk, I/O error, closed pipe)
    BUSY = 75  # EX_TEMPFAIL: another lbaudit process kept a directory this command writes in past the wait
