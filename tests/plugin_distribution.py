"""A plugin installed as a real distribution: a module and a ``*.dist-info`` (``METADATA`` and
``entry_points.txt``) in a directory put on ``sys.path``, which ``importlib.metadata`` finds as it
finds any installed package.  The hostile plugin tests each install one through this helper."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest


def install_plugin(site: Path, monkeypatch: pytest.MonkeyPatch, module: str, source: str,
                   entry_points: str) -> None:
    """Module ``module`` (``source``) of distribution ``module`` 1.0 in ``site``, with
    ``entry_points`` (the text of entry_points.txt) and plugin autoload on.  The module is
    forgotten when the test ends, so the next test imports its own."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delitem(sys.modules, module, raising=False)  # restored (absent) at teardown
