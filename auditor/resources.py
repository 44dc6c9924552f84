"""Where the shipped data (controls/, policies/, reports/) lives.

In a wheel it is installed under ``auditor/_data/``; in a source checkout (editable install, tests)
it is the top-level folder of the repository.  One function decides, so no caller guesses.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory of shipped data ``name`` ("controls", "policies" or "reports")."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    source = _PACKAGE_DIR.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"lbaudit data folder {name!r} not found (looked in {installed} and {source})")
