"""Pure parsers of raw host text, and the one guard their callers put around them.

A parser of a program's or a service's output is written for what that program prints.  Given
anything else (a hostile binary, a proxy on the engine socket, a format change) it raises what
Python raises: ``ValueError`` for a number that is not one (pydantic's ``ValidationError`` for a
port past 65535 is one), ``TypeError``/``AttributeError``/``KeyError``/``IndexError`` for a JSON
value of another shape, ``RecursionError`` for JSON nested past the stack.  A collector catches
:data:`UNPARSEABLE` around the parser and records a gap naming the source, so that output never
crashes the collection (exit 70) and is never mistaken for "nothing found".
"""

from __future__ import annotations

UNPARSEABLE: tuple[type[BaseException], ...] = (ValueError, TypeError, AttributeError, KeyError, IndexError,
                                                RecursionError)


def unparseable_reason(exc: BaseException) -> str:
    """One line saying why the output could not be parsed, for a gap."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return " ".join(str(exc).split())[:300] or type(exc).__name__
