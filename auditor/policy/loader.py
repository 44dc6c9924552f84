"""Load a policy file: strict YAML, schema validation, ``extends``, and params checked against
each rule's check.  Every problem is reported with file, line and column; nothing is executed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from auditor.engine.registry import Registry
from auditor.errors import PolicyError, Problem
from auditor.model.base import sha256_hex
from auditor.model.policy import Policy, PolicyDocument, PolicySource, ResolvedRule, RuleSpec, Waiver
from auditor.policy.yamlsafe import LocatedDocument, YamlProblem, load_located
from auditor.safeio import FileTooLarge, NotRegularFile, read_regular

MAX_POLICY_BYTES = 1024 * 1024
MAX_EXTENDS_DEPTH = 16


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def _validation_problems(
    exc: ValidationError, model: type[BaseModel], file: str, doc: LocatedDocument, prefix: tuple[Any, ...] = (),
    data: Any = None,
) -> list[Problem]:
    """One Problem per pydantic error; ``data`` is what was validated (the document itself when
    ``prefix`` is empty)."""
    problems = []
    data = doc.value if data is None and not prefix else data
    for err in exc.errors(include_url=False):
        loc = _document_loc(tuple(err["loc"]), data, err["type"] == "missing")
        line, col = doc.position(prefix + loc)
        where = _dotted(prefix + loc) or "policy"
        if err["type"] == "extra_forbidden" and loc:
            owner = _model_at(model, loc)
            hint = f" (expected one of: {', '.join(sorted(owner.model_fields))})" if owner else ""
            message = f"{_dotted(prefix + loc[:-1]) or 'policy'}: unknown key {loc[-1]!r}{hint}"
        elif err["type"] == "missing":
            message = f"{where}: required key is missing"
        else:
            message = f"{where}: {err['msg']}; found {_short(err.get('input'))}"
        problems.append(Problem(file, line, col, message))
    return problems


def _read_document(path: Path) -> tuple[LocatedDocument, bytes]:
    name = _display(path)
    try:
        # Bounded on the read itself: /dev/zero or a FIFO claims a size of 0 to stat.
        raw = read_regular(path, MAX_POLICY_BYTES)
    except FileTooLarge as exc:
        raise PolicyError(f"{name}: policy is too large; the limit is {MAX_POLICY_BYTES} bytes") from exc
    except NotRegularFile as exc:
        raise PolicyError(f"{name}: cannot read policy: it {exc.strerror}") from exc
    except OSError as exc:
        raise PolicyError(f"{name}: cannot read policy: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PolicyError(
            f"{name}: policy is not valid UTF-8",
            [Problem(name, line, column, f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8")],
        ) from exc
    try:
        doc = load_located(text)
    except YamlProblem as exc:
        raise PolicyError(f"{name}: invalid policy", [Problem(name, exc.line, exc.column, exc.message)]) from exc
    except (RecursionError, MemoryError) as exc:  # the depth limit should come first; never a traceback
        raise PolicyError(f"{name}: invalid policy: too deeply nested or too large to parse") from exc
    if not isinstance(doc.value, dict):
        raise PolicyError(
            f"{name}: invalid policy",
            [Problem(name, 1, 1, f"expected a mapping with id, version, owner and rules; found {type(doc.value).__name__}")],
        )
    return doc, raw


class _Loaded:
    """One parsed file of the extends chain."""

    def __init__(self, path: Path, doc: LocatedDocument, raw: bytes, policy: PolicyDocument):
        self.path, self.doc, self.raw, self.policy = path, doc, raw, policy
        self.name = _display(path)


def _load_chain(path: Path, stack: tuple[Path, ...] = ()) -> list[_Loaded]:
    """The file and the files it extends, root ancestor first."""
    # realpath, not Path.resolve(): on a symlink loop resolve() raises RuntimeError (exit 70); the
    # read below then says ELOOP as a policy error.
    path = Path(os.path.realpath(path))
    name = _display(path)
    if path in stack:
        cycle = " -> ".join(_display(p) for p in (*stack, path))
        raise PolicyError(f"{name}: 'extends' cycle: {cycle}")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise PolicyError(f"{name}: 'extends' chain deeper than {MAX_EXTENDS_DEPTH} files")
    doc, raw = _read_document(path)
    try:
        document = PolicyDocument.model_validate(doc.value)
    except ValidationError as exc:
        raise PolicyError(f"{name}: invalid policy", _validation_problems(exc, PolicyDocument, name, doc)) from exc
    loaded = _Loaded(path, doc, raw, document)
    if document.extends is None:
        return [loaded]
    parent = (path.parent / document.extends)
    try:
        is_file = "\0" not in document.extends and parent.is_file()
    except OSError:  # ENAMETOOLONG, EACCES: no policy can be read there either
        is_file = False
    if not is_file:
        line, col = doc.position(("extends",))
        raise PolicyError(
            f"{name}: invalid policy",
            [Problem(name, line, col, f"extends: {document.extends!r} is not a file (resolved to {_display(parent)})")],
        )
    return _load_chain(parent, (*stack, path)) + [loaded]


def _merge_rule(base: dict[str, Any], override: RuleSpec) -> dict[str, Any]:
    merged = dict(base)
    for key in override.model_fields_set:
        value = getattr(override, key)
        if key == "params":
            merged["params"] = {**base.get("params", {}), **value}
        else:
            merged[key] = value
    return merged


def load_policy(path: Path, registry: Registry) -> Policy:
    """Load and fully validate a policy; raise PolicyError listing every problem found."""
    chain = _load_chain(Path(path))
    problems: list[Problem] = []
    rules: dict[str, dict[str, Any]] = {}  # rule id -> merged fields + where it was last set
    waivers: list[Waiver] = []
    for loaded in chain:
        seen_here: set[str] = set()
        for index, rule in enumerate(loaded.policy.rules):
            line, col = loaded.doc.position(("rules", index))
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
            rules[rule.id] = merged
        waivers += loaded.policy.waivers

    resolved: list[ResolvedRule] = []
    for rule_id, merged in rules.items():
        loaded, index = merged["_where"]
        prefix = ("rules", index)
        line, col = loaded.doc.position(prefix)
        spec = registry.get(merged["check"])
        if spec is None:
            cline, ccol = loaded.doc.position(prefix + ("check",))
            problems.append(Problem(loaded.name, cline, ccol, f"rules[{index}].check: unknown check {merged['check']!r} "
                                    f"(expected one of: {', '.join(registry.names())})"))
            continue
        try:
            params = spec.params.model_validate(merged.get("params", {}))
        except ValidationError as exc:
            problems += _validation_problems(exc, spec.params, loaded.name, loaded.doc, prefix + ("params",),
                                             merged.get("params", {}))
            continue
        extra = list(merged.get("controls", []))
        for cindex, control in enumerate(extra):
            if registry.catalog.get(control) is None:
                cline, ccol = loaded.doc.position(prefix + ("controls", cindex))
                problems.append(Problem(loaded.name, cline, ccol, f"rules[{index}].controls[{cindex}]: unknown NIST SP "
                                        f"800-53 Rev. 5 control {control!r} (expected an id such as SC-7 or SC-7(5) "
                                        "listed in controls/nist-sp800-53-r5.yaml)"))
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
                source=f"{loaded.name}:{line}",
                platforms=merged.get("platforms"),
            )
        )

    top = chain[-1]
    rule_ids = set(rules)
    for loaded in chain:
        for index, waiver in enumerate(loaded.policy.waivers):
            if waiver.rule not in rule_ids:
                line, col = loaded.doc.position(("waivers", index, "rule"))
                problems.append(Problem(loaded.name, line, col, f"waivers[{index}].rule: no rule {waiver.rule!r} in this policy"))
    if not problems and not any(r.enabled for r in resolved):
        problems.append(Problem(top.name, 1, 1, "the policy has no enabled rule; a policy that checks nothing cannot fail"))
    if problems:
        raise PolicyError(f"{top.name}: invalid policy", problems)

    return Policy(
        id=top.policy.id,
        version=top.policy.version,
        owner=top.policy.owner,
        description=top.policy.description,
        rules=resolved,
        waivers=waivers,
        sources=[PolicySource(path=item.name, sha256=sha256_hex(item.raw)) for item in reversed(chain)],
    )
