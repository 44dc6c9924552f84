"""``typing``'s forward references compiled once per text (issue 16).  Standard library only.

Every string annotation pydantic resolves becomes a ``typing.ForwardRef``, and each one compiles its
text (``compile(text, '<string>', 'eval')`` in ``ForwardRef.__init__``), however often the same text
recurs: lbaudit's models (``from __future__ import annotations``) and pydantic-core's own TypedDicts
made 1,164 such compilations in ``lbaudit validate`` for 329 distinct texts, about 0.1 M instructions
each.  A code object is immutable, so one compiled code per text is what every ForwardRef of that text
evaluates (``eval(code, globals, locals)``: the namespaces are the ForwardRef's, not the code's).

:func:`install` gives the ``typing`` module a ``compile`` of its own (a module global, found before
the built-in) that remembers, for the at most :data:`REMEMBERED_TEXTS` texts last compiled, the
code of exactly typing's call; any other call, and a text that does not compile (its SyntaxError is
raised anew each time, as before), goes to the built-in unchanged.  The code is compiled with the
flags typing's own call had (typing.py imports nothing from ``__future__``): tests/test_forwardrefs.py
compares it with the built-in's.
"""

from __future__ import annotations

import builtins
import functools
import typing
from typing import Any

# More than all the distinct annotation texts of a run (329 in validate, about 400 in evaluate);
# the bound keeps a long process that makes forward references of ever new texts from growing.
REMEMBERED_TEXTS = 2048


@functools.lru_cache(maxsize=REMEMBERED_TEXTS)
def _compiled(text: str) -> Any:
    # dont_inherit: the flags of typing's frame (no __future__ import), not of this module's
    return builtins.compile(text, "<string>", "eval", 0, True)


def typing_compile(source: Any, filename: Any, mode: Any, *args: Any, **kwargs: Any) -> Any:
    """The built-in ``compile``, remembered for ``typing.ForwardRef``'s one call."""
    if not args and not kwargs and type(source) is str and filename == "<string>" and mode == "eval":
        return _compiled(source)
    return builtins.compile(source, filename, mode, *args, **kwargs)


def install() -> None:
    """Give ``typing`` the remembering ``compile`` (idempotent; a ``compile`` someone else put in
    typing's namespace is left alone)."""
    if "compile" not in vars(typing):
        typing.compile = typing_compile  # type: ignore[attr-defined]
