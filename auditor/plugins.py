"""The one decision whether installed packages may add checks and reporters through entry points.

Every place that loads an ``lbaudit.*`` entry point asks :func:`plugins_enabled`, so ``--no-plugins``
and ``LBAUDIT_DISABLE_PLUGIN_AUTOLOAD`` mean the same for every command (as pytest's
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` does): no installed package can change a run unasked.
"""

from __future__ import annotations

import os

AUTOLOAD_ENV = "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD"
# Values that leave autoload on; anything else (1, true, yes, ...) switches it off.
_AUTOLOAD_ON = ("", "0", "false", "no", "off")


def plugins_enabled(no_plugins: bool = False) -> bool:
    """False under ``--no-plugins`` or when LBAUDIT_DISABLE_PLUGIN_AUTOLOAD is set to anything but 0/false/no/off."""
    if no_plugins:
        return False
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() in _AUTOLOAD_ON
