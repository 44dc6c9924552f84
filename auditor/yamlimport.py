"""PyYAML, imported without compiling its one costly regular expression (issue 16).

``import yaml`` compiles, in the body of ``yaml.reader.Reader``, the set of characters YAML forbids
in a stream, written as a negated class of the allowed ranges (``[^\\x09\\x0A ... \\U00010000-\\U0010ffff]``).
Python's ``re`` builds a table of every code point of those ranges below U+10000 one at a time:
57 M instructions, about 7 ms, a third of PyYAML's import and some 6% of ``lbaudit validate``.  The
same set written as its complement, the characters that are forbidden (``[\\x00-\\x08\\x0B ...
\\uFFFE\\uFFFF]``), compiles in 4 M.  Compiled here first and left in ``re``'s cache under PyYAML's
pattern, it is what ``re.compile`` hands PyYAML's class body: a pattern matching exactly the same
characters (tests/test_yamlimport.py compares the two on every code point), so the reader refuses
exactly what it refused, at the same place, with the same message.

``re``'s cache is an implementation detail: where it is not the dict of CPython 3.10-3.13 keyed by
``(type, pattern, flags)``, or PyYAML's pattern is another text, nothing is seeded and PyYAML
compiles its own, as before.  Every lbaudit module imports PyYAML through this one.
"""

from __future__ import annotations

import re
import sys

# yaml/reader.py (PyYAML 5.1 to 6.0.x): Reader.NON_PRINTABLE, the characters a YAML stream may not hold.
PYYAML_NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
# The same characters, named instead of excluded: every code point (0 to U+10FFFF) outside the
# ranges above.
NON_PRINTABLE = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"


def _seed_pyyaml_pattern() -> None:
    if "yaml" in sys.modules:
        return  # already imported: its pattern is compiled
    cache = getattr(re, "_cache", None)
    if isinstance(cache, dict):
        cache.setdefault((str, PYYAML_NON_PRINTABLE, 0), re.compile(NON_PRINTABLE))


_seed_pyyaml_pattern()

import yaml as yaml  # noqa: E402  (after the seeding, which is the point)
