"""Regular expressions compiled on their first use, not when their module is imported (issue 16).

A module-level ``re.compile`` runs in every process that imports the module: ``lbaudit evaluate``
compiled some 50 of lbaudit's own patterns at import, 38 of which a run of the shipped policy against
an image never matched against anything (the escapes of text it did not print, the parsers of files
it did not read, the checks of rules it did not judge).  :func:`first_use` keeps the pattern beside
the code that reads it, written as before, and compiles it once, when that code first asks.
Standard library only: :mod:`auditor.text` uses it without loading pydantic."""

from __future__ import annotations

import functools
import re
from typing import AnyStr, Callable


def first_use(pattern: AnyStr, flags: int = 0) -> Callable[[], re.Pattern[AnyStr]]:
    """A function returning ``re.compile(pattern, flags)``, compiled by its first call and the same
    object after.  (A pattern the module itself needs at import stays a plain ``re.compile``.)"""
    return functools.cache(functools.partial(re.compile, pattern, flags))
