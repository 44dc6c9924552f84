"""No model field of lbaudit's has a type (``list``, ``dict``) as its default factory (issue 16).

pydantic asks each factory's signature when it builds a model, and ``inspect.signature(list)``
parses the type's text signature (about 0.2 ms each): the 31 such fields cost 15-20 ms of every
process that builds the models.  :func:`auditor.model.base.empty_list` and ``empty_dict`` make the
same empty values."""

from __future__ import annotations

import importlib
import pkgutil

from pydantic import BaseModel

import auditor
from auditor.model.base import empty_dict, empty_list


def _models() -> list[type[BaseModel]]:
    for info in pkgutil.walk_packages(auditor.__path__, "auditor."):
        if info.name.startswith(("auditor.model", "auditor.checks", "auditor.policy", "auditor.engine")):
            importlib.import_module(info.name)
    found, todo = [], [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("auditor."):
                found.append(sub)
    return found


def test_no_model_field_takes_a_type_as_its_default_factory():
    models = _models()
    assert len(models) > 40  # the walk found lbaudit's models (policy, facts, results, check params)
    typed = sorted(f"{model.__module__}.{model.__qualname__}.{name}" for model in models
                   for name, info in model.model_fields.items() if isinstance(info.default_factory, type))
    assert typed == []


def test_the_factories_make_a_new_empty_value_each_time():
    assert empty_list() == [] and empty_list() is not empty_list()
    assert empty_dict() == {} and empty_dict() is not empty_dict()
