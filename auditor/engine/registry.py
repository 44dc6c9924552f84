"""Finding checks: built-ins by walking ``auditor.checks``, plugins through entry points.

The registry is loud (bandit once loaded zero plugins and reported success): duplicate names, a
plugin that shadows a built-in, an unknown control id and an empty registry are all errors.
Plugin autoload can be switched off (``--no-plugins`` or ``LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1``),
as pytest allows, so that no installed package can change a run unasked.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import typing
from dataclasses import replace
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType

from pydantic import BaseModel, ValidationError

from auditor import __version__
from auditor.catalog import load_catalog
from auditor.errors import Problem, RegistryError
from auditor.model.check import CheckParams, CheckSpec
from auditor.model.controls import ControlCatalog
from auditor.model.facts import PLATFORM_NAMES, SECTIONS
from auditor.model.records import record
from auditor.model.result import Severity
from auditor.plugins import (
    entry_point_named,
    load_entry_points,
    plugin_code,
    plugins_enabled,
    raised_text,
    stops_the_run,
)
from auditor.text import cut_text, with_article

CHECKS_GROUP = "lbaudit.checks"
BUILTIN_PACKAGE = "auditor.checks"


@record
class Registry:
    checks: dict[str, CheckSpec]
    catalog: ControlCatalog

    def get(self, name: str) -> CheckSpec | None:
        return self.checks.get(name)

    def names(self) -> list[str]:
        return sorted(self.checks)


def _specs_in(module: ModuleType) -> list[CheckSpec]:
    return [value for value in vars(module).values() if isinstance(value, CheckSpec)]


def _builtin_specs() -> list[CheckSpec]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    specs: list[CheckSpec] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}")
        found = _specs_in(module)
        expected = info.name.replace("_", ".", 1)
        for spec in found:
            # One module per check, named after it: net_bind_addresses.py holds net.bind_addresses.
            if spec.name != expected:
                raise RegistryError(
                    f"built-in module {module.__name__} declares check {spec.name!r}; it must be named {expected!r}"
                )
        specs += [replace(s, origin=f"builtin lbaudit {__version__}") for s in found]
    return specs


def _plugin_specs() -> list[CheckSpec]:
    specs: list[CheckSpec] = []
    for ep in load_entry_points(CHECKS_GROUP):
        named = entry_point_named(ep.name, ep.value, ep.origin)
        if isinstance(ep.loaded, ModuleType):
            found = _specs_in(ep.loaded)
            if not found:  # it loaded nothing and said nothing: bandit's "zero plugins, success"
                raise RegistryError(f"{named} is a module that declares no CheckSpec")
        elif isinstance(ep.loaded, CheckSpec):
            found = [ep.loaded]
        else:
            raise RegistryError(f"{named} is {_what(ep.loaded)}, not a CheckSpec or a module of them")
        for spec in found:
            try:
                specs.append(replace(spec, origin=ep.origin))
            except BaseException as exc:  # a subclass's own __init__ or __post_init__
                if stops_the_run(exc):
                    raise
                raise RegistryError(f"{named}: check {spec.name!r} ({_what(spec)}) cannot be copied with its origin: "
                                    f"{type(exc).__name__}: {raised_text(exc)}") from exc
    return specs


def _what(value: object) -> str:
    """What an entry point resolved to, as a message names it: None, a class, a function, a K."""
    if value is None:
        return "None"
    if isinstance(value, type):
        return "a class"
    if isinstance(value, (FunctionType, BuiltinFunctionType, MethodType)):
        return "a function"
    return with_article(type(value).__name__)


# C0/C1 controls (ESC starts an ANSI sequence that rewrites the terminal), DEL, and the bidi controls
# that reorder what a reader sees: a plugin's declared text is printed by list-checks, explain and
# the reports, so it may hold none of them (a newline only in the multi-line fields).
_UNPRINTABLE = re.compile("[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]")
_ONE_LINE_FIELDS = ("name", "title", "version")
_MULTI_LINE_FIELDS = ("rationale", "remediation", "notes")


# The longest a check's declared text may be, in characters.  Each is recorded in the evidence of every
# run that uses the check (its check record), and from there in SARIF and HDF: a plugin's rationale
# and remediation of 20 MB each made a passing run's evidence 40 MB and its SARIF 60 MB.  A one-line
# field holds a name of 10,000 characters (tests/hostile/test_plugins_names.py); the multi-line ones
# fifteen times the longest of the built-in checks' (their notes, 17,000).
MAX_DECLARED_LINE_CHARS = 16_384
MAX_DECLARED_TEXT_CHARS = 262_144


def _text_problems(spec: CheckSpec) -> list[str]:
    problems = []
    for field_name in (*_ONE_LINE_FIELDS, *_MULTI_LINE_FIELDS):
        value = getattr(spec, field_name)
        if not isinstance(value, str):
            problems.append(f"check {spec.name!r} declares {field_name} {value!r} (expected text)")
            continue
        at_most = MAX_DECLARED_LINE_CHARS if field_name in _ONE_LINE_FIELDS else MAX_DECLARED_TEXT_CHARS
        if len(value) > at_most:  # not quoted: the problem is its length
            problems.append(f"check {cut_text(spec.name, 200)!r} declares a {field_name} of {len(value):,} characters "
                            f"(at most {at_most:,})")
        elif _UNPRINTABLE.search(value) or (field_name in _ONE_LINE_FIELDS and "\n" in value):
            problems.append(f"check {spec.name!r} declares a {field_name} with control characters: {value!r}")
    return problems


_NAME_TUPLES = ("needs", "uses", "controls", "platforms")


def _type_problems(spec: CheckSpec) -> list[str]:
    """What a check declares with a value of the wrong type, which the rest of the registry (and
    every command after it) could not read: ``@check`` makes tuples of what it is given, but a plugin
    can build a CheckSpec itself.  needs=None, a name that is a list, a list among the controls were
    exit 70 (TypeError) at every command that loads checks; params that is not a CheckParams
    subclass was exit 70 at explain and evaluate."""
    name = spec.name
    problems = []
    if not (isinstance(name, str) and name.strip()):
        problems.append(f"check {name!r} declares name {name!r} (expected text, not blank)")
    for field_name in _NAME_TUPLES:
        value = getattr(spec, field_name)
        if not (isinstance(value, (tuple, list)) and all(isinstance(item, str) for item in value)):
            problems.append(f"check {name!r} declares {field_name} {value!r} (expected a tuple of names)")
    if not (isinstance(spec.params, type) and issubclass(spec.params, CheckParams)):
        problems.append(f"check {name!r} declares params {spec.params!r} (expected a subclass of CheckParams)")
    if not callable(spec.func):
        problems.append(f"check {name!r} declares func {spec.func!r} (expected a function)")
    return problems


def _models_taking_unknown_keys(params: type[BaseModel]) -> list[tuple[str, object]]:
    """The pydantic models of ``params`` (itself and those its fields hold, at any depth) that do not
    refuse a key they do not know, with their ``extra`` setting.  CheckParams forbids extras, but a
    plugin's params can loosen it, and a model nested in them has pydantic's default (ignore): a
    misspelt parameter (``treshold: 1``) loaded and the check ran with the default."""
    found: list[tuple[str, object]] = []
    seen: set[type] = set()
    pending: list[object] = [params]
    while pending:
        kind = pending.pop()
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if kind in seen:
                continue
            seen.add(kind)
            extra = kind.model_config.get("extra")
            if extra != "forbid":
                found.append((kind.__name__, extra or "ignore"))
            pending += [field.annotation for field in kind.model_fields.values()]
        else:
            pending += typing.get_args(kind)  # list[Item], Item | None, Annotated[Item, ...]
    return found


def _params_json_problems(spec: CheckSpec) -> list[str]:
    """What a check's params cannot say as JSON: a JSON Schema (``lbaudit schema policy`` and
    ``explain`` describe the params by it) and the JSON of their defaults (a rule's params are
    recorded as JSON in the evidence).  A plugin's param of a type pydantic has no JSON for (a
    ``Callable``, an ``object`` default) loaded, and then schema and explain, and validate and evaluate
    of every policy naming the check, ended in exit 70.  The plugin's code that runs here (its
    schema hooks, default factories, validators) runs as its import does: in :func:`plugin_code`,
    bounded by the time limit of a plugin's load."""
    from auditor import time_limit

    seconds = time_limit.PLUGIN_LOAD_SECONDS
    timed_out = [f"check {spec.name!r} declares params {spec.params.__name__} whose JSON Schema or defaults did not "
                 f"finish in {seconds:g} s"]
    try:
        with plugin_code(), time_limit.time_limit(seconds, time_limit.LoadTimedOut) as limit:
            problems = _params_json_problems_unbounded(spec)
    except time_limit.LoadTimedOut:
        return timed_out
    return timed_out if limit.reached else problems


def _params_json_problems_unbounded(spec: CheckSpec) -> list[str]:
    name, params = spec.name, spec.params
    try:
        params.model_json_schema()
    except BaseException as exc:  # the plugin's model: any of its code may run here
        if stops_the_run(exc):
            raise
        return [f"check {name!r} declares params {params.__name__} that have no JSON Schema "
                f"({type(exc).__name__}: {raised_text(exc)}); give each param a type JSON can hold"]
    try:
        defaults = params()
    except BaseException as exc:
        if stops_the_run(exc):
            raise
        # A param with no default (ValidationError): a rule must set it, and the policy's value is
        # JSON already.  Anything else is a model no rule could be validated by.
        if isinstance(exc, ValidationError):
            return []
        return [f"check {name!r} declares params {params.__name__} whose defaults cannot be read "
                f"({type(exc).__name__}: {raised_text(exc)})"]
    try:
        defaults.model_dump(mode="json")
    except BaseException as exc:
        if stops_the_run(exc):
            raise
        return [f"check {name!r} declares params {params.__name__} whose defaults have no JSON value "
                f"({type(exc).__name__}: {raised_text(exc)}); give each param a type and default JSON can hold"]
    return []


def build_registry(specs: list[CheckSpec], catalog: ControlCatalog | None = None) -> Registry:
    catalog = catalog or load_catalog()
    problems: list[str] = []
    checks: dict[str, CheckSpec] = {}
    for spec in specs:
        wrong_types = _type_problems(spec)
        if wrong_types:  # nothing further is read of it: the checks below assume these types
            problems += wrong_types
            continue
        if spec.name in checks:
            first = checks[spec.name]
            if first.origin.startswith("builtin") and not spec.origin.startswith("builtin"):
                problems.append(f"{spec.origin} shadows built-in check {spec.name!r}")
            else:
                problems.append(f"check {spec.name!r} declared twice ({first.origin}; {spec.origin})")
            continue
        for control in spec.controls:
            if catalog.get(control) is None:
                problems.append(f"check {spec.name!r} maps to unknown control {control!r}")
        for section in (*spec.needs, *spec.uses):
            if section not in SECTIONS:
                problems.append(f"check {spec.name!r} needs unknown fact section {section!r}")
        if not spec.controls:
            problems.append(f"check {spec.name!r} declares no NIST control")
        # recorded as declared (the evidence's check record), where SARIF's tags must be unique
        problems += [f"check {spec.name!r} declares control {control!r} twice"
                     for control in sorted(set(spec.controls)) if spec.controls.count(control) > 1]
        # A severity no rule can carry was exit 70 at the first policy naming the check; a platform
        # name lbaudit does not know ("Linux") made the check not_applicable on every host, so its
        # rules judged nothing beside rules that pass (exit 0).
        if not (isinstance(spec.severity, str) and spec.severity in Severity._value2member_map_):
            problems.append(f"check {spec.name!r} declares severity {spec.severity!r} (expected one of: "
                            f"{', '.join(s.value for s in Severity)})")
        unknown = [p for p in spec.platforms if p not in PLATFORM_NAMES]
        if unknown or not spec.platforms:
            problems.append(f"check {spec.name!r} declares platforms {list(spec.platforms)!r} (expected one or more "
                            f"of: {', '.join(PLATFORM_NAMES)})")
        problems += _text_problems(spec)
        problems += [f"check {spec.name!r} declares params whose model {model} takes unknown keys (extra={extra!r}): "
                     "a misspelt parameter in a policy would be ignored; give it extra='forbid', as CheckParams has"
                     for model, extra in _models_taking_unknown_keys(spec.params)]
        if not spec.origin.startswith("builtin"):
            # (the built-ins' are tested, by the shipped schema and the docs; a schema of each costs
            # tenths of a second at every command)
            problems += _params_json_problems(spec)
        if isinstance(spec.severity, str) and spec.severity in Severity._value2member_map_:
            # "high" (a plain str) passed the check above but was exit 70 in list-checks and explain
            # (``severity.value``): every later reader gets the enum.
            spec = replace(spec, severity=Severity(spec.severity))
        checks[spec.name] = spec
    if not checks:
        problems.append("no checks were loaded")
    if problems:
        raise RegistryError(
            "the check registry is not usable",
            [Problem(file="<registry>", line=None, column=None, message=p) for p in problems],
        )
    return Registry(checks=checks, catalog=catalog)


def load_registry(plugins: bool | None = None) -> Registry:
    """Built-in checks plus, unless disabled, every ``lbaudit.checks`` entry point."""
    if plugins is None:
        plugins = plugins_enabled()
    specs = _builtin_specs()
    if plugins:
        specs += _plugin_specs()
    return build_registry(specs)
