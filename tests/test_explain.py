"""``lbaudit explain``: aligned paragraphs, the README's words for types, nested params listed."""

from __future__ import annotations

import pytest

from auditor.engine.registry import load_registry
from tests.cli import run_cli


@pytest.mark.parametrize("name", load_registry(plugins=False).names())
def test_explain_is_aligned_and_in_the_readme_words(name):
    result = run_cli("explain", name)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{name}: ")
    for line in lines[1:]:
        # every line is a section title ("Params:") or indented under one; none runs past the width
        assert line == "" or line.startswith("  ") or line.endswith(":"), line
        assert len(line) <= 100, line
    assert "list[" not in result.stdout and "| None" not in result.stdout and "Optional" not in result.stdout


def test_explain_lists_nested_exception_fields():
    text = run_cli("explain", "net.bind_addresses").stdout
    assert "  allow: list of string; default [\"loopback\"]" in text
    for field in ("match", "match.process", "match.exe", "match.user", "match.ports", "match.protocol"):
        assert f"  exceptions[].{field}: " in text
    assert "  exceptions[].reason: string; required" in text


def test_explain_unknown_check_suggests_the_nearest():
    result = run_cli("explain", "net.bind_adresses")
    assert result.returncode == 2
    assert "did you mean 'net.bind_addresses'?" in result.stderr
