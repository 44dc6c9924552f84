"""Reading the JSON documents a user hands lbaudit: evidence, snapshots, signatures, OSCAL catalogs.

One reader for all of them, so that each is equally strict: bounded in size before it is read,
UTF-8, and unambiguous JSON (a duplicate key, which json.loads silently resolves to the last one,
and NaN/Infinity, which are not JSON, are refused).  Every problem is an InputError (exit 2) that
names the file and, where there is one, the line and column.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from auditor.errors import InputError, Problem


class AmbiguousJson(ValueError):
    """Valid to json.loads, but not one unambiguous JSON value."""


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:  # parsers disagree on which duplicate wins; a document must mean one thing
            raise AmbiguousJson(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise AmbiguousJson(f"{name} is not a JSON number")


def loads_strict(raw: bytes) -> Any:
    """Parse UTF-8 JSON bytes; raise UnicodeDecodeError, json.JSONDecodeError or AmbiguousJson."""
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refusing more than ``limit``; ``what`` names the expected document
    ("an lbaudit snapshot") in messages."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > limit:
                raise InputError(f"{path}: larger than {limit} bytes; not {what}")
            raw = handle.read(limit + 1)
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not {what}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    if len(raw) > limit:  # grew while being read
        raise InputError(f"{path}: larger than {limit} bytes; not {what}")
    return raw


def parse_document(raw: bytes, name: str, what: str) -> Any:
    """Strict JSON of a file's bytes, or an InputError saying where it is broken."""
    try:
        return loads_strict(raw)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not {what}: not UTF-8 text (byte {exc.start})") from exc
    except AmbiguousJson as exc:
        raise InputError(f"{name}: not {what}: {exc}") from exc
    except json.JSONDecodeError as exc:
        stripped = exc.doc.rstrip()
        truncated = stripped.startswith(("{", "[")) and not stripped.endswith(("}", "]"))
        hint = " (the file looks truncated: it ends before its closing brace)" if truncated else ""
        raise InputError(f"{name}: not valid JSON (line {exc.lineno}) at column {exc.colno}: {exc.msg}{hint}; "
                         f"expected {what}") from exc


def _pointer(loc: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def validate_versioned(data: Any, name: str, what: str, noun: str, model: type[BaseModel], schema: str,
                       versions: tuple[str, ...]) -> Any:
    """Check ``schema`` / ``schema_version`` and validate ``data`` against ``model``; every invalid
    field is named by its JSON pointer.  ``what``: "an lbaudit snapshot"; ``noun``: "snapshot"."""
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise InputError(f'{name}: not {what} (expected "schema": "{schema}")')
    version = data.get("schema_version")
    if version not in versions:
        raise InputError(f"{name}: {what} of schema version {version!r} is not supported by this lbaudit "
                         f"(supported: {', '.join(versions)})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [Problem(name, None, None, f"{_pointer(err['loc'])}: {err['msg']}") for err in errors[:20]]
        if len(errors) > len(problems):
            problems.append(Problem(name, None, None, f"... and {len(errors) - len(problems)} more"))
        raise InputError(f"{name}: invalid {noun} ({len(errors)} problem(s))", problems) from exc
