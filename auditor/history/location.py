"""Where the history store lives: ``--store`` / ``LBAUDIT_STORE`` (a file path or a SQLAlchemy URL),
else ``/var/lib/lbaudit/history.db`` for root and ``$XDG_STATE_HOME/lbaudit/history.db``
(``~/.local/state/lbaudit/history.db``) for anyone else.

Nothing here imports SQLAlchemy: the command line resolves the location before deciding to open it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from auditor.config import is_url, user_directory
from auditor.errors import InputError

ENV_STORE = "LBAUDIT_STORE"
ROOT_STORE = Path("/var/lib/lbaudit/history.db")
SUPPORTED_SCHEMES = ("sqlite", "postgresql")


def default_store_path(uid: int | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The store's file when nothing names one: root's in /var/lib, anyone else's in their state dir."""
    environ = os.environ if environ is None else environ
    if (os.geteuid() if uid is None else uid) == 0:
        return ROOT_STORE
    base = user_directory("XDG_STATE_HOME", os.path.join(".local", "state"), environ)
    if base is None:
        raise InputError("no history store named and no home directory to keep one in (HOME is not set and "
                         "this user has none): give --store PATH or set LBAUDIT_STORE")
    return base / "lbaudit" / "history.db"


def store_location(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The store named by ``--store`` (``given``), ``LBAUDIT_STORE`` or the default, as a SQLAlchemy
    URL or a file path.  An empty value is a usage error, not the working directory."""
    environ = os.environ if environ is None else environ
    for value, what in ((given, "--store"), (environ.get(ENV_STORE), ENV_STORE)):
        if value is None:
            continue
        if not value.strip():
            raise InputError(f"{what} is empty: give a file path or a SQLAlchemy URL")
        if value == "-":  # no standard stream holds a database: it made an SQLite file called -
            raise InputError(f"{what} -: the history store is a file or a database, never standard input or "
                             "output; give a path (an absolute one for a file called -) or a SQLAlchemy URL")
        return value
    return str(default_store_path(environ=environ))


__all__ = ["ENV_STORE", "ROOT_STORE", "SUPPORTED_SCHEMES", "default_store_path", "is_url", "store_location"]
