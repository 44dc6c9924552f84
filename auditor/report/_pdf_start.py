"""reportlab.platypus imported for the PDF reporter without compiling, on every start, a regular
expression the attestation never uses.

Private (leading underscore): not a reporter module; ``auditor.report.pdf`` imports it first.
``reportlab.platypus.paragraph`` compiles at import a case-insensitive URL pattern (Django's) whose
character ranges reach U+FFFF: Python's regex compiler case-folds each of those characters, about
150 M instructions, a fifth of importing reportlab and a tenth of a PDF process's start (issue
16).  reportlab matches it only to break long URLs (``uriWasteReduce``), which the attestation
does not ask for.  So that one pattern is compiled the first time it is used instead; every other
``re.compile`` during the import is the real one, and ``re.compile`` is itself again afterwards.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator

# How reportlab's pattern (reportlab.platypus.paragraph.uri_pat, reportlab 3.6-5.x) begins: any other
# pattern, or this one with other flags, is compiled at once as before.
URL_PATTERN_START = "(^(?:[a-z0-9\\.\\-\\+]*)://)"


class CompiledOnFirstUse:
    """A regular expression compiled when one of its attributes (``match``...) is first asked for."""

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern_text, self.pattern_flags = pattern, flags
        self.compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:  # only for what the instance lacks: the pattern's attributes
        if self.compiled is None:
            self.compiled = re.compile(self.pattern_text, self.pattern_flags)
        return getattr(self.compiled, name)


@contextmanager
def url_pattern_compiled_on_first_use() -> Iterator[None]:
    real = re.compile

    def compile_or_defer(pattern: Any, flags: int = 0) -> Any:
        if type(pattern) is str and flags == re.IGNORECASE and pattern.startswith(URL_PATTERN_START):
            return CompiledOnFirstUse(pattern, flags)
        return real(pattern, flags)

    re.compile = compile_or_defer  # type: ignore[assignment]
    try:
        yield
    finally:
        re.compile = real


with url_pattern_compiled_on_first_use():
    import reportlab.platypus  # noqa: F401 - imported here, with the deferral, before any other module does
