"""reportlab.platypus imported for the PDF reporter without compiling, on every start, a regular
expression the attestation never uses.

Private (leading underscore): not a reporter module; ``auditor.report.pdf`` imports it first.
``reportlab.platypus.paragraph`` compiles at import a case-insensitive URL pattern (Django's) whose
character ranges reach U+FFFF: Python's regex compiler case-folds each of those characters, about
150 M instructions, a fifth of importing reportlab and a tenth of a PDF process's start (issue
16).  reportlab matches it only to break long URLs (``uriWasteReduce``), which the attestation
does not ask for.  So that one pattern is compiled the first time it is used instead; every other
``re.compile`` during the import is the real one, and ``re.compile`` is itself again afterwards.

It also gives reportlab its shipped settings, whatever the surroundings: reportlab reads, when
``reportlab.rl_config`` is first imported, ``RL_<setting>`` environment variables, a
``reportlab_settings`` module on ``sys.path`` and ``~/.reportlab_settings``, and some of those
settings change the bytes it writes (``pageCompression``, ``pdfMultiLine``, ``ttfAsciiReadable``).
``verify --pdf`` renders the evidence again and compares byte for byte, so a user's
``RL_pageCompression=0`` made a genuine attestation fail verification (exit 13), or one rendered
under it fail everywhere else.  The settings of reportlab's own installation
(``reportlab.local_rl_settings``) are kept: they are the renderer's, like its version.
"""

from __future__ import annotations

import os
import re
import sys
import types
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


# The modules reportlab imports for a user's settings and changes (``reportlab_settings``, else
# ~/.reportlab_settings; ``reportlab_mods``, else ~/.reportlab_mods, code run at its import): while
# lbaudit imports reportlab they are empty modules, so neither file is looked for.
USER_MODULES = ("reportlab_settings", "reportlab_mods")
SETTINGS_ENVIRONMENT_PREFIX = "RL_"


@contextmanager
def without_user_settings() -> Iterator[None]:
    """While reportlab reads its settings: no ``RL_`` variable, and its user modules empty."""
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith(SETTINGS_ENVIRONMENT_PREFIX)}
    saved_modules = {name: sys.modules.get(name) for name in USER_MODULES}
    sys.modules.update({name: types.ModuleType(name) for name in USER_MODULES})
    try:
        yield
    finally:
        os.environ.update(saved)
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def read_shipped_settings_again() -> None:
    """reportlab's settings read again without the user's: for a process in which something
    imported reportlab before lbaudit's PDF renderer (a plugin, a test), when they were read with them."""
    with without_user_settings():
        from reportlab import rl_config

        rl_config._DEFAULTS = rl_config._defaults_init()
        rl_config._SAVED.clear()
        rl_config._startUp()


_settings_read_before = "reportlab.rl_config" in sys.modules
with without_user_settings(), url_pattern_compiled_on_first_use():
    import reportlab.platypus  # noqa: F401 - imported here, with the deferral, before any other module does
if _settings_read_before:
    read_shipped_settings_again()
