"""``@record`` behaves as ``@dataclass(frozen=True)`` and ``@mutable_record`` as ``@dataclass``
(auditor/model/records.py, issue 16): each class shape lbaudit uses is declared with each, and every
observable is compared."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from auditor.model.records import mutable_record, record


def _shapes(decorate: Any) -> dict[str, type]:
    @decorate
    class Plain:
        """Required fields only."""

        name: str
        port: int

    @decorate
    class Defaults:
        """Defaults, a default factory, a field out of compare/hash/repr, a ClassVar, init=False."""

        LIMIT: ClassVar[int] = 3
        name: str
        port: int = 0
        tags: tuple[str, ...] = field(default_factory=tuple)
        notes: list[str] = field(default_factory=list, hash=False)
        hidden: str = field(default="x", compare=False, repr=False)
        kind: str = field(default="local", init=False)
        made: tuple[int, ...] = field(default_factory=tuple, init=False)
        only_hash: int = field(default=1, compare=False, hash=True)

    @decorate
    class PostInit:
        """__post_init__ runs after the fields are set (and may set more through object.__setattr__)."""

        text: str
        length: int = field(default=0, init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "length", len(self.text))

    @decorate
    class OwnMethods:
        """A class's own __eq__ and __repr__ are kept (and its __hash__ made from the fields)."""

        a: int
        b: int = 2

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnMethods) and self.a == other.a

        def __repr__(self) -> str:
            return f"<{self.a}>"

    @decorate
    class OwnHash:
        """A class's own __hash__ is kept."""

        a: int

        def __hash__(self) -> int:
            return 7

    @decorate
    class Empty:
        """No fields at all."""

    @decorate
    class Undocumented:
        name: str
        port: int = 0

    return {"Plain": Plain, "Defaults": Defaults, "PostInit": PostInit, "OwnMethods": OwnMethods,
            "OwnHash": OwnHash, "Empty": Empty, "Undocumented": Undocumented}


RECORDS, DATACLASSES = _shapes(record), _shapes(dataclass(frozen=True))
ARGUMENTS: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "Plain": [(("a", 1), {}), ((), {"name": "b", "port": 2}), (("a",), {"port": 1})],
    "Defaults": [(("a",), {}), (("a", 1, ("t",), ["n"]), {}), (("a",), {"hidden": "y"}), (("a",), {"only_hash": 5})],
    "PostInit": [(("abc",), {})],
    "OwnMethods": [((1,), {}), ((1, 3), {})],
    "OwnHash": [((1,), {})],
    "Empty": [((), {})],
    "Undocumented": [(("a",), {})],
}
BAD_CALLS = [(), ("a", 1, 2, 3, 4, 5, 6, 7, 8), ("a",)]


def _observed(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    made = cls(*args, **kwargs)
    twin = cls(*args, **kwargs)
    seen = {
        "repr": repr(made).replace(".<locals>._shapes.<locals>", ""),
        "eq": made == twin, "ne": made != twin, "eq_other": made == object(), "hash": hash(made), "hash_equal": hash(made) == hash(twin),
        "fields": [(f.name, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(made)],
        "asdict": dataclasses.asdict(made), "astuple": dataclasses.astuple(made),
        "vars": vars(made), "match_args": getattr(cls, "__match_args__", None),
        "signature": str(inspect.signature(cls)), "doc": cls.__doc__,
        "params": (cls.__dataclass_params__.init, cls.__dataclass_params__.repr,  # type: ignore[attr-defined]
                   cls.__dataclass_params__.eq, cls.__dataclass_params__.frozen),  # type: ignore[attr-defined]
    }
    for name in [f.name for f in dataclasses.fields(made)] + ["other"]:
        with pytest.raises(dataclasses.FrozenInstanceError) as assigned:
            setattr(made, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError) as deleted:
            delattr(made, name)
        seen[f"frozen {name}"] = (str(assigned.value), str(deleted.value))
    if dataclasses.fields(made) and dataclasses.fields(made)[0].init:
        first = dataclasses.fields(made)[0].name
        seen["replace"] = vars(dataclasses.replace(made, **{first: args[0] if args else kwargs[first]}))
    return seen


@pytest.mark.parametrize("shape", sorted(ARGUMENTS))
def test_a_record_is_what_a_frozen_dataclass_is(shape) -> None:
    for args, kwargs in ARGUMENTS[shape]:
        assert _observed(RECORDS[shape], args, kwargs) == _observed(DATACLASSES[shape], args, kwargs)


@pytest.mark.parametrize("shape", sorted(ARGUMENTS))
def test_a_record_refuses_the_calls_a_frozen_dataclass_refuses(shape) -> None:
    for args in BAD_CALLS:
        with pytest.raises(TypeError) as dataclass_error:
            DATACLASSES[shape](*args, nonesuch=1)
        with pytest.raises(TypeError) as record_error:
            RECORDS[shape](*args, nonesuch=1)
        assert str(record_error.value) == str(dataclass_error.value)


def test_records_equal_by_class_and_fields_and_hash_by_the_hashed_fields() -> None:
    Defaults = RECORDS["Defaults"]
    assert Defaults("a", hidden="x") == Defaults("a", hidden="y")  # compare=False
    assert Defaults("a", only_hash=1) == Defaults("a", only_hash=2)  # compare=False, hash=True
    # hashed: the compared fields but notes (hash=False), and only_hash (hash=True), in field order
    assert hash(Defaults("a", only_hash=2)) == hash(("a", 0, (), "local", (), 2))
    assert {Defaults("a"), Defaults("a")} == {Defaults("a")}
    assert RECORDS["Plain"]("a", 1) != DATACLASSES["Plain"]("a", 1)  # another class, however alike
    assert Defaults("a").notes is not Defaults("a").notes  # a factory per instance
    assert RECORDS["OwnHash"](1).__hash__() == 7


@record
class Pickled:
    """A module-level record, as lbaudit's are."""

    name: str
    port: int = 0


def test_a_record_pickles_and_its_init_reads_its_module() -> None:
    assert pickle.loads(pickle.dumps(Pickled("a", 1))) == Pickled("a", 1)
    assert Pickled.__init__.__globals__ is globals()
    assert Pickled.__init__.__qualname__ == "Pickled.__init__"


def test_record_refuses_what_it_would_not_do_as_a_dataclass() -> None:
    @dataclass(frozen=True)
    class Base:
        a: int

    with pytest.raises(TypeError, match="dataclass bases"):
        @record
        class Derived(Base):
            b: int

    with pytest.raises(TypeError, match="kw_only"):
        @record
        class KeywordOnly:
            a: int = field(kw_only=True)

    with pytest.raises(TypeError, match="follows default argument"):
        @record
        class Misordered:
            a: int = 0
            b: int


def test_fields_are_stored_in_the_instance_dict_only_where_object_setattr_would_store_them_there() -> None:
    # record's __init__ assigns into the instance's dict (issue 16: a third of the time of
    # object.__setattr__ each); a class with slots, or a field named as a data descriptor, is not
    # one whose instances store fields there, and keeps object.__setattr__.
    from auditor.model.records import _plain_instance_dict

    class Slotted:
        __slots__ = ("name", "port")

    class Described:
        @property
        def port(self) -> int:
            return 1

    assert _plain_instance_dict(RECORDS["Plain"], ["name", "port"])
    assert not _plain_instance_dict(Slotted, ["name", "port"])
    assert not _plain_instance_dict(Described, ["name", "port"])

    def slotted(decorate: Any) -> type:
        @decorate
        class Slots:
            __slots__ = ("name", "port")
            name: str
            port: int
        return Slots

    made, twin = slotted(record)("a", 1), slotted(dataclass(frozen=True))("a", 1)
    assert (made.name, made.port) == (twin.name, twin.port) == ("a", 1)
    assert repr(made).split("(", 1)[1] == repr(twin).split("(", 1)[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.port = 2  # type: ignore[misc]


MUTABLE_RECORDS, MUTABLE_DATACLASSES = _shapes(mutable_record), _shapes(dataclass)


def _observed_mutable(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    made = cls(*args, **kwargs)
    twin = cls(*args, **kwargs)
    try:
        hashed: object = hash(made)
    except TypeError as exc:
        hashed = str(exc)
    seen = {
        "repr": repr(made).replace(".<locals>._shapes.<locals>", ""),
        "eq": made == twin, "ne": made != twin, "eq_other": made == object(), "hash": hashed,
        "hash_is_none": cls.__hash__ is None,
        "fields": [(f.name, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(made)],
        "asdict": dataclasses.asdict(made), "astuple": dataclasses.astuple(made),
        "vars": dict(vars(made)), "match_args": getattr(cls, "__match_args__", None),
        "signature": str(inspect.signature(cls)), "doc": cls.__doc__,
        "params": (cls.__dataclass_params__.init, cls.__dataclass_params__.repr,  # type: ignore[attr-defined]
                   cls.__dataclass_params__.eq, cls.__dataclass_params__.frozen),  # type: ignore[attr-defined]
    }
    if dataclasses.fields(made) and dataclasses.fields(made)[0].init:
        first = dataclasses.fields(made)[0].name
        seen["replace"] = vars(dataclasses.replace(made, **{first: args[0] if args else kwargs[first]}))
    for name in [f.name for f in dataclasses.fields(made)]:
        before = getattr(made, name)
        setattr(made, name, 1)
        seen[f"assigned {name}"] = (dict(vars(made)), made == twin)
        delattr(made, name)
        seen[f"deleted {name}"] = dict(vars(made))
        setattr(made, name, before)
    made.other = 2  # type: ignore[attr-defined]
    seen["other"] = dict(vars(made))
    return seen


@pytest.mark.parametrize("shape", sorted(ARGUMENTS))
def test_a_mutable_record_is_what_a_dataclass_is(shape) -> None:
    for args, kwargs in ARGUMENTS[shape]:
        assert _observed_mutable(MUTABLE_RECORDS[shape], args, kwargs) == _observed_mutable(MUTABLE_DATACLASSES[shape], args, kwargs)
    for args in BAD_CALLS:
        with pytest.raises(TypeError) as dataclass_error:
            MUTABLE_DATACLASSES[shape](*args, nonesuch=1)
        with pytest.raises(TypeError) as record_error:
            MUTABLE_RECORDS[shape](*args, nonesuch=1)
        assert str(record_error.value) == str(dataclass_error.value)


def test_a_mutable_record_sets_its_fields_through_its_own_setattr_as_a_dataclass_does() -> None:
    def watched(decorate: Any) -> Any:
        @decorate
        class Watched:
            name: str
            port: int = 0

            def __setattr__(self, name: str, value: Any) -> None:
                object.__setattr__(self, "seen", [*getattr(self, "seen", []), name])
                object.__setattr__(self, name, value)
        return Watched

    assert vars(watched(mutable_record)("a")) == vars(watched(dataclass)("a")) == {"seen": ["name", "port"], "name": "a", "port": 0}
    assert MUTABLE_RECORDS["OwnHash"](1).__hash__() == 7 and MUTABLE_RECORDS["Plain"].__hash__ is None
    with pytest.raises(TypeError, match="dataclass bases; use @dataclass$"):
        @mutable_record
        class Derived(MUTABLE_DATACLASSES["Plain"]):  # type: ignore[misc,valid-type]
            extra: int = 0


def test_a_record_compiles_its_init_on_its_first_instantiation_and_then_is_the_dataclass() -> None:
    """__init__ is compiled when the class is first instantiated (issue 16: most records a command
    defines it never makes), then put in place of the stand-in: from the first call on it binds,
    refuses and signs as the dataclass's __init__ does."""
    @record
    class Late:
        """A record not instantiated yet."""

        name: str
        port: int = 0

    @dataclass(frozen=True)
    class LateDataclass:
        """A record not instantiated yet."""

        name: str
        port: int = 0

    stand_in = Late.__init__
    assert str(inspect.signature(Late)) == "(*args: 'Any', **kwargs: 'Any') -> 'None'"  # (documented in _init)
    with pytest.raises(TypeError) as refused:
        Late("a", 1, 2)
    with pytest.raises(TypeError) as dataclass_refused:
        LateDataclass("a", 1, 2)
    assert str(refused.value) == str(dataclass_refused.value).replace("LateDataclass", "Late")
    assert Late.__init__ is not stand_in
    assert str(inspect.signature(Late)) == str(inspect.signature(LateDataclass)) == "(name: 'str', port: 'int' = 0) -> None"
    assert Late.__init__.__qualname__.endswith("Late.__init__") and Late.__init__.__globals__ is globals()
    assert vars(Late("a")) == {"name": "a", "port": 0}
    assert stand_in(object.__new__(Late), "b", port=2) is None  # a stand-in kept by someone still works


def test_a_subclass_and_a_field_named_self_reach_the_init_compiled_on_first_use() -> None:
    @record
    class Base:
        """Fields of a subclass's base, first made by the subclass."""

        self: str
        port: int = 0

    class Sub(Base):
        def __init__(self, port: int) -> None:
            super().__init__("sub", port)

    assert vars(Sub(5)) == {"self": "sub", "port": 5}
    assert vars(Base(self="x")) == {"self": "x", "port": 0}
