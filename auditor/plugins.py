"""The one decision whether installed packages may add checks and reporters through entry points.

Every place that loads an ``lbaudit.*`` entry point asks :func:`plugins_enabled`, so ``--no-plugins``
and ``LBAUDIT_DISABLE_PLUGIN_AUTOLOAD`` mean the same for every command (as pytest's
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` does): no installed package can change a run unasked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from auditor.errors import RegistryError

AUTOLOAD_ENV = "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD"
# Values that leave autoload on; anything else (1, true, yes, ...) switches it off.
_AUTOLOAD_ON = ("", "0", "false", "no", "off")


def plugins_enabled(no_plugins: bool = False) -> bool:
    """False under ``--no-plugins`` or when LBAUDIT_DISABLE_PLUGIN_AUTOLOAD is set to anything but 0/false/no/off."""
    if no_plugins:
        return False
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() in _AUTOLOAD_ON


@dataclass(frozen=True)
class LoadedEntryPoint:
    """One ``lbaudit.*`` entry point, loaded, with the distribution that brought it."""

    name: str
    value: str  # "module:attribute" as the distribution declared it
    origin: str  # "plugin <distribution> <version>", recorded wherever the plugin's work is
    loaded: object
    distribution: str = "?"  # the distribution's name ("?" for an entry point without one)
    version: str = "?"


def load_entry_points(group: str) -> list[LoadedEntryPoint]:
    """Every entry point of ``group``, in name order, loaded.

    The one loader for checks and reporters alike: a plugin that fails to import is a loud
    :class:`RegistryError` (exit 2) naming the entry point, never a traceback and never a silently
    smaller registry.  Callers ask :func:`plugins_enabled` first.
    """
    from importlib import metadata  # only when plugins are loaded: it costs ~10 ms to import

    found: list[LoadedEntryPoint] = []
    for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
        dist = ep.dist
        distribution, version = (dist.name, dist.version) if dist else ("?", "?")
        origin = f"plugin {distribution if dist else ep.value} {version}"
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin is a loud error, not a silently smaller registry
            raise RegistryError(f"plugin entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        found.append(LoadedEntryPoint(ep.name, ep.value, origin, loaded, distribution, version))
    return found
