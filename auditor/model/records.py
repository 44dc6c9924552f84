"""``@record``: ``@dataclass(frozen=True)`` at a quarter of the cost of defining the class (issue 16).

``dataclasses`` writes out and compiles the source of six methods for every frozen class
(``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``): about
3.5 M instructions a class, and ``lbaudit evaluate`` defines some 60 of them before it reads a
byte of its policy.  Only ``__init__`` needs its own code (its parameters are the fields, and it
is what per-listener work calls); the other five read the field names from a tuple, so one
function each serves every class.  ``@record`` is ``@dataclass(frozen=True)`` with that
difference: the same ``__dataclass_fields__``, ``__dataclass_params__`` and ``__match_args__``
(so ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work unchanged), the same
``__init__`` signature, defaults, default factories, ``field(init=False)`` and ``__post_init__``,
equal and hashed by the fields ``field(compare=..., hash=...)`` selects, the same ``repr``, and
``FrozenInstanceError`` on assignment.  ``@mutable_record`` is the same for a plain ``@dataclass``
(fields assigned, through the class's own ``__setattr__`` if it has one; ``__hash__`` None unless
the class defines it), where dataclasses compiles three methods.  tests/test_records.py holds each
against a dataclass.

Not for classes that inherit from a dataclass or are inherited from by one (dataclasses checks
the frozenness of the bases itself), nor for ``InitVar``/``kw_only`` fields (none here use them):
``record`` refuses those, so a class it accepts behaves as the dataclass would.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
import sys
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:  # (typing has it from Python 3.12 with frozen_default; at run time it only marks)
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator

T = TypeVar("T", bound=type)

_MISSING = dataclasses.MISSING


class _HasDefaultFactory:
    """The default of a parameter whose field has a default factory (dataclasses' own sentinel is private)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _HasDefaultFactory()


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: T) -> T:
    """``cls`` made a frozen dataclass, as ``@dataclass(frozen=True)`` makes it (see the module)."""
    return _record(cls, frozen=True)


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def mutable_record(cls: T) -> T:
    """``cls`` made a dataclass, as a plain ``@dataclass`` makes it: fields that can be assigned, equal
    by its fields, unhashable (``__hash__`` None) unless the class defines its own.  ``dataclasses``
    compiles three methods for such a class (about 0.4 ms); this compiles only ``__init__``."""
    return _record(cls, frozen=False)


def _record(cls: T, frozen: bool) -> T:
    decorator = "@record" if frozen else "@mutable_record"
    instead = "@dataclass(frozen=True)" if frozen else "@dataclass"
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: {decorator} does not take dataclass bases; use {instead}")
    documented = bool(cls.__doc__)
    if not documented:
        # A placeholder, replaced below: dataclasses gives an undocumented class a docstring from
        # inspect.signature(cls), which before __init__ is set parses object's text signature with
        # tokenize (about 1.1 M instructions a class, thrown away).
        cls.__doc__ = cls.__name__
    # Fields, class attributes of the defaults, __match_args__: dataclasses' own work, minus the code.
    dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init = params.repr = params.eq = True
    params.frozen = frozen
    fields = list(dataclasses.fields(cls))  # (not the ClassVars)
    if any(f._field_type is dataclasses._FIELD_INITVAR or f.kw_only is True  # type: ignore[attr-defined]
           for f in cls.__dataclass_fields__.values()):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__qualname__}: {decorator} takes no InitVar or kw_only fields; use {instead}")
    names = tuple(f.name for f in fields)
    own = cls.__dict__
    # What the class body said of __hash__, read before __eq__ is added (dataclasses' own test).
    explicit_hash = not ("__hash__" not in own or (own["__hash__"] is None and "__eq__" in own))
    # (An undocumented class's docstring is made from its __init__'s signature, below: compiled now.)
    _set(cls, "__init__", _init(cls, fields, frozen) if documented
         else _compile_init(cls, *_init_source(cls, fields, frozen)))
    if "__repr__" not in own:
        _set(cls, "__repr__", _repr([f.name for f in fields if f.repr]))
    if "__eq__" not in own:
        _set(cls, "__eq__", _eq([f.name for f in fields if f.compare]))
    if frozen:
        if "__hash__" not in own or own["__hash__"] is None:  # dataclasses' rule for eq=True, frozen=True
            hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
            _set(cls, "__hash__", _hash(hashed))
        _set(cls, "__setattr__", _frozen_setattr(cls, names))
        _set(cls, "__delattr__", _frozen_delattr(cls, names))
    elif not explicit_hash:  # dataclasses' rule for eq=True, frozen=False: unhashable
        cls.__hash__ = None  # type: ignore[assignment]
    if not documented:  # dataclasses' docstring of an undocumented class: its name and __init__'s signature
        import inspect

        cls.__doc__ = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
    return cls


def _set(cls: type, name: str, function: Callable[..., Any]) -> None:
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, function)


def _init(cls: type, fields: list[dataclasses.Field[Any]], frozen: bool = True) -> Callable[..., None]:
    """The one method with the class's own code (:func:`_init_source`), written out now and compiled
    on the class's first instantiation: a third of the classes a command defines are never
    instantiated by it (23 of the 68 ``evaluate`` defines, 30 of the 39 of ``validate``), and the
    compilation is about 60% of defining a record (issue 16).  Until then ``__init__`` is a stand-in
    that compiles the method, puts it in its place on the class and calls it, so the first call binds,
    fails and runs as every later one does; everything the method does was decided here, when the
    class was defined, as before.  (``inspect.signature`` of a class not yet instantiated shows the
    stand-in's ``(*args, **kwargs)``; an undocumented class compiles it at once for its docstring.)"""
    source, closure, annotations = _init_source(cls, fields, frozen)
    compiled: list[Callable[..., None]] = []

    def __init__(__record_self__: Any, /, *args: Any, **kwargs: Any) -> None:  # (named as the compiled one is)
        if not compiled:
            compiled.append(_compile_init(cls, source, closure, annotations))
            _set(cls, "__init__", compiled[0])
        compiled[0](__record_self__, *args, **kwargs)
    return __init__


def _compile_init(cls: type, source: str, closure: dict[str, Any], annotations: dict[str, Any]) -> Callable[..., None]:
    namespace: dict[str, Any] = {}
    module = sys.modules.get(cls.__module__)
    exec(source, module.__dict__ if module else {}, namespace)  # noqa: S102  (field names and fixed text, as dataclasses does)
    function: Callable[..., None] = namespace["__create_fn__"](**closure)
    function.__annotations__ = annotations
    return function


def _init_source(cls: type, fields: list[dataclasses.Field[Any]],
                 frozen: bool) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The source of ``__init__``, the closure it is made in and its annotations.  Its parameters
    are the fields, written out as dataclasses writes them (so a call binds, fails and runs as the
    dataclass's does), in a closure over the defaults and factories, with the class's module as its
    globals.  A frozen class's fields are set through object.__setattr__, a mutable one's by
    assignment (its own __setattr__, if it has one), as dataclasses sets them."""
    parameters, lines = [], []
    closure: dict[str, Any] = {"__object_setattr": object.__setattr__, "__has_factory": _HAS_DEFAULT_FACTORY}
    # Each field is stored in the instance's dict, one item assignment each, where that is what
    # object.__setattr__ would do: about a third of the time of a call each, and the netlink parse
    # builds three records a socket (issue 16).  Not where an instance has no dict (slots) or a
    # field's name is a data descriptor of the class, whose __set__ object.__setattr__ would call.
    into_dict = _plain_instance_dict(cls, [f.name for f in fields]) and (
        frozen or cls.__setattr__ is object.__setattr__)  # type: ignore[comparison-overlap]
    if into_dict:
        lines.append("  __fields = __record_self__.__dict__")
    for index, f in enumerate(fields):
        default, factory = f"__default_{index}", f"__factory_{index}"
        if f.default_factory is not _MISSING:
            closure[factory] = f.default_factory
        if f.default is not _MISSING:
            closure[default] = f.default
        if f.init:
            if f.default is not _MISSING:
                parameters.append(f"{f.name}={default}")
            elif f.default_factory is not _MISSING:
                parameters.append(f"{f.name}=__has_factory")
            elif any("=" in p for p in parameters):
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            else:
                parameters.append(f.name)
            value = (f"{factory}() if {f.name} is __has_factory else {f.name}"
                     if f.default_factory is not _MISSING else f.name)
        elif f.default_factory is not _MISSING:
            value = f"{factory}()"
        else:
            continue  # init=False with a plain default (or none): the class attribute is the value
        lines.append(f"  __fields[{f.name!r}] = {value}" if into_dict
                     else f"  __object_setattr(__record_self__, {f.name!r}, {value})" if frozen
                     else f"  __record_self__.{f.name} = {value}")
    if into_dict and len(lines) == 1:
        lines.clear()  # no field set by __init__: nothing to store
    if hasattr(cls, "__post_init__"):
        lines.append("  __record_self__.__post_init__()")
    source = (f"def __create_fn__({', '.join(closure)}):\n"
              f" def __init__({', '.join(['__record_self__', *parameters])}):\n"
              + "\n".join(f" {line}" for line in lines or ["  pass"]) + "\n"
              " return __init__\n")
    return source, closure, {**{f.name: f.type for f in fields if f.init}, "return": None}


def _plain_instance_dict(cls: type, names: list[str]) -> bool:
    """Whether storing NAMES in an instance's ``__dict__`` is what ``object.__setattr__`` does:
    every instance has a dict (no class of its MRO declares slots) and no name is a data
    descriptor (a property, a slot) of the class."""
    if any("__slots__" in vars(klass) for klass in cls.__mro__[:-1]):
        return False
    for name in names:
        found = next((vars(klass)[name] for klass in cls.__mro__ if name in vars(klass)), None)
        if hasattr(type(found), "__set__") or hasattr(type(found), "__delete__"):
            return False
    return True


def _repr(names: list[str]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        return f"{type(self).__qualname__}(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in names) + ")"
    return __repr__


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of the fields NAMES of an instance (attrgetter returns a bare value for one name)."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        name = names[0]
        return lambda self: (getattr(self, name),)
    return operator.attrgetter(*names)


def _eq(names: list[str]) -> Callable[[Any, Any], Any]:
    values = _values(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented
    return __eq__


def _hash(names: list[str]) -> Callable[[Any], int]:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))
    return __hash__


def _frozen_setattr(cls: type, names: tuple[str, ...]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]
    return __setattr__


def _frozen_delattr(cls: type, names: tuple[str, ...]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]
    return __delattr__
