"""pydantic, imported without loading OpenSSL (issue 16).  Standard library only.

``pydantic.types`` imports ``secrets`` at its top for one call, ``secrets.compare_digest`` in the
``__eq__`` of its ``Secret`` types, which no model of lbaudit's has.  ``secrets`` imports ``hmac`` and
``random``, and ``hmac`` imports ``_hashlib``: OpenSSL's libcrypto, 3.5 MiB of the 40 MiB a whole
``lbaudit evaluate`` may take (lbaudit's own digests need no OpenSSL for a small run: auditor/sha256.py).

So while ``pydantic.types`` is executed, ``secrets`` is in ``sys.modules`` as a stand-in: a module whose
every attribute is the real module's, which it imports on the first ask (and then hands the question
to).  pydantic keeps the stand-in as its global and calls through it exactly what it called; the
stand-in leaves ``sys.modules`` as soon as ``pydantic.types`` is executed, so any later ``import
secrets`` (anyone's) is the real module.  A ``secrets`` already imported is left as it is.

Whichever lbaudit module imports pydantic first (each model module does, before it imports anything
of lbaudit's but its package), :mod:`auditor.model` has by then put :class:`PydanticTypesFinder` first
on ``sys.meta_path``: it answers for ``pydantic.types`` alone, once, with the spec the other finders
give and its loader wrapped to run the module with the stand-in in place, and takes itself off.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, Sequence

PYDANTIC_TYPES = "pydantic.types"
# What pydantic/types.py imports at its top and uses only when called (pydantic 2.x), and what it
# costs.  (Its base64 is the same, but PyYAML's constructor imports that one anyway.)
DEFERRED = ("secrets",)


class DeferredModule(ModuleType):
    """Stands in for the module of its name until something asks it for an attribute."""

    def __getattr__(self, name: str) -> Any:
        # Dunder names are not forwarded: the import system and inspect ask a module in sys.modules
        # for __path__, __file__, __spec__ (is it a package? where is it?), which must not import it.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(real_module(self.__name__), name)


def real_module(name: str) -> ModuleType:
    """The real module ``name``, imported in place of its stand-in if that is still in sys.modules."""
    if isinstance(sys.modules.get(name), DeferredModule):
        del sys.modules[name]
    return importlib.import_module(name)


class DeferringLoader:
    """``pydantic.types``'s own loader, whose ``exec_module`` runs with the stand-ins in place; every
    other question (its source, its code, its resources) is the wrapped loader's."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        stand_ins = {name: DeferredModule(name, "lbaudit's stand-in, imported on first use (auditor/pydanticimport.py)")
                     for name in DEFERRED if name not in sys.modules}
        sys.modules.update(stand_ins)
        try:
            self.loader.exec_module(module)
        finally:
            for name, stand_in in stand_ins.items():
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]


class PydanticTypesFinder:
    """First on ``sys.meta_path`` until ``pydantic.types`` is looked for, then gone."""

    @classmethod
    def find_spec(cls, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
        if fullname != PYDANTIC_TYPES:
            return None
        uninstall()
        for finder in list(sys.meta_path):  # the spec the import system would have found without this finder
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = DeferringLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Put the finder first on sys.meta_path, unless pydantic.types is already imported (a program
    that imported pydantic before lbaudit: nothing is left to defer) or the finder is there."""
    if PYDANTIC_TYPES not in sys.modules and PydanticTypesFinder not in sys.meta_path:
        sys.meta_path.insert(0, PydanticTypesFinder)  # type: ignore[arg-type]


def uninstall() -> None:
    while PydanticTypesFinder in sys.meta_path:
        sys.meta_path.remove(PydanticTypesFinder)  # type: ignore[arg-type]
