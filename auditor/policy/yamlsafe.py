"""A strict YAML reader that remembers where every value came from.

PyYAML's safe loader still accepts duplicate keys (the last one silently wins), merge keys and
anchors (the "billion laughs" expansion).  We compose the node tree with the safe loader and build
plain Python values ourselves, so that:

* duplicate keys, explicit tags (``!!python/object``, ``!!binary``, ``!custom``), merge keys and
  anchors/aliases are errors naming line and column;
* every mapping key and sequence item has its (line, column), so a later validation error can
  point at the exact place in the file;
* nesting deeper than MAX_DEPTH is refused where it happens (PyYAML's composer recurses once per
  level and would end in a RecursionError), and so is a scalar no policy value can be: an
  impossible date (``2027-02-30``, ``0000-01-01``), an integer beyond 64 bits, ``.inf`` or ``.nan``;
* a scalar that YAML 1.1 (PyYAML) and YAML 1.2 (editors, the yaml-language-server checking the
  policy's JSON Schema, most other tools) read as different values is refused where it is written,
  with what each reads it as: ``yes``/``no``/``on``/``off`` (booleans in 1.1, text in 1.2), ``010``
  (octal 8 in 1.1, 10 in 1.2), ``0b101``, ``1_000`` and base-60 ``1:20`` (80 in 1.1, text in 1.2).
  ``min_low: 01024`` was the port 532: a policy meant less than its author and reviewer read.  And
  the other way round: ``1e3``, ``1.0e3``, ``-.5``, ``0o17`` (text in 1.1, numbers in 1.2).

What a problem quotes.  A file read here may be any file the run can read (a policy's ``extends``,
``--waivers``, ``LBAUDIT_CONFIG``: data a pull request changes, read by a CI job running as root),
so its text is quoted only once the file is recognised as its :class:`DocumentKind`, and then only
under a top-level key of that kind.  The document is composed first (PyYAML's own messages are
stripped of any fragment of the file longer than one character, :func:`_unquoted`); a root that is
not a mapping, or a mapping none of whose keys is one of the kind's, is refused naming the file,
the place and what was expected, before any value is built; a key or value elsewhere (an unknown
top-level key's) is named by its line and column, never quoted.  ``extends: /etc/shadow`` or a
``docker-compose.yml`` with ``version:`` and ``POSTGRES_PASSWORD: 0731946285`` printed the hash
or the password into the log.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import field
from typing import Any, Collection

from auditor.model.records import mutable_record, record
from auditor.patterns import first_use
from auditor.yamlimport import yaml

# Tags a plain policy needs.  Anything else (python/*, binary, set, omap, custom) is refused.
ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

Path_ = tuple[Any, ...]

# A policy nests about six levels (rules, a rule, params, exceptions, match, ports).
MAX_DEPTH = 64
# Keys, values and list items in one file.  The shipped corporate policy holds about 150 and a
# generated one about 15 per exception; PyYAML's pure-Python reader takes some 60 us a node, so a
# 1 MiB file of 260,000 one-character list items took 17 s of CPU (over a minute on a loaded
# machine) before anything was said about it.  20,000 is read in about a second.
MAX_NODES = 20_000
# Every number a policy holds is a port, a count or a rate: 64 bits is far beyond any of them, and
# a larger one could not be written back as JSON evidence (int->str is capped at 4300 digits).
MAX_INT = 2**63 - 1


class YamlProblem(Exception):
    def __init__(self, message: str, line: int | None, column: int | None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class ForeignDocument(YamlProblem):
    """The file is not of the kind expected: another file, refused without quoting it.  ``schema``
    is the ``schema`` an lbaudit JSON document names itself by (``lbaudit/evidence``), else None."""

    def __init__(self, message: str, schema: str | None):
        super().__init__(message, 1, 1)
        self.schema = schema


@record
class DocumentKind:
    """What a YAML file is expected to be: its name with its article ("a policy"), its top-level
    keys, and what is expected of it in words ("a mapping with id, version, owner and rules")."""

    name: str
    keys: tuple[str, ...]
    expected: str


# An lbaudit document's name for itself: quoted when given as another kind of file.
_LBAUDIT_SCHEMA = first_use(r"lbaudit/[a-z][a-z-]{0,40}")


@mutable_record
class LocatedDocument:
    value: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # The source text of every plain scalar that YAML read as something other than a string
    # (``2026.10`` is the float 2026.1): error messages quote what the author wrote.
    texts: dict[Path_, str] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int | None, int | None]:
        """(line, column) of the deepest known prefix of ``path``."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return (None, None)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Builds the values of a recognised document.  A problem quotes the file's text only under a
    top-level key of ``known`` (a policy's ``rules``); elsewhere (an unknown top-level key, the
    top-level keys themselves) it is named by its place alone."""

    def __init__(self, known: Collection[str]) -> None:
        self.known = known
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.texts: dict[Path_, str] = {}
        self._seen: set[int] = set()
        self._scalar = yaml.SafeLoader("")  # only used to construct scalar values by tag

    def _quotable(self, path: Path_) -> bool:
        return bool(path) and path[0] in self.known

    def _shown(self, text: str, path: Path_) -> str:
        """``text`` of the file as a problem may show it: an excerpt, or "the value" where the
        file's text is not quoted."""
        return _excerpt(text) if self._quotable(path) else "the value"

    @staticmethod
    def _too_large(shown: str) -> str:
        integer = "the integer" if shown == "the value" else f"the integer {shown}"
        return f"{integer} is out of range (at most {MAX_INT})"

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) in self._seen:
            # The composer hands back the same node object for an alias: refuse rather than expand.
            raise YamlProblem("anchors and aliases (&name / *name) are not supported in policies", *_mark(node))
        if node.tag not in ALLOWED_TAGS:
            tag = f"YAML tag {node.tag!r}" if self._quotable(path) else "this YAML tag"
            raise YamlProblem(
                f"{tag} is not allowed (policies are plain data: strings, numbers, booleans, "
                "lists and mappings)",
                *_mark(node),
            )
        mismatch = _tag_mismatch(node, self._scalar, self._shown(node.value, path) if isinstance(node.value, str) else "")
        if mismatch:
            raise YamlProblem(mismatch, *_mark(node))
        if isinstance(node, yaml.MappingNode):
            self._seen.add(id(node))
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem("merge keys (<<) are not supported in policies", *_mark(key_node))
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlProblem("mapping keys must be plain strings", *_mark(key_node))
                key = self.build(key_node, path + ("<key>",))
                if not isinstance(key, str):
                    # as written: "null", "true", "1.0" (str() would say None, True, 1.0)
                    key = key_node.value
                if key in result:
                    first = self.positions[path + (key,)]
                    named = f"key {key!r}" if self._quotable(path + (key,)) else "key"
                    raise YamlProblem(
                        f"duplicate {named} (first defined at line {first[0]}); each key may appear once",
                        *_mark(key_node),
                    )
                self.positions[path + (key,)] = _mark(key_node)
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            self._seen.add(id(node))
            items = []
            for index, item in enumerate(node.value):
                self.positions[path + (index,)] = _mark(item)
                items.append(self.build(item, path + (index,)))
            return items
        self._seen.add(id(node))
        shown = self._shown(node.value, path)
        ambiguous = _yaml11_only(node, shown) or _yaml12_only(node, shown)
        if ambiguous:
            raise YamlProblem(ambiguous, *_mark(node))
        try:
            value = self._scalar.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise
        except (ValueError, OverflowError, ArithmeticError, LookupError, AttributeError, TypeError) as exc:
            # datetime() refuses 2027-02-30 and year 0; int() refuses more than 4300 digits.
            if node.tag.endswith(":int"):
                raise YamlProblem(self._too_large(shown), *_mark(node)) from None
            what = "date" if node.tag.endswith(":timestamp") else "value"
            detail = f" {shown}: {exc}" if self._quotable(path) else ""
            raise YamlProblem(f"invalid {what}{detail}", *_mark(node)) from None
        if not isinstance(value, str):
            self.texts[path] = node.value
        if isinstance(value, str) and _CONTROL.search(value):
            # Written as an escape ("\x00"): no policy value needs one, and a NUL cuts a C string short.
            found = _CONTROL.search(value).group()
            raise YamlProblem(f"control character {found!r} in a string", *_mark(node))
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            # Only a "\ud800" escape makes one (the file itself is UTF-8).  No UTF-8 file can hold it:
            # the policy digest, the evidence and every report are UTF-8, and encoding it was exit 70.
            # YAML joins no surrogate pair ("\ud83d\ude00" is two), and has \U0001F600 for that.
            found = _LONE_SURROGATE.search(value).group()
            raise YamlProblem(f"lone surrogate {found!r} in a string, which no UTF-8 file can hold (write the character itself "
                              "or \\UXXXXXXXX for one beyond U+FFFF)", *_mark(node))
        if isinstance(value, float) and not math.isfinite(value):
            raise YamlProblem(f"{shown} is not a finite number", *_mark(node))
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise YamlProblem(self._too_large(shown), *_mark(node))
        return value


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_KIND_OF_TAG = {"tag:yaml.org,2002:map": yaml.MappingNode, "tag:yaml.org,2002:seq": yaml.SequenceNode}
_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def _tag_mismatch(node: yaml.Node, resolver: yaml.SafeLoader, shown: str) -> str | None:
    """Why an explicit tag disagrees with what it tags, or None.  ``!!int ''``, ``!!timestamp x`` and
    ``!!bool maybe`` reached PyYAML's constructors, which raised IndexError, AttributeError and
    KeyError on them (exit 70); ``!!map [a]`` built a list.  A tag may only say what the text
    already is (``!!float 1`` is the one widening YAML allows); ``!!str`` may tag any scalar.
    ``shown``: the scalar as the message may show it (:meth:`_Builder._shown`)."""
    kind = _KIND_OF_TAG.get(node.tag, yaml.ScalarNode)
    name = "!!" + node.tag.rsplit(":", 1)[-1]
    if not isinstance(node, kind):
        return f"the tag {name} does not fit a {type(node).__name__.removesuffix('Node').lower()}"
    if not isinstance(node, yaml.ScalarNode) or node.tag == _STR:
        return None
    implicit = resolver.resolve(yaml.ScalarNode, node.value, (True, False))
    if implicit == node.tag or (node.tag == _FLOAT and implicit == _INT):
        return None
    return f"{shown} is not a valid {name} value"


# Integers whose YAML 1.1 reading differs from YAML 1.2's: a leading zero (octal), binary, digits
# grouped with "_", base 60 ("1:20").  Hexadecimal (0x1F) and a sign (+12) read the same in both.
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_BINARY = re.compile(r"[-+]?0b", re.IGNORECASE)


def _yaml11_only(node: yaml.ScalarNode, quoted: str) -> str | None:
    """Why ``node`` (a scalar YAML 1.1 resolved as a boolean or a number) means something else to a
    YAML 1.2 reader, or None.  A quoted scalar is text in both and never reaches here as a number.
    ``quoted``: the scalar as the message may show it (:meth:`_Builder._shown`)."""
    text, kind = node.value, node.tag.rsplit(":", 1)[-1]
    if kind == "bool" and text.lower() not in ("true", "false"):
        value = "true" if yaml.constructor.SafeConstructor.bool_values.get(text.lower()) else "false"
        return (f"{quoted} is the boolean {value} in YAML 1.1 but text in YAML 1.2; write {value} "
                "(or quote it for text)")
    if kind == "int":
        if ":" in text:
            return (f"{quoted} is a base-60 number in YAML 1.1 but text in YAML 1.2; write the number in "
                    "decimal digits (or quote it for text)")
        if _BINARY.match(text):
            return f"{quoted} is a binary number in YAML 1.1 but text in YAML 1.2; write it in decimal digits"
        if _LEADING_ZERO.fullmatch(text):
            return (f"{quoted} is an octal number in YAML 1.1 but a decimal one in YAML 1.2; write it without "
                    "the leading zero (or quote it for text)")
    if kind in ("int", "float") and ("_" in text or ":" in text):
        return (f"{quoted} is a number in YAML 1.1 but text in YAML 1.2; write it in plain digits without "
                "'_' or ':' (or quote it for text)")
    return None


# What YAML 1.2's core schema reads as a number (an octal 0o17, a float 1e3, 1.0e3 or -.5), where
# PyYAML's 1.1 reads text: its floats need a "." and a signed exponent, and 0o is not a prefix there.
_YAML12_NUMBER = re.compile(r"(?P<octal>0o[0-7]+)|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def _yaml12_only(node: yaml.ScalarNode, quoted: str) -> str | None:
    """Why ``node`` (a plain scalar, neither quoted nor tagged, that YAML 1.1 read as text) is a
    number to a YAML 1.2 reader, or None.  ``max_time_wait_share: 5e-1`` was the text '5e-1' here,
    refused as "expected a number", which the author had written; ``version: 1e3`` was text here and
    1000.0 to the editor checking the schema.  ``quoted``: the scalar as the message may show it."""
    if node.tag != _STR or node.style is not None or getattr(node, "explicit_tag", False):
        return None
    found = _YAML12_NUMBER.fullmatch(node.value)
    if found is None:
        return None
    number: float = int(node.value[2:], 8) if found.group("octal") else float(node.value)
    if isinstance(number, int) or (math.isfinite(number) and number.is_integer() and abs(number) < 2**53):
        written = str(int(number))
    elif not math.isfinite(number):
        return f"{quoted} is text in YAML 1.1 but a number out of range in YAML 1.2; write a finite number (or quote it for text)"
    else:  # as YAML 1.1 reads a float too: a "." in the mantissa, a sign in the exponent
        mantissa, _, exponent = repr(number).partition("e")
        written = (mantissa if "." in mantissa else mantissa + ".0") + (f"e{'' if exponent[0] in '+-' else '+'}{exponent}"
                                                                       if exponent else "")
    if quoted == "the value":  # not quoted: nor is the number it is
        return "the value is text in YAML 1.1 but a number in YAML 1.2; write the number in digits with a '.' (or quote it for text)"
    return f"{quoted} is text in YAML 1.1 but the number {written} in YAML 1.2; write {written} (or quote it for text)"


def found_text(value: Any, limit: int = 60) -> str:
    """How a problem shows a value it refused ("expected text; found ..."): a scalar as written, cut
    to ``limit`` characters, and a mapping or a list by its kind and size alone.  Under a key of its
    kind a file may still hold another program's section (an application's ``store: {secret_key:
    ...}`` given as the configuration, a ``docker-compose.yml``'s ``version``), and the text of a
    container says nothing about what was expected."""
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key{'' if len(value) == 1 else 's'}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if value is None:  # YAML's word for it (`key:` with nothing after it, or ~), not Python's "None"
        return "null"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class _DepthLimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing to compose a node nested deeper than MAX_DEPTH or more than
    MAX_NODES nodes."""

    _depth = 0
    _nodes = 0

    def compose_scalar_node(self, anchor: Any) -> Any:
        # Whether a tag was written (``!!str 1e3``: text as its author says, not a YAML 1.2 number).
        explicit = self.peek_event().tag not in (None, "!")
        node = super().compose_scalar_node(anchor)
        node.explicit_tag = explicit
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_NODES:
                mark = self.peek_event().start_mark
                raise YamlProblem(f"more than {MAX_NODES} keys, values and list items; a policy holds a few "
                                  "hundred (split a larger one into files with extends)", mark.line + 1, mark.column + 1)
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlProblem(f"nested deeper than {MAX_DEPTH} levels", mark.line + 1, mark.column + 1)
            event = self.peek_event()
            if not isinstance(event, yaml.AliasEvent) and getattr(event, "anchor", None) is not None:
                # An anchor (&name) on its own too, not only once an alias repeats it: the README says
                # anchors are refused, and one no alias names was taken as if it were not there.
                raise YamlProblem("anchors and aliases (&name / *name) are not supported in policies",
                                  event.start_mark.line + 1, event.start_mark.column + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# PyYAML's messages quote a token kind ('<block end>'), a character ('\t') or a fragment of the file
# (an alias, anchor, tag handle or directive name): only the first two are kept.
_QUOTED = first_use(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_TOKEN_KIND = first_use(r"<[a-z ]+>")


def _unquoted(message: str) -> str:
    """A PyYAML message without the fragments of the file it quotes (more than one character,
    that is not a token kind such as '<block end>'): read before the file is recognised, it may
    be any file (``found undefined alias 'S3cret'``)."""

    def scrub(match: re.Match[str]) -> str:
        inner = match.group()[1:-1]
        try:
            one_character = len(ast.literal_eval(match.group())) <= 1
        except (ValueError, SyntaxError):
            one_character = False
        if one_character or _TOKEN_KIND().fullmatch(inner):
            return match.group()
        return "(not quoted)"

    return _QUOTED().sub(scrub, message)


_SCALAR_NAMES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "null": "null", "timestamp": "date"}


def _recognise(node: yaml.Node, kind: DocumentKind) -> None:
    """Refuse, without quoting it, a document that is not ``kind``: a root that is not a mapping, or
    a mapping none of whose keys is one of the kind's (``extends: /etc/shadow``: YAML reads each of
    its lines as a key).  An empty mapping is the kind with everything missing."""
    if isinstance(node, yaml.SequenceNode):
        raise YamlProblem(f"expected {kind.expected}; found list", 1, 1)
    if not isinstance(node, yaml.MappingNode):
        found = _SCALAR_NAMES.get(node.tag.rsplit(":", 1)[-1], "a tagged value")
        raise YamlProblem(f"expected {kind.expected}; found {found}", 1, 1)
    keys = [key for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
    schema = next((value.value for key, value in node.value if isinstance(key, yaml.ScalarNode)
                   and key.value == "schema" and isinstance(value, yaml.ScalarNode)
                   and _LBAUDIT_SCHEMA().fullmatch(value.value)), None)
    if "schema" in kind.keys:
        schema = None
    if schema is None and (not node.value or any(key.value in kind.keys for key in keys)):
        return
    if schema is not None:
        raise ForeignDocument(f"this is an lbaudit document of schema {schema!r}, not {kind.name} (expected "
                              f"{kind.expected})", schema)
    raise ForeignDocument(f"not {kind.name}: none of its {len(node.value)} top-level keys is one of "
                          f"{', '.join(kind.keys)} (expected {kind.expected}; what it holds is not quoted)", schema)


_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
_UTF32_MARKS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")


def _wide_encoding(raw: bytes) -> str | None:
    """"UTF-32" or "UTF-16" for a file that is plainly one (its byte order mark; or, without one, a
    NUL as every other byte of its start, as ASCII text in UTF-16 is), else None.  NUL is UTF-8, so
    such a file decoded, and YAML refused its first NUL: "character '\\x00' is not allowed", which
    said nothing of what the file was or what to do."""
    if raw.startswith(_UTF32_MARKS):
        return "UTF-32"
    if raw.startswith(_UTF16_MARKS):
        return "UTF-16"
    start = raw[:200]
    if len(start) >= 4 and (start[0::2].count(0) == len(start[0::2]) or start[1::2].count(0) == len(start[1::2])):
        return "UTF-16"
    return None


def decode_utf8(raw: bytes) -> str:
    """The text of a YAML file lbaudit reads (policy, waivers, configuration): UTF-8, else a
    YamlProblem at the first byte that is not, saying what to do.  A file saved as UTF-16 (some
    Windows editors' "Unicode") is named as such: its first byte alone says nothing useful."""
    wide = _wide_encoding(raw)
    if wide is not None:
        how = f"it starts with a {wide} byte order mark" if raw.startswith(_UTF16_MARKS) else "every other byte is NUL"
        raise YamlProblem(f"the file is {wide} ({how}); save it as UTF-8", 1, 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8", line, column) from None


def load_located(text: str, kind: DocumentKind) -> LocatedDocument:
    """Parse one YAML document expected to be ``kind``; raise YamlProblem with a position on any
    problem (ForeignDocument for a document of another kind), quoting the file's text only where
    the module's docstring says."""
    try:
        loader = _DepthLimitedLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (NUL, most C0 controls); the reader gives its offset.
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise YamlProblem(f"invalid YAML: character {character!r} is not allowed in a YAML file", line, column) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = _unquoted(exc.problem or exc.context or "invalid YAML")
        raise YamlProblem(f"invalid YAML: {problem}", mark.line + 1 if mark else None, mark.column + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem("invalid YAML", None, None) from exc
    if node is None:
        raise YamlProblem(f"the file is empty (expected {kind.expected})", 1, 1)
    _recognise(node, kind)
    builder = _Builder(kind.keys)
    builder.positions[()] = _mark(node)
    try:
        value = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlProblem(f"invalid value: {_unquoted(exc.problem or '')}", mark.line + 1 if mark else None,
                          mark.column + 1 if mark else None) from exc
    return LocatedDocument(value=value, positions=builder.positions, texts=builder.texts)
