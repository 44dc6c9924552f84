"""Load a policy file: strict YAML, schema validation, ``extends``, and params checked against
each rule's check.  Every problem is reported with file, line and column; nothing is executed.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.engine import time_limit as engine_time_limit
from auditor.engine.registry import Registry
from auditor.errors import PolicyError, Problem
from auditor.model.base import sha256_hex
from auditor.model.check import AS_WRITTEN
from auditor.model.facts import PLATFORM_NAMES
from auditor.model.policy import (
    Policy,
    PolicyDocument,
    PolicySource,
    ResolvedRule,
    RuleSpec,
    Waiver,
    WaiverFileDocument,
    WaiverSource,
)
from auditor.model.records import mutable_record
from auditor.model.waiving import NAMESPACE_WORDS, EarlierWaivers, is_blanket, is_namespace_blanket
from auditor.patterns import first_use
from auditor.plugins import plugin_code, raised_text, stops_the_run
from auditor.policy.yamlsafe import (
    DocumentKind,
    ForeignDocument,
    LocatedDocument,
    YamlProblem,
    decode_utf8,
    found_text,
    load_located,
)
from auditor.safeio import PATH_MAX, FileTooLarge, NotRegularFile, read_regular
from auditor.spelling import closest, hint_budget
from auditor.text import MAX_QUOTED_NAME, cut_text, quoted_name

MAX_POLICY_BYTES = 1024 * 1024
MAX_EXTENDS_DEPTH = 16
# Waivers that expire within this many days are warned about (validate --expiry-warning-days).
DEFAULT_EXPIRY_WARNING_DAYS = 30
# A waiver is an exception to be reviewed: one that runs for more than a year is warned about.
MAX_WAIVER_DAYS = 366


# What a policy and a waivers file are, for the YAML reader: it quotes neither until it has recognised
# the file as one (auditor/policy/yamlsafe.py).
POLICY_KIND = DocumentKind("a policy", tuple(PolicyDocument.model_fields), "a mapping with id, version, owner and rules")
WAIVERS_KIND = DocumentKind("a waivers file", tuple(WaiverFileDocument.model_fields), "a mapping with waivers")
_KINDS = {"policy": POLICY_KIND, "waivers file": WAIVERS_KIND}


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _recorded(path: Path, top: Path) -> str:
    """The name a policy file is recorded under in the policy (rule sources, ``sources``, the
    waivers file), and so in its digest and the evidence: relative to the directory of the policy
    given on the command line (the policy itself is its file name), never to the working directory.
    The same policy evaluated from another directory, or named by an absolute path, a relative
    one or through a link (to its directory or to the file itself), is the same policy, with the
    same digest and evidence."""
    real_top = os.path.realpath(top)
    if os.path.realpath(path) == real_top:
        # The name of the file it is, not of a link to it: every other file is recorded from the
        # file's own directory, and /etc/lbaudit/policy.yaml -> corp-v3.yaml recorded rules of
        # "policy.yaml" beside "../shared/base.yaml", another digest than corp-v3.yaml named directly.
        return os.path.basename(real_top)
    # from the directory "extends" is resolved from: the policy file's own, its links resolved
    return Path(os.path.relpath(os.path.realpath(path), os.path.dirname(real_top))).as_posix()


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def did_you_mean(word: Any, choices: Any) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (auditor.spelling), or ``""``."""
    near = closest(word, choices)
    return f"; did you mean {near!r}?" if near is not None else ""


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last element of ``loc`` (for 'expected one of' hints)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for inner in list(candidates):
            candidates += list(getattr(inner, "__args__", ()))
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _document_loc(loc: tuple[Any, ...], data: Any, missing: bool) -> tuple[Any, ...]:
    """``loc`` without pydantic's union and validator tags ("list[int]", "function-after[...]").

    A part is kept when it is a key or index of the document at that point, so a user's key that
    happens to hold a bracket ("i[d") is still named; the last part is kept for a missing key.
    """
    kept: list[Any] = []
    current = data
    for position, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif missing and position == len(loc) - 1:
            current = None
        else:
            continue
        kept.append(part)
    return tuple(kept)


# What each kind of pydantic error means, in the words of the README ("expected an integer").
_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "text", "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "none_required": "nothing (null)",
    "date_type": "a date such as 2027-03-31", "date_parsing": "a date such as 2027-03-31",
    "date_from_datetime_parsing": "a date such as 2027-03-31", "date_from_datetime_inexact": "a date such as 2027-03-31",
}


def _plain(err: Any) -> str:
    """One pydantic error in plain words, without "Value error," or a raw regular expression."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}"
    if kind in ("literal_error", "enum"):
        return f"expected one of {ctx.get('expected', '')}".replace("'", '"')
    if kind == "string_pattern_mismatch":
        return ("must start with an ASCII letter or digit and hold only ASCII letters, digits, '.', '_' and '-' "
                f"(at most 128 characters){_not_ascii(err.get('input'))}")
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error is not None else str(err["msg"]).split(", ", 1)[-1]
    return str(err["msg"])


def _not_ascii(value: Any) -> str:
    """``": character N is U+XXXX NAME, which is not ASCII"`` for the first such character of a
    text, else "": a look-alike letter (Cyrillic і in "bіnd") is a letter and prints as the ASCII
    one, so "only letters" with the name quoted showed nothing wrong."""
    if not isinstance(value, str) or value.isascii():
        return ""
    import unicodedata  # only for a name that is wrong

    position, character = next((i, c) for i, c in enumerate(value, start=1) if not c.isascii())
    name = unicodedata.name(character, "")
    return f": character {position} is U+{ord(character):04X}{' ' + name if name else ''}, which is not ASCII"


def _validation_problems(
    exc: ValidationError, model: type[BaseModel], file: str, doc: LocatedDocument, prefix: tuple[Any, ...] = (),
    data: Any = None, only: list[Any] | None = None,
) -> list[Problem]:
    """One Problem per place pydantic found wrong; ``data`` is what was validated (the document
    itself when ``prefix`` is empty); ``only``: those of ``exc``'s errors to say here (else all).  The
    errors of one union (``int | str``) at one place are one problem ("expected an integer or text")."""
    data = doc.value if data is None and not prefix else data
    grouped: dict[tuple[Any, ...], list[Any]] = {}
    for err in exc.errors(include_url=False) if only is None else only:
        loc = _document_loc(tuple(err["loc"]), data, err["type"] == "missing")
        grouped.setdefault(loc, []).append(err)
    problems = []
    for loc, errors in grouped.items():
        line, col = doc.position(prefix + loc)
        where = _dotted(prefix + loc) or "policy"
        err = errors[0]
        if err["type"] == "extra_forbidden" and loc:
            owner = _model_at(model, loc)
            fields = sorted(owner.model_fields) if owner else []
            hint = did_you_mean(loc[-1], fields) or (f" (expected one of: {', '.join(fields)})" if fields else "")
            message = f"{_dotted(prefix + loc[:-1]) or 'policy'}: unknown key {quoted_name(loc[-1])}{hint}"
        elif err["type"] == "missing":
            message = f"{where}: required key is missing"
        else:
            plain = [_plain(e) for e in errors if e["type"] != "none_required"] or [_plain(err)]
            if all(text.startswith("expected ") for text in plain) and len(plain) > 1:
                text = "expected " + " or ".join(dict.fromkeys(t[len("expected "):] for t in plain))
            else:
                text = plain[0]
            found = err.get("input")
            written = doc.texts.get(prefix + loc)
            shown = written if written is not None and not isinstance(found, str) else found_text(found)
            if found is None and not written:  # `allow:` with nothing after it: "found " said nothing
                shown = "nothing (an empty value, which YAML reads as null)"
            # A validator's own message names the value it refused; others are told what was found.
            message = f"{where}: {_cut_values(text, found)}" if err["type"] == "value_error" else f"{where}: {text}; found {shown}"
            if prefix + loc == ("version",) and isinstance(found, (int, float)) and not isinstance(found, bool):
                message += f' (YAML reads it as a number: write version: "{written or found}")'
        problems.append(Problem(file, line, col, message))
    return problems


def _cut_values(message: str, value: Any) -> str:
    """A validator's ``message`` about ``value`` with each long text of the value in it cut to its
    first MAX_QUOTED_NAME characters and its length (:func:`auditor.text.quoted_name`), where it is
    quoted and where it is not.  Validators quote what they refuse, and a 900 KB accepted filter,
    port or calendar day was printed whole, twice (1.8 MB), the file's problem lost in it."""
    if len(message) <= 2 * MAX_QUOTED_NAME:
        return message
    texts: list[str] = []
    stack, seen = [value], 0
    while stack and seen < 10_000:  # a list of many values: enough to cut what a message holds
        item = stack.pop()
        seen += 1
        if isinstance(item, str) and len(item) > MAX_QUOTED_NAME:
            texts.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    for text in sorted(set(texts), key=len, reverse=True):
        # the text quoted, then as it stands (as part of a longer quoted text, or written out)
        message = message.replace(repr(text), quoted_name(text)).replace(text, quoted_name(text)[1:-1])
    # a part of a long text (the field of a filter that its parser names): the message itself cut
    return cut_text(message, MAX_VALIDATOR_MESSAGE)


# The most of a validator's message a problem shows: the longest message of a valid value's kind
# (every socket syscall listed as known) is some 400 characters.
MAX_VALIDATOR_MESSAGE = 2000


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0))


def _recognise_other_document(name: str, value: Any, what: str = "policy") -> None:
    """An evidence or snapshot file given as a policy is named as such, not as 40 wrong keys."""
    if isinstance(value, dict):
        kind = value.get("schema")
        if kind == "lbaudit/evidence":
            raise PolicyError(f"{name}: this is an lbaudit evidence file, not a {what} (render it with "
                              "`lbaudit report`, compare two with `lbaudit diff`)")
        if kind == "lbaudit/snapshot":
            raise PolicyError(f"{name}: this is an lbaudit snapshot file, not a {what} (evaluate a policy "
                              "against it with `lbaudit evaluate --policy P --snapshot FILE`)")


def _read_document(path: Path, what: str = "policy") -> tuple[LocatedDocument, bytes]:
    name = _display(path)
    try:
        # Bounded on the read itself: /dev/zero or a FIFO claims a size of 0 to stat.
        raw = read_regular(path, MAX_POLICY_BYTES, document=True)
    except FileTooLarge as exc:
        raise PolicyError(f"{name}: {what} is too large; the limit is {MAX_POLICY_BYTES} bytes") from exc
    except NotRegularFile as exc:
        raise PolicyError(f"{name}: cannot read {what}: it {exc.strerror}") from exc
    except OSError as exc:
        raise PolicyError(f"{name}: cannot read {what}: {exc.strerror or exc}") from exc
    try:
        text = decode_utf8(raw)
    except YamlProblem as exc:
        raise PolicyError(f"{name}: {what} is not valid UTF-8", [Problem(name, exc.line, exc.column, exc.message)]) from exc
    try:
        doc = load_located(text, _KINDS[what])
    except ForeignDocument as exc:
        if exc.schema is not None:
            _recognise_other_document(name, {"schema": exc.schema}, what)
        raise PolicyError(f"{name}: invalid {what}", [Problem(name, exc.line, exc.column, exc.message)]) from exc
    except YamlProblem as exc:
        raise PolicyError(f"{name}: invalid {what}", [Problem(name, exc.line, exc.column, exc.message)]) from exc
    except (RecursionError, MemoryError) as exc:  # the depth limit should come first; never a traceback
        raise PolicyError(f"{name}: invalid {what}: too deeply nested or too large to parse") from exc
    return doc, raw


def _salvage(model: type[BaseModel], item: Any) -> Any:
    """``item`` validated as ``model`` after dropping the keys that are wrong, or None: so that the
    semantic checks (unknown check, params) still run on a rule with a misspelt key."""
    if not isinstance(item, dict):
        return None
    data = dict(item)
    for _ in range(len(item) + 1):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            bad = {err["loc"][0] for err in exc.errors() if err["loc"] and err["type"] != "missing"}
            required = {name for name, info in model.model_fields.items() if info.is_required()}
            if not bad or bad & required or not bad & set(data):
                return None
            for key in bad:
                data.pop(key, None)
    return None


def _salvage_all(model: type[BaseModel], items: Any) -> list[tuple[int, Any]]:
    """The items of a list that validate as ``model`` (after :func:`_salvage`), with their index."""
    kept = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        value = _salvage(model, item)
        if value is not None:
            kept.append((index, value))
    return kept


class _Loaded:
    """One parsed file of the extends chain: what validated, and where each item was written."""

    def __init__(self, path: Path, doc: LocatedDocument, raw: bytes, policy: PolicyDocument | None,
                 rules: list[tuple[int, RuleSpec]], waivers: list[tuple[int, Waiver]]):
        self.path, self.doc, self.raw, self.policy = path, doc, raw, policy
        self.rules, self.waivers = rules, waivers
        self.name = _display(path)


def _parse_file(path: Path, problems: list[Problem]) -> _Loaded:
    """One policy file: a YAML or read error raises (nothing else can be said about it); schema
    problems are added to ``problems`` and the rules and waivers that are valid are kept."""
    name = _display(path)
    doc, raw = _read_document(path)
    try:
        document: PolicyDocument | None = PolicyDocument.model_validate(doc.value)
    except ValidationError as exc:
        problems += _validation_problems(exc, PolicyDocument, name, doc)
        document = None
    # ``extends: ~`` read as no extends: the file's own rules alone, the parent's gone, and valid
    problems += _null_problems(name, doc, PolicyDocument, doc.value, ())
    if document is not None:
        rules = list(enumerate(document.rules))
        waivers = list(enumerate(document.waivers))
    else:
        raw_rules = doc.value.get("rules")
        raw_waivers = doc.value.get("waivers")
        rules = _salvage_all(RuleSpec, raw_rules)
        waivers = _salvage_all(Waiver, raw_waivers)
    return _Loaded(path, doc, raw, document, rules, waivers)


def _extends_of(loaded: _Loaded) -> str | None:
    value = loaded.doc.value.get("extends")
    return value if isinstance(value, str) else None


def _extended(current: Path, extends: str, image: Path | None) -> Path:
    """The file ``extends`` names from the policy ``current`` (a real path).  In an offline image
    (``image``: its root, for ``schedule install --root``) it is resolved inside the image, as the
    host that boots it will resolve it: an absolute ``extends: /etc/lbaudit/base.yaml`` is the
    image's file and ``..`` or a link cannot climb out of it to this host's."""
    if image is None or "\0" in extends:  # a NUL names no file: refused below as it stands
        return current.parent / extends
    from auditor.collect import rootfs

    base = os.path.realpath(image)
    inside = "/" + os.path.relpath(current.parent, base) if current.parent != Path(base) else "/"
    try:
        return rootfs.resolve(image, posixpath.join(inside, extends))
    except OSError:  # a loop of links in the image: no policy can be read there
        return Path(base) / extends.lstrip("/")


def _refuse_proc_link(path: Path, real: Path) -> None:
    """A policy is read at its real path, which names another file than ``path`` does when a link of
    /proc is on the way (``/proc/PID/root/etc/lbaudit/policy.yaml`` of a container: its real path
    is this host's /etc/lbaudit/policy.yaml), and this host's policy was judged as the container's:
    refused (exit 2)."""
    try:
        same = os.path.samestat(os.stat(path), os.stat(real))
    except OSError:
        return  # not there, or not looked at: the read says what is wrong
    if not same:
        raise PolicyError(f"{_display(Path(path))}: cannot read policy: it is reached through a link of /proc whose "
                          f"text names another file ({_display(real)}) than the one it leads to; give the file's own "
                          "path")


def _load_chain(path: Path, problems: list[Problem], image: Path | None = None) -> list[_Loaded]:
    """The file and the files it extends, root ancestor first.  A cycle or a missing parent is a
    problem at the ``extends`` line that causes it; the chain stops there.  ``image``: the root of
    the offline image the policy is in (see :func:`_extended`)."""
    # realpath, not Path.resolve(): on a symlink loop resolve() raises RuntimeError (exit 70); the
    # read below then says ELOOP as a policy error.
    chain: list[_Loaded] = []
    seen: list[Path] = []
    current = Path(os.path.realpath(path))
    _refuse_proc_link(path, current)
    while True:
        if not chain:
            loaded = _parse_file(current, problems)
        else:
            try:
                loaded = _parse_file(current, problems)
            except PolicyError as exc:  # a parent that cannot be parsed: its problems, and the child's
                problems += exc.problems or [Problem(chain[0].name, *chain[0].doc.position(("extends",)), str(exc))]
                return chain
        chain.insert(0, loaded)
        seen.append(current)
        extends = _extends_of(loaded)
        if extends is None:
            return chain
        line, col = loaded.doc.position(("extends",))
        parent = _extended(current, extends, image)
        try:
            is_file = "\0" not in extends and parent.is_file()
        except OSError:  # ENAMETOOLONG, EACCES: no policy can be read there either
            is_file = False
        if not is_file:
            problems.append(Problem(loaded.name, line, col,
                                    f"extends: {quoted_name(extends)} is not a file (resolved to "
                                    f"{cut_text(_display(parent), PATH_MAX)})"))  # no longer path names a file
            return chain
        parent = Path(os.path.realpath(parent))
        if parent in seen:
            cycle = " -> ".join(_display(p) for p in (*seen, parent))
            problems.append(Problem(loaded.name, line, col, f"'extends' cycle: {cycle}; a policy cannot extend itself"))
            return chain
        if len(seen) >= MAX_EXTENDS_DEPTH:
            problems.append(Problem(loaded.name, line, col, f"'extends' chain deeper than {MAX_EXTENDS_DEPTH} files"))
            return chain
        current = parent


def _waiving_files(chain: list[_Loaded]) -> list[_Loaded]:
    """The files of ``chain`` (the root parent first) whose waivers apply: each from the policy
    given up to the first that says ``inherit_waivers: false``, which keeps its own and none of the
    files it extends."""
    for start in range(len(chain) - 1, -1, -1):
        if chain[start].doc.value.get("inherit_waivers") is False:
            return chain[start:]
    return chain


def _merge_rule(base: dict[str, Any], override: RuleSpec) -> dict[str, Any]:
    merged = dict(base)
    for key in override.model_fields_set:
        value = getattr(override, key)
        if key == "params":
            merged["params"] = {**base.get("params", {}), **value}
        else:
            merged[key] = value
    return merged


@mutable_record
class PolicyReport:
    """Everything validation found about one policy: the policy when it is valid, the problems
    that make it invalid and the warnings that do not (both sorted by file and line)."""

    policy: Policy | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    waiver_file: WaiverSource | None = None
    # Where each waiver was written, in the order they are applied (the policy's, then the file's).
    waiver_places: list[Problem] = field(default_factory=list)


def source_files(path: Path, policy: Policy) -> list[Path]:
    """The files ``policy`` was read from, as paths this process can open: the file given and each
    file it extends.  ``Policy.sources`` records the extended files relative to the policy's own
    (real) directory, not to the working directory; taken as they stand, the output planner was
    told of ``base.yaml`` in the working directory while ``sub/p.yaml`` extended ``sub/base.yaml``,
    and ``evaluate --policy sub/p.yaml -o sub/base.yaml`` wrote the evidence over the parent policy."""
    directory = Path(os.path.dirname(os.path.realpath(path)))
    return [Path(path), *(directory / source.path for source in policy.sources[1:])]


def load_policy(path: Path, registry: Registry, *, image: Path | None = None) -> Policy:
    """Load and fully validate a policy; raise PolicyError listing every problem found.  ``image``:
    the root of the offline image the policy is in, where its ``extends`` are resolved."""
    report = inspect_policy(path, registry, image=image)
    if report.policy is None:
        raise PolicyError(f"{_display(Path(path))}: invalid policy", report.problems)
    return report.policy


def inspect_policy(path: Path, registry: Registry, *, waivers_path: Path | None = None, today: date | None = None,
                   expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS, image: Path | None = None,
                   draft: bool = False) -> PolicyReport:
    """Validate a policy (and a separate waivers file): every problem of every kind in one pass,
    structural and semantic, sorted by file and line, plus the warnings about waivers.  A file that
    cannot be read or parsed as YAML raises PolicyError.  ``draft``: the policy ``lbaudit init``
    has just written, whose reasons are still to be written: a placeholder reason is then a warning,
    not a problem (a policy is never gated on with one: validate and evaluate refuse it)."""
    with hint_budget():  # "did you mean" hints: at most so many comparisons for the whole policy
        return _inspect_policy(path, registry, waivers_path, today, expiry_warning_days, image, draft)


def _inspect_policy(path: Path, registry: Registry, waivers_path: Path | None, today: date | None,
                    expiry_warning_days: int, image: Path | None, draft: bool) -> PolicyReport:
    problems: list[Problem] = []
    chain = _load_chain(Path(path), problems, image)
    recorded = {id(loaded): _recorded(loaded.path, Path(path)) for loaded in chain}
    rules: dict[str, dict[str, Any]] = {}  # rule id -> merged fields + where it was last set
    for loaded in chain:
        seen_here: set[str] = set()
        for index, rule in loaded.rules:
            line, col = loaded.doc.position(("rules", index))
            nulls = _null_problems(loaded.name, loaded.doc, RuleSpec, loaded.doc.value["rules"][index], ("rules", index))
            if nulls:  # the rule is not merged: what it was meant to say is not known
                problems += nulls
                continue
            if rule.id in seen_here:
                problems.append(Problem(loaded.name, line, col, f"rules[{index}]: rule id {rule.id!r} is used twice in this file"))
                continue
            seen_here.add(rule.id)
            base = rules.get(rule.id)
            if base is None:
                if rule.check is None:
                    problems.append(Problem(loaded.name, line, col, f"rules[{index}] ({rule.id}): 'check' is required "
                                            "(only a rule that overrides an inherited rule may leave it out)"))
                    continue
                base = {}
            elif rule.check is not None and rule.check != base["check"]:
                problems.append(Problem(loaded.name, line, col, f"rules[{index}] ({rule.id}): overrides inherited rule of "
                                        f"check {base['check']!r} with check {rule.check!r}; use a new rule id"))
                continue
            merged = _merge_rule(base, rule)
            merged["_where"] = (loaded, index)
            # where each field and each param was last written: a problem of the merged rule is
            # reported there, not at the file that last touched the rule (a child's override)
            merged["_field_at"] = {**base.get("_field_at", {}), **dict.fromkeys(rule.model_fields_set, (loaded, index))}
            written_params = loaded.doc.value["rules"][index].get("params")
            merged["_param_at"] = {**base.get("_param_at", {}),
                                   **dict.fromkeys(written_params if isinstance(written_params, dict) else (),
                                                   (loaded, index))}
            if "enabled" in rule.model_fields_set:  # where it was switched off, and off what it inherited
                merged["_enabled_at"] = (loaded, index, base["_where"][0].name if base else None)
            if "platforms" in rule.model_fields_set and base:  # a child narrowing where an inherited rule runs
                merged["_platforms_at"] = (loaded, index, base.get("platforms"), base["_where"][0].name)
            if "severity" in rule.model_fields_set:
                merged["_severity_at"] = (loaded, index, base.get("severity"), base.get("_severity_from"))
                merged["_severity_from"] = loaded.name
            written = loaded.doc.value["rules"][index].get("params")
            if base and isinstance(written, dict) and written:  # a child setting an inherited rule's params
                merged["_params_at"] = [*base.get("_params_at", ()), (loaded, index, base.get("params", {}),
                                        merged.get("params", {}), recorded[id(base["_where"][0])], list(written))]
            # each param this file writes as null where nothing it extends sets it (see _null_params)
            merged["_nulls"] = [*base.get("_nulls", ()), *((loaded, index, key) for key in _nulls_over_nothing(
                loaded.doc.value["rules"][index].get("params"), base.get("params", {})))]
            rules[rule.id] = merged

    resolved: list[ResolvedRule] = []
    switched_off: list[Problem] = []
    for rule_id, merged in rules.items():
        loaded, index = merged["_where"]
        prefix = ("rules", index)
        line, col = loaded.doc.position(prefix)
        spec = registry.get(merged["check"])
        if spec is None:
            owner, at = merged["_field_at"].get("check", (loaded, index))
            cline, ccol = owner.doc.position(("rules", at, "check"))
            hint = did_you_mean(merged["check"], registry.names()) or f" (expected one of: {', '.join(registry.names())})"
            problems.append(Problem(owner.name, cline, ccol, f"rules[{at}].check: unknown check {quoted_name(merged['check'])}"
                                    f"{hint}"))
            continue
        problems += _null_params(spec, merged["_nulls"])
        extra = list(merged.get("controls", []))
        unknown_controls = False
        owner, at = merged["_field_at"].get("controls", (loaded, index))
        for cindex, control in enumerate(extra):
            if registry.catalog.get(control) is None:
                unknown_controls = True
                cline, ccol = owner.doc.position(("rules", at, "controls", cindex))
                spelled = str(control).strip().upper()
                hint = (f"; did you mean {spelled!r}? ids are written in capitals"
                        if spelled != control and registry.catalog.get(spelled) is not None else "")
                problems.append(Problem(owner.name, cline, ccol, f"rules[{at}].controls[{cindex}]: unknown NIST SP "
                                        f"800-53 Rev. 5 control {quoted_name(control)} (expected an id such as SC-7 or SC-7(5) "
                                        f"listed in controls/nist-sp800-53-r5.yaml){hint}"))
        platforms = merged.get("platforms")
        if platforms is not None and not set(platforms) & set(spec.platforms):
            # not_applicable on every host: where the rule applies, the check does not judge
            owner, at = merged["_field_at"].get("platforms", (loaded, index))
            pline, pcol = owner.doc.position(("rules", at, "platforms"))
            judged = ", ".join(PLATFORM_NAMES.get(p, p) for p in spec.platforms)
            problems.append(Problem(owner.name, pline, pcol, f"rules[{at}].platforms: check {spec.name} judges "
                                    f"{judged} hosts only, so a rule limited to {', '.join(platforms)} judges "
                                    "nothing on any host; name a platform it judges, or drop the rule"))
            continue
        try:
            # Strict: "300" is not a number and "yes" is not a boolean, as `version: 1.0` is not text.
            params = _params_code(spec, spec.params.model_validate, merged.get("params", {}), strict=True,
                                  context=dict(AS_WRITTEN))
        except ValidationError as exc:
            # each error at the file that wrote its param; one of the params together (no param
            # named, or one no file wrote: a default) at the rule's last file
            by_owner: dict[tuple[int, int], list[Any]] = {}
            owners: dict[tuple[int, int], tuple[_Loaded, int]] = {}
            for error in exc.errors(include_url=False):
                named = error["loc"][0] if error["loc"] else None
                owner, at = merged["_param_at"].get(named, (loaded, index)) if isinstance(named, str) else (loaded, index)
                owners[id(owner), at] = (owner, at)
                by_owner.setdefault((id(owner), at), []).append(error)
            for key, errors in by_owner.items():
                owner, at = owners[key]
                problems += _validation_problems(exc, spec.params, owner.name, owner.doc, ("rules", at, "params"),
                                                 merged.get("params", {}), only=errors)
            continue
        except BaseException as exc:  # a plugin's validators: its code
            if not _plugin_failure(spec, exc):
                raise
            problems.append(Problem(loaded.name, line, col, f"rules[{index}].params: {_raised_in(spec, exc, 'validating')}"))
            continue
        if unknown_controls:
            continue  # reported above; the rule is not resolved (its params were still checked, so all is said at once)
        switched_off += _switched_off(rule_id, merged, spec)
        try:
            loosened = _params_code(spec, _loosened, merged, spec)
            warned = _params_code(spec, params.param_warnings).items()
        except BaseException as exc:  # a plugin's laxer_than or param_warnings: its code
            if not _plugin_failure(spec, exc):
                raise
            problems.append(Problem(loaded.name, line, col, f"rules[{index}].params: {_raised_in(spec, exc, 'judging')}"))
            continue
        switched_off += loosened
        for name, text in warned:
            owner, at = merged["_param_at"].get(name, (loaded, index))
            switched_off.append(Problem(owner.name, *owner.doc.position(("rules", at, "params", name)),
                                        f"{_dotted(('rules', at, 'params', name))}: {text}"))
        controls = sorted(set(spec.controls) | set(extra), key=registry.catalog.sort_key)
        resolved.append(
            ResolvedRule(
                id=rule_id,
                check=spec.name,
                title=merged.get("title"),
                params=params.model_dump(mode="json"),
                severity=merged.get("severity") or spec.severity,
                controls=controls,
                enabled=merged.get("enabled", True),
                source=f"{recorded[id(loaded)]}:{line}",
                platforms=merged.get("platforms"),
            )
        )

    top = chain[-1]
    rule_ids = set(rules)
    waiving = _waiving_files(chain)
    located_waivers: list[tuple[_Loaded | _WaiverFile, int, Waiver]] = []
    for loaded in waiving:
        located_waivers += [(loaded, index, waiver) for index, waiver in loaded.waivers]
    waiver_file = _read_waiver_file(waivers_path, problems) if waivers_path is not None else None
    if waiver_file is not None:
        located_waivers += [(waiver_file, index, waiver) for index, waiver in waiver_file.waivers]
    for owner, index, waiver in located_waivers:
        if waiver.rule not in rule_ids:
            line, col = owner.doc.position(("waivers", index, "rule"))
            problems.append(Problem(owner.name, line, col, f"waivers[{index}].rule: no rule {quoted_name(waiver.rule)} in this "
                                    f"policy{did_you_mean(waiver.rule, rule_ids)}"))
        problems += _null_problems(owner.name, owner.doc, Waiver, owner.doc.value["waivers"][index], ("waivers", index))
        if waiver.subject is not None and not waiver.subject.strip():
            # No finding's subject is blank: such a waiver waives nothing, where its reader (and a
            # template whose variable was empty) meant one subject, or every one.
            line, col = owner.doc.position(("waivers", index, "subject"))
            problems.append(Problem(owner.name, line, col, f"waivers[{index}].subject: {waiver.subject!r} is blank, and "
                                    "no finding's subject is, so it waives nothing; write the subject this waiver is "
                                    "for, or leave the key out for a blanket waiver"))
        elif waiver.subject is not None and waiver.subject != waiver.subject.strip():
            # No finding's subject starts or ends with white space (a process name's spaces are
            # \x20): such a glob waives nothing, and after evaluate was called fixed.  YAML's | block
            # writes one, keeping the final line break.
            line, col = owner.doc.position(("waivers", index, "subject"))
            problems.append(Problem(owner.name, line, col, f"waivers[{index}].subject: {quoted_name(waiver.subject)} "
                                    f"{_white_space_at_an_end(waiver.subject)}, and no finding's subject does, so it "
                                    "waives nothing; write the subject as the finding shows it (a | block keeps its "
                                    "final line break: write the subject on the line of subject:, or as |-)"))
    if not problems and not any(r.enabled for r in resolved):
        problems.append(Problem(top.name, 1, 1, "the policy has no enabled rule; a policy that checks nothing cannot fail"))

    placeholders = _placeholder_problems(chain, located_waivers)
    if draft:  # lbaudit init's own check of the draft it wrote: said as warnings, the draft kept
        warnings = placeholders
    else:
        problems += placeholders
        warnings = []
    warnings += switched_off
    if top.policy is not None and is_placeholder(top.policy.owner):
        # reports name the owner as the assessor unless --assessor is given ("TODO" on an attestation)
        warnings.append(Problem(top.name, *top.doc.position(("owner",)), f"owner: {quoted_name(top.policy.owner)} is a "
                                "placeholder, not a name; write who owns this policy (reports name the owner as the "
                                "assessor unless --assessor is given)"))
    warnings += waiver_warnings(located_waivers, today or datetime.now(timezone.utc).date(), expiry_warning_days)
    # A waiver of a rule switched off waives nothing, and after a run was called fixed (unused):
    # what it names is not judged at all.
    disabled = {rule.id for rule in resolved if not rule.enabled}
    warnings += [Problem(owner.name, *owner.doc.position(("waivers", index)),
                         f"waivers[{index}] ({waiver.rule}): {DISABLED_RULE_WAIVER}")
                 for owner, index, waiver in located_waivers if waiver.rule in disabled]
    if problems or top.policy is None:
        return PolicyReport(None, _sorted(problems), _sorted(warnings))
    policy = Policy(
        id=top.policy.id,
        version=top.policy.version,
        owner=top.policy.owner,
        description=top.policy.description,
        rules=resolved,
        waivers=[waiver for loaded in waiving for _, waiver in loaded.waivers],
        sources=[PolicySource(path=recorded[id(item)], sha256=sha256_hex(item.raw)) for item in reversed(chain)],
    )
    source = None
    if waiver_file is not None:
        source = WaiverSource(path=_recorded(waiver_file.path, Path(path)), sha256=sha256_hex(waiver_file.raw),
                              waivers=[w for _, w in waiver_file.waivers])
    places = [Problem(owner.name, *owner.doc.position(("waivers", index)), f"waivers[{index}] ({waiver.rule})")
              for owner, index, waiver in located_waivers]
    return PolicyReport(policy, [], _sorted(warnings), source, places)


# ------------------------------------------------------------------ waivers file and warnings

# What a key of a policy, a rule or a waiver means when it is left out, for each key whose default is
# null.  Written as null (``severity: ~``, or ``severity:`` with nothing after it, what a template
# writes for an empty variable) it was read as left out, where its reader takes the line as setting
# it: a child's ``severity:`` put an inherited critical rule back to its check's default, below
# ``--fail-on critical``; ``extends:`` dropped every rule of the parent; ``subject:`` made a blanket
# waiver.  Every such key is here (tests/hostile/test_policy10_written_nulls.py); a null one is refused
# at its place.
_LEFT_OUT_MEANS = {
    (PolicyDocument, "extends"): ("extends no policy, so the rules of the policy meant are not in it",
                                  "the policy file it extends"),
    (RuleSpec, "check"): ("no check: only a rule that overrides an inherited one leaves it out", "the check"),
    (RuleSpec, "title"): ("the check's title", "the title"),
    (RuleSpec, "severity"): ("the check's default severity, not the one inherited or meant", "the severity"),
    (RuleSpec, "platforms"): ("every platform its check judges", "the platforms"),
    (Waiver, "subject"): ("waives every failing finding of the rule", "the subject this waiver is for"),
}


def null_refused_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys of ``model`` (a policy, a rule, a waiver as written) that the loader refuses written
    as null (:data:`_LEFT_OUT_MEANS`): the policy schema takes no null there either."""
    return frozenset(key for owner, key in _LEFT_OUT_MEANS if owner is model)


def _null_problems(file: str, doc: LocatedDocument, model: type[BaseModel], written: Any,
                   loc: tuple[Any, ...]) -> list[Problem]:
    """A problem for each key of ``written`` (a mapping at ``loc`` of ``doc``, to be validated as
    ``model``) whose value is null where null would be read as the key left out."""
    if not isinstance(written, dict):
        return []
    problems = []
    for key, value in written.items():
        left_out = _LEFT_OUT_MEANS.get((model, key))
        if value is None and left_out is not None:
            means, wanted = left_out
            line, col = doc.position(loc + (key,))
            if key == "subject":
                text = ("null, which waives every failing finding of the rule as leaving it out does; write the "
                        "subject this waiver is for, or leave the key out for a blanket waiver")
            else:
                text = f"null, which is read as leaving the key out ({means}); write {wanted}, or leave the key out"
            problems.append(Problem(file, line, col, f"{_dotted(loc + (key,))}: {text}"))
    return problems


def _nulls_over_nothing(written: Any, inherited: dict[str, Any]) -> list[str]:
    """The keys of a rule's ``params`` as one file wrote them (``written``) that are null where the
    files it extends set no value (``inherited``: the params merged so far)."""
    if not isinstance(written, dict):
        return []
    return [key for key, value in written.items() if value is None and inherited.get(key) is None]


def _null_params(spec: Any, nulls: list[tuple[Any, int, str]]) -> list[Problem]:
    """A problem for each param written as null (``nulls``: file, rule index, key) whose default is
    null, where no file it extends sets it.  Null is then read as leaving the key out, the check's
    default (``max_fin_timeout`` not judged, ``keys`` every sysctl), so the key says nothing it could
    not say by being left out: ``max_fin_timeout:`` with nothing after it (a template's empty
    variable) loaded, judged less than its reader takes it to, and the rule passed.  Over a value
    a parent sets, null is how a child gives the param back its default, and stays accepted."""
    problems = []
    for loaded, index, key in nulls:
        field_info = spec.params.model_fields.get(key)
        if field_info is None or field_info.get_default(call_default_factory=True) is not None:
            continue  # an unknown param, or one null is no value of: its validation says so
        line, col = loaded.doc.position(("rules", index, "params", key))
        problems.append(Problem(loaded.name, line, col, f"rules[{index}].params.{key}: null, which is read as leaving "
                                f"the key out (the default of {spec.name}: {key} not set); write the value meant, or "
                                "leave the key out"))
    return problems


class _WaiverFile:
    def __init__(self, path: Path, doc: LocatedDocument, raw: bytes, waivers: list[tuple[int, Waiver]]):
        self.path, self.doc, self.raw, self.waivers = path, doc, raw, waivers
        self.name = _display(path)


def _read_waiver_file(path: Path, problems: list[Problem]) -> _WaiverFile:
    """A waivers file (``--waivers``): a mapping with one key, ``waivers``, a list as in a policy."""
    name = _display(path)
    doc, raw = _read_document(path, what="waivers file")
    try:
        document = WaiverFileDocument.model_validate(doc.value)
        waivers = list(enumerate(document.waivers))
    except ValidationError as exc:
        problems += _validation_problems(exc, WaiverFileDocument, name, doc)
        waivers = _salvage_all(Waiver, doc.value.get("waivers"))
    return _WaiverFile(Path(path), doc, raw, waivers)


# A reason or an approver that holds a placeholder instead of text: what `lbaudit init` writes
# (TODO), its kin (TBD, FIXME, XXX) at its start, or a whole text that says nothing ("-", "?",
# "n/a").  A reason that merely holds such a word later on ("Needed by backups; TODO review in Q3")
# is written text, and so is a word that starts with one ("Todoist").
_PLACEHOLDER_START = first_use(r"(?i)\s*(?:TODO|TBD|FIXME|XXX)(?![A-Za-z0-9])")
_PLACEHOLDER_WHOLE = frozenset({"n/a", "na", "none", "tba", "changeme", "placeholder", "reason", "approver", "nobody",
                                "unknown"})


def is_placeholder(text: Any) -> bool:
    """Whether ``text`` (a reason or an approver as written) is a placeholder, not text a person wrote."""
    if not isinstance(text, str):
        return False
    stripped = text.strip()
    return (bool(_PLACEHOLDER_START().match(stripped)) or stripped.casefold() in _PLACEHOLDER_WHOLE
            or not any(character.isalnum() for character in stripped))


def _placeholder_problems(chain: list[_Loaded], located: list[tuple[Any, int, Waiver]]) -> list[Problem]:
    """A problem at each exception reason (any ``reason`` in a rule's params) and each waiver reason
    or approver that is a placeholder.  An exception or a waiver is granted only with a reason (and
    a waiver only with its approver): ``lbaudit init --from-host`` writes ``reason: TODO`` for every
    listener the host exposed, and taken as it stood (a warning) that draft allowed all of it and
    the next evaluate passed the host.  Refused, the policy gates nothing until each is written."""
    # each rule's param as the last file that writes it (params merge key by key): a parent's draft
    # exceptions that a child replaces grant nothing
    last: dict[tuple[str, Any], tuple[_Loaded, int]] = {}
    for loaded in chain:
        for index, rule in loaded.rules:
            params = loaded.doc.value["rules"][index].get("params")
            for key in params if isinstance(params, dict) else ():
                last[rule.id, key] = (loaded, index)
    problems = []
    for (_rule_id, key), (loaded, index) in last.items():
        written = loaded.doc.value["rules"][index]["params"][key]
        for loc, value in _walk(written, ("rules", index, "params", key)):
            if loc[-1] == "reason" and is_placeholder(value):
                problems.append(Problem(loaded.name, *loaded.doc.position(loc), f"{_dotted(loc)}: "
                                        f"{quoted_name(value)} is a placeholder, not a reason, so this exception is "
                                        "not granted; write why the listeners it matches must be reachable at what "
                                        "its allow names"))
    for owner, index, waiver in located:
        if is_placeholder(waiver.reason):
            problems.append(Problem(owner.name, *owner.doc.position(("waivers", index, "reason")),
                                    f"waivers[{index}].reason: {quoted_name(waiver.reason)} is a placeholder, not a "
                                    "reason, so this waiver is not granted; write why the findings it names are "
                                    "accepted until it expires"))
        if is_placeholder(waiver.approver):
            problems.append(Problem(owner.name, *owner.doc.position(("waivers", index, "approver")),
                                    f"waivers[{index}].approver: {quoted_name(waiver.approver)} is a placeholder, not a "
                                    "name, so this waiver is not granted; write who approved it"))
    return problems


def _switched_off(rule_id: str, merged: dict[str, Any], spec: Any) -> list[Problem]:
    """A warning where a rule is switched off (``enabled: false``), where a child limits an inherited
    rule to fewer platforms, and where its severity is set below the one it had (inherited, else its
    check's own).  Each turns a rule into one that fails no run there: disabled or on a platform left
    out, nothing it checks is judged; below ``--fail-on``, its failures are listed and the run passes.
    A child policy of two lines did any of them with validate saying "ok"."""
    warnings = []
    if merged.get("enabled") is False and "_enabled_at" in merged:
        loaded, index, parent = merged["_enabled_at"]
        if parent is not None:
            text = (f"enabled: false switches off the rule inherited from {parent}, so {spec.name} is not run and a "
                    "run passes whatever it would find there; remove the override if its findings must be judged")
        else:
            text = (f"enabled: false, so {spec.name} is not run and a run passes whatever it would find there; enable "
                    "it if its findings must be judged, or remove the rule")
        warnings.append(Problem(loaded.name, *loaded.doc.position(("rules", index)), f"rules[{index}] ({rule_id}): {text}"))
    if "_platforms_at" in merged and merged.get("enabled", True):
        loaded, index, inherited, parent = merged["_platforms_at"]
        before = [p for p in (inherited or spec.platforms) if p in spec.platforms]
        left_out = [p for p in before if p not in (merged.get("platforms") or spec.platforms)]
        if left_out:
            names = " and ".join(left_out)  # as the policy writes them: what to add to the list
            warnings.append(Problem(loaded.name, *loaded.doc.position(("rules", index, "platforms")),
                                    f"rules[{index}].platforms: leaves out {names}, where the rule inherited from "
                                    f"{parent} is judged, so on those hosts {spec.name} is not run and a run passes "
                                    "whatever it would find there; name them too if its findings must be judged there"))
    severity = merged.get("severity")
    if severity is not None and "_severity_at" in merged:
        loaded, index, inherited, inherited_from = merged["_severity_at"]
        before = inherited or spec.severity
        if severity.rank < before.rank:
            what = (f"the severity {before.value} inherited from {inherited_from}" if inherited is not None
                    else f"{spec.name}'s own severity {before.value}")
            above = list(type(severity))[severity.rank + 1].value
            warnings.append(Problem(loaded.name, *loaded.doc.position(("rules", index, "severity")),
                                    f"rules[{index}].severity: {severity.value} is below {what}, so under --fail-on "
                                    f"{above} or above the rule's failures are listed and the run passes; set it to "
                                    f"{before.value} if its failures must fail such a run"))
    return warnings


_T = TypeVar("_T")


def _plugin_failure(spec: Any, exc: BaseException) -> bool:
    """Whether ``exc``, raised by the params code of check ``spec`` (validators, ``param_warnings``,
    ``laxer_than``), is a plugin's failure, which refuses the rule (exit 2): a plugin raising
    RuntimeError in a validator (pydantic turns only ValueError and AssertionError into a validation
    error) ended validate and evaluate of every policy naming its check in exit 70.  A built-in's is
    lbaudit's own defect, and the user's stop (Ctrl-C) is a stop: both are raised again."""
    return not spec.origin.startswith("builtin") and not stops_the_run(exc)


def _params_code(spec: Any, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``call(*args, **kwargs)``, which runs the params code of check ``spec``: a plugin's as the engine runs its
    check, in plugin_code() and under its time limit (a validator that never returned held validate
    and evaluate forever; its CheckTimedOut is then the plugin's failure, :func:`_plugin_failure`)."""
    if spec.origin.startswith("builtin"):
        return call(*args, **kwargs)
    seconds = engine_time_limit.PLUGIN_CHECK_SECONDS
    with plugin_code(), engine_time_limit.time_limit(seconds) as limit:
        result = call(*args, **kwargs)
    if limit.reached:  # it swallowed the stop and returned: what it said after is not taken
        raise engine_time_limit.CheckTimedOut(seconds)
    return result


def _raised_in(spec: Any, exc: BaseException, doing: str) -> str:
    return (f"check {spec.name}'s params ({spec.origin}) raised {type(exc).__name__} {doing} them: "
            f"{raised_text(exc)}; the rule cannot be loaded until the plugin is fixed")


def _loosened(merged: dict[str, Any], spec: Any) -> list[Problem]:
    """A warning at each param a child sets laxer than the rule it inherits (``CheckParams.laxer_than``:
    ``min_pool_size: 100`` under a parent's 16,384, ``require_persistent: false`` under true): the
    child passes hosts the parent fails, as one lowering the severity does, and validate said "ok"."""
    warnings = []
    for loaded, index, before, after, parent, written in merged.get("_params_at", ()):
        try:
            inherited = spec.params.model_validate(before, strict=True, context=dict(AS_WRITTEN))
            child = spec.params.model_validate(after, strict=True, context=dict(AS_WRITTEN))
        except ValidationError:  # what the parent leaves is not a rule of its own: nothing to compare
            continue
        for name, text in child.laxer_than(inherited, parent).items():
            if name in written:
                warnings.append(Problem(loaded.name, *loaded.doc.position(("rules", index, "params", name)),
                                        f"rules[{index}].params.{name}: {text}, so the rule passes what that "
                                        f"policy's rule fails; set it as {parent} does if that limit must hold here"))
    return warnings


def _white_space_at_an_end(text: str) -> str:
    """Where ``text`` has white space at an end, in words ("ends with a line break")."""
    if text.endswith(("\n", "\r")):
        return "ends with a line break"
    return "starts with white space" if text[:1].isspace() else "ends with white space"


def _walk(value: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, loc + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, loc + (index,))
    else:
        yield loc, value


DISABLED_RULE_WAIVER = ("its rule is disabled (enabled: false), so what it names is not judged and it waives "
                        "nothing; remove it, or enable the rule")


def _blanket_words(subject: str | None) -> str:
    """What makes a blanket waiver's subject match every finding of its rule (:func:`is_blanket`)."""
    if subject is None:
        return "no subject, so it"
    if set(subject) == {"*"}:  # "*" matches every subject
        return f"subject {subject!r} matches every subject, so it"
    if set(subject) - {"*", "?"}:
        # "* *", "*:*": what it holds besides wildcards every subject of its kind holds
        return (f"subject {subject!r} holds no letter or digit, so it names no subject: it matches every subject "
                "that holds what it does, and so")
    # "?*" matches every subject as "*" does (each is a few words): wildcards alone name nothing
    least = subject.count("?")
    return (f"subject {subject!r} holds only wildcards: it matches every subject of at least {least} "
            f"character{'' if least == 1 else 's'}, and so")


def waiver_warnings(located: list[tuple[Any, int, Waiver]], today: date, soon_days: int) -> list[Problem]:
    """What an auditor would ask about each waiver: expired, expiring within ``soon_days``, a
    blanket waiver (no subject, or one of wildcards alone: every failing finding of the rule), an expiry more than a year
    out.  (A reason or approver that is a placeholder is a problem: :func:`_placeholder_problems`.)"""
    warnings = []
    earlier = EarlierWaivers()
    for position, (owner, index, waiver) in enumerate(located):
        line, col = owner.doc.position(("waivers", index))
        where = f"waivers[{index}] ({waiver.rule})"
        # (an expired one is said to be so below: it waives nothing whatever comes before it)
        shadowing = earlier.first_shadowing(waiver) if waiver.expires >= today else None
        shadow = located[shadowing] if shadowing is not None else None
        earlier.add(position, waiver)
        if shadow is not None:
            earlier_owner, earlier_index, earlier = shadow
            eline, ecol = earlier_owner.doc.position(("waivers", earlier_index))
            warnings.append(Problem(owner.name, line, col, f"{where}: waives nothing: waivers[{earlier_index}] "
                                    f"({earlier_owner.name}:{eline}:{ecol}) is applied first and waives every failure "
                                    f"this one names, as long or longer (until {earlier.expires}); remove one of them"))
        days = (waiver.expires - today).days
        if days < 0:
            text = f"expired on {waiver.expires} ({-days} days ago): it is no longer honoured; renew or remove it"
        elif days <= soon_days:
            text = f"expires on {waiver.expires}, in {days} days; renew it or fix what it waives"
        elif days > MAX_WAIVER_DAYS:
            text = f"expires on {waiver.expires}, more than a year out; a waiver should be reviewed at least yearly"
        else:
            text = ""
        if text:
            warnings.append(Problem(owner.name, line, col, f"{where}: {text}"))
        if is_blanket(waiver.subject):
            warnings.append(Problem(owner.name, line, col, f"{where}: {_blanket_words(waiver.subject)} waives "
                                    "every failing finding of the rule (a blanket waiver); name the subject it is for"))
        elif is_namespace_blanket(waiver.subject):
            warnings.append(Problem(owner.name, line, col, f"{where}: subject {waiver.subject!r} names nothing but "
                                    f"'{NAMESPACE_WORDS}', so it waives every failing finding of the rule in every "
                                    "other network namespace (containers, ip netns), those started later too (a "
                                    "blanket waiver there); name the subject and namespace it is for"))
        written_class = _character_class_in(waiver.subject) if waiver.subject else None
        if written_class is not None:
            # Subjects hold brackets ("tcp [::]:22 ..."), so a subject glob takes them as written;
            # "[0-9]" or "[!x]" written as a class matches only a subject that holds that text.
            warnings.append(Problem(owner.name, line, col, f"{where}: subject holds {written_class!r}, which "
                                    "is matched as written, not as a character class (a subject glob's only "
                                    "wildcards are * and ?), so it waives only a subject that holds that text; "
                                    "write the subject as the finding shows it, with * or ? for what varies"))
        widened = _widening_star(waiver.subject) if waiver.subject else None
        if widened is not None:
            warnings.append(Problem(owner.name, line, col, f"{where}: {_widened_number(waiver.subject or '', widened)}"))
    return warnings


# A * written against a number ("tcp 0.0.0.0:80*", "tcp 0.0.0.0:*80 *"): the star continues the
# number, so the waiver also covers every longer number there (port 8080, 800, 180), which its
# approver did not name.  A subject glob means what it says; this is a warning, as a blanket is.
_STAR_BESIDE_DIGITS = first_use(r"(?<![0-9])([0-9]+)\*|\*([0-9]+)(?![0-9])")


def _widening_star(subject: str) -> re.Match[str] | None:
    """The first * of ``subject`` that continues a number; not one after a port that no longer port
    can follow (``:8080*``: a port is at most 65535, so only port 8080 is there)."""
    for match in _STAR_BESIDE_DIGITS().finditer(subject):
        after = match.group(1)
        if after is not None and subject[:match.start()].endswith(":") and int(after + "0") > 65535:
            continue
        return match
    return None


def _widened_number(subject: str, match: re.Match[str]) -> str:
    after, before = match.group(1), match.group(2)
    port = subject[:match.start()].endswith(":")  # "...:80*": a port, which a space ends in every subject
    number = after if after is not None else before
    examples = [after + "0", after + after] if after is not None else ["1" + before, before + before]
    if port:
        examples = [example for example in examples if int(example) <= 65535]
    tip = "write the number whole, as the finding's subject shows it"
    if after is not None and port and match.end() == len(subject):
        tip += f" (a port ends at a space: {subject[:match.start(1)] + after + ' ' + subject[match.end(1):]!r})"
    return (f"subject {subject!r}: the * beside {number!r} continues that number, so the waiver also waives "
            f"every subject with a longer number there ({', '.join(examples)}, ...), not only {number}; {tip}")


# A bracket written as a shell glob's character class: negated ("[!x]", "[^x]") or holding a range of
# letters or digits ("[0-9]", "[a-z_]").  An address in brackets ("[::1]", "[fe80::1]") or an inode
# ("net:[4026532281]") is neither.
_LETTER_RANGE = first_use(r"[A-Za-z0-9]-[A-Za-z0-9]")
_NEGATED_OPENING = first_use(r"\[[!^]")


def _character_class_in(subject: str) -> str | None:
    r"""The first bracket of ``subject`` written as a character class, or None.  Read a stretch up
    to each "]" at a time, so each character once: a pattern for it (``\[(?:[!^][^\]]*|...)\]``) read
    the rest of the text again from every "[", and a policy of long bracket-filled subjects took
    minutes to load."""
    stretch_start = 0
    while (close := subject.find("]", stretch_start)) >= 0:
        opening = subject.find("[", stretch_start, close)
        if opening >= 0:
            # The first "[" before a "]" holds every later one's text: a range anywhere in it is its own.
            if _LETTER_RANGE().search(subject, opening + 1, close):
                return subject[opening:close + 1]
            negated = _NEGATED_OPENING().search(subject, opening, close)
            if negated is not None:
                return subject[negated.start():close + 1]
        stretch_start = close + 1
    return None
