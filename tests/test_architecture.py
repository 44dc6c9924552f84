"""docs/architecture.md names the packages that exist, and every package that exists is named there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
PACKAGE = REPO / "auditor"


def _named_packages() -> set[str]:
    return set(re.findall(r"`auditor/([a-z_]+(?:/[a-z_]+)*)/`", DOC.read_text(encoding="utf-8")))


def test_every_package_named_in_the_architecture_exists():
    missing = sorted(name for name in _named_packages() if not (PACKAGE / name / "__init__.py").is_file())
    assert not missing, f"docs/architecture.md names packages that do not exist: {missing}"


def test_every_top_level_package_is_in_the_architecture():
    actual = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    unnamed = sorted(actual - _named_packages())
    assert not unnamed, f"packages missing from docs/architecture.md: {unnamed}"


def test_every_top_level_module_is_in_the_architecture():
    text = DOC.read_text(encoding="utf-8")
    unnamed = sorted(p.name for p in PACKAGE.glob("*.py")
                     if p.name != "__init__.py" and f"`{p.name}`" not in text and f"`auditor/{p.name}`" not in text)
    assert not unnamed, f"modules missing from docs/architecture.md: {unnamed}"
